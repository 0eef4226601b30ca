/**
 * Content sniffing by magic bytes. Media types and file names are claims; real archives
 * lie (e.g. `.tar.gz` layers named `layer.tar`), so compression is always detected here.
 */
export type Magic =
  'gzip' | 'zstd' | 'xz' | 'bzip2' | 'zip' | 'cpio' | 'tar' | 'json' | 'empty' | 'text' | 'binary';

export function sniff(head: Uint8Array): Magic {
  if (head.length === 0) return 'empty';
  const b = (i: number) => head[i] ?? -1;
  if (b(0) === 0x1f && b(1) === 0x8b) return 'gzip'; // RFC 1952 ID1 ID2
  if (b(0) === 0x28 && b(1) === 0xb5 && b(2) === 0x2f && b(3) === 0xfd) return 'zstd'; // RFC 8878 frame magic
  // A skippable frame (RFC 8878 §3.1.2, magic 0x184D2A5?) may come first: pzstd writes one
  // before each frame, and zstd decodes such a stream as any other.
  if ((b(0) & 0xf0) === 0x50 && b(1) === 0x2a && b(2) === 0x4d && b(3) === 0x18) return 'zstd';
  if (b(0) === 0xfd && b(1) === 0x37 && b(2) === 0x7a && b(3) === 0x58 && b(4) === 0x5a && b(5) === 0x00)
    return 'xz';
  if (b(0) === 0x42 && b(1) === 0x5a && b(2) === 0x68) return 'bzip2';
  if (b(0) === 0x50 && b(1) === 0x4b && b(2) === 0x03 && b(3) === 0x04) return 'zip';
  if (head.length >= 262 && String.fromCharCode(...head.subarray(257, 262)) === 'ustar') return 'tar';
  // cpio (POSIX.1 odc "070707", SVR4 newc "070701"/"070702", or the old binary magic 070707 in
  // either byte order): bsdtar --format=cpio makes one from the same files, so say so.
  const ascii6 = String.fromCharCode(...head.subarray(0, 6));
  if (ascii6 === '070707' || ascii6 === '070701' || ascii6 === '070702') return 'cpio';
  if ((b(0) === 0xc7 && b(1) === 0x71) || (b(0) === 0x71 && b(1) === 0xc7)) return 'cpio';
  // JSON text (RFC 8259), after a UTF-8 byte order mark some editors write.
  let i = b(0) === 0xef && b(1) === 0xbb && b(2) === 0xbf ? 3 : 0;
  while (i < head.length && (b(i) === 0x20 || b(i) === 0x0a || b(i) === 0x0d || b(i) === 0x09)) i++;
  if (b(i) === 0x7b || b(i) === 0x5b) return 'json';
  let printable = 0;
  const n = Math.min(head.length, 512);
  for (let j = 0; j < n; j++) {
    const c = b(j);
    if (c === 0x09 || c === 0x0a || c === 0x0d || (c >= 0x20 && c < 0x7f) || c >= 0x80) printable++;
  }
  return printable / n > 0.95 ? 'text' : 'binary';
}

export const MAGIC_DESCRIPTION: Record<Magic, string> = {
  gzip: 'gzip-compressed data',
  zstd: 'zstd-compressed data',
  xz: 'xz-compressed data',
  bzip2: 'bzip2-compressed data',
  zip: 'a ZIP archive',
  cpio: 'a cpio archive, not a tar',
  tar: 'a tar archive',
  json: 'a JSON document',
  empty: 'an empty file',
  text: 'a text file',
  binary: 'binary data: neither a tar archive nor gzip, zstd or xz data',
};

/** Bytes of a blob's start that `declaredPlainSize` reads: a zstd frame header at its longest. */
export const DECLARED_SIZE_HEAD = 18;
/** Bytes of a blob's end that it reads: gzip's ISIZE. */
export const DECLARED_SIZE_TAIL = 4;

/**
 * The uncompressed size a compressed blob declares, or null: gzip's ISIZE, the last four bytes
 * (RFC 1952 §2.3.1: the last member's size modulo 2^32), or zstd's Frame_Content_Size (RFC 8878
 * §3.1.1.1, optional; the first frame only). A hint, never a check: nothing in the content makes
 * it true, and it is used only to share out work (docs/decisions.md, "Which half lists").
 */
export function declaredPlainSize(head: Uint8Array, tail: Uint8Array): number | null {
  const magic = sniff(head);
  if (magic === 'gzip') {
    if (tail.length < DECLARED_SIZE_TAIL) return null;
    return new DataView(tail.buffer, tail.byteOffset, tail.byteLength).getUint32(tail.length - 4, true);
  }
  // A zstd frame's own header only: after a skippable frame, the size is not where it is read.
  if (magic !== 'zstd' || head[0] !== 0x28 || head.length < 5) return null;
  const fhd = head[4] as number;
  const single = (fhd >> 5) & 1;
  const fcsFlag = fhd >> 6;
  const fcsSize = fcsFlag === 0 ? single : [0, 2, 4, 8][fcsFlag]!;
  if (fcsSize === 0) return null;
  // Frame_Header_Descriptor, then Window_Descriptor unless Single_Segment, then Dictionary_ID.
  const at = 5 + (single ? 0 : 1) + [0, 1, 2, 4][fhd & 3]!;
  if (head.length < at + fcsSize) return null;
  const v = new DataView(head.buffer, head.byteOffset + at, fcsSize);
  if (fcsSize === 1) return v.getUint8(0);
  if (fcsSize === 2) return v.getUint16(0, true) + 256; // §3.1.1.1.4: the 2-byte field is offset by 256
  if (fcsSize === 4) return v.getUint32(0, true);
  return v.getUint32(0, true) + v.getUint32(4, true) * 2 ** 32;
}
