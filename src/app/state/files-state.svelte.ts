/**
 * State of the Files tab: which layer and view, filters, search, sort, expanded
 * directories, the rows the worker sent for them, the open file and the layer limits.
 * The worker holds the listings; this class asks it for rows (`tree`) and file bytes
 * (`file`), numbering each request so that stale answers are dropped.
 */
import type { Analysis, HistoryEntry, ImageInfo, Problem } from '../../core/model';
import { counted } from '../format';
import { DEFAULT_LAYER_LIMITS } from '../../core/layers/layer-listing';
import type { LayerLimits } from '../../core/layers/layer-listing';
import { ROW_DIR, ROW_OPEN } from '../../messages';
import type { ChangeKind, FileTarget, FromWorker, ToWorker, TreeRequest, TreeRows } from '../../messages';
import { saveFile } from '../save-file';
import type { LinkView } from '../../core/permalink/link';

type FilesView = NonNullable<LinkView['files']>;

export type FilesMode = 'layer' | 'merged';
export type ViewerMode = 'text' | 'hex';

/** What the viewer shows of a file: at most this many bytes are read for it. */
export const VIEW_LIMIT = 1024 * 1024;

export interface OpenFile {
  path: string;
  layer: number;
  /** The layer the view showed when the file was opened: a symbolic link is followed in its file system. */
  within: number;
  loading: boolean;
  bytes: Uint8Array | null;
  size: number;
  truncated: boolean;
  /** When the path is a link: the file shown, at the end of its links, and its layer. */
  target: FileTarget | null;
  error: string | null;
}

/** The settings of the Limits popover (the listing limits of the next open). */
export interface LimitSettings {
  maxEntries: number;
  /** MiB. */
  maxUncompressedMiB: number;
  maxExpansion: number;
}

export type LayerStatus =
  | { state: 'listed'; entries: number; stopped: string | null }
  | { state: 'reading'; fraction: number }
  | { state: 'waiting' }
  | { state: 'unavailable'; reason: string };

export interface LayerRow {
  index: number;
  blob: string;
  digest: string | null;
  size: number | null;
  createdBy: string | null;
  status: LayerStatus;
  problems: Problem[];
}

const STOP_TEXT: Record<string, string> = {
  'entry-limit': 'stopped at the entry limit',
  'byte-limit': 'stopped at the uncompressed-size limit',
  'tar-error': 'stopped: the tar is broken',
  'decompress-error': 'stopped: the compressed data is broken',
};

export function stopText(reason: string): string {
  return STOP_TEXT[reason] ?? `stopped: ${reason}`;
}

/**
 * What the tree holds before filters. Removed paths are shown in both views (where they
 * were), so the merged tree's own paths are the others: the figure the Efficiency panel
 * and the report give for the last layer.
 */
export function changesText(changes: Record<ChangeKind, number>, mode: FilesMode): string {
  const n = (k: number) => k.toLocaleString('en-US');
  if (mode === 'merged') {
    const inTree = changes.added + changes.modified + changes.unmodified;
    const removed = changes.removed > 0 ? `, ${n(changes.removed)} removed by this layer` : '';
    return `${counted(inTree, 'path')} in the merged tree${removed}`;
  }
  if (changes.added + changes.modified + changes.removed === 0) return 'the layer changes no path';
  return `the layer adds ${n(changes.added)}, modifies ${n(changes.modified)} and removes ${counted(changes.removed, 'path')}`;
}

/** History entries that made layers, in layer order (empty_layer ones made none). */
function layerHistory(image: ImageInfo): (HistoryEntry | null)[] {
  const history = (image.config?.history ?? []).filter((h) => !h.empty_layer);
  return image.layers.map((_, i) => history[i] ?? null);
}

/**
 * Whether layers' files can be shown here: a summary (a link, an export) carries no listings,
 * unless this browser kept the analysis with its listings (origin `cache`).
 */
export function hasListings(analysis: Analysis): boolean {
  return !analysis.origin || analysis.layers !== undefined;
}

/** The rows of the layer list of an image. */
export function layerRows(analysis: Analysis, image: ImageInfo): LayerRow[] {
  const history = layerHistory(image);
  return image.layers.map((l, i): LayerRow => {
    const blob = analysis.blobs[l.blob];
    const summary = analysis.layers?.[l.blob];
    const label = blob?.expectedDigest ?? l.blob;
    let status: LayerStatus;
    if (summary) status = { state: 'listed', entries: summary.entries, stopped: summary.stopped };
    // A summary (a link, an export) describes layers it cannot list here; an analysis this browser
    // kept has its listings unless they were too large to keep (analysis-cache.ts).
    else if (blob && analysis.origin)
      status = {
        state: 'unavailable',
        reason: {
          cache: 'listing too large to keep',
          export: 'an exported analysis holds no listings',
          link: 'not read on this machine',
        }[analysis.origin.kind],
      };
    else if (!blob || blob.path === null) status = { state: 'unavailable', reason: 'not in the archive' };
    else if (blob.digestCheck.state === 'running')
      status = { state: 'reading', fraction: blob.size ? blob.bytesDone / blob.size : 0 };
    else if (blob.digestCheck.state === 'pending') status = { state: 'waiting' };
    else if (blob.digestCheck.state === 'unchecked')
      status = { state: 'unavailable', reason: blob.digestCheck.reason };
    else status = { state: 'unavailable', reason: '' };
    return {
      index: i,
      blob: l.blob,
      // docker-archive layers are named by path: their diff_id identifies them then.
      digest: l.digest ?? blob?.expectedDigest ?? l.diffId ?? null,
      size: blob?.size ?? l.size,
      createdBy: history[i]?.created_by ?? null,
      status,
      problems: analysis.problems.filter((p) => p.where.endsWith(`(layer ${label})`)),
    };
  });
}

/** `-rwxr-xr-x`, as `ls -l` and `tar -tv` show modes. */
export function modeString(kindChar: string, mode: number): string {
  const bit = (m: number, c: string) => (mode & m ? c : '-');
  const special = (x: number, s: number, lower: string, upper: string) =>
    mode & s ? (mode & x ? lower : upper) : mode & x ? 'x' : '-';
  return (
    kindChar +
    bit(0o400, 'r') +
    bit(0o200, 'w') +
    special(0o100, 0o4000, 's', 'S') +
    bit(0o40, 'r') +
    bit(0o20, 'w') +
    special(0o10, 0o2000, 's', 'S') +
    bit(0o4, 'r') +
    bit(0o2, 'w') +
    special(0o1, 0o1000, 't', 'T')
  );
}

export class FilesState {
  layer = $state(0);
  mode = $state<FilesMode>('layer');
  filters = $state<Record<ChangeKind, boolean>>({
    added: true,
    modified: true,
    removed: true,
    unmodified: true,
  });
  search = $state('');
  sort = $state<'name' | 'size'>('name');
  /** Every directory open, but those in `toggled`; otherwise only those in `toggled`. */
  expandAll = $state(false);
  toggled = $state.raw<readonly string[]>([]);
  rows = $state.raw<TreeRows | null>(null);
  rowsError = $state<string | null>(null);
  /** Time the worker took for the latest rows, in ms. */
  rowsMs = $state(0);
  loading = $state(false);
  focused = $state(0);
  file = $state.raw<OpenFile | null>(null);
  viewer = $state<ViewerMode>('text');
  limits = $state<LimitSettings>({
    maxEntries: DEFAULT_LAYER_LIMITS.maxEntries,
    maxUncompressedMiB: DEFAULT_LAYER_LIMITS.maxUncompressedBytes / (1024 * 1024),
    maxExpansion: DEFAULT_LAYER_LIMITS.maxExpansion,
  });

  #send: (msg: ToWorker) => void;
  #image: () => ImageInfo | null;
  #run = 0;
  #seq = 0;
  #fileSeq = 0;
  #imageId: string | null = null;
  #download: { path: string; seq: number } | null = null;
  /** Whether the tab is on screen: rows are asked for only then. */
  #active = false;
  /** A permalink's view of this tab, applied when the image is known and the tab shown. */
  #restore: FilesView | null = null;
  /** The path to select once rows arrive (from a permalink). */
  #focusPath: string | null = null;
  /** The restored view had its selected file open: open it once its row is there. */
  #openFocus = false;

  constructor(send: (msg: ToWorker) => void, image: () => ImageInfo | null) {
    this.#send = send;
    this.#image = image;
  }

  /** The listing limits to send with the next open. */
  limitsForOpen(): Partial<LayerLimits> {
    const l = this.limits;
    const ok = (n: number) => Number.isFinite(n) && n > 0;
    return {
      ...(ok(l.maxEntries) ? { maxEntries: Math.floor(l.maxEntries) } : {}),
      ...(ok(l.maxUncompressedMiB)
        ? { maxUncompressedBytes: Math.floor(l.maxUncompressedMiB * 1024 * 1024) }
        : {}),
      ...(ok(l.maxExpansion) ? { maxExpansion: l.maxExpansion } : {}),
      ...(ok(l.maxUncompressedMiB) &&
      l.maxUncompressedMiB * 1024 * 1024 < DEFAULT_LAYER_LIMITS.minUncompressedBytes
        ? { minUncompressedBytes: Math.floor(l.maxUncompressedMiB * 1024 * 1024) }
        : {}),
    };
  }

  setLimits(limits: LimitSettings): void {
    this.limits = { ...limits };
  }

  /** The path of the selected row, if any. */
  get focusedPath(): string | null {
    return this.rows?.paths[this.focused] ?? this.#focusPath;
  }

  /** The tab's state as a permalink stores it. */
  view(): FilesView {
    const hidden = (['unmodified', 'added', 'modified', 'removed'] as const)
      .filter((k) => !this.filters[k])
      .map((k) => k[0])
      .join('');
    const path = this.focusedPath;
    return {
      layer: this.layer,
      mode: this.mode,
      ...(path ? { path } : {}),
      ...(path && this.file?.path === path ? { open: true as const } : {}),
      ...(hidden ? { hidden } : {}),
      ...(this.search ? { search: this.search } : {}),
      ...(this.sort !== 'name' ? { sort: this.sort } : {}),
    };
  }

  /** Show a permalink's view of the tab (applied at the next refresh, once the image is known). */
  restore(view: FilesView): void {
    this.#restore = view;
    this.refresh();
  }

  /**
   * Show `path` as layer `layer` changes it (a wasted path's occurrence): the layer's changes with
   * every kind shown and no search, the directories above it open, its row selected.
   */
  reveal(path: string, layer: number): void {
    this.restore({ layer, mode: 'layer', path, ...(this.sort !== 'name' ? { sort: this.sort } : {}) });
  }

  /**
   * Show `path` in the merged file system after the layer shown (where an opened link led): every
   * kind shown, no search, the directories above it open, its row selected.
   */
  showMerged(path: string): void {
    this.restore({
      layer: this.layer,
      mode: 'merged',
      path,
      ...(this.sort !== 'name' ? { sort: this.sort } : {}),
    });
  }

  /** A new run started: everything shown belongs to the previous archive. */
  reset(run: number): void {
    this.#run = run;
    this.#seq++;
    this.#fileSeq++;
    this.#imageId = null;
    this.layer = 0;
    this.rows = null;
    this.rowsError = null;
    this.file = null;
    this.toggled = [];
    this.expandAll = false;
    this.focused = 0;
  }

  /** The tab was shown (true) or hidden. */
  activate(active: boolean): void {
    this.#active = active;
    if (active) this.refresh();
  }

  /** A snapshot arrived: ask again when the layer shown was not listed yet. */
  update(analysis: Analysis): void {
    if (!this.#active) return;
    const image = this.#image();
    if (!image) return;
    if (image.id !== this.#imageId) return this.refresh();
    const ref = image.layers[this.layer];
    const ready = image.layers.slice(0, this.layer + 1).every((l) => analysis.layers?.[l.blob]);
    if (ref && ready && (this.rows === null || this.rowsError !== null) && !this.loading) this.refresh();
  }

  selectLayer(index: number): void {
    if (index === this.layer) return;
    this.layer = index;
    this.focused = 0;
    this.refresh();
  }

  setMode(mode: FilesMode): void {
    this.mode = mode;
    this.focused = 0;
    this.refresh();
  }

  setFilter(kind: ChangeKind, on: boolean): void {
    this.filters = { ...this.filters, [kind]: on };
    this.focused = 0;
    this.refresh();
  }

  setSearch(search: string): void {
    this.search = search;
    this.focused = 0;
    this.refresh();
  }

  setSort(sort: 'name' | 'size'): void {
    this.sort = sort;
    this.refresh();
  }

  setExpandAll(all: boolean): void {
    this.expandAll = all;
    this.toggled = [];
    this.refresh();
  }

  isOpen(i: number): boolean {
    return ((this.rows?.flags[i] ?? 0) & ROW_OPEN) !== 0;
  }

  isDir(i: number): boolean {
    return ((this.rows?.flags[i] ?? 0) & ROW_DIR) !== 0;
  }

  /** Open or close the directory of row `i`. */
  toggle(i: number, open = !this.isOpen(i)): void {
    const path = this.rows?.paths[i];
    if (path === undefined || !this.isDir(i) || this.search.trim()) return;
    const inSet = this.expandAll ? !open : open;
    const rest = this.toggled.filter((p) => p !== path);
    this.toggled = inSet ? [...rest, path] : rest;
    this.focused = i;
    this.refresh();
  }

  focus(i: number): void {
    const n = this.rows?.count ?? 0;
    this.focused = Math.max(0, Math.min(n - 1, i));
  }

  /** Row of the parent directory of row `i`, or -1. */
  parentRow(i: number): number {
    const rows = this.rows;
    if (!rows) return -1;
    const d = rows.depth[i] ?? 0;
    for (let k = i - 1; k >= 0; k--) if ((rows.depth[k] ?? 0) < d) return k;
    return -1;
  }

  refresh(): void {
    const image = this.#image();
    if (!image || !this.#active) return;
    if (image.id !== this.#imageId) {
      this.#imageId = image.id;
      this.layer = Math.min(this.layer, Math.max(0, image.layers.length - 1));
      this.toggled = [];
      this.file = null;
    }
    if (image.layers.length === 0) return;
    const r = this.#restore;
    if (r) {
      this.#restore = null;
      this.layer = Math.min(r.layer, image.layers.length - 1);
      this.mode = r.mode;
      const hidden = r.hidden ?? '';
      this.filters = {
        unmodified: !hidden.includes('u'),
        added: !hidden.includes('a'),
        modified: !hidden.includes('m'),
        removed: !hidden.includes('r'),
      };
      this.search = r.search ?? '';
      this.sort = r.sort ?? 'name';
      this.expandAll = false;
      // Open the directories above the selected path, so that its row is there to select.
      const parts = (r.path ?? '').split('/');
      this.toggled = parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
      this.#focusPath = r.path ?? null;
      this.#openFocus = r.open === true && r.path !== undefined;
      this.focused = 0;
    }
    const request: TreeRequest = {
      imageId: image.id,
      layer: this.layer,
      mode: this.mode,
      filters: { ...this.filters },
      search: this.search,
      sort: this.sort,
      expanded: this.expandAll ? 'all' : [...this.toggled],
      ...(this.expandAll ? { collapsed: [...this.toggled] } : {}),
    };
    this.loading = true;
    this.#send({ type: 'tree', run: this.#run, seq: ++this.#seq, request });
  }

  /** Show a file of row `i` in the viewer. */
  openRow(i: number): void {
    const rows = this.rows;
    const image = this.#image();
    if (!rows || !image || i < 0 || i >= rows.count) return;
    if (this.isDir(i)) return this.toggle(i);
    const path = rows.paths[i] as string;
    const layer = rows.layer[i] as number;
    this.focused = i;
    this.file = {
      path,
      layer,
      within: this.layer,
      loading: true,
      bytes: null,
      size: rows.size[i] ?? 0,
      truncated: false,
      target: null,
      error: null,
    };
    this.#send({
      type: 'file',
      run: this.#run,
      seq: ++this.#fileSeq,
      imageId: image.id,
      layer,
      path,
      maxBytes: VIEW_LIMIT,
      within: this.layer,
    });
  }

  closeFile(): void {
    this.file = null;
    this.#fileSeq++;
  }

  setViewer(mode: ViewerMode): void {
    this.viewer = mode;
  }

  /** Save the open file whole (read again without the view limit). */
  downloadFile(): void {
    const f = this.file;
    const image = this.#image();
    if (!f || !image) return;
    if (f.bytes && !f.truncated) return save(f.path, new Blob([f.bytes as Uint8Array<ArrayBuffer>]));
    const seq = ++this.#fileSeq;
    this.#download = { path: f.path, seq };
    this.#send({
      type: 'file',
      run: this.#run,
      seq,
      imageId: image.id,
      layer: f.layer,
      path: f.path,
      maxBytes: -1,
      within: f.within,
    });
  }

  receive(msg: Extract<FromWorker, { type: 'tree' | 'file' }>): void {
    if (msg.run !== this.#run) return;
    if (msg.type === 'tree') {
      if (msg.seq !== this.#seq) return;
      this.loading = false;
      this.rows = msg.rows;
      this.rowsError = msg.error;
      this.rowsMs = msg.ms;
      if (msg.rows && this.#focusPath !== null) {
        const i = msg.rows.paths.indexOf(this.#focusPath);
        if (i >= 0) this.focused = i;
        this.#focusPath = null;
        if (i >= 0 && this.#openFocus) this.openRow(i);
        this.#openFocus = false;
      }
      if (msg.rows && this.focused >= msg.rows.count) this.focused = Math.max(0, msg.rows.count - 1);
      return;
    }
    if (msg.seq !== this.#fileSeq) return;
    if (this.#download && this.#download.seq === msg.seq) {
      this.#download = null;
      if (msg.blob) save(msg.path, msg.blob);
      else if (this.file) this.file = { ...this.file, error: msg.error };
      return;
    }
    if (!this.file || this.file.path !== msg.path) return;
    this.file = {
      ...this.file,
      loading: false,
      bytes: msg.bytes,
      size: msg.bytes ? msg.size : this.file.size,
      truncated: msg.truncated,
      target: msg.target,
      error: msg.error,
    };
  }
}

function save(path: string, blob: Blob): void {
  saveFile(path.slice(path.lastIndexOf('/') + 1) || 'file', blob);
}
