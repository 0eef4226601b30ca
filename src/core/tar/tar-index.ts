/**
 * Index a tar by reading its headers only, skipping every data section. Outer image
 * archives hold a few large blobs, so this finds manifests and configs after a handful of
 * reads whatever the archive's size (POSIX ustar: each entry is a 512-byte header followed
 * by its data padded to 512 bytes; the archive ends with two zero blocks).
 */
import {
  BLOCK,
  DEFAULT_TAR_LIMITS,
  HeaderAssembler,
  TarError,
  decodeHeader,
  isZeroBlock,
  paddedSize,
} from './header';
import type { TarEntry, TarLimits } from './header';
import type { RandomAccess } from './random-access';
import { sparseArchiveFile } from './sparse';

export interface TarIndexProblem {
  code: 'tar-checksum' | 'tar-header' | 'tar-truncated' | 'tar-sparse';
  message: string;
  offset: number;
  /** Path of the entry concerned, when known. */
  path: string | null;
  severity: 'error' | 'warning';
}

export interface IndexedEntry extends TarEntry {
  /** True when the archive ends before this entry's data does. */
  truncated: boolean;
}

export interface TarIndex {
  entries: IndexedEntry[];
  problems: TarIndexProblem[];
}

export async function indexTar(ra: RandomAccess, limits: TarLimits = DEFAULT_TAR_LIMITS): Promise<TarIndex> {
  const entries: IndexedEntry[] = [];
  const problems: TarIndexProblem[] = [];
  const meta = new HeaderAssembler(limits);
  let offset = 0;
  let lastPath: string | null = null;
  try {
    for (;;) {
      if (offset >= ra.size) {
        // POSIX ustar: an archive is a sequence of 512-byte blocks closed by two zero blocks.
        // Some writers omit the zero blocks, so an end on a block boundary may be whole; an
        // end inside a block (the padding of the last entry) is certainly a cut file, and
        // whatever entries followed are lost.
        const inPadding = ra.size % BLOCK !== 0;
        problems.push({
          code: 'tar-truncated',
          message: inPadding
            ? `the archive is truncated: it ends at byte ${ra.size}, inside the padding after its last entry (a tar's length is a multiple of 512), so any entries after it are missing`
            : `the archive ends at byte ${ra.size} without the two zero blocks that close a tar: it may be truncated, with entries after it missing`,
          offset: ra.size,
          path: lastPath,
          severity: inPadding ? 'error' : 'warning',
        });
        break;
      }
      if (offset + BLOCK > ra.size) {
        throw new TarError(
          'tar-truncated',
          `the archive ends in the middle of a header (${ra.size - offset} of 512 bytes)`,
          offset,
        );
      }
      const block = await ra.read(offset, BLOCK);
      if (isZeroBlock(block)) break; // end of archive (a second zero block normally follows)
      const header = decodeHeader(block, offset);
      const dataOffset = offset + BLOCK;
      if (HeaderAssembler.isMeta(header.type)) {
        meta.checkMetaSize(header, offset);
        if (dataOffset + header.size > ra.size) {
          throw new TarError('tar-truncated', `the archive ends inside a ${header.type} record`, offset);
        }
        meta.addMeta(header, await ra.read(dataOffset, header.size), dataOffset);
        offset = dataOffset + paddedSize(header.size);
        continue;
      }
      const entry = meta.finish(header, offset);
      lastPath = entry.path;
      // A type `S` header's extension blocks come before its data, outside its size (./sparse.ts):
      // skipped, as the entry is not read (below).
      for (let more = header.sparseExtended; more; entry.dataOffset += BLOCK) {
        if (entry.dataOffset + BLOCK > ra.size) {
          throw new TarError(
            'tar-truncated',
            `the archive ends inside the sparse map of "${entry.path}"`,
            offset,
          );
        }
        more = (await ra.read(entry.dataOffset, BLOCK))[504] !== 0;
      }
      if (entry.sparse) {
        problems.push({
          code: 'tar-sparse',
          message: sparseArchiveFile(entry.path),
          offset,
          path: entry.path,
          severity: 'error',
        });
        offset = entry.dataOffset + paddedSize(entry.size);
        continue;
      }
      const truncated = entry.dataOffset + entry.size > ra.size;
      entries.push({ ...entry, truncated });
      if (truncated) {
        problems.push({
          code: 'tar-truncated',
          message: `the archive is truncated: entry "${entry.path}" needs ${entry.size} bytes from offset ${entry.dataOffset}, but the file ends at byte ${ra.size} (${ra.size - entry.dataOffset} bytes present)`,
          offset: entry.dataOffset,
          path: entry.path,
          severity: 'error',
        });
        break;
      }
      offset = entry.dataOffset + paddedSize(entry.size);
    }
  } catch (e) {
    if (!(e instanceof TarError)) throw e;
    problems.push({ code: e.code, message: e.message, offset: e.offset, path: lastPath, severity: 'error' });
  }
  return { entries, problems };
}
