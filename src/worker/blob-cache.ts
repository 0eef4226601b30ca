/**
 * The blob cache: verified blobs (layers and configs fetched from registries), stored in
 * IndexedDB by digest with idb-keyval. Blobs are put here only after their digest verified
 * (analyze-registry.ts), so a cache hit is still re-hashed but never trusted blindly; next to
 * each layer it keeps what its uncompressed side was found to be (diff_id, size, listing), so a
 * reopen hashes the stored bytes without decompressing and parsing them again.
 * When the quota is exceeded the least-recently-used blobs are evicted; when that is not
 * enough, the cache says clearly that it is full.
 */
import { IDB } from './key-value';
import type { KeyValueBackend, UseStore } from './key-value';
import type { BlobCache, CachedLayer } from '../core/registry/analyze-registry';
import type { CacheListing } from '../messages';
import { LISTING_VERSION } from '../core/layers/layer-listing';
import { packListing, unpackListing } from '../core/layers/listing-transfer';
import type { PackedListing } from '../core/layers/listing-transfer';

/**
 * A layer record as stored: the listing packed (string arrays and typed arrays), which IndexedDB
 * clones in a few large moves instead of one object per entry (~0.4 s to write the 56,000 entries of
 * a /usr/share layer as objects). A listing made by an earlier LISTING_VERSION is not given back.
 */
type StoredLayer = Omit<CachedLayer, 'listing'> & {
  listing?: CachedLayer['listing'];
  packed?: PackedListing;
  /** LISTING_VERSION of the code that made the listing; absent before there was one. */
  listingVersion?: number;
};

interface Meta {
  size: number;
  lastUsed: number;
}

export class CacheFullError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CacheFullError';
  }
}

function isQuotaError(e: unknown): boolean {
  return (
    e instanceof DOMException &&
    (e.name === 'QuotaExceededError' || e.name === 'NS_ERROR_DOM_QUOTA_REACHED' || e.code === 22)
  );
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

/**
 * IndexedDB can keep a reader waiting on another connection's write to the same store (another
 * tab, a page being torn down): past this a read counts as a miss, and the layer comes from the
 * registry instead.
 */
const READ_WAIT_MS = 10_000;

async function answerWithin<T>(read: Promise<T | undefined>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([read, late]);
  } finally {
    clearTimeout(timer);
  }
}

export class IdbBlobCache implements BlobCache {
  private blobs: UseStore | null = null;
  private meta: UseStore | null = null;
  private layers: UseStore | null = null;
  private persisted: boolean | null = null;
  private persistAsked = false;
  /**
   * Uses this worker saw whose lastUsed could not be written: when the quota is full, even
   * rewriting a blob's small meta record is refused (Chromium checks every write transaction
   * against the quota), so without this a blob just read for the current image kept its old
   * lastUsed and was the first one evicted to make room for the rest of that same image.
   */
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly kv: KeyValueBackend = IDB,
    private readonly now: () => number = () => Date.now(),
    private readonly readWaitMs = READ_WAIT_MS,
  ) {}

  private stores(): { blobs: UseStore; meta: UseStore; layers: UseStore } {
    this.blobs ??= this.kv.createStore('layerlens-blobs', 'blobs');
    this.meta ??= this.kv.createStore('layerlens-blob-meta', 'meta');
    this.layers ??= this.kv.createStore('layerlens-layer-meta', 'layers');
    return { blobs: this.blobs, meta: this.meta, layers: this.layers };
  }

  /** A cached layer's uncompressed side as verified when it was stored; null if unknown. */
  async getLayer(digest: string): Promise<CachedLayer | null> {
    if (!DIGEST.test(digest)) return null;
    const stored = await answerWithin(
      this.kv.get<StoredLayer>(digest, this.stores().layers),
      this.readWaitMs,
    );
    if (!stored) return null;
    // `listing`: a record from before listings were packed, and so before they were versioned.
    const { packed, listingVersion, listing: _unversioned, ...layer } = stored;
    // A listing an earlier version made may say something else of the same bytes: the layer is
    // then listed again (and kept anew); its digest, diff_id and size stand.
    return packed && listingVersion === LISTING_VERSION
      ? { ...layer, listing: unpackListing(packed) }
      : layer;
  }

  /** Kept only next to a cached blob, and dropped with it. */
  async putLayer(digest: string, layer: CachedLayer): Promise<void> {
    if (!DIGEST.test(digest)) return;
    const { meta, layers } = this.stores();
    if (!(await this.kv.get<Meta>(digest, meta))) return;
    const { listing, ...rest } = layer;
    const stored: StoredLayer = listing
      ? { ...rest, packed: packListing(listing), listingVersion: LISTING_VERSION }
      : rest;
    try {
      await this.kv.set(digest, stored, layers);
    } catch (e) {
      // Without it the layer is only decompressed again on the next read.
      if (!isQuotaError(e)) throw e;
    }
  }

  /**
   * Whether the storage is persistent. `navigator.storage.persist()` exists only in windows, so
   * the page asks for it (analysis-state.svelte.ts); the worker can only read the answer.
   */
  async persist(): Promise<boolean | null> {
    if (this.persistAsked) return this.persisted;
    this.persistAsked = true;
    try {
      const storage = (navigator as { storage?: StorageManager }).storage;
      this.persisted = storage ? await storage.persisted() : null;
    } catch {
      this.persisted = null;
    }
    return this.persisted;
  }

  async get(digest: string): Promise<Blob | null> {
    if (!DIGEST.test(digest)) return null;
    const { blobs, meta } = this.stores();
    const blob = await answerWithin(this.kv.get<Blob>(digest, blobs), this.readWaitMs);
    if (!blob) return null;
    const lastUsed = this.now();
    await this.kv.set(digest, { size: blob.size, lastUsed } satisfies Meta, meta).then(
      () => this.touched.delete(digest),
      () => this.touched.set(digest, lastUsed),
    );
    return blob;
  }

  async put(digest: string, blob: Blob): Promise<void> {
    if (!DIGEST.test(digest)) return;
    const { blobs, meta } = this.stores();
    void this.persist();
    try {
      for (let attempt = 0; attempt < 64; attempt++) {
        try {
          await this.kv.set(digest, blob, blobs);
          await this.kv.set(digest, { size: blob.size, lastUsed: this.now() } satisfies Meta, meta);
          return;
        } catch (e) {
          if (!isQuotaError(e)) throw e;
          const evicted = await this.evictOldest(digest);
          if (!evicted) {
            throw new CacheFullError(
              `the cache is full: the browser's storage quota leaves no room for this ${blob.size}-byte blob, even after evicting every older blob`,
            );
          }
        }
      }
      throw new CacheFullError('the cache is full: evicting older blobs did not make room');
    } catch (e) {
      // The bytes may be stored without their record (the record's write refused): eviction and
      // the panel go by records, so such bytes would hold quota that nothing ever frees.
      if (!(await this.kv.get<Meta>(digest, meta).catch(() => null)))
        await this.kv.del(digest, blobs).catch(() => undefined);
      throw e;
    }
  }

  /** Evict the least-recently-used blob other than `keep`; false when there is none. */
  private async evictOldest(keep: string): Promise<boolean> {
    const { blobs, meta } = this.stores();
    const all = (await this.kv.entries<Meta>(meta))
      .filter(([d]) => d !== keep)
      .map(([d, m]): [string, Meta] => [
        d,
        { ...m, lastUsed: Math.max(m.lastUsed, this.touched.get(d) ?? 0) },
      ]);
    if (all.length === 0) return false;
    all.sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    const [oldest] = all[0] as [string, Meta];
    await this.kv.del(oldest, blobs);
    await this.kv.del(oldest, meta);
    await this.kv.del(oldest, this.stores().layers);
    this.touched.delete(oldest);
    return true;
  }

  async list(): Promise<CacheListing> {
    try {
      this.persistAsked = false;
      await this.persist();
      const { meta } = this.stores();
      const list = (await this.kv.entries<Meta>(meta)).map(([digest, m]) => ({
        digest,
        size: m.size,
        lastUsed: Math.max(m.lastUsed, this.touched.get(digest) ?? 0),
      }));
      list.sort((a, b) => b.lastUsed - a.lastUsed);
      return {
        entries: list,
        totalBytes: list.reduce((n, e) => n + e.size, 0),
        persisted: this.persisted,
      };
    } catch (e) {
      return {
        entries: [],
        totalBytes: 0,
        persisted: null,
        error: `the cache cannot be read: ${e instanceof Error ? e.message : String(e)}`,
      };
    }
  }

  async clear(): Promise<void> {
    const { blobs, meta, layers } = this.stores();
    await this.kv.clear(blobs);
    await this.kv.clear(meta);
    await this.kv.clear(layers);
    this.touched.clear();
  }
}
