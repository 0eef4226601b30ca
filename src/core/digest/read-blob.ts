/**
 * Read a Blob front to back in chunks. A BYOB reader into one reused buffer avoids
 * allocating fresh memory per chunk, which is the real limit on these machines
 * (~615 MB/s against ~240 for the default reader: docs/decisions.md).
 */
export const CHUNK_SIZE = 1 << 20;

export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

export async function readBlob(
  blob: Blob,
  onChunk: (chunk: Uint8Array) => void | Promise<void>,
  signal?: AbortSignal,
  chunkSize = CHUNK_SIZE,
): Promise<void> {
  const stream = blob.stream();
  let byob: ReadableStreamBYOBReader | null = null;
  try {
    byob = stream.getReader({ mode: 'byob' });
  } catch {
    byob = null;
  }
  if (byob) {
    let buffer = new ArrayBuffer(chunkSize);
    try {
      for (;;) {
        if (signal?.aborted) throw new CancelledError();
        const { done, value } = await byob.read(new Uint8Array(buffer, 0, chunkSize));
        if (done || !value) break;
        const r = onChunk(value);
        if (r) await r;
        buffer = value.buffer as ArrayBuffer;
      }
    } catch (e) {
      await byob.cancel().catch(() => {});
      throw e;
    }
    return;
  }
  const reader = stream.getReader();
  try {
    for (;;) {
      if (signal?.aborted) throw new CancelledError();
      const { done, value } = await reader.read();
      if (done) break;
      const r = onChunk(value);
      if (r) await r;
    }
  } catch (e) {
    await reader.cancel().catch(() => {});
    throw e;
  }
}
