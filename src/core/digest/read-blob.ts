/**
 * Read a Blob or a stream front to back in chunks of one reused 1 MiB buffer. A BYOB reader
 * fills that buffer in place, which avoids allocating fresh memory per chunk: touching fresh
 * memory is the real limit on these machines (~615 MB/s against ~240 for the default reader:
 * docs/decisions.md). Streams that are not byte streams (a test's, a transferred one) are read
 * with their default reader and gathered into the same buffer, so that per-chunk costs (a
 * decompressor write, a hash call) are paid once per MiB, not once per small chunk.
 *
 * The buffer is reused: `onChunk` must copy what it keeps.
 */
export const CHUNK_SIZE = 1 << 20;

export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

export function readBlob(
  blob: Blob,
  onChunk: (chunk: Uint8Array) => void | Promise<void>,
  signal?: AbortSignal,
  chunkSize = CHUNK_SIZE,
): Promise<void> {
  return readStream(blob.stream(), onChunk, signal, chunkSize);
}

export async function readStream(
  stream: ReadableStream<Uint8Array>,
  onChunk: (chunk: Uint8Array) => void | Promise<void>,
  signal?: AbortSignal,
  chunkSize = CHUNK_SIZE,
): Promise<void> {
  let byob: ReadableStreamBYOBReader | null = null;
  try {
    byob = stream.getReader({ mode: 'byob' });
  } catch {
    byob = null;
  }
  let buffer = new ArrayBuffer(chunkSize);
  const emit = async (length: number) => {
    const r = onChunk(new Uint8Array(buffer, 0, length));
    if (r) await r;
  };
  if (byob) {
    // Each read's bytes are handed on as they come, read into a whole view of the buffer. Filling
    // the buffer across reads (views at an offset) was tried: in Chromium 156 about one analysis in
    // four then never finished, stuck before a Blob's last bytes; with whole views, none in eight.
    try {
      for (;;) {
        if (signal?.aborted) throw new CancelledError();
        const { done, value } = await byob.read(new Uint8Array(buffer, 0, chunkSize));
        if (done || !value) break;
        buffer = value.buffer as ArrayBuffer; // the read hands the buffer back
        await emit(value.length);
      }
    } catch (e) {
      await byob.cancel().catch(() => {});
      throw e;
    } finally {
      byob.releaseLock();
    }
    return;
  }
  const reader = stream.getReader();
  const view = new Uint8Array(buffer);
  let fill = 0;
  try {
    for (;;) {
      if (signal?.aborted) throw new CancelledError();
      const { done, value } = await reader.read();
      if (done) break;
      let rest = value;
      while (rest.length > 0) {
        const take = Math.min(chunkSize - fill, rest.length);
        view.set(rest.subarray(0, take), fill);
        fill += take;
        rest = rest.subarray(take);
        if (fill === chunkSize) {
          await emit(fill);
          fill = 0;
        }
      }
    }
    if (fill > 0) await emit(fill);
  } catch (e) {
    await reader.cancel().catch(() => {});
    throw e;
  } finally {
    reader.releaseLock();
  }
}
