/**
 * The analysis worker's memory of an opened archive's layers: each layer's listing (kept
 * here, never posted whole to the page), the blob to read a layer again from, the merged
 * file systems built from the listings, and the flattened, filtered rows the page shows.
 */
import type { Analysis, BlobInfo, ImageInfo } from '../core/model';
import { ImageFilesystem } from '../core/layers/filesystem';
import type { FsNode, MergedTree } from '../core/layers/filesystem';
import { DEFAULT_LAYER_LIMITS } from '../core/layers/layer-listing';
import type { LayerListing, ListingEntry } from '../core/layers/layer-listing';
import { createDecompressor } from '../core/digest/decompress';
import { BlobParts } from '../core/digest/blob-parts';
import { readBlob } from '../core/digest/read-blob';
import { normalizePath } from '../core/tar/header';
import { SparsePlacer } from '../core/tar/sparse';
import { TarStreamParser } from '../core/tar/tar-stream';
import {
  CHANGE_KINDS,
  ENTRY_KINDS,
  ROW_DIR,
  ROW_EMPTY,
  ROW_IMPLIED,
  ROW_MATCH,
  ROW_OPEN,
  ROW_XATTRS,
} from '../messages';
import type { ChangeKind, FileTarget, TreeRequest, TreeRows } from '../messages';

const UNMODIFIED = 0;
const ADDED = 1;
const MODIFIED = 2;
const REMOVED = 3;

/**
 * What a layer changed, beyond what the nodes of the tree after it tell: a node the layer
 * wrote has `layer` set to it (added, or modified when it replaced a lower path or is a
 * lower directory the layer merged into), and a directory with such nodes below it has
 * `visited` set to it.
 */
interface LayerChangeSets {
  /** Paths the layer created where a lower path was (replacements). */
  modified: Set<string>;
  /** Parents of removed paths and their ancestors (layer mode shows them). */
  keep: Set<string>;
  /** Removed subtrees by the path of their parent in the tree after the layer. */
  removed: Map<string, FsNode[]>;
}

/** The paths a layer view can show, in preorder (children right after their parent). */
interface Flat {
  key: string;
  nodes: FsNode[];
  paths: string[];
  names: string[] | null;
  /** Lowercased paths, made for the first substring search. */
  lower: string[] | null;
  parent: Int32Array;
  change: Uint8Array;
  depth: Uint16Array;
  /** Bytes each path adds to its directory: a regular file's size (a hard link adds nothing). */
  own: Float64Array;
  /** Children of node i are `children[start[i + 1] .. start[i + 2])`; the root's from `start[0]`. */
  start: Int32Array;
  children: Int32Array;
  /** `children`, each run sorted by name (made for the first name sort). */
  byName: Int32Array | null;
  /** Paths of each change kind (indexed as CHANGE_KINDS), before filters. */
  counts: [number, number, number, number];
}

/** The paths kept by filters and search. */
interface View {
  key: string;
  match: Uint8Array;
  visible: Uint8Array;
  /** Directories: the bytes below them that are kept, rolled up. */
  size: Float64Array;
  total: number;
  searching: boolean;
}

/** Deeper paths are shown as leaves: a hostile tar must not overflow the stack. */
const MAX_DEPTH = 1000;

class StopRead extends Error {}

function dirName(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/**
 * The bracket expression opened at `open`, as fnmatch(3) reads one: `[!…]` (or `[^…]`) negates,
 * a `]` first is a member, ranges are ranges; as a regular expression that never matches the `/`
 * between names, and where it closes. Null when it does not close or is no valid class (a range
 * out of order): the `[` is then a character like any other.
 */
function bracket(q: string, open: number): { re: string; end: number } | null {
  let j = open + 1;
  const negate = q[j] === '!' || q[j] === '^';
  if (negate) j++;
  if (q[j] === ']') j++;
  const end = q.indexOf(']', j);
  if (end < 0) return null;
  const members = q.slice(open + (negate ? 2 : 1), end).replace(/[\\\]^[]/g, '\\$&');
  const re = `(?!/)[${negate ? '^' : ''}${members}]`;
  try {
    new RegExp(re);
  } catch {
    return null;
  }
  return { re, end };
}

/**
 * A matcher for the search box: a glob when it has `*`, `?` or `[`, else a substring
 * (case-insensitive). `lower` gives the lowercased paths, by index.
 */
export function pathMatcher(
  search: string,
  lower: () => string[],
): ((i: number, path: string) => boolean) | null {
  const q = search.trim().replace(/^\/+/, '');
  if (!q) return null;
  if (!/[*?[]/.test(q)) {
    const needle = q.toLowerCase();
    const paths = lower();
    return (i) => (paths[i] as string).includes(needle);
  }
  let re = '';
  for (let i = 0; i < q.length; i++) {
    const c = q[i] as string;
    const b = c === '[' ? bracket(q, i) : null;
    if (b) {
      re += b.re;
      i = b.end;
    } else if (c === '*') {
      if (q[i + 1] === '*') {
        i++;
        if (q[i + 1] === '/') {
          i++;
          re += '(?:.*/)?';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  const regex = new RegExp(`^${re}$`, 'i');
  // Without a slash the glob names a file anywhere (as .gitignore patterns do).
  if (!q.includes('/')) return (_, p) => regex.test(p.slice(p.lastIndexOf('/') + 1));
  return (_, p) => regex.test(p);
}

/** One file being read by `readEntry`: into the view's buffer, or into a Blob's parts (a download). */
interface EntryRead {
  view: Uint8Array | null;
  parts: BlobParts | null;
  /** Bytes of the file given so far, holes included. */
  filled: number;
  /** The whole file, once read into parts. */
  blob: Blob | null;
}

export class LayerStore {
  analysis: Analysis | null = null;
  readonly listings = new Map<string, LayerListing>();
  /** The stored bytes of each blob read or to be read again, by its key in `analysis.blobs`. */
  readonly slices = new Map<string, Blob>();

  /**
   * @param fetchBlob where to find a blob that `slices` lacks, by its key (a registry image's
   *   layers, by digest from the blob cache or the registry; a layer of an archive compressed as a
   *   whole, decompressed again).
   * @param unreadable why a layer without a blob cannot be read, as the page shows it.
   */
  constructor(
    private readonly fetchBlob?: (digest: string, blob: BlobInfo) => Promise<Blob | null>,
    private readonly unreadable = 'this layer cannot be read again: the archive is compressed as a whole; decompress the archive to read single files',
  ) {}
  /**
   * The largest sparse file a download writes out: as much as a layer may expand to under the
   * limits the analysis ran with (a file's other bytes are bounded by its layer's already).
   */
  maxExpanded = DEFAULT_LAYER_LIMITS.maxUncompressedBytes;
  /** Each image's merge, of as many layers as it holds (`layers.length`): more listed means a new one. */
  private fs = new Map<string, ImageFilesystem>();
  private trees = new Map<string, MergedTree>();
  private changeSets = new Map<string, LayerChangeSets>();
  private base: Flat | null = null;
  private view: View | null = null;

  private image(imageId: string): ImageInfo {
    const image = this.analysis?.images.find((i) => i.id === imageId);
    if (!image) throw new Error('no such image');
    return image;
  }

  /**
   * An image's file system that the analysis merged from all its layers' listings (the same
   * listing objects as `listings` holds), so that the Files tab does not merge them again.
   */
  adopt(imageId: string, fs: ImageFilesystem): void {
    this.fs.set(imageId, fs);
    // Views made from an earlier merge are stale.
    this.trees.clear();
    this.changeSets.clear();
    this.base = null;
    this.view = null;
  }

  /** The image's file system from its listed layers, rebuilt when more layers are listed. */
  private filesystem(imageId: string, layer: number): { fs: ImageFilesystem; listings: LayerListing[] } {
    const image = this.image(imageId);
    const listings: LayerListing[] = [];
    for (const l of image.layers) {
      const listing = this.listings.get(l.blob);
      if (!listing) break;
      listings.push(listing);
    }
    if (layer >= listings.length) {
      throw new Error(
        layer >= image.layers.length
          ? 'the image has no such layer'
          : this.analysis?.complete
            ? 'this layer or one below it could not be listed (see Problems)'
            : this.analysis?.problems.some((p) => p.code === 'cancelled')
              ? 'this layer or one below it was not read: the verification was cancelled'
              : 'this layer or one below it is still being read',
      );
    }
    const known = this.fs.get(imageId);
    if (known && known.layers.length === listings.length) return { fs: known, listings };
    const fs = ImageFilesystem.build(listings);
    this.adopt(imageId, fs);
    return { fs, listings };
  }

  /** The merged tree after `layer` (a few are kept: each is rebuilt from the listings). */
  private tree(imageId: string, fs: ImageFilesystem, layer: number): MergedTree {
    const key = `${imageId}\n${layer}`;
    let t = this.trees.get(key);
    if (t) {
      this.trees.delete(key);
      this.trees.set(key, t);
      return t;
    }
    t = fs.at(layer);
    this.trees.set(key, t);
    while (this.trees.size > 4) this.trees.delete(this.trees.keys().next().value as string);
    return t;
  }

  private sets(imageId: string, fs: ImageFilesystem, layer: number): LayerChangeSets {
    const key = `${imageId}\n${layer}`;
    const known = this.changeSets.get(key);
    if (known) return known;
    const paths = (fs.layers[layer] as (typeof fs.layers)[number]).paths;
    const modified = new Set(paths.modified);
    const keep = new Set<string>();
    const addKeep = (p: string) => {
      for (let q = p; q !== '' && !keep.has(q); q = dirName(q)) keep.add(q);
    };
    const removed = new Map<string, FsNode[]>();
    if (paths.removed.length > 0 && layer > 0) {
      const below = this.tree(imageId, fs, layer - 1);
      const after = this.tree(imageId, fs, layer);
      const gone = new Set(paths.removed);
      for (const p of paths.removed) {
        const parent = dirName(p);
        if (gone.has(parent)) continue;
        const node = below.get(p);
        if (!node || !after.get(parent)?.children) continue;
        let list = removed.get(parent);
        if (!list) removed.set(parent, (list = []));
        list.push(node);
        addKeep(parent);
      }
    }
    const sets = { modified, keep, removed };
    this.changeSets.set(key, sets);
    while (this.changeSets.size > 8) this.changeSets.delete(this.changeSets.keys().next().value as string);
    return sets;
  }

  /** Prepare what the Files tab asks for first (the first image's base layer), while the page is idle. */
  warm(): void {
    const image = this.analysis?.images.find((i) => i.present && i.layers.length > 0);
    if (!image) return;
    try {
      this.rows({
        imageId: image.id,
        layer: 0,
        mode: 'layer',
        filters: { added: true, modified: true, removed: true, unmodified: true },
        search: '',
        sort: 'name',
        expanded: [],
      });
    } catch {
      // Not listed: the tab says why when it asks.
    }
  }

  rows(req: TreeRequest): TreeRows {
    const { fs, listings } = this.filesystem(req.imageId, req.layer);
    const baseKey = `${req.imageId}\n${req.layer}\n${req.mode}`;
    let base = this.base;
    if (!base || base.key !== baseKey) {
      base = this.flat(req, fs);
      base.key = baseKey;
      this.base = base;
      this.view = null;
    }
    const f = req.filters;
    const key = [f.added, f.modified, f.removed, f.unmodified, req.search].join('\n');
    let view = this.view;
    if (!view || view.key !== key) {
      view = this.filter(base, req);
      view.key = key;
      this.view = view;
    }
    const incomplete = listings.slice(0, req.layer + 1).some((l) => l.stopped !== null);
    return this.flatten(base, view, req, incomplete);
  }

  /**
   * The paths of the view in preorder, as parallel arrays (built once per layer and mode):
   * every request then only filters and flattens them.
   */
  private flat(req: TreeRequest, fs: ImageFilesystem): Flat {
    const tree = this.tree(req.imageId, fs, req.layer);
    const sets = this.sets(req.imageId, fs, req.layer);
    const layerMode = req.mode === 'layer';
    const layer = req.layer;
    const nodes: FsNode[] = [];
    const paths: string[] = [];
    const parents: number[] = [];
    const changes: number[] = [];
    const depths: number[] = [];
    // [node, path, parent index, removed, depth]
    const stack: [FsNode, string, number, boolean, number][] = [];
    const pushChildren = (node: FsNode, path: string, index: number, removed: boolean, depth: number) => {
      if (depth >= MAX_DEPTH) return;
      const extra = removed ? [] : (sets.removed.get(path) ?? []);
      const kids: [FsNode, boolean][] = [];
      for (const c of node.children?.values() ?? []) {
        if (
          layerMode &&
          !removed &&
          c.layer !== layer &&
          c.visited !== layer &&
          (sets.keep.size === 0 || !sets.keep.has(path ? `${path}/${c.name}` : c.name))
        )
          continue;
        kids.push([c, removed]);
      }
      for (const c of extra) kids.push([c, true]);
      for (let k = kids.length - 1; k >= 0; k--) {
        const [c, r] = kids[k] as [FsNode, boolean];
        stack.push([c, path ? `${path}/${c.name}` : c.name, index, r, depth + 1]);
      }
    };
    pushChildren(tree.root, '', -1, false, 0);
    while (stack.length > 0) {
      const [node, path, parent, removed, depth] = stack.pop() as [FsNode, string, number, boolean, number];
      const i = nodes.length;
      nodes.push(node);
      paths.push(path);
      parents.push(parent);
      depths.push(depth);
      changes.push(
        removed
          ? REMOVED
          : node.layer !== layer
            ? UNMODIFIED
            : node.born < layer || sets.modified.has(path)
              ? MODIFIED
              : ADDED,
      );
      if (node.children) pushChildren(node, path, i, removed, depth);
    }
    const n = nodes.length;
    const own = new Float64Array(n);
    const counts = new Int32Array(n + 1);
    const kinds: [number, number, number, number] = [0, 0, 0, 0];
    for (let i = 0; i < n; i++) {
      const node = nodes[i] as FsNode;
      kinds[changes[i] as 0 | 1 | 2 | 3]++;
      own[i] = node.children ? 0 : node.entry?.type === 'file' ? node.entry.size : 0;
      const slot = (parents[i] as number) + 1;
      counts[slot] = (counts[slot] as number) + 1;
    }
    // Children of each node (index + 1; 0 is the root), contiguous, in preorder.
    const start = new Int32Array(n + 2);
    for (let k = 0; k <= n; k++) start[k + 1] = (start[k] as number) + (counts[k] as number);
    const fill = start.slice(0, n + 1);
    const children = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const slot = (parents[i] as number) + 1;
      children[fill[slot] as number] = i;
      fill[slot] = (fill[slot] as number) + 1;
    }
    return {
      key: '',
      nodes,
      paths,
      names: null,
      lower: null,
      parent: Int32Array.from(parents),
      change: Uint8Array.from(changes),
      depth: Uint16Array.from(depths, (d) => Math.min(d - 1, 65535)),
      own,
      start,
      children,
      byName: null,
      counts: kinds,
    };
  }

  /** Which paths the filters and search keep, and the directory sizes of what is kept. */
  private filter(base: Flat, req: TreeRequest): View {
    const n = base.nodes.length;
    const show = CHANGE_KINDS.map((k: ChangeKind) => req.filters[k]);
    const matcher = pathMatcher(req.search, () => (base.lower ??= base.paths.map((p) => p.toLowerCase())));
    const match = new Uint8Array(n);
    const visible = new Uint8Array(n);
    const size = new Float64Array(n);
    const { change, parent, nodes, own } = base;
    for (let i = 0; i < n; i++) {
      if (show[change[i] as number] && (!matcher || matcher(i, base.paths[i] as string))) match[i] = 1;
    }
    let total = 0;
    // Children follow their parent in preorder: walking backwards sees every child first.
    for (let i = n - 1; i >= 0; i--) {
      const isDir = (nodes[i] as FsNode).children !== null;
      if (!isDir) size[i] = (nodes[i] as FsNode).size;
      if (!match[i] && !visible[i]) continue;
      visible[i] = 1;
      total++;
      const p = parent[i] as number;
      if (p < 0) continue;
      visible[p] = 1;
      // A removed path's bytes are not in the directory any more (unless it is removed too).
      if ((change[i] as number) !== REMOVED || (change[p] as number) === REMOVED) {
        size[p] = (size[p] as number) + (isDir ? (size[i] as number) : (own[i] as number));
      }
    }
    return { key: '', match, visible, size, total, searching: matcher !== null };
  }

  private flatten(base: Flat, view: View, req: TreeRequest, incomplete: boolean): TreeRows {
    const { nodes, paths, start, children } = base;
    const { visible, size } = view;
    const all = req.expanded === 'all';
    const expanded = new Set(all ? [] : req.expanded);
    const collapsed = new Set(req.collapsed ?? []);
    const isOpen = (i: number) => {
      if (view.searching) return true;
      const p = paths[i] as string;
      return all ? !collapsed.has(p) : expanded.has(p);
    };
    if (req.sort === 'name' && !base.byName) {
      const names = (base.names ??= nodes.map((node) => node.name));
      const byName = children.slice();
      for (let k = 0; k < start.length - 1; k++) {
        const a = start[k] as number;
        const b = start[k + 1] as number;
        if (b - a > 1) {
          const part = Array.from(byName.subarray(a, b)).sort((x, y) => {
            const nx = names[x] as string;
            const ny = names[y] as string;
            return nx < ny ? -1 : nx > ny ? 1 : 0;
          });
          byName.set(part, a);
        }
      }
      base.byName = byName;
    }
    const ordered = (slot: number): number[] => {
      const a = start[slot] as number;
      const b = start[slot + 1] as number;
      const src = req.sort === 'name' ? (base.byName as Int32Array) : children;
      const list: number[] = [];
      for (let k = a; k < b; k++) {
        const c = src[k] as number;
        if (visible[c]) list.push(c);
      }
      if (req.sort === 'size') {
        list.sort((x, y) => {
          const d = (size[y] as number) - (size[x] as number);
          if (d !== 0) return d;
          const px = paths[x] as string;
          const py = paths[y] as string;
          return px < py ? -1 : px > py ? 1 : 0;
        });
      }
      return list;
    };
    const order: number[] = [];
    const open: number[] = [];
    /** Open directories the walk found nothing to show under. */
    const empty = new Set<number>();
    const stack: number[] = [];
    const pushAll = (list: number[]) => {
      for (let k = list.length - 1; k >= 0; k--) stack.push(list[k] as number);
    };
    pushAll(ordered(0));
    while (stack.length > 0) {
      const i = stack.pop() as number;
      order.push(i);
      if ((nodes[i] as FsNode).children && isOpen(i)) {
        const list = ordered(i + 1);
        if (list.length > 0) {
          open.push(i);
          pushAll(list);
        } else empty.add(i);
      }
    }
    const openSet = new Set(open);
    // A directory offers to open only if opening it would show something: an open one the walk
    // found empty is known; a closed one is looked into, up to its first child shown.
    const isEmpty = (i: number): boolean => {
      if (empty.has(i)) return true;
      const b = start[i + 2] as number;
      for (let k = start[i + 1] as number; k < b; k++) if (visible[children[k] as number]) return false;
      return true;
    };
    const n = order.length;
    const rows: TreeRows = {
      count: n,
      paths: new Array<string>(n),
      depth: new Uint16Array(n),
      kind: new Uint8Array(n),
      change: new Uint8Array(n),
      size: new Float64Array(n),
      mode: new Uint32Array(n),
      uid: new Uint32Array(n),
      gid: new Uint32Array(n),
      mtime: new Float64Array(n),
      layer: new Int32Array(n),
      flags: new Uint8Array(n),
      links: {},
      devices: {},
      sparse: {},
      xattrs: {},
      total: view.total,
      changes: {
        added: base.counts[ADDED],
        modified: base.counts[MODIFIED],
        removed: base.counts[REMOVED],
        unmodified: base.counts[UNMODIFIED],
      },
      incomplete,
    };
    for (let r = 0; r < n; r++) {
      const i = order[r] as number;
      const node = nodes[i] as FsNode;
      const e = node.entry;
      rows.paths[r] = paths[i] as string;
      rows.depth[r] = base.depth[i] as number;
      const kind = ENTRY_KINDS.indexOf(node.type as (typeof ENTRY_KINDS)[number]);
      rows.kind[r] = kind < 0 ? ENTRY_KINDS.length - 1 : kind;
      rows.change[r] = base.change[i] as number;
      rows.size[r] = size[i] as number;
      rows.layer[r] = node.layer;
      let flags = 0;
      if (node.children) {
        flags |= ROW_DIR;
        if (openSet.has(i)) flags |= ROW_OPEN;
        else if (isEmpty(i)) flags |= ROW_EMPTY;
      }
      if (view.searching && view.match[i]) flags |= ROW_MATCH;
      if (e) {
        rows.mode[r] = e.mode;
        rows.uid[r] = e.uid;
        rows.gid[r] = e.gid;
        rows.mtime[r] = e.mtime;
        if (e.linkname) rows.links[r] = e.linkname;
        if (e.device) rows.devices[r] = `${e.device.major}, ${e.device.minor}`;
        if (e.stored !== undefined) rows.sparse[r] = e.stored;
        if (e.xattrs && Object.keys(e.xattrs).length > 0) {
          flags |= ROW_XATTRS;
          rows.xattrs[r] = e.xattrs;
        }
      } else flags |= ROW_IMPLIED;
      rows.flags[r] = flags;
    }
    return rows;
  }

  /**
   * Read one file of a layer from the layer's blob: decompress and parse only up to the
   * entry (to the end when the layer repeats paths, since the last one wins).
   */
  async readFile(
    imageId: string,
    layer: number,
    path: string,
    maxBytes: number,
    within = layer,
  ): Promise<{
    bytes: Uint8Array | null;
    blob: Blob | null;
    size: number;
    truncated: boolean;
    target: FileTarget | null;
  }> {
    const image = this.image(imageId);
    // A hard link's content is its target's: the last layer up to this one that has it.
    let target = path;
    let at = layer;
    // An entry written through a symbolic link is shown where it landed: read it by its own name.
    const landed = this.landed(imageId, within, path);
    if (landed) {
      target = landed.path;
      at = landed.layer;
    }
    const named = target;
    // Where a symbolic link led: the path shown (a hard link there is the same file, read from
    // its first name).
    let followed: { path: string; layer: number; name: string } | null = null;
    // The last hard link taken, while its target is looked for by the name it gives.
    let hardLink: { layer: number; linkname: string } | null = null;
    // The name the last hard link gives, or where it led when it named a path through a link.
    let shownPath = target;
    // Links taken (hard links, which may chain); layers stepped down are not counted.
    let hops = 0;
    for (;;) {
      const listing = this.listings.get(image.layers[at]?.blob ?? '');
      let entry = null;
      for (const e of listing?.entries ?? []) if (e.path === target && !e.whiteout) entry = e;
      if (!entry) {
        if (at === 0 && hardLink) {
          // Not under its own name: a symbolic link in its directories (followed by extraction).
          const file = this.hardLinkTarget(imageId, hardLink.layer, hardLink.linkname);
          hardLink = null;
          if (file) {
            ({ name: target, layer: at, path: shownPath } = file);
            continue;
          }
        }
        if (at === 0) throw new Error(`"${target}" is not in layer ${layer} or below`);
        at--;
        continue;
      }
      if (entry.type === 'hardlink') {
        if (++hops > 8) throw new Error('too many hard links');
        target = entry.linkname;
        shownPath = target;
        hardLink = { layer: at, linkname: entry.linkname };
        continue;
      }
      if (entry.type === 'symlink' && !followed) {
        // What `cat` shows in the container: the link followed through the file system the view
        // shows (the layers up to `within`), every component's links included.
        followed = this.followLink(imageId, within, at, target, entry);
        target = followed.name;
        at = followed.layer;
        continue;
      }
      if (entry.type !== 'file') throw new Error(`"${target}" is a ${entry.type}, not a regular file`);
      const read = await this.readEntry(
        image,
        at,
        target,
        entry.size,
        maxBytes,
        (listing as LayerListing).duplicates > 0,
      );
      // What the viewer names: where a symbolic link led, else the regular file a hard link shares.
      const shown: FileTarget | null = followed
        ? { path: followed.path, layer: followed.layer, kind: 'symlink' }
        : target !== named
          ? { path: this.shownAt(imageId, within, shownPath), layer: at, kind: 'hardlink' }
          : null;
      return { ...read, target: shown };
    }
  }

  /**
   * The file a hard link of layer `at` shares when `linkname` goes through symbolic links in its
   * directories, as extraction makes the link: its tar entry's name and layer, and where it is
   * shown. Null when nothing is there (or the layers are not all listed).
   */
  private hardLinkTarget(
    imageId: string,
    at: number,
    linkname: string,
  ): { name: string; layer: number; path: string } | null {
    const found = this.treeAt(imageId, at)?.locate(linkname);
    // Read by the name its own tar entry gives, in its own layer.
    return found?.node.entry
      ? { name: found.node.entry.path, layer: found.node.layer, path: found.path }
      : null;
  }

  /** The merged file system after `layer`; null while it or a layer below is not listed. */
  private treeAt(imageId: string, layer: number): MergedTree | null {
    try {
      return this.tree(imageId, this.filesystem(imageId, layer).fs, layer);
    } catch {
      return null;
    }
  }

  /**
   * Where `path` is shown after layer `within`: itself, unless a symbolic link in its directories
   * leads elsewhere (a hard link's target, named as bin/b over bin -> usr/bin, is in usr/bin).
   */
  private shownAt(imageId: string, within: number, path: string): string {
    return this.treeAt(imageId, within)?.locate(path)?.path ?? path;
  }

  /** The entry shown at `path` after layer `within`, when its tar entry has another name. */
  private landed(imageId: string, within: number, path: string): { path: string; layer: number } | null {
    // Layers not listed: the caller reads by the path as given and says what is missing.
    const node = this.treeAt(imageId, within)?.get(path);
    return node?.entry && node.entry.path !== path ? { path: node.entry.path, layer: node.layer } : null;
  }

  /**
   * The regular file (or hard link) a symbolic link at `path` (the entry `link` of layer `at`)
   * leads to after layer `within`, and the layer that wrote it; after its own layer when a layer
   * up to `within` removed or replaced it (a removed row shows what was there).
   */
  private followLink(
    imageId: string,
    within: number,
    at: number,
    path: string,
    link: ListingEntry,
  ): { path: string; layer: number; name: string } {
    const { fs } = this.filesystem(imageId, within);
    let tree = this.tree(imageId, fs, within);
    if (tree.get(path)?.entry !== link) tree = this.tree(imageId, fs, at);
    const r = tree.resolve(path);
    const what = `"${path}" is a symbolic link to "${link.linkname}"`;
    if (r.broken === 'missing') throw new Error(`${what}, and the directory "${r.path}" is not in the image`);
    if (r.broken === 'not-directory') throw new Error(`${what}, and "${r.path}" is not a directory`);
    if (r.broken === 'empty-link') throw new Error(`${what}, and "${r.path}" is an empty link`);
    if (r.broken === 'loop') throw new Error(`${what}, and its links loop (more than 40 followed)`);
    if (!r.node) throw new Error(`${what}, and "${r.path}" is not in the image (a dangling link)`);
    if (r.node.children || r.node.type === 'directory') {
      throw new Error(`${what}, which is the directory "${r.path}"`);
    }
    if (r.node.type !== 'file' && r.node.type !== 'hardlink') {
      throw new Error(`${what}: "${r.path}" is a ${r.node.type}, not a regular file`);
    }
    // `name`: its tar entry's own, which differs from where it is shown when it was written
    // through a symbolic link (bin/b, shown in usr/bin).
    return { path: r.path, layer: r.node.layer, name: r.node.entry?.path ?? r.path };
  }

  /**
   * A blob's stored bytes (a layer as the archive, folder or blob cache holds it, compressed or
   * not), to read a file from or to download.
   */
  async storedBlob(blobInfo: BlobInfo): Promise<Blob> {
    const key = blobInfo.key;
    let slice = this.slices.get(key) ?? null;
    if (!slice && this.fetchBlob) {
      slice = await this.fetchBlob(key, blobInfo).catch((e: unknown) => {
        throw new Error(`${this.unreadable}: ${e instanceof Error ? e.message : String(e)}`);
      });
      // Found once (it may have cost decompressing an archive up to it), kept for the next file.
      if (slice) this.slices.set(key, slice);
    }
    if (!slice) throw new Error(this.unreadable);
    return slice;
  }

  /**
   * One file's bytes from its layer's tar: the first `maxBytes` for the viewer, or with `maxBytes`
   * below 0 the whole file as a Blob for a download (gathered in parts, so no one buffer of the
   * file's size is needed: a model's weights may be gigabytes). A sparse file's holes are zeros.
   */
  private async readEntry(
    image: ImageInfo,
    layer: number,
    path: string,
    size: number,
    maxBytes: number,
    toEnd: boolean,
  ): Promise<{ bytes: Uint8Array | null; blob: Blob | null; size: number; truncated: boolean }> {
    const ref = image.layers[layer];
    const blobInfo = ref ? this.analysis?.blobs[ref.blob] : undefined;
    if (!blobInfo) throw new Error(this.unreadable);
    const slice = await this.storedBlob(blobInfo);
    const whole = maxBytes < 0;
    const limit = whole ? Infinity : Math.min(size, maxBytes);
    /** The last entry of that path read so far (a layer may repeat a path: the last one wins). */
    let read: EntryRead | null = null;
    let complete = false;
    const maxExpanded = this.maxExpanded;
    const parser = new TarStreamParser({
      entry(e) {
        if (complete && !toEnd) return null;
        if (e.type !== 'file' || normalizePath(e.path) !== path) return null;
        complete = false;
        const sparse = e.sparse;
        if (sparse?.error)
          throw new Error(`"${path}" is a sparse file whose map cannot be used: ${sparse.error}`);
        const fileSize = sparse ? sparse.realSize : e.size;
        // A file's bytes are bounded by its layer's, except a sparse file's holes: one that claims
        // exabytes would have the download write zeros until the disk is full.
        if (whole && sparse && fileSize > maxExpanded) {
          throw new Error(
            `"${path}" is a sparse file of ${fileSize} bytes with its holes, more than the ${maxExpanded} bytes a layer may expand to under the limits set (Limits…); it is not downloaded (its first bytes are in the viewer)`,
          );
        }
        const r: EntryRead = {
          view: whole ? null : new Uint8Array(Math.min(fileSize, limit)),
          parts: whole ? new BlobParts() : null,
          filled: 0,
          blob: null,
        };
        read = r;
        const want = r.view ? r.view.length : fileSize;
        const put = (at: number, bytes: Uint8Array) => {
          if (r.parts) {
            if (at > r.filled) r.parts.zeros(at - r.filled);
            r.parts.push(bytes);
          } else if (r.view && at < r.view.length) r.view.set(bytes.subarray(0, r.view.length - at), at);
          r.filled = Math.min(at + bytes.length, want);
        };
        // A sparse file's stored bytes go where its map says; what they do not cover is a hole.
        const placer = sparse && new SparsePlacer(sparse.map, put);
        return {
          data(chunk) {
            if (placer) placer.push(chunk);
            else put(r.filled, chunk);
            if (r.filled >= want && !toEnd) complete = true;
          },
          end() {
            if (r.parts) {
              if (fileSize > r.filled) r.parts.zeros(fileSize - r.filled);
              r.blob = r.parts.blob();
              r.parts = null;
            }
            r.filled = want;
            complete = true;
          },
        };
      },
    });
    const feed = async (chunk: Uint8Array) => {
      if (complete && !toEnd) throw new StopRead();
      if (!parser.ended) await parser.push(chunk);
      if (complete && !toEnd) throw new StopRead();
    };
    const codec = blobInfo.compression;
    try {
      if (codec === 'gzip' || codec === 'zstd') {
        const d = createDecompressor(codec, feed);
        await readBlob(slice, (chunk) => d.write(chunk));
        await d.close();
      } else {
        await readBlob(slice, feed);
      }
    } catch (e) {
      if (!(e instanceof StopRead) && !(complete && !toEnd)) throw e;
    }
    const r = read as EntryRead | null;
    if (!r) throw new Error(`"${path}" was not found in the layer's tar`);
    if (whole && !r.blob) throw new Error(`the layer's tar ends inside "${path}"`);
    return {
      bytes: r.view ? r.view.subarray(0, r.filled) : null,
      blob: r.blob,
      size,
      truncated: !whole && r.filled < size,
    };
  }
}
