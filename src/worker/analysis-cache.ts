/**
 * Analyses of archives this browser made, by the archive's SHA-256 (idb-keyval), so that a
 * permalink opened again here shows the full analysis at once instead of the link's summary.
 * Only complete analyses are kept, and only the newest few. Each keeps its layer listings too
 * (so the Files trees come back) unless they are very large; never the archive itself, so file
 * contents need the file.
 */
import { LISTING_VERSION } from '../core/layers/layer-listing';
import type { LayerListing } from '../core/layers/layer-listing';
import type { Analysis } from '../core/model';
import { IDB } from './key-value';
import type { KeyValueBackend, UseStore } from './key-value';

const KEEP = 20;
/** Listings above this many entries in all are not kept (about 200 bytes each in storage). */
const MAX_LISTED_ENTRIES = 300_000;
const DIGEST = /^sha256:[a-f0-9]{64}$/;

interface Saved {
  /** LISTING_VERSION of the code that made it (its figures come from its listings). */
  version?: number;
  analysis: Analysis;
  /** Layer listings by blob key; absent when they were too large to keep. */
  listings?: [string, LayerListing][];
  /** ms since the epoch. */
  savedAt: number;
}

export class AnalysisCache {
  #analyses: UseStore | null = null;
  #times: UseStore | null = null;

  constructor(
    private readonly kv: KeyValueBackend = IDB,
    private readonly now: () => number = () => Date.now(),
  ) {}

  #stores(): { analyses: UseStore; times: UseStore } {
    this.#analyses ??= this.kv.createStore('layerlens-analyses', 'analyses');
    // When each was saved, apart: choosing the ones to drop must not read every analysis kept,
    // listings and all (tens of MB each for a large image), on every save.
    this.#times ??= this.kv.createStore('layerlens-analysis-times', 'times');
    return { analyses: this.#analyses, times: this.#times };
  }

  async save(sha256: string, analysis: Analysis, listings: Map<string, LayerListing>): Promise<void> {
    if (!DIGEST.test(sha256) || !analysis.complete) return;
    let listed = 0;
    for (const l of listings.values()) listed += l.entries.length;
    const saved: Saved = { version: LISTING_VERSION, analysis, savedAt: this.now() };
    if (listed <= MAX_LISTED_ENTRIES) saved.listings = [...listings];
    const { analyses, times } = this.#stores();
    try {
      await this.kv.set(sha256, saved, analyses);
      await this.kv.set(sha256, saved.savedAt, times);
      const when = new Map(await this.kv.entries<number>(times));
      // Kept before their times were: the oldest.
      for (const key of await this.kv.keys(analyses)) if (!when.has(key)) when.set(key, 0);
      const old = [...when].sort((a, b) => b[1] - a[1]).slice(KEEP);
      for (const [key] of old) {
        await this.kv.del(key, analyses);
        await this.kv.del(key, times);
      }
    } catch {
      // A cache that cannot be written only means the summary is shown next time.
    }
  }

  async load(sha256: string): Promise<Saved | null> {
    if (!DIGEST.test(sha256)) return null;
    try {
      const saved = await this.kv.get<Saved>(sha256, this.#stores().analyses);
      // One an earlier version made is not shown as this one's: the link's summary is, until the
      // archive is dropped again and analysed anew.
      return saved && saved.version === LISTING_VERSION && saved.analysis?.source?.sha256 === sha256
        ? saved
        : null;
    } catch {
      return null;
    }
  }

  async count(): Promise<number> {
    try {
      return (await this.kv.keys(this.#stores().analyses)).length;
    } catch {
      return 0;
    }
  }

  async clear(): Promise<void> {
    const { analyses, times } = this.#stores();
    await this.kv.clear(analyses);
    await this.kv.clear(times);
  }
}
