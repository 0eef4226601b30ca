/**
 * Random access to a large file. On the web a `Blob.slice()` read costs ~1.2 ms however
 * small it is, so reads go through a window: one 64 KiB read serves the many small headers
 * and JSON files that sit next to each other in an outer archive.
 */
export interface RandomAccess {
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

export function blobRandomAccess(blob: Blob, windowSize = 64 * 1024): RandomAccess {
  let windowStart = -1;
  let windowBytes = new Uint8Array(0);
  return {
    size: blob.size,
    async read(offset, length) {
      const end = Math.min(offset + length, blob.size);
      if (offset >= windowStart && windowStart >= 0 && end <= windowStart + windowBytes.length) {
        return windowBytes.subarray(offset - windowStart, end - windowStart);
      }
      if (length >= windowSize) {
        return new Uint8Array(await blob.slice(offset, end).arrayBuffer());
      }
      windowStart = offset;
      windowBytes = new Uint8Array(
        await blob.slice(offset, Math.min(offset + windowSize, blob.size)).arrayBuffer(),
      );
      return windowBytes.subarray(0, end - offset);
    },
  };
}
