/**
 * The one typed protocol between the page and the analysis worker. Both sides import
 * these types, so a change here is checked on both sides of the boundary.
 */
import type { Analysis, Problem, Progress } from './core/model';
import type { LayerLimits } from './core/layers/layer-listing';
import type { FolderFile } from './core/archive/archive-files';

export type ToWorker =
  /** Analyse a dropped or picked file. `run` tags every answer so stale ones can be ignored. */
  | {
      type: 'open';
      run: number;
      file: Blob;
      name: string;
      /** Limits on each layer's listing (the page's Limits settings); defaults when absent. */
      limits?: Partial<LayerLimits>;
    }
  /** Analyse a dropped or picked folder: its files by their paths inside it. */
  | {
      type: 'open-folder';
      run: number;
      files: FolderFile[];
      name: string;
      limits?: Partial<LayerLimits>;
    }
  | { type: 'cancel'; run: number }
  /**
   * The page has drawn the first snapshot of `run` that has a graph: the worker starts verifying
   * then, so the first render does not share the two cores with it (docs/decisions.md, "Graph
   * before verification").
   */
  | { type: 'shown'; run: number }
  /**
   * Analyse an image in a registry (through the same-origin proxy). Credentials live only in
   * memory, for the tab; `platform` (e.g. `linux/arm64`) picks the image of an index to fetch.
   */
  | {
      type: 'inspect';
      run: number;
      reference: string;
      platform?: string;
      credentials?: { username: string; password: string } | null;
      /** Also fetch and verify the layers of every other platform of an index. */
      allPlatforms?: boolean;
      /** Limits on each layer's listing, as for `open`. */
      limits?: Partial<LayerLimits>;
    }
  /**
   * Bring back this browser's analysis of the archive with this SHA-256 (a permalink opened
   * where it was made): answered with a `snapshot` for `run` when the archive is still open in
   * this tab (the full view) or its analysis is in the analysis cache; not answered otherwise.
   */
  | { type: 'recall'; run: number; sha256: string }
  /** List the blob cache (answered with `cache`). */
  | { type: 'cache-list' }
  /** Empty the blob cache (answered with `cache`). */
  | { type: 'cache-clear' }
  /** The visible rows of a layer's file tree (answered with `tree`, same `seq`). */
  | { type: 'tree'; run: number; seq: number; request: TreeRequest }
  /** Read one file of a layer (answered with `file`); `maxBytes` < 0 reads it whole. */
  | {
      type: 'file';
      run: number;
      seq: number;
      imageId: string;
      layer: number;
      path: string;
      maxBytes: number;
      /** The layer whose merged file system a symbolic link is followed in: the one the view shows. */
      within: number;
    }
  /** A blob's stored bytes, by its key in `analysis.blobs`, to download (answered with `blob`). */
  | { type: 'blob'; run: number; key: string };

export type FromWorker =
  /**
   * The whole analysis so far. Sent when the graph is first known, then at most every
   * ~100 ms while checks run, and once more at the end with `analysis.complete` set.
   * Analyses are small (tens of blobs), so a snapshot is cheaper than a diff protocol.
   */
  | { type: 'snapshot'; run: number; analysis: Analysis; progress: Progress }
  /** The file could not be analysed at all (not an archive, unreadable). */
  | { type: 'failed'; run: number; problem: Problem }
  /** What the blob cache holds (after `cache-list`, `cache-clear`, and after each inspect). */
  | { type: 'cache'; cache: CacheListing }
  /** Rows of a `tree` request; `rows` is null with `error` set when the layer is not listed (yet). */
  | { type: 'tree'; run: number; seq: number; rows: TreeRows | null; error: string | null; ms: number }
  /** Bytes of a `file` request (at most `maxBytes`); null with `error` set when it cannot be read. */
  | {
      type: 'file';
      run: number;
      seq: number;
      path: string;
      /** The first `maxBytes` asked for; null for a whole file (`maxBytes` below 0) or an error. */
      bytes: Uint8Array | null;
      /** The whole file, asked for with `maxBytes` below 0 (a download): a handle, not copied. */
      blob: Blob | null;
      /** The file's full size. */
      size: number;
      truncated: boolean;
      /** When `path` is a link: the file read, at the end of its links, and its layer. */
      target: FileTarget | null;
      error: string | null;
    }
  /** A `blob` request's answer: the bytes as a Blob (a handle: nothing is copied), or why not. */
  | { type: 'blob'; run: number; key: string; blob: Blob | null; error: string | null };

/**
 * The file a link opened in the viewer leads to: where a symbolic link led (followed as in the
 * container), or the regular file whose content a hard link shares.
 */
export interface FileTarget {
  path: string;
  layer: number;
  kind: 'symlink' | 'hardlink';
}

export interface CacheListing {
  entries: { digest: string; size: number; lastUsed: number }[];
  totalBytes: number;
  /** `navigator.storage.persist()`'s answer; null when it could not be asked. */
  persisted: boolean | null;
  /** Why the cache is unusable or was cleared, when it is. */
  error?: string;
  /** Archive analyses kept for permalinks (src/worker/analysis-cache.ts). */
  analyses?: number;
}

/** How a path of a layer's tree differs from the file system below that layer. */
export type ChangeKind = 'unmodified' | 'added' | 'modified' | 'removed';
/** Index of a row's `change` code. */
export const CHANGE_KINDS: readonly ChangeKind[] = ['unmodified', 'added', 'modified', 'removed'];
/** Index of a row's `kind` code. */
export const ENTRY_KINDS = [
  'directory',
  'file',
  'symlink',
  'hardlink',
  'char',
  'block',
  'fifo',
  'other',
] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];

export interface TreeRequest {
  imageId: string;
  /** Index of the layer in the image (0 is the base). */
  layer: number;
  /** `layer`: what the layer changes; `merged`: the file system after the layer. */
  mode: 'layer' | 'merged';
  filters: Record<ChangeKind, boolean>;
  /** A substring of the path, or a glob (`*`, `?`, `**`); every match is shown expanded. */
  search: string;
  sort: 'name' | 'size';
  /** Open directories, or every directory but `collapsed`. */
  expanded: string[] | 'all';
  collapsed?: string[];
}

/** Row flags. */
export const ROW_DIR = 1;
export const ROW_OPEN = 2;
export const ROW_XATTRS = 4;
/** A directory only implied by deeper paths: no entry of its own, so no metadata. */
export const ROW_IMPLIED = 8;
export const ROW_MATCH = 16;
/** A directory with nothing under it in this view (none at all, or none the filters keep). */
export const ROW_EMPTY = 32;

/** The visible rows of a tree, as parallel arrays (row `i` is index `i` of each). */
export interface TreeRows {
  count: number;
  paths: string[];
  depth: Uint16Array;
  /** Index into ENTRY_KINDS. */
  kind: Uint8Array;
  /** Index into CHANGE_KINDS. */
  change: Uint8Array;
  /** Bytes; directories: the files shown below them, rolled up. */
  size: Float64Array;
  mode: Uint32Array;
  uid: Uint32Array;
  gid: Uint32Array;
  mtime: Float64Array;
  /** Layer whose entry the row shows (where its content can be read). */
  layer: Int32Array;
  flags: Uint8Array;
  /** Link targets by row. */
  links: Record<number, string>;
  /** Device numbers (`major, minor`) of character and block device rows. */
  devices: Record<number, string>;
  /** Sparse files' rows: the bytes their entry stores (their size counts the holes too). */
  sparse: Record<number, number>;
  /** Extended attributes by row. */
  xattrs: Record<number, Record<string, string>>;
  /** Paths in the view (filters and search applied), expanded or not. */
  total: number;
  /**
   * Paths of the layer's changes or of the merged tree, by change, before filters. Removed
   * paths are shown in both modes but are not in the merged tree; `unmodified` are, in layer
   * mode, only the directories that lead to a change.
   */
  changes: Record<ChangeKind, number>;
  /** The listing of some layer up to this one stopped early: the tree is incomplete. */
  incomplete: boolean;
}
