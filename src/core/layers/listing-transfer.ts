/**
 * A layer listing packed for postMessage. Structured-cloning an array of entry objects costs a
 * few microseconds per entry on each side (measured: ~260 ms for the 56,000 entries of a
 * `/usr/share` layer, about a second for 200,000), and it falls at the end of a layer's pass,
 * when nothing else overlaps it. Packed, the strings travel as plain arrays of strings and the
 * numbers as transferable typed arrays, so the copy is a few large moves instead of one object
 * per entry. (Not one joined string: slices of it would be V8 sliced strings, each keeping the
 * whole text alive.) Link names and whiteout targets, which few entries have, travel as
 * [index, value] pairs: two arrays of 200,000 mostly empty values were half of the copy. So do
 * device numbers and sparse files' stored sizes.
 */
import type { LayerListing, ListingEntry, ListingEntryType, WhiteoutKind } from './layer-listing';

const TYPES: ListingEntryType[] = [
  'file',
  'hardlink',
  'symlink',
  'char',
  'block',
  'directory',
  'fifo',
  'other',
];
const WHITEOUTS: (WhiteoutKind | null)[] = [null, 'file', 'opaque'];
/** Per entry: size, mode, uid, gid, mtime (doubles: sizes over 4 GiB, negative and fractional mtimes). */
const NUMBERS = 5;

export interface PackedListing {
  listing: Omit<LayerListing, 'entries'>;
  count: number;
  paths: string[];
  /** The entries with a link name (symbolic and hard links), by index. */
  links?: [number, string][];
  /** The whiteouts' targets, by index. */
  whiteoutTargets?: [number, string][];
  /** Every entry's link name and target: listings cached before the pairs above. */
  linknames?: string[];
  targets?: (string | null)[];
  numbers: Float64Array;
  /** Per entry: type, whiteout kind. */
  kinds: Uint8Array;
  /** The few entries with extended attributes, by index. */
  xattrs: [number, Record<string, string>][];
  /** The few device entries: index, major, minor (absent from listings cached before it). */
  devices?: [number, number, number][];
  /** The few sparse files: index, bytes stored (absent from listings cached before it). */
  sparse?: [number, number][];
}

export function packListing(listing: LayerListing): PackedListing {
  const { entries, ...rest } = listing;
  const n = entries.length;
  const paths = new Array<string>(n);
  const links: [number, string][] = [];
  const whiteoutTargets: [number, string][] = [];
  const numbers = new Float64Array(n * NUMBERS);
  const kinds = new Uint8Array(n * 2);
  const xattrs: [number, Record<string, string>][] = [];
  const devices: [number, number, number][] = [];
  const sparse: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    const e = entries[i] as ListingEntry;
    paths[i] = e.path;
    if (e.linkname) links.push([i, e.linkname]);
    if (e.target !== null) whiteoutTargets.push([i, e.target]);
    numbers[i * NUMBERS] = e.size;
    numbers[i * NUMBERS + 1] = e.mode;
    numbers[i * NUMBERS + 2] = e.uid;
    numbers[i * NUMBERS + 3] = e.gid;
    numbers[i * NUMBERS + 4] = e.mtime;
    kinds[i * 2] = TYPES.indexOf(e.type);
    kinds[i * 2 + 1] = WHITEOUTS.indexOf(e.whiteout);
    if (e.xattrs) xattrs.push([i, e.xattrs]);
    if (e.device) devices.push([i, e.device.major, e.device.minor]);
    if (e.stored !== undefined) sparse.push([i, e.stored]);
  }
  return { listing: rest, count: n, paths, links, whiteoutTargets, numbers, kinds, xattrs, devices, sparse };
}

/** The buffers to transfer with a packed listing. */
export function packedBuffers(p: PackedListing): ArrayBuffer[] {
  return [p.numbers.buffer, p.kinds.buffer] as ArrayBuffer[];
}

export function unpackListing(p: PackedListing): LayerListing {
  const entries = new Array<ListingEntry>(p.count);
  const { numbers, kinds, paths } = p;
  // Every entry with the common values first; the few link names, whiteout targets, xattrs and
  // devices are then set by index (a Map lookup of each per entry was most of the unpacking).
  for (let i = 0; i < p.count; i++) {
    const n = i * NUMBERS;
    entries[i] = {
      path: paths[i] as string,
      type: TYPES[kinds[i * 2] as number] as ListingEntryType,
      size: numbers[n] as number,
      mode: numbers[n + 1] as number,
      uid: numbers[n + 2] as number,
      gid: numbers[n + 3] as number,
      mtime: numbers[n + 4] as number,
      linkname: p.linknames?.[i] ?? '',
      xattrs: null,
      whiteout: WHITEOUTS[kinds[i * 2 + 1] as number] as WhiteoutKind | null,
      target: p.targets?.[i] ?? null,
    };
  }
  for (const [i, linkname] of p.links ?? []) (entries[i] as ListingEntry).linkname = linkname;
  for (const [i, target] of p.whiteoutTargets ?? []) (entries[i] as ListingEntry).target = target;
  for (const [i, xattrs] of p.xattrs) (entries[i] as ListingEntry).xattrs = xattrs;
  for (const [i, major, minor] of p.devices ?? []) (entries[i] as ListingEntry).device = { major, minor };
  for (const [i, stored] of p.sparse ?? []) (entries[i] as ListingEntry).stored = stored;
  return { ...p.listing, entries };
}
