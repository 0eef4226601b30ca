/**
 * idb-keyval's calls over maps (Node has no IndexedDB), for the worker's caches: stores are
 * named `<db>/<store>`. Blob values count against a quota; `strict`: as in Chromium, a full quota
 * refuses every write, the small records included (counted as a byte each).
 */
import type { KeyValueBackend } from '../../../src/worker/key-value';

export type MemoryBackend = KeyValueBackend & {
  blobBytes(): number;
  setQuota(q: number): void;
  /** A store's map, to look at or to fill as an older build would have. */
  store(name: string): Map<string, unknown>;
};

export function memoryBackend(quota = Infinity, strict = false): MemoryBackend {
  const stores = new Map<string, Map<string, unknown>>();
  const of = (s: unknown) => {
    if (!stores.has(s as string)) stores.set(s as string, new Map());
    return stores.get(s as string) as Map<string, unknown>;
  };
  const blobBytes = () =>
    [...(stores.get('layerlens-blobs/blobs')?.values() ?? [])].reduce<number>(
      (n, v) => n + (v as Blob).size,
      0,
    );
  const backend = {
    createStore: (db: string, store: string) => {
      const key = `${db}/${store}`;
      of(key);
      return key as never;
    },
    get: async <T>(k: string, s: unknown) => of(s).get(k) as T | undefined,
    set: async (k: string, v: unknown, s: unknown) => {
      if (v instanceof Blob) {
        const old = (of(s).get(k) as Blob | undefined)?.size ?? 0;
        if (blobBytes() - old + v.size > quota) throw new DOMException('quota', 'QuotaExceededError');
      } else if (strict && blobBytes() + 1 > quota) throw new DOMException('', 'QuotaExceededError');
      of(s).set(k, v);
    },
    del: async (k: string, s: unknown) => {
      of(s).delete(k);
    },
    entries: async <V>(s: unknown) => [...of(s).entries()] as [string, V][],
    keys: async (s: unknown) => [...of(s).keys()],
    clear: async (s: unknown) => of(s).clear(),
    blobBytes,
    setQuota: (q: number) => void (quota = q),
    store: (name: string) => of(name),
  };
  return backend as unknown as MemoryBackend;
}
