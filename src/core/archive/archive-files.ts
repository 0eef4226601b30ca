/**
 * The files of an outer archive, whichever way it was read: by random access (an
 * uncompressed tar: headers indexed, data read on demand), in one streamed pass (a
 * gzip-compressed tar: small files kept, every blob digested on the way), or as the files of
 * a folder (an OCI image layout as `skopeo copy … oci:<dir>` writes it, an unpacked
 * `docker save`), each its own Blob.
 */
import type { DigestResult } from '../digest/blob-digester';
import type { TarEntryType } from '../tar/header';
import { normalizePath } from '../tar/header';
import type { RandomAccess } from '../tar/random-access';

export interface ArchiveFile {
  /** Normalised path (no `./`, no trailing `/`). */
  path: string;
  type: TarEntryType;
  size: number;
  linkname: string;
  /** Offsets in the outer tar; -1 for a file of a folder. */
  headerOffset: number;
  dataOffset: number;
  truncated: boolean;
  /**
   * The entry's own path, when `path` is relative to the folder inside the archive (or folder)
   * that holds the layout (`ArchiveFiles.within`).
   */
  entry?: string;
}

/** A file of a folder given instead of an archive, by its path inside the folder. */
export interface FolderFile {
  path: string;
  blob: Blob;
}

/** The file's own path in the archive or folder, for messages and for reading it back. */
export function entryOf(file: ArchiveFile): string {
  return file.entry ?? file.path;
}

/** Where a file is, for messages: its path, and its offset in the archive when it has one. */
export function placeOf(file: ArchiveFile, offset: 'entry' | 'data' = 'entry'): string {
  const at = offset === 'entry' ? file.headerOffset : file.dataOffset;
  const path = entryOf(file);
  return at < 0 ? path : `${path} (${offset === 'entry' ? 'entry at ' : ''}offset ${at})`;
}

export type Resolved = { file: ArchiveFile } | { error: string };

interface Backend {
  read(file: ArchiveFile): Promise<Uint8Array | null>;
  slice(file: ArchiveFile): Blob | null;
  digest(file: ArchiveFile): DigestResult | null;
}

export class ArchiveFiles {
  private readonly byPath = new Map<string, ArchiveFile>();

  private constructor(
    files: ArchiveFile[],
    private readonly backend: Backend,
    /** What holds the files, as messages name it. */
    readonly container: 'archive' | 'folder' | 'registry' = 'archive',
    /**
     * Paths the source could not provide, and why ("could not be fetched: …"), as it has already
     * reported them: a registry's failed fetches.
     */
    private readonly unavailable: ReadonlyMap<string, string> = new Map(),
  ) {
    // Later entries replace earlier ones with the same path, as extraction would.
    for (const f of files) this.byPath.set(f.path, f);
  }

  /**
   * The files inside `folder`, by their paths in it: an archive packed with its folder (`tar -cf
   * x.tar layout/`), or the folder above a layout, read as the layout itself. Each file keeps its
   * own path (`entry`) for messages and for reading it back; hard links, which name archive paths,
   * are taken into the folder too.
   */
  within(folder: string): ArchiveFiles {
    const prefix = `${folder}/`;
    const inner = (p: string) => (p.startsWith(prefix) ? p.slice(prefix.length) : null);
    const files: ArchiveFile[] = [];
    for (const f of this.byPath.values()) {
      const path = inner(f.path);
      if (!path) continue;
      const target = f.type === 'hardlink' ? inner(normalizePath(f.linkname)) : null;
      files.push({ ...f, path, entry: entryOf(f), linkname: target ?? f.linkname });
    }
    const unavailable = new Map<string, string>();
    for (const [p, why] of this.unavailable) {
      const path = inner(p);
      if (path) unavailable.set(path, why);
    }
    return new ArchiveFiles(files, this.backend, this.container, unavailable);
  }

  static randomAccess(files: ArchiveFile[], outer: Blob, ra: RandomAccess): ArchiveFiles {
    return new ArchiveFiles(files, {
      read: (f) => ra.read(f.dataOffset, f.size),
      slice: (f) => outer.slice(f.dataOffset, f.dataOffset + f.size),
      digest: () => null,
    });
  }

  static streamed(
    files: ArchiveFile[],
    contents: Map<string, Uint8Array>,
    digests: Map<string, DigestResult>,
    container: 'archive' | 'registry' = 'archive',
    unavailable: ReadonlyMap<string, string> = new Map(),
  ): ArchiveFiles {
    return new ArchiveFiles(
      files,
      {
        read: async (f) => contents.get(entryOf(f)) ?? null,
        slice: () => null,
        digest: (f) => digests.get(entryOf(f)) ?? null,
      },
      container,
      unavailable,
    );
  }

  /** A folder's files: read whole or streamed from their own Blobs. */
  static folder(entries: readonly FolderFile[]): ArchiveFiles {
    const blobs = new Map<string, Blob>();
    const files: ArchiveFile[] = [];
    for (const { path, blob } of entries) {
      const file: ArchiveFile = {
        path: normalizePath(path),
        type: 'file',
        size: blob.size,
        linkname: '',
        headerOffset: -1,
        dataOffset: -1,
        truncated: false,
      };
      blobs.set(file.path, blob);
      files.push(file);
    }
    return new ArchiveFiles(
      files,
      {
        read: async (f) => {
          const blob = blobs.get(entryOf(f));
          return blob ? new Uint8Array(await blob.arrayBuffer()) : null;
        },
        slice: (f) => blobs.get(entryOf(f)) ?? null,
        digest: () => null,
      },
      'folder',
    );
  }

  /**
   * Why a blob the documents name is not here: what the source said when it could not provide it
   * (`reported`: it is already a problem of its own), else that the container does not hold it.
   */
  /**
   * Where the archive ends early (a tar cut short, a compressed stream broken), when it does: a
   * file it lacks may have been past the cut, so messages say so rather than call it missing.
   */
  cut: string | null = null;

  /** The container, as "is not in the …" ends: with the cut, where there is one. */
  get lacking(): string {
    return `${this.container}${this.cut === null ? '' : `, which is cut short (${this.cut}): it may have been past the cut`}`;
  }

  absence(path: string): { reason: string; reported: boolean } {
    const said = this.unavailable.get(normalizePath(path));
    return said !== undefined
      ? { reason: said, reported: true }
      : { reason: `the blob is not in the ${this.lacking}`, reported: false };
  }

  get size(): number {
    return this.byPath.size;
  }

  list(): ArchiveFile[] {
    return [...this.byPath.values()];
  }

  has(path: string): boolean {
    return this.byPath.has(normalizePath(path));
  }

  /**
   * Find a regular file, following symbolic links (relative to the link's directory, as
   * skopeo's `<id>/layer.tar -> ../<diffid>.tar`) and hard links (archive paths).
   */
  resolve(path: string): Resolved {
    let current = normalizePath(path);
    for (let hops = 0; hops < 16; hops++) {
      const f = this.byPath.get(current);
      if (!f)
        return {
          error:
            hops === 0
              ? `"${path}" is not in the ${this.lacking}`
              : `"${path}" links to "${current}", which is not in the ${this.lacking}`,
        };
      if (f.type === 'symlink') {
        current = joinPath(dirname(current), f.linkname);
        continue;
      }
      if (f.type === 'hardlink') {
        current = normalizePath(f.linkname);
        continue;
      }
      if (f.type !== 'file') return { error: `"${path}" is a ${f.type}, not a file` };
      return { file: f };
    }
    return { error: `"${path}" is a chain of more than 16 links` };
  }

  /** Whole content of a (small) file; null when a streamed archive did not keep it. */
  read(file: ArchiveFile): Promise<Uint8Array | null> {
    return this.backend.read(file);
  }

  /** The file's bytes as a Blob to stream from, when the archive allows random access. */
  slice(file: ArchiveFile): Blob | null {
    return this.backend.slice(file);
  }

  /** Digests computed while the archive was streamed, when it was. */
  precomputed(file: ArchiveFile): DigestResult | null {
    return this.backend.digest(file);
  }
}

function dirname(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

function joinPath(dir: string, target: string): string {
  const parts = target.startsWith('/') ? [] : dir.split('/').filter(Boolean);
  for (const seg of target.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return parts.join('/');
}
