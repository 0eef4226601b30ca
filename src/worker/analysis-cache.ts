/**
 * Analyses of archives this browser made, by the archive's SHA-256 (idb-keyval), so that a
 * permalink opened again here shows the full analysis at once instead of the link's summary.
 * Only complete analyses are kept, and only the newest few. Each keeps its layer listings too
 * (so the Files trees come back) unless they are very large; never the archive itself, so file
 * contents need the file.
 */
import { clear, createStore, entries, get, set, del } from 'idb-keyval';
import type { UseStore } from 'idb-keyval';
import type { LayerListing } from '../core/layers/layer-listing';
import type { Analysis } from '../core/model';

const KEEP = 20;
/** Listings above this many entries in all are not kept (about 200 bytes each in storage). */
const MAX_LISTED_ENTRIES = 300_000;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

interface Saved {
  analysis: Analysis;
  /** Layer listings by blob key; absent when they were too large to keep. */
  listings?: [string, LayerListing][];
  /** ms since the epoch. */
  savedAt: number;
}

export class AnalysisCache {
  #store: UseStore | null = null;

  #db(): UseStore {
    this.#store ??= createStore('layerlens-analyses', 'analyses');
    return this.#store;
  }

  async save(sha256: string, analysis: Analysis, listings: Map<string, LayerListing>): Promise<void> {
    if (!DIGEST.test(sha256) || !analysis.complete) return;
    let listed = 0;
    for (const l of listings.values()) listed += l.entries.length;
    const saved: Saved = { analysis, savedAt: Date.now() };
    if (listed <= MAX_LISTED_ENTRIES) saved.listings = [...listings];
    try {
      await set(sha256, saved, this.#db());
      const all = await entries<string, Saved>(this.#db());
      all.sort((a, b) => b[1].savedAt - a[1].savedAt);
      for (const [key] of all.slice(KEEP)) await del(key, this.#db());
    } catch {
      // A cache that cannot be written only means the summary is shown next time.
    }
  }

  async load(sha256: string): Promise<Saved | null> {
    if (!DIGEST.test(sha256)) return null;
    try {
      const saved = await get<Saved>(sha256, this.#db());
      return saved && saved.analysis?.source?.sha256 === sha256 ? saved : null;
    } catch {
      return null;
    }
  }

  async count(): Promise<number> {
    try {
      return (await entries(this.#db())).length;
    } catch {
      return 0;
    }
  }

  async clear(): Promise<void> {
    await clear(this.#db());
  }
}
