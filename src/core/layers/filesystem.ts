/**
 * Layer file systems: apply an image's layer listings in order, as extracting them would
 * (`umoci unpack`, a container runtime's snapshotter), to get what each layer changes, the
 * merged file system after any layer, and dive's efficiency figures.
 *
 * The overlay rules are the OCI image-spec's (layer.md "Changesets", "Whiteouts"):
 * - an entry replaces the same path from lower layers; a directory over a lower directory
 *   merges with it (only its metadata changes), a non-directory over a directory replaces
 *   the whole subtree;
 * - `.wh.<name>` removes `<name>` (and everything under it) from the lower layers, and
 *   `.wh..wh..opq` hides every lower entry of its directory ("Opaque Whiteout"). Both
 *   "MUST only apply to resources in lower/parent layers", so they are applied before the
 *   layer's own entries, and whiteout files never appear in the merged file system.
 *
 * Hard links are checked here, not in a layer's listing: a layer's hard link may name a file
 * a lower layer provides (layer.md "Hardlinks": a hard link's target may come from a lower
 * layer; overlay, containerd and umoci extraction link to the path already on disk), so only
 * the file system below the layer tells whether the target is there.
 *
 * The tree is one small object per path, with children in a Map for directories, and the
 * efficiency records hang off the nodes (no map of every path): 200,000 entries take about
 * 40 MB and merge, figures included, in about 0.3 s on one idle core (test/unit/layers.test.ts
 * prints the time).
 */
import type { FilesystemFigures, LayerChanges, Problem, WastedPath } from '../model';
import { DEFAULT_LAYER_LIMITS, shown } from './layer-listing';
import type { LayerListing, ListingEntry, ListingEntryType } from './layer-listing';

/** A problem only the merge can see, with the index of the layer (in the listings) it is in. */
export interface MergeProblem {
  layer: number;
  problem: Problem;
}

/** Where a path leads: see `MergedTree.resolve`. */
export interface Resolved {
  path: string;
  node: FsNode | null;
  broken?: 'missing' | 'not-directory' | 'empty-link' | 'loop';
  /** The first symbolic link followed on the way, and its path. */
  firstLink?: { node: FsNode; path: string };
}

/** A path of the merged file system. */
export class FsNode {
  /** Directories only (null for everything else). */
  children: Map<string, FsNode> | null;
  /**
   * Regular files and hard links: the file's size. Directories: the bytes of the files
   * below them, each hard-linked file counted once (set when a tree is finished).
   */
  size = 0;
  /** Identity of a regular file's content, shared by hard links to it; 0 for the rest. */
  ino = 0;
  /** Set when the node is removed while a layer is applied. */
  gone = false;
  /** Last layer with an entry below this directory (dive's leaf test). */
  visited = -1;
  /** Index of the path's efficiency record, once the path has occurred. */
  record = -1;

  constructor(
    readonly name: string,
    public parent: FsNode | null,
    /** The tar entry that made this path; null for a directory only implied by deeper paths. */
    public entry: ListingEntry | null,
    /** Index of the layer that last wrote this path. */
    public layer: number,
    /** Index of the layer that created this node (a directory keeps it when later layers merge into it). */
    readonly born: number,
    directory: boolean,
  ) {
    this.children = directory ? new Map() : null;
  }

  get path(): string {
    if (!this.parent) return '';
    const names = [this.name];
    for (let n = this.parent; n.parent; n = n.parent) names.push(n.name);
    return names.reverse().join('/');
  }

  get type(): ListingEntryType {
    return this.children || !this.entry ? 'directory' : this.entry.type;
  }

  /** Children in code-unit order of their names. */
  sortedChildren(): FsNode[] {
    if (!this.children) return [];
    return [...this.children.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}

/** The merged file system after some layer. */
export class MergedTree {
  constructor(
    readonly root: FsNode,
    /** Paths, implied parent directories included, the root excluded. */
    readonly entries: number,
    /** Bytes of the regular files, each hard-linked file once. */
    readonly bytes: number,
  ) {}

  /** The node at a normalised path (`''` is the root), or null. */
  get(path: string): FsNode | null {
    return find(this.root, path);
  }

  /**
   * Where `path` leads in this file system, following symbolic links in every component as the
   * kernel does inside the container (path_resolution(7)): a relative target is read from the
   * link's directory, an absolute one from the image's root, and `..` at the root stays at the root
   * (the root is the container's `/`). `path` is the canonical path, as `readlink -f` run in a
   * chroot of the unpacked root file system prints it; `node` is null when only the last component
   * is missing (a dangling link). `broken` says why it leads nowhere, `path` then being where it
   * stopped: a directory on the way is missing, or is not a directory, a link is empty, or more than
   * 40 links were followed (Linux's ELOOP limit).
   */
  resolve(path: string): Resolved {
    return walkPath(this.root, path, false);
  }

  /**
   * What an entry naming `path` acts on, as extraction resolves it: symbolic links in its
   * directories followed inside the root, the last component not (a hard link's target, a
   * whiteout); with the path where that is. Null when nothing is there.
   */
  locate(path: string): { node: FsNode; path: string } | null {
    const at = located(this.root, path, false);
    return at && { node: at.node, path: at.path };
  }

  /** Every path but the root, parents before children. */
  *walk(): IterableIterator<FsNode> {
    const stack: FsNode[] = [this.root];
    while (stack.length > 0) {
      const n = stack.pop() as FsNode;
      if (n !== this.root) yield n;
      if (n.children) for (const c of n.children.values()) stack.push(c);
    }
  }
}

/** Paths a layer changes, relative to the file system below it. */
export interface ChangedPaths {
  /** Not there below, there after the layer (implied parent directories included). */
  added: string[];
  /** There below, and replaced by (or, for a directory, merged with) an entry of the layer. */
  modified: string[];
  /** There below, gone after the layer: everything a whiteout or a replacement removes, children included. */
  removed: string[];
}

export interface LayerResult {
  /** Real tar entries of the layer (PAX and GNU metadata records excluded). */
  entries: number;
  changes: LayerChanges;
  paths: ChangedPaths;
}

/**
 * `path` walked from `root` with every symbolic link followed, as the kernel does in the
 * container (path_resolution(7); at most 40 links, Linux's ELOOP). With `keepMissing`, a missing
 * component is kept as named and the walk goes on without nodes (`readlink -m`, and what
 * securejoin gives umoci and containerd to extract an entry below a link); without, the walk stops
 * there unless it is the last component (`readlink -f`).
 */
function walkPath(root: FsNode, path: string, keepMissing: boolean): Resolved {
  // Nodes from the root down (null past a missing component), and their names.
  const chain: (FsNode | null)[] = [];
  const names: string[] = [];
  // Components still to walk, the next one last.
  const pending = path.split('/').reverse();
  let links = 0;
  let firstLink: Resolved['firstLink'];
  const stop = (broken: NonNullable<Resolved['broken']>, name?: string): Resolved => ({
    path: (name === undefined ? names : [...names, name]).join('/'),
    node: null,
    broken,
    firstLink,
  });
  while (pending.length > 0) {
    const name = pending.pop() as string;
    if (name === '' || name === '.') continue;
    if (name === '..') {
      chain.pop();
      names.pop();
      continue;
    }
    const dir = chain.length === 0 ? root : (chain[chain.length - 1] as FsNode | null);
    if (dir && !dir.children) return stop('not-directory');
    const next = dir?.children?.get(name);
    if (!next) {
      if (keepMissing) {
        chain.push(null);
        names.push(name);
        continue;
      }
      // Only the last component may be missing (a dangling link); a missing directory stops it.
      if (pending.some((c) => c !== '' && c !== '.')) return stop('missing', name);
      return { path: [...names, name].join('/'), node: null };
    }
    if (next.entry?.type === 'symlink' && !next.children) {
      const target = next.entry.linkname;
      if (target === '') return stop('empty-link', name);
      if (++links > 40) return stop('loop', name);
      firstLink ??= { node: next, path: [...names, name].join('/') };
      if (target.startsWith('/')) {
        chain.length = 0;
        names.length = 0;
      }
      for (const c of target.split('/').reverse()) pending.push(c);
      continue;
    }
    chain.push(next);
    names.push(name);
  }
  return {
    path: names.join('/'),
    node: chain.length === 0 ? root : (chain[chain.length - 1] ?? null),
    firstLink,
  };
}

function find(root: FsNode, path: string): FsNode | null {
  if (path === '') return root;
  let node = root;
  let start = 0;
  for (;;) {
    const slash = path.indexOf('/', start);
    const child = node.children?.get(slash < 0 ? path.slice(start) : path.slice(start, slash));
    if (!child) return null;
    if (slash < 0) return child;
    node = child;
    start = slash + 1;
  }
}

const join = (dir: string, name: string) => (dir ? `${dir}/${name}` : name);

/**
 * What an entry naming `path` acts on in the file system below it: the symbolic links in its
 * directories followed inside the root, as umoci and containerd resolve an entry's parent
 * (securejoin) before they apply a whiteout or make a hard link; the last component too when
 * `whole` (an opaque whiteout's directory, which umoci resolves as a whole). With `path` where
 * that is, and `link`, the first component that is a symbolic link (null when none is).
 */
function located(
  root: FsNode,
  path: string,
  whole: boolean,
): { node: FsNode; path: string; link: FsNode | null; linkPath: string } | null {
  const direct = find(root, path);
  // Found without a link on the way: every directory of the path is a real one.
  if (direct && (!whole || direct.children)) return { node: direct, path, link: null, linkPath: '' };
  const slash = whole ? path.length : path.lastIndexOf('/');
  if (slash < 0) return null;
  const r = walkPath(root, path.slice(0, slash), false);
  const dir = r.broken ? null : r.node;
  const node = whole ? dir : dir?.children?.get(path.slice(slash + 1));
  if (!node) return null;
  return {
    node,
    path: whole ? r.path : join(r.path, node.name),
    link: r.firstLink?.node ?? null,
    linkPath: r.firstLink?.path ?? '',
  };
}

/** Tar sizes of everything in a subtree (directories and hard links have none). */
function tarBytes(node: FsNode): number {
  let sum = 0;
  const stack = [node];
  while (stack.length > 0) {
    const n = stack.pop() as FsNode;
    sum += n.entry?.size ?? 0;
    if (n.children) for (const c of n.children.values()) stack.push(c);
  }
  return sum;
}

/**
 * dive's efficiency (wagoodman/dive, filetree/efficiency.go): every layer's leaf entries
 * (a directory entry with entries below it in the same layer is not a leaf) are occurrences
 * of their path, with their tar size; a whiteout is an occurrence of the path it removes,
 * sized as dive sizes it: the sum of the lower subtree when that is a directory, 0 when it
 * is a file (so a deleted file's bytes all count as waste: its smallest size is 0), and no
 * occurrence at all when the path is not there below. dive has no rule for an opaque
 * whiteout; it is taken as a whiteout of each lower entry it hides.
 * Score = Σ paths' smallest size ÷ Σ paths' summed sizes (1 when that is 0); wasted bytes =
 * Σ summed sizes of the paths that occur in two or more layers.
 *
 * A path's record is found through its node (`FsNode.record`) rather than a map of every
 * path: only the records of removed paths wait in a map until their path comes back.
 */
class Occurrences {
  readonly paths: string[] = [];
  // Per record, in typed arrays grown by doubling: a record per path of every layer.
  private min = new Float64Array(1024);
  private sum = new Float64Array(1024);
  private first = new Int32Array(1024);
  /** Layers of the paths that occur more than once. */
  private readonly repeated = new Map<number, number[]>();
  /** Records of paths that have no node at present. */
  readonly graveyard = new Map<string, number>();

  /** An occurrence of `node`'s path (`path`) in `layer`. */
  add(node: FsNode, path: string, size: number, layer: number): void {
    const k = node.record;
    if (k < 0) {
      const n = this.paths.length;
      if (n === this.min.length) this.grow();
      node.record = n;
      this.paths.push(path);
      this.min[n] = size;
      this.sum[n] = size;
      this.first[n] = layer;
      return;
    }
    this.sum[k] = (this.sum[k] as number) + size;
    if (size < (this.min[k] as number)) this.min[k] = size;
    const layers = this.repeated.get(k);
    if (layers) layers.push(layer);
    else this.repeated.set(k, [this.first[k] as number, layer]);
  }

  private grow(): void {
    const min = new Float64Array(this.min.length * 2);
    const sum = new Float64Array(this.min.length * 2);
    const first = new Int32Array(this.min.length * 2);
    min.set(this.min);
    sum.set(this.sum);
    first.set(this.first);
    this.min = min;
    this.sum = sum;
    this.first = first;
  }

  result(): { wastedBytes: number; efficiency: number; wasted: WastedPath[] } {
    let minimum = 0;
    let discovered = 0;
    for (let k = 0; k < this.paths.length; k++) {
      minimum += this.min[k] as number;
      discovered += this.sum[k] as number;
    }
    let wastedBytes = 0;
    const wasted: WastedPath[] = [];
    for (const [k, layers] of this.repeated) {
      const bytes = this.sum[k] as number;
      wastedBytes += bytes;
      // dive lists zero-byte repeats too (empty directories, whiteouts of files); they
      // waste nothing, so they are left out of the list.
      if (bytes > 0) wasted.push({ path: this.paths[k] as string, bytes, layers });
    }
    wasted.sort((a, b) => b.bytes - a.bytes || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { wastedBytes, efficiency: discovered === 0 ? 1 : minimum / discovered, wasted };
  }
}

/** Applies listings one after the other to one tree. */
class Merger {
  readonly root = new FsNode('', null, null, -1, -1, true);
  private nextIno = 1;
  /** The parent directory of the previous entry: tars list a directory's entries together. */
  private cachePath: string | null = null;
  private cacheNode: FsNode | null = null;
  /** Where the cached directory is: `cachePath`, or where its symbolic links lead. */
  private cacheResolved = '';
  /** The listing being applied, and the links its entries were written through (one problem each). */
  private listing: LayerListing | null = null;
  private linksReported = new Set<string>();
  /** Paths removed while applying the layer → whether they existed below it. */
  private removed = new Map<string, boolean>();
  /** Nodes the layer creates (implied directories included), and their paths. */
  private created: FsNode[] = [];
  private createdPaths: string[] = [];
  /** Lower directories the layer merges a directory entry into, and their paths. */
  private merged: FsNode[] = [];
  private mergedPaths: string[] = [];

  /** Paths of the listing being applied, made only when a hard link's target is missing. */
  private listingPaths: Set<string> | null = null;
  /** Hard-link problems of the layer being applied, kept and beyond the cap. */
  private layerProblems = 0;

  constructor(
    private readonly occurrences: Occurrences | null,
    /** Where problems go; null when only the tree is wanted (no checks). */
    private readonly problems: MergeProblem[] | null = null,
  ) {}

  apply(listing: LayerListing, layer: number): ChangedPaths {
    this.cachePath = null;
    this.cacheNode = null;
    this.listing = listing;
    this.linksReported.clear();
    this.listingPaths = null;
    this.layerProblems = 0;
    const holders = this.occurrences ? this.whiteoutOccurrences(listing, layer) : null;
    // Whiteouts first: they apply to the lower layers only, wherever they sit in the tar.
    for (const e of listing.entries) {
      if (!e.whiteout) continue;
      const at = this.lower(e.target as string, e.whiteout === 'opaque', layer);
      if (!at) continue;
      if (e.whiteout === 'file') {
        if (at.node !== this.root) this.remove(at.node, at.path, layer);
      } else if (at.node.children) {
        for (const c of [...at.node.children.values()]) this.remove(c, join(at.path, c.name), layer);
      }
    }
    for (const e of listing.entries) {
      if (e.whiteout) continue;
      if (e.path === '') {
        // The root's own entry (`./`): its metadata, never a path of the file system.
        this.root.entry = e;
        this.root.layer = layer;
        continue;
      }
      const slash = e.path.lastIndexOf('/');
      const dir = slash < 0 ? '' : e.path.slice(0, slash);
      const parent = slash < 0 ? this.root : this.directory(dir, layer);
      const name = slash < 0 ? e.path : e.path.slice(slash + 1);
      // Where the entry lands: its own path, unless a symbolic link on the way moved it.
      const at = slash < 0 || this.cacheResolved === dir ? e.path : join(this.cacheResolved, name);
      const children = parent.children as Map<string, FsNode>;
      const existing = children.get(name);
      if (e.type === 'directory' && existing?.children) {
        if (existing.born < layer && existing.layer < layer) {
          this.merged.push(existing);
          this.mergedPaths.push(at);
        }
        existing.entry = e;
        existing.layer = layer;
        continue;
      }
      if (existing) this.remove(existing, at, layer);
      const node = new FsNode(name, parent, e, layer, layer, e.type === 'directory');
      if (e.type === 'file') {
        node.ino = this.nextIno++;
        node.size = e.size;
      } else if (e.type === 'hardlink') {
        // The link shares the file it names: in this layer (earlier entries) or below.
        const target = this.lower(e.linkname, false, layer)?.node ?? null;
        if (target && target.ino) {
          node.ino = target.ino;
          node.size = target.size;
        }
        if (this.problems) this.checkLink(listing, layer, e, target);
      }
      this.place(children, node, at);
    }
    if (this.problems && this.layerProblems > DEFAULT_LAYER_LIMITS.maxProblems) {
      this.problems.push({
        layer,
        problem: {
          code: 'limit',
          message: `${this.layerProblems - DEFAULT_LAYER_LIMITS.maxProblems} more hard-link problems in this layer are not listed`,
          where: listing.layer ? `layer (layer ${listing.layer})` : 'layer',
          severity: 'info',
        },
      });
    }
    if (holders) this.leafOccurrences(layer, holders);
    return this.changes();
  }

  /**
   * A hard link must name a regular file (or another link to one) that is on disk when it
   * is extracted: earlier in its layer, or in the file system of the layers below (this
   * layer's whiteouts applied first, as they remove lower paths only). A target later in
   * the layer, or the link itself, is the listing's own error (LayerListingBuilder.finish),
   * so it is not reported again.
   */
  private checkLink(listing: LayerListing, layer: number, e: ListingEntry, target: FsNode | null): void {
    let message: string;
    if (!target) {
      this.listingPaths ??= new Set(listing.entries.map((x) => x.path));
      if (this.listingPaths.has(e.linkname)) return;
      message = `hard link "${shown(e.path)}" points to "${shown(e.linkname)}", which is neither in the layer nor in the layers below it`;
    } else if (target.type !== 'file' && target.type !== 'hardlink') {
      message = `hard link "${shown(e.path)}" points to "${shown(e.linkname) || '.'}", which is a ${target.type}, not a regular file`;
    } else {
      return;
    }
    if (++this.layerProblems > DEFAULT_LAYER_LIMITS.maxProblems) return;
    const what = shown(e.path);
    (this.problems as MergeProblem[]).push({
      layer,
      problem: {
        code: 'hardlink-target',
        message,
        // As a listing's problems: `<entry path> (layer <digest>)` (LayerListingBuilder.where).
        where: listing.layer ? `${what} (layer ${listing.layer})` : what,
        severity: 'warning',
      },
    });
  }

  /**
   * Whiteouts as occurrences, sized against the file system below the layer before any of
   * them is applied (as dive sizes them against the lower layers stacked). Returns the
   * directories holding whiteouts, with their parents: they are not leaves of the layer.
   */
  private whiteoutOccurrences(listing: LayerListing, layer: number): Set<string> {
    const occurrences = this.occurrences as Occurrences;
    const holders = new Set<string>();
    const done = new Set<string>();
    for (const e of listing.entries) {
      if (!e.whiteout || done.has(e.path)) continue;
      done.add(e.path);
      for (let j = e.path.lastIndexOf('/'); j > 0; j = e.path.lastIndexOf('/', j - 1)) {
        const dir = e.path.slice(0, j);
        if (holders.has(dir)) break;
        holders.add(dir);
      }
      const at = located(this.root, e.target as string, e.whiteout === 'opaque');
      if (!at) continue;
      const n = at.node;
      if (e.whiteout === 'file') {
        if (n !== this.root) occurrences.add(n, at.path, n.children ? tarBytes(n) : 0, layer);
      } else if (n.children) {
        for (const c of n.children.values()) {
          occurrences.add(c, join(at.path, c.name), c.children ? tarBytes(c) : 0, layer);
        }
      }
    }
    return holders;
  }

  /** The layer's own leaf entries as occurrences (the last entry of a repeated path counts). */
  private leafOccurrences(layer: number, holders: Set<string>): void {
    const occurrences = this.occurrences as Occurrences;
    const count = (node: FsNode, path: string) => {
      if (node.gone || !node.entry) return; // replaced later in the layer; implied directory
      // A directory is a leaf when no entry of the layer lies below it: none went through it
      // (`visited`), and it holds no whiteout.
      if (node.children && (node.visited === layer || holders.has(path))) return;
      occurrences.add(node, path, node.entry.size, layer);
    };
    for (let k = 0; k < this.created.length; k++)
      count(this.created[k] as FsNode, this.createdPaths[k] as string);
    for (let k = 0; k < this.merged.length; k++)
      count(this.merged[k] as FsNode, this.mergedPaths[k] as string);
  }

  /** Attach a new node; it takes over the efficiency record its path had, if any. */
  private place(children: Map<string, FsNode>, node: FsNode, path: string): void {
    children.set(node.name, node);
    this.created.push(node);
    this.createdPaths.push(path);
    const graveyard = this.occurrences?.graveyard;
    if (graveyard && graveyard.size > 0) {
      const k = graveyard.get(path);
      if (k !== undefined) {
        node.record = k;
        graveyard.delete(path);
      }
    }
  }

  /**
   * Compare with the file system below the layer: a path created by the layer is added,
   * or modified when a lower one was removed to make way for it; a lower path removed and
   * not re-created is removed; a lower directory merged into is modified.
   */
  private changes(): ChangedPaths {
    const changed: ChangedPaths = { added: [], modified: [], removed: [] };
    const removed = this.removed;
    for (let k = 0; k < this.created.length; k++) {
      if ((this.created[k] as FsNode).gone) continue;
      const path = this.createdPaths[k] as string;
      const existed = removed.get(path);
      if (existed === undefined) {
        changed.added.push(path);
        continue;
      }
      (existed ? changed.modified : changed.added).push(path);
      removed.delete(path);
    }
    for (let k = 0; k < this.merged.length; k++) {
      if (!(this.merged[k] as FsNode).gone) changed.modified.push(this.mergedPaths[k] as string);
    }
    for (const [path, existed] of removed) if (existed) changed.removed.push(path);
    this.removed = new Map();
    this.created = [];
    this.createdPaths = [];
    this.merged = [];
    this.mergedPaths = [];
    return changed;
  }

  /** The directory at `path`, creating missing ones (implied parents) as extraction does. */
  private directory(path: string, layer: number): FsNode {
    if (path === this.cachePath && this.cacheNode) return this.cacheNode;
    let node = this.root;
    let start = 0;
    for (;;) {
      const slash = path.indexOf('/', start);
      const end = slash < 0 ? path.length : slash;
      const name = path.slice(start, end);
      const children = node.children as Map<string, FsNode>;
      let child = children.get(name);
      if (!child?.children) {
        const p = path.slice(0, end);
        if (child?.entry?.type === 'symlink') {
          const moved = this.throughLink(path, p, child.entry.linkname, layer);
          if (moved) return moved;
        }
        // A non-directory in the way is replaced by a directory, as tar does to extract below it.
        if (child) this.remove(child, p, layer);
        child = new FsNode(name, node, null, layer, layer, true);
        this.place(children, child, p);
      }
      child.visited = layer;
      node = child;
      if (slash < 0) break;
      start = slash + 1;
    }
    this.cachePath = path;
    this.cacheNode = node;
    this.cacheResolved = path;
    return node;
  }

  /**
   * A directory path whose component `link` is a symbolic link: entries below it are extracted
   * where the link leads inside the root, as containerd and umoci resolve them (securejoin), the
   * missing directories made on the way. Reported once per link and layer, as a warning when the
   * link is absolute or climbs with `..`: an extractor that follows it as it is (GNU tar, layer
   * after layer into a directory) writes outside the root.
   * Null when the link leads nowhere a directory can be (a loop, a regular file): the link is
   * then replaced by a directory, as tar does with any non-directory in the way.
   */
  private throughLink(path: string, link: string, linkname: string, layer: number): FsNode | null {
    const r = walkPath(this.root, path, true);
    if (r.broken) return null;
    const node = r.path === '' ? this.root : this.directory(r.path, layer);
    this.cachePath = path;
    this.cacheNode = node;
    this.cacheResolved = r.path;
    this.noteLink(link, linkname, r.path, layer);
    return node;
  }

  /**
   * What a whiteout or a hard link of this layer names in the file system below (`located`); a
   * symbolic link on the way is reported as for entries written through it.
   */
  private lower(path: string, whole: boolean, layer: number): ReturnType<typeof located> {
    const at = located(this.root, path, whole);
    if (at?.link?.entry) {
      const dir = whole ? at.path : at.path.slice(0, Math.max(0, at.path.lastIndexOf('/')));
      this.noteLink(at.linkPath, at.link.entry.linkname, dir, layer);
    }
    return at;
  }

  /**
   * Once per link and layer: entries named through the symbolic link `link` act where it leads,
   * `landed`. A warning when the link is absolute or climbs with `..`: an extractor that follows
   * it as it is (GNU tar, layer after layer into a directory) writes outside the root.
   */
  private noteLink(link: string, linkname: string, landed: string, layer: number): void {
    if (!this.problems || this.linksReported.has(link)) return;
    this.linksReported.add(link);
    const unsafe = linkname.startsWith('/') || linkname.split('/').includes('..');
    const label = this.listing?.layer;
    const what = shown(link);
    this.problems.push({
      layer,
      problem: {
        code: 'symlink-path',
        message: `entries under "${what}" are written through the symbolic link "${what}" → "${shown(linkname)}": they are shown in "/${shown(landed)}", where containerd and umoci extract them, inside the root${unsafe ? '; an extractor that follows the link as it is (an absolute link, or one that climbs with "..") writes them outside the root' : ''}`,
        where: label ? `${what} (layer ${label})` : what,
        severity: unsafe ? 'warning' : 'info',
      },
    });
  }

  /** Detach a subtree, noting every path in it as removed. */
  private remove(node: FsNode, path: string, layer: number): void {
    node.parent?.children?.delete(node.name);
    this.cachePath = null;
    this.cacheNode = null;
    const graveyard = this.occurrences?.graveyard;
    const stack: [FsNode, string][] = [[node, path]];
    while (stack.length > 0) {
      const [n, p] = stack.pop() as [FsNode, string];
      n.gone = true;
      // The first removal of a path in a layer tells whether it existed below the layer.
      if (!this.removed.has(p)) this.removed.set(p, n.born < layer);
      if (graveyard && n.record >= 0) graveyard.set(p, n.record);
      if (n.children) for (const c of n.children.values()) stack.push([c, `${p}/${c.name}`]);
    }
  }

  /** Count paths and roll sizes up the tree. */
  finish(): MergedTree {
    const order: FsNode[] = [];
    const stack: FsNode[] = [this.root];
    while (stack.length > 0) {
      const n = stack.pop() as FsNode;
      order.push(n);
      if (n.children) for (const c of n.children.values()) stack.push(c);
    }
    // Each file's bytes are carried by one path: the regular file when it is still there
    // (a file's content belongs to one regular-file entry only), else the first hard link to
    // it (the file may have been removed above the link).
    const links = order.filter((n) => n.ino && n.entry?.type === 'hardlink');
    const linkCarrier = new Map<number, FsNode | null>();
    if (links.length > 0) {
      for (const n of links) linkCarrier.set(n.ino, null);
      for (const n of order)
        if (n.entry?.type === 'file' && linkCarrier.has(n.ino)) linkCarrier.set(n.ino, n);
      for (const n of links) if (linkCarrier.get(n.ino) === null) linkCarrier.set(n.ino, n);
    }
    for (let k = order.length - 1; k >= 0; k--) {
      const n = order[k] as FsNode;
      if (!n.children) continue;
      let sum = 0;
      for (const c of n.children.values()) {
        if (c.children) sum += c.size;
        else if (c.entry?.type === 'file' || (c.ino && linkCarrier.get(c.ino) === c)) sum += c.size;
      }
      n.size = sum;
    }
    return new MergedTree(this.root, order.length - 1, this.root.size);
  }
}

/** The merged file system after layer `upTo` (0-based, inclusive) of `listings`. */
export function mergeLayers(listings: readonly LayerListing[], upTo = listings.length - 1): MergedTree {
  const merger = new Merger(null);
  for (let i = 0; i <= upTo && i < listings.length; i++) merger.apply(listings[i] as LayerListing, i);
  return merger.finish();
}

/** An image's layers applied in order: per-layer changes, the merged tree, dive's figures. */
export class ImageFilesystem {
  private constructor(
    private readonly listings: readonly LayerListing[],
    readonly layers: LayerResult[],
    /** The merged file system after the last layer. */
    readonly tree: MergedTree,
    readonly figures: FilesystemFigures,
    /** Paths that occur in two or more layers and have bytes, largest first. */
    readonly wasted: WastedPath[],
    /**
     * What only the merge shows: hard links whose target is in neither their layer nor the
     * layers below (or is not a regular file), at most `maxProblems` per layer.
     */
    readonly problems: MergeProblem[],
  ) {}

  static build(listings: readonly LayerListing[]): ImageFilesystem {
    const occurrences = new Occurrences();
    const problems: MergeProblem[] = [];
    const merger = new Merger(occurrences, problems);
    const layers = listings.map((listing, i): LayerResult => {
      const paths = merger.apply(listing, i);
      return {
        entries: listing.tarEntries,
        changes: {
          added: paths.added.length,
          modified: paths.modified.length,
          removed: paths.removed.length,
        },
        paths,
      };
    });
    const tree = merger.finish();
    const { wastedBytes, efficiency: score, wasted } = occurrences.result();
    return new ImageFilesystem(
      listings,
      layers,
      tree,
      { entries: tree.entries, bytes: tree.bytes, wastedBytes, efficiency: score },
      wasted,
      problems,
    );
  }

  /** The merged file system after layer `index` (0-based); rebuilt on demand, the last one kept. */
  at(index: number): MergedTree {
    if (index < 0 || index >= this.listings.length) throw new RangeError(`no layer ${index}`);
    return index === this.listings.length - 1 ? this.tree : mergeLayers(this.listings, index);
  }
}
