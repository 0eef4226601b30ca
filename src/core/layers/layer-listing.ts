/**
 * The listing of one layer: a compact record per tar entry of the layer's uncompressed
 * tar, built as the entries stream past (the bytes are never kept), with the problems a
 * hostile or broken layer shows and the limits that stop one that would exhaust memory.
 *
 * Whiteouts follow the OCI image-spec, layer.md "Whiteouts": `.wh.<name>` removes `<name>`
 * from the lower layers, and `.wh..wh..opq` ("Opaque Whiteout") hides every lower entry of
 * its directory. The `.wh..wh.` prefix is otherwise reserved (aufs wrote metadata such as
 * `.wh..wh.plnk` under it), so such names are reported, not applied.
 *
 * Everything here is plain data (structured-clone safe): a listing is made in a digest
 * worker and handed to the analysis worker as it is.
 */
import type { LayerStopReason, Problem, ProblemCode } from '../model';
import { TarError } from '../tar/header';
import type { TarEntry, TarEntryType } from '../tar/header';
import type { SparseFile } from '../tar/sparse';
import { TarStreamParser } from '../tar/tar-stream';
import { BIDI_CONTROLS, escapeHidden } from '../text';

/** Entry types that reach a listing: PAX and GNU metadata records are applied, never listed. */
export type ListingEntryType = Exclude<
  TarEntryType,
  'pax-header' | 'pax-global' | 'gnu-longname' | 'gnu-longlink'
>;

export type WhiteoutKind = 'file' | 'opaque';

/**
 * One entry of a layer, with every PAX / GNU extension applied: the tar entry's metadata
 * (`size` is 0 for every header-only type, hard links included; a hard link's `linkname` is
 * the target's normalised archive path) plus what the overlay rules need.
 */
export interface ListingEntry extends Pick<
  TarEntry,
  'size' | 'mode' | 'uid' | 'gid' | 'mtime' | 'linkname' | 'xattrs'
> {
  /** Normalised: no `./` prefix, no leading or trailing `/`, no `.` or empty components; `''` is the root. */
  path: string;
  type: ListingEntryType;
  whiteout: WhiteoutKind | null;
  /** `file`: the path the whiteout removes; `opaque`: the directory it makes opaque. */
  target: string | null;
  /** Character and block devices: the device numbers (ustar devmajor / devminor). */
  device?: { major: number; minor: number };
  /** A sparse file (tar --sparse, bsdtar): the bytes its entry stores; `size` counts its holes too. */
  stored?: number;
}

export interface LayerListing {
  /** Label of the layer used in problems' `where` (its digest, usually); `''` when none was given. */
  layer: string;
  entries: ListingEntry[];
  /** Real tar entries read (PAX / GNU records excluded), counting those not kept (unsafe names). */
  tarEntries: number;
  /** Uncompressed tar bytes handed to the parser. */
  bytesRead: number;
  /** Entries whose path an earlier entry of the layer already had. */
  duplicates: number;
  problems: Problem[];
  /** Problems beyond `maxProblems`: counted, not kept. */
  problemsDropped: number;
  /** Why the listing is incomplete; null when the whole layer was read. */
  stopped: LayerStopReason | null;
}

/**
 * Limits that keep a hostile layer from exhausting the page. All are settable (the page
 * will offer them); the defaults suit real images:
 *
 * - `maxEntries`: 1,000,000 entries. Large distribution images hold ~100,000 files per
 *   layer; a million records is ~200 MB of listing, the most a tab can afford.
 * - Uncompressed bytes: `min(maxUncompressedBytes, max(minUncompressedBytes, maxExpansion ×
 *   compressed size))`. Layers compress 2–10× (text and code rarely beyond 20×); only runs
 *   of identical bytes go further, up to deflate's ~1032× ceiling, which is what a gzip bomb
 *   uses. 100× leaves a wide margin over real layers; the 64 MiB floor spares small layers
 *   of very compressible text; 32 GiB caps what one layer may cost in time even when its
 *   ratio is plausible. A legitimate layer with huge zero-filled files (a sparse
 *   `/var/log/lastlog`, say) can hit it: the stored bytes are still verified, and the
 *   problem says how to raise the limit.
 * - `maxProblems`: problems kept per layer (a hostile layer could produce one per entry).
 */
export interface LayerLimits {
  maxEntries: number;
  maxExpansion: number;
  minUncompressedBytes: number;
  maxUncompressedBytes: number;
  maxProblems: number;
}

export const DEFAULT_LAYER_LIMITS: Readonly<LayerLimits> = Object.freeze({
  maxEntries: 1_000_000,
  maxExpansion: 100,
  minUncompressedBytes: 64 * 1024 * 1024,
  maxUncompressedBytes: 32 * 1024 * 1024 * 1024,
  maxProblems: 100,
});

export function layerLimits(limits?: Partial<LayerLimits>): LayerLimits {
  return { ...DEFAULT_LAYER_LIMITS, ...limits };
}

/** The most uncompressed bytes a layer of `compressedSize` stored bytes may expand to. */
export function uncompressedLimit(compressedSize: number, limits: LayerLimits): number {
  return Math.min(
    limits.maxUncompressedBytes,
    Math.max(limits.minUncompressedBytes, limits.maxExpansion * compressedSize),
  );
}

/**
 * A complete listing made earlier (kept with its layer's blob) is within `limits`: it may stand in
 * for reading the layer again under them. One that is not must be read again, so that it stops
 * where these limits say.
 */
export function listingWithin(
  listing: LayerListing,
  uncompressedSize: number,
  compressedSize: number,
  limits?: Partial<LayerLimits>,
): boolean {
  const l = layerLimits(limits);
  return listing.tarEntries <= l.maxEntries && uncompressedSize <= uncompressedLimit(compressedSize, l);
}

/**
 * What a listing says of the same layer bytes, as this code says it; bumped when that changes, so
 * that listings kept by an earlier version (the blob cache's, this browser's archive analyses) are
 * made again rather than shown. 2: sparse files by their real names and sizes, entry types the
 * image tools refuse, old tars' directories named with a trailing slash, PAX global headers not
 * applied, nothing listed past a lone zero block (2026-12-07).
 */
export const LISTING_VERSION = 2;

/** The OCI opaque-whiteout marker (layer.md "Opaque Whiteout"). */
export const OPAQUE_MARKER = '.wh..wh..opq';
const WHITEOUT_PREFIX = '.wh.';
/** Reserved for whiteout metadata (aufs `.wh..wh.plnk`, `.wh..wh.aufs`), never a whiteout itself. */
const WHITEOUT_META_PREFIX = '.wh..wh.';

type Split = { path: string; dotdot: boolean };

/** A `.` or `..` component, an empty one (`//`), or a leading or trailing `/`. */
const NEEDS_NORMALISING = /(?:^|\/)\.\.?(?:\/|$)|\/\/|^\/|\/$/;

/**
 * `./a//b/./c/` → `a/b/c`. `..` is kept out of the result and flagged: a `..` component
 * can climb out of the root, so such entries are skipped, as GNU tar skips them when
 * extracting ("member name contains '..'").
 */
function splitPath(raw: string): Split {
  // Most names need nothing done: one test instead of a split and a join per entry.
  if (raw !== '' && !NEEDS_NORMALISING.test(raw)) return { path: raw, dotdot: false };
  let dotdot = false;
  const parts: string[] = [];
  for (const c of raw.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') dotdot = true;
    parts.push(c);
  }
  return { path: parts.join('/'), dotdot };
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function dirName(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

export function shown(path: string): string {
  // Names are shown in messages; keep a hostile megabyte-long name from flooding them, and its
  // control characters from changing how the message reads.
  const p = escapeHidden(path);
  return p.length > 300 ? `${p.slice(0, 300)}…` : p;
}

/** Collects a layer's entries one at a time; see `LayerLister` for the tar-parsing wrapper. */
export class LayerListingBuilder {
  readonly limits: LayerLimits;
  private readonly entries: ListingEntry[] = [];
  /** Paths recorded so far, for duplicates and hard-link targets. */
  private readonly seen = new Set<string>();
  /** Hard links whose target had not been seen when they were read: checked at the end. */
  private readonly pendingLinks: { path: string; target: string }[] = [];
  private readonly problems: Problem[] = [];
  private problemsDropped = 0;
  private tarEntries = 0;
  private duplicates = 0;
  private stoppedBy: LayerStopReason | null = null;
  bytesRead = 0;

  constructor(
    readonly layer = '',
    limits?: Partial<LayerLimits>,
  ) {
    this.limits = layerLimits(limits);
  }

  get stopped(): LayerStopReason | null {
    return this.stoppedBy;
  }

  /** `where` of a problem: the entry path (or offset), and the layer when it is known. */
  where(what: string): string {
    return this.layer ? `${what} (layer ${this.layer})` : what;
  }

  problem(code: ProblemCode, message: string, what: string, severity: Problem['severity']): void {
    if (this.problems.length >= this.limits.maxProblems) {
      this.problemsDropped++;
      return;
    }
    this.problems.push({ code, message, where: this.where(what), severity });
  }

  /**
   * Stop recording; later entries are ignored. The first reason wins. A limit is a
   * warning (the layer may be fine, only too big to list); a broken tar is an error.
   */
  stop(reason: LayerStopReason, problem?: { code: ProblemCode; message: string; where: string }): void {
    if (this.stoppedBy) return;
    this.stoppedBy = reason;
    const severity = reason === 'entry-limit' || reason === 'byte-limit' ? 'warning' : 'error';
    // Always kept, even past maxProblems: it says why the listing is incomplete.
    if (problem) this.problems.push({ ...problem, where: this.where(problem.where), severity });
  }

  /** Record one real entry. Returns false once the listing has stopped. */
  add(e: TarEntry): boolean {
    if (this.stoppedBy) return false;
    if (this.tarEntries >= this.limits.maxEntries) {
      this.stop('entry-limit', {
        code: 'limit',
        message: `the layer has more than ${this.limits.maxEntries} entries; the listing stops there (the limit can be raised)`,
        where: `entry ${this.tarEntries + 1}, ${shown(e.path)}`,
      });
      return false;
    }
    this.tarEntries++;
    if (e.path.includes('\0') || e.linkname.includes('\0')) {
      // Only PAX records can carry a NUL (ustar fields end at the first one); no file
      // system can hold such a name, so the entry cannot be extracted (POSIX pax "path").
      this.problem(
        'nul-in-name',
        `entry name or link target contains a NUL byte: "${shown(e.path)}"`,
        shown(e.path),
        'error',
      );
      return true;
    }
    if (BIDI_CONTROLS.test(e.path)) {
      // Listed as it is (it extracts), but flagged: a name that prints as something else
      // ("a\u202Egnp.exe" as "aexe.png", CVE-2021-42574) has no honest use in an image.
      this.problem(
        'bidi-in-name',
        `"${shown(e.path)}" holds Unicode bidirectional controls, which make a name print as something else; it is shown spelled out`,
        shown(e.path),
        'warning',
      );
    }
    const { path, dotdot } = splitPath(e.path);
    if (dotdot) {
      this.problem(
        'unsafe-path',
        `entry path "${shown(e.path)}" has a ".." component and could escape the root; it is skipped, as GNU tar skips it`,
        shown(e.path),
        'error',
      );
      return true;
    }
    if (e.path.startsWith('/')) {
      this.problem(
        'absolute-path',
        `entry path "${shown(e.path)}" is absolute; it is read as "${shown(path)}" (layer paths are relative to the root)`,
        shown(e.path),
        'warning',
      );
    }
    let type = e.type as ListingEntryType;
    if (type === 'other') {
      const other = otherType(e.typeflag);
      this.problem(
        'tar-type',
        `"${shown(path)}" is ${other.what}: Docker, containerd and umoci refuse to extract it ("unknown typeflag"), so the image fails to unpack there; ${other.as === null ? 'it is not a file, and is left out' : other.as === 'directory' ? 'it is listed as the directory GNU tar extracts' : 'it is listed as a regular file, as POSIX says a tar reader takes a type it does not know'}`,
        shown(path) || '.',
        'warning',
      );
      if (other.as === null) return true;
      type = other.as;
    }
    let linkname = e.linkname;
    if (e.type === 'hardlink') {
      const link = splitPath(e.linkname);
      if (link.dotdot) {
        this.problem(
          'unsafe-path',
          `hard link "${shown(path)}" points to "${shown(e.linkname)}", which has a ".." component; it is skipped`,
          shown(path),
          'error',
        );
        return true;
      }
      linkname = link.path;
    }
    let whiteout: WhiteoutKind | null = null;
    let target: string | null = null;
    // The base name is cut out only for a whiteout: a substring per entry was measurable.
    if (path.startsWith(WHITEOUT_PREFIX, path.lastIndexOf('/') + 1)) {
      const base = baseName(path);
      if (base === OPAQUE_MARKER) {
        whiteout = 'opaque';
        target = dirName(path);
      } else if (base.startsWith(WHITEOUT_META_PREFIX) || base === WHITEOUT_PREFIX) {
        this.problem(
          'bad-whiteout',
          `"${shown(base)}" is not a whiteout: names starting ".wh..wh." other than ${OPAQUE_MARKER} are reserved (aufs metadata); the entry is skipped`,
          shown(path),
          'warning',
        );
        return true;
      } else if (base === `${WHITEOUT_PREFIX}.` || base === `${WHITEOUT_PREFIX}..`) {
        // A whiteout names one entry of its directory (layer.md "Whiteouts"); "." and ".." are
        // not entries. Applied literally they would remove the directory itself or its parent:
        // umoci 0.4.7 fails the whole unpack on ".wh...", after deleting outside the directory.
        const up = base === `${WHITEOUT_PREFIX}..`;
        this.problem(
          up ? 'unsafe-path' : 'bad-whiteout',
          `"${shown(path)}" would white out "${up ? '..' : '.'}", ${up ? 'the parent of its directory, outside it' : 'its own directory'}: a whiteout names an entry of its directory; the entry is skipped`,
          shown(path),
          up ? 'error' : 'warning',
        );
        return true;
      } else {
        whiteout = 'file';
        const dir = dirName(path);
        const name = base.slice(WHITEOUT_PREFIX.length);
        target = dir ? `${dir}/${name}` : name;
      }
    }
    // Whether a hard link's target is on disk before the link itself is added.
    const linkBefore = e.type === 'hardlink' && this.seen.has(linkname);
    // One lookup: the set grows unless the path was there already.
    const known = this.seen.size;
    this.seen.add(path);
    if (this.seen.size === known) {
      this.duplicates++;
      this.problem(
        'duplicate-entry',
        `"${shown(path) || '.'}" appears more than once in the layer; the last one wins when it is extracted`,
        shown(path) || '.',
        'warning',
      );
    }
    if (e.type === 'hardlink' && !linkBefore) this.pendingLinks.push({ path, target: linkname });
    if (e.sparse) this.sparse(e.sparse, path);
    const entry: ListingEntry = {
      path,
      type,
      // A sparse file's size is what it extracts to, holes included (as Go's archive/tar gives it);
      // a type D directory's data is the dump's list of names, not a size.
      size: type === 'directory' ? 0 : e.sparse ? e.sparse.realSize : e.size,
      mode: e.mode,
      uid: e.uid,
      gid: e.gid,
      mtime: e.mtime,
      linkname,
      xattrs: e.xattrs,
      whiteout,
      target,
    };
    // Set afterwards, for devices only: a spread in the literal cost every entry a copy.
    if (e.type === 'char' || e.type === 'block') entry.device = { major: e.devmajor, minor: e.devminor };
    if (e.sparse && type === 'file') entry.stored = e.size;
    this.entries.push(entry);
    return true;
  }

  /**
   * A PAX global header, which is not applied (../tar/header.ts, HeaderAssembler): named, since
   * the tools disagree on it. Only a comment (`git archive` writes the commit there) is a note.
   */
  globalHeader(records: ReadonlyMap<string, string>, offset: number): void {
    if (this.stoppedBy) return;
    const keys = [...records.keys()];
    const named = keys.slice(0, 8).map((k) => `"${escapeHidden(k.slice(0, 40))}"`);
    if (keys.length > 8) named.push(`${keys.length - 8} more`);
    this.problem(
      'pax-global',
      `a PAX global header sets ${named.join(', ') || 'nothing'}: Docker, containerd and bsdtar ignore it, and so does Layerlens; GNU tar applies it to every later entry, and umoci refuses the layer ("unknown typeflag 'g'")`,
      `offset ${offset}`,
      keys.every((k) => k === 'comment' || k === 'hdrcharset') ? 'info' : 'warning',
    );
  }

  /** What a sparse file's entry says to those who extract the layer (../tar/sparse.ts). */
  private sparse(sparse: SparseFile, path: string): void {
    if (sparse.error) {
      this.problem(
        'sparse-map',
        `"${shown(path)}" is a sparse file whose map cannot be used: ${sparse.error}. Go's archive/tar, which Docker, containerd and umoci extract layers with, fails on it; its content cannot be read`,
        shown(path),
        'error',
      );
    } else if (sparse.format === 'gnu') {
      this.problem(
        'sparse-type-s',
        `"${shown(path)}" is stored in GNU tar's old sparse format (type S, "tar --sparse --format=gnu"): Docker ("unhandled tar header type 83") and umoci ("unknown typeflag") refuse to extract it, so the image fails to unpack there; it is shown as GNU tar extracts it. Pack it with "tar --sparse --format=posix" (or bsdtar) to store it in a format they read`,
        shown(path),
        'warning',
      );
    }
  }

  finish(): LayerListing {
    for (const { path, target } of this.pendingLinks) {
      // A hard link needs its target on disk when it is extracted: one that comes later in
      // the layer is not there yet (nor is the link itself). A target the layer does not
      // hold at all may come from a lower layer, which overlay, containerd and umoci
      // extraction link to (OCI image-spec layer.md "Hardlinks"); only the image's merge
      // can tell, so ImageFilesystem reports it, not the listing.
      if (target !== path && !this.seen.has(target)) continue;
      this.problem(
        'hardlink-target',
        target === path
          ? `hard link "${shown(path)}" points to itself`
          : `hard link "${shown(path)}" points to "${shown(target)}", which comes later in the layer`,
        shown(path),
        'error',
      );
    }
    this.pendingLinks.length = 0;
    if (this.problemsDropped > 0) {
      this.problems.push({
        code: 'limit',
        message: `${this.problemsDropped} more problems in this layer are not listed`,
        where: this.where('layer'),
        severity: 'info',
      });
    }
    return {
      layer: this.layer,
      entries: this.entries,
      tarEntries: this.tarEntries,
      bytesRead: this.bytesRead,
      duplicates: this.duplicates,
      problems: this.problems,
      problemsDropped: this.problemsDropped,
      stopped: this.stoppedBy,
    };
  }
}

export interface LayerListerOptions {
  layer?: string;
  limits?: Partial<LayerLimits>;
}

/**
 * A type flag POSIX ustar and its extensions do not define for an entry, and what GNU tar makes of
 * it. Go's archive/tar has no case for these, so Docker, containerd and umoci fail on them; POSIX
 * ("ustar Interchange Format", typeflag) has a reader take an unknown type as a regular file.
 */
function otherType(flag: string): { what: string; as: ListingEntryType | null } {
  switch (flag) {
    case 'D':
      return {
        what: "a GNU incremental dump's directory (type D, tar --listed-incremental)",
        as: 'directory',
      };
    case 'V':
      return { what: 'a GNU volume label (type V, tar -V)', as: null };
    case 'M':
      return { what: 'the rest of a file begun in another volume (GNU type M, tar -M)', as: 'file' };
    default:
      return { what: `an entry of tar type '${escapeHidden(flag)}', which tar does not define`, as: 'file' };
  }
}

/** Parse the uncompressed tar of a layer as it streams and list it. */
export class LayerLister {
  private readonly builder: LayerListingBuilder;
  private readonly parser: TarStreamParser;

  constructor(options: LayerListerOptions = {}) {
    this.builder = new LayerListingBuilder(options.layer ?? '', options.limits);
    this.parser = new TarStreamParser({
      entry: (e) => void this.builder.add(e),
      global: (records, offset) => this.builder.globalHeader(records, offset),
    });
  }

  get limits(): LayerLimits {
    return this.builder.limits;
  }

  /** Feed uncompressed bytes. Never throws: a broken tar stops the listing with a problem. */
  async push(chunk: Uint8Array): Promise<void> {
    if (this.builder.stopped) return;
    this.builder.bytesRead += chunk.length;
    // After the end-of-archive marker nothing more is read (GNU tar ignores what follows).
    if (this.parser.ended) return;
    try {
      await this.parser.push(chunk);
    } catch (e) {
      this.fail(e);
    }
  }

  private fail(e: unknown): void {
    if (e instanceof TarError) {
      this.builder.stop('tar-error', {
        code: e.code,
        message: `${e.message}; the listing stops there`,
        where: `offset ${e.offset} of the uncompressed tar`,
      });
    } else {
      const reason = e instanceof Error ? e.message : String(e);
      this.builder.stop('tar-error', { code: 'tar-header', message: reason, where: 'layer' });
    }
  }

  /**
   * Close the listing. `decompression` is the digester's error, if any: a layer whose
   * decompression stopped (limit, corrupt data) has an incomplete listing.
   */
  finish(decompression?: { code: string; message: string } | null): LayerListing {
    if (decompression) {
      if (decompression.code === 'limit') {
        this.builder.stop('byte-limit', {
          code: 'limit',
          message: decompression.message,
          where: `offset ${this.builder.bytesRead} of the uncompressed tar`,
        });
      } else {
        // The digest's own problem describes the corruption; the listing only says it stopped.
        this.builder.stop('decompress-error');
      }
    } else if (!this.builder.stopped) {
      try {
        this.parser.finish();
      } catch (e) {
        this.fail(e);
      }
    }
    return this.builder.finish();
  }
}

/** List a layer whose uncompressed tar is in memory (tests, small layers). */
export async function listLayerBytes(
  tar: Uint8Array,
  options: LayerListerOptions = {},
): Promise<LayerListing> {
  const lister = new LayerLister(options);
  await lister.push(tar);
  return lister.finish();
}
