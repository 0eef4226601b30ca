/**
 * The idb-keyval calls the worker's IndexedDB caches make (blob-cache.ts, analysis-cache.ts), as
 * one interface: the browser's IndexedDB through idb-keyval, or in unit tests a stand-in over maps
 * (with a quota, for the blob cache), since Node has no IndexedDB.
 */
import { clear, createStore, del, entries, get, keys, set } from 'idb-keyval';
import type { UseStore } from 'idb-keyval';

export type { UseStore };

export interface KeyValueBackend {
  get<T>(key: string, store: UseStore): Promise<T | undefined>;
  set(key: string, value: unknown, store: UseStore): Promise<void>;
  del(key: string, store: UseStore): Promise<void>;
  entries<V>(store: UseStore): Promise<[string, V][]>;
  /** The keys alone: no value is read (cheap where the values are large). */
  keys(store: UseStore): Promise<string[]>;
  clear(store: UseStore): Promise<void>;
  createStore(db: string, store: string): UseStore;
}

export const IDB: KeyValueBackend = {
  get,
  set,
  del,
  entries: <V>(store: UseStore) => entries<string, V>(store),
  keys: (store: UseStore) => keys<string>(store),
  clear,
  createStore,
};
