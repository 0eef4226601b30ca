/**
 * The worker's cache of analyses made in this browser (for permalinks opened here again), over
 * the in-memory stand-in for idb-keyval: which analyses it keeps, and that choosing which to drop
 * reads no analysis (each holds its layer listings, tens of MB for a large image).
 */
import { describe, expect, it } from 'vitest';
import { LISTING_VERSION } from '../../src/core/layers/layer-listing';
import type { Analysis } from '../../src/core/model';
import { AnalysisCache } from '../../src/worker/analysis-cache';
import type { UseStore } from '../../src/worker/key-value';
import { memoryBackend } from './helpers/key-value';

const sha = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;
/** What the cache looks at of an analysis: complete, and the archive's digest. */
const analysisOf = (n: number) => ({ complete: true, source: { sha256: sha(n) } }) as unknown as Analysis;
const ANALYSES = 'layerlens-analyses/analyses';

describe('AnalysisCache', () => {
  it('keeps the newest 20, dropping the oldest first, without reading the analyses to choose', async () => {
    const kv = memoryBackend();
    // Every analysis's value is off limits, save for the one asked for by load().
    const guarded = {
      ...kv,
      entries: async <V>(s: UseStore) => {
        if ((s as unknown as string) === ANALYSES) throw new Error('read every analysis kept');
        return kv.entries<V>(s);
      },
    };
    let clock = 1000;
    const cache = new AnalysisCache(guarded, () => ++clock);
    // One kept by a build that did not keep the times: dropped before any with a time.
    kv.store(ANALYSES).set(sha(999), { analysis: analysisOf(999), savedAt: 5 });
    for (let n = 1; n <= 21; n++) await cache.save(sha(n), analysisOf(n), new Map());
    expect(await cache.count()).toBe(20);
    expect(await cache.load(sha(999))).toBeNull();
    expect(await cache.load(sha(1))).toBeNull();
    for (const n of [2, 21]) expect((await cache.load(sha(n)))?.analysis.source.sha256).toBe(sha(n));
    // Saving one again makes it the newest: the next save drops the oldest other one.
    await cache.save(sha(2), analysisOf(2), new Map());
    await cache.save(sha(22), analysisOf(22), new Map());
    expect(await cache.load(sha(2))).not.toBeNull();
    expect(await cache.load(sha(3))).toBeNull();
    expect(await cache.count()).toBe(20);
    await cache.clear();
    expect(await cache.count()).toBe(0);
  });

  it('keeps only complete analyses, under their own digest', async () => {
    const cache = new AnalysisCache(memoryBackend());
    await cache.save(sha(1), { ...analysisOf(1), complete: false }, new Map());
    await cache.save('not-a-digest', analysisOf(2), new Map());
    await cache.save(sha(3), analysisOf(4), new Map());
    expect(await cache.count()).toBe(1);
    // Stored under 3, it says it is the analysis of 4: not given back as 3's.
    expect(await cache.load(sha(3))).toBeNull();
  });

  it('does not give back an analysis an earlier listing version made', async () => {
    const kv = memoryBackend();
    const cache = new AnalysisCache(kv);
    await cache.save(sha(1), analysisOf(1), new Map());
    expect((await cache.load(sha(1)))?.version).toBe(LISTING_VERSION);
    // Kept before versions (its sparse files under made-up names, say), or by version 1.
    kv.store(ANALYSES).set(sha(2), { analysis: analysisOf(2), savedAt: 5 });
    kv.store(ANALYSES).set(sha(3), { version: LISTING_VERSION - 1, analysis: analysisOf(3), savedAt: 5 });
    expect(await cache.load(sha(2))).toBeNull();
    expect(await cache.load(sha(3))).toBeNull();
  });
});
