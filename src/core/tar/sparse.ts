/**
 * Sparse files in tar: a regular file stored as its data segments only, with a map saying where
 * each goes; the gaps between them (holes) read as zeros. GNU tar writes them with `--sparse`, and
 * bsdtar by default for any file with holes (`/var/log/lastlog`, disk images), in one of four
 * formats (GNU tar manual, "Storing Sparse Files"; Go's archive/tar, which Docker, containerd and
 * umoci extract layers with, reads the same four):
 *
 * - `gnu`: the old GNU header, type `S`: up to 4 map entries in the header, more in 512-byte
 *   extension blocks that follow it (not counted in its size), the real size at byte 483.
 * - `0.0`: PAX records `GNU.sparse.size`, `GNU.sparse.numblocks`, then `GNU.sparse.offset` and
 *   `GNU.sparse.numbytes` repeated, once a segment.
 * - `0.1`: PAX `GNU.sparse.map` = "offset,length,offset,length,…".
 * - `1.0`: PAX `GNU.sparse.major=1`, `GNU.sparse.minor=0`, `GNU.sparse.realsize`; the map is at the
 *   start of the entry's data, as decimal numbers a line each (count, then offset and length per
 *   segment), padded to a whole block; the segments' bytes follow it.
 *
 * The PAX formats keep the file's real name in `GNU.sparse.name` (the ustar name is
 * `./GNUSparseFile.<pid>/<name>`). Nothing here throws: a bad map is reported by the entry
 * (`error`), since the rest of the tar stays readable.
 */

export type SparseFormat = 'gnu' | '0.0' | '0.1' | '1.0';

export interface SparseFile {
  format: SparseFormat;
  /** The file's size, holes included: what extracting it gives. */
  realSize: number;
  /**
   * Data segments as flat pairs [offset, length, offset, length, …] in file order. The stored
   * data is their bytes one after another. For `1.0` it is read from the data (empty until then).
   */
  map: number[];
  /** Why the stored bytes cannot be placed (a malformed map); null when they can. */
  error: string | null;
}

/** PAX record keys (GNU tar's xheader.c; Go archive/tar's paxGNUSparse* constants). */
export const PAX_SPARSE = {
  major: 'GNU.sparse.major',
  minor: 'GNU.sparse.minor',
  name: 'GNU.sparse.name',
  realSize: 'GNU.sparse.realsize',
  size: 'GNU.sparse.size',
  numBlocks: 'GNU.sparse.numblocks',
  map: 'GNU.sparse.map',
  offset: 'GNU.sparse.offset',
  numBytes: 'GNU.sparse.numbytes',
} as const;

const DECIMAL = /^\d+$/;

function decimals(text: string): number[] | null {
  // An empty map is no segment (a file all hole), as Go reads it.
  const parts = text === '' ? [] : text.split(',');
  const out: number[] = [];
  for (const p of parts) {
    if (!DECIMAL.test(p)) return null;
    const n = Number(p);
    if (!Number.isSafeInteger(n)) return null;
    out.push(n);
  }
  return out;
}

/**
 * The sparse file the PAX records describe, or null when they describe none. As Go's archive/tar
 * (readGNUSparsePAXHeaders): a version given is 0.0, 0.1 or 1.0 (any other is not read as sparse);
 * without one, `GNU.sparse.map` marks 0.0 or 0.1 (0.0's repeated offset/numbytes records are
 * joined into it by the PAX parser).
 */
export function paxSparse(records: ReadonlyMap<string, string>): SparseFile | null {
  const major = records.get(PAX_SPARSE.major);
  const minor = records.get(PAX_SPARSE.minor);
  let format: SparseFormat;
  if (major === '1' && minor === '0') format = '1.0';
  else if (major === '0' && (minor === '0' || minor === '1')) format = minor === '0' ? '0.0' : '0.1';
  else if (major !== undefined || minor !== undefined) return null;
  else if (records.has(PAX_SPARSE.map)) format = '0.1';
  else return null;
  const sizeText = records.get(format === '1.0' ? PAX_SPARSE.realSize : PAX_SPARSE.size);
  const sparse: SparseFile = { format, realSize: 0, map: [], error: null };
  if (sizeText === undefined || !DECIMAL.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) {
    sparse.error = `its real size (${format === '1.0' ? PAX_SPARSE.realSize : PAX_SPARSE.size}) is ${sizeText === undefined ? 'missing' : `not a number: "${sizeText.slice(0, 30)}"`}`;
    return sparse;
  }
  sparse.realSize = Number(sizeText);
  if (format === '1.0') return sparse;
  const count = records.get(PAX_SPARSE.numBlocks);
  const map = decimals(records.get(PAX_SPARSE.map) ?? '');
  if (count === undefined || !DECIMAL.test(count) || map === null || map.length !== 2 * Number(count)) {
    sparse.error = `its map (${PAX_SPARSE.map}, ${PAX_SPARSE.numBlocks} ${count ?? 'missing'}) is malformed`;
    return sparse;
  }
  sparse.map = map;
  return sparse;
}

/**
 * Reads a 1.0 map from the start of an entry's data, a block at a time: decimal numbers a line each,
 * the count of segments first, then each segment's offset and length (GNU tar's sparse.c,
 * pax_dump_header_1; Go's readGNUSparseMap1x0). Numbers may run across blocks.
 */
export class SparseMapReader {
  private readonly numbers: number[] = [];
  private count = -1;
  private value = 0;
  private digits = 0;
  /** Bytes of data read so far (whole blocks): what the map occupies once it is complete. */
  bytes = 0;

  /** One block of data: the map once it is complete, null while more is needed, or what is wrong. */
  push(block: Uint8Array): number[] | null | { error: string } {
    for (let i = 0; i < block.length; i++) {
      const c = block[i] as number;
      if (c >= 0x30 && c <= 0x39) {
        this.value = this.value * 10 + (c - 0x30);
        if (++this.digits > 16 || !Number.isSafeInteger(this.value)) {
          return {
            error: `its map (GNU sparse 1.0, at the start of its data) holds a number too large at byte ${this.bytes + i}`,
          };
        }
        continue;
      }
      if (c !== 0x0a || this.digits === 0) {
        return {
          error: `its map (GNU sparse 1.0, at the start of its data) holds ${c === 0x0a ? 'an empty line' : `a byte 0x${c.toString(16)}`} at byte ${this.bytes + i}`,
        };
      }
      if (this.count < 0) this.count = this.value;
      else this.numbers.push(this.value);
      this.value = 0;
      this.digits = 0;
      if (this.numbers.length === 2 * this.count) {
        this.bytes += block.length;
        return this.numbers;
      }
    }
    this.bytes += block.length;
    return null;
  }
}

/**
 * What is wrong with a map, as Go's validateSparseEntries checks it: segments in order, not
 * overlapping, inside the real size. GNU tar ends its maps with an empty segment at the real size.
 */
export function mapError(map: readonly number[], realSize: number): string | null {
  let end = 0;
  for (let i = 0; i < map.length; i += 2) {
    const offset = map[i] as number;
    const length = map[i + 1] as number;
    if (offset < end)
      return `its map's segment ${i / 2} (offset ${offset}) overlaps or precedes the one before it`;
    if (offset + length > realSize) {
      return `its map's segment ${i / 2} (offset ${offset}, ${length} bytes) ends past the file's real size of ${realSize} bytes`;
    }
    end = offset + length;
  }
  return null;
}

/** The bytes the map's segments hold: what the entry stores after its map. */
export function storedBytes(map: readonly number[]): number {
  let n = 0;
  for (let i = 1; i < map.length; i += 2) n += map[i] as number;
  return n;
}

/**
 * Once the map is whole: sets `error` when it is malformed or its segments do not hold the `stored`
 * bytes the entry has (Go's reader fails such an entry: errMissData, errUnrefData).
 */
export function checkSparse(sparse: SparseFile, stored: number): void {
  if (sparse.error) return;
  const held = storedBytes(sparse.map);
  sparse.error =
    mapError(sparse.map, sparse.realSize) ??
    (held !== stored ? `its map's segments hold ${held} bytes, but the entry stores ${stored}` : null);
}

/**
 * Places a sparse entry's stored bytes, given in order in chunks of any size, where they go in the
 * file: `place(offset, bytes)` for each piece; what no piece covers is a hole (zeros).
 */
export class SparsePlacer {
  private segment = 0;
  private within = 0;

  constructor(
    private readonly map: readonly number[],
    private readonly place: (offset: number, bytes: Uint8Array) => void,
  ) {}

  push(chunk: Uint8Array): void {
    let pos = 0;
    while (pos < chunk.length && this.segment < this.map.length) {
      const offset = this.map[this.segment] as number;
      const length = this.map[this.segment + 1] as number;
      const take = Math.min(length - this.within, chunk.length - pos);
      if (take > 0) this.place(offset + this.within, chunk.subarray(pos, pos + take));
      pos += take;
      this.within += take;
      if (this.within === length) {
        this.segment += 2;
        this.within = 0;
      }
    }
  }
}

/**
 * Why a sparse file of an image archive itself (not of a layer) is not read: its blob would have to
 * be put together from pieces and zeros, and no image tool writes one; a folder packed by bsdtar
 * (which stores files with holes sparse by default) or `tar --sparse` can hold one.
 */
export function sparseArchiveFile(path: string): string {
  return `"${path}" is stored as a sparse file (tar --sparse, or bsdtar, which does so for any file with holes); Layerlens reads sparse files inside layers but not as the archive's own files: pack it again without (GNU tar: leave out --sparse; bsdtar: --no-read-sparse)`;
}
