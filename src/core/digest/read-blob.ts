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

/** A read of a Blob that gave nothing for `STALL_MS`: the read is given up and resumed. */
export class StalledReadError extends Error {
  constructor(readonly offset: number) {
    super(`a read of the file gave no bytes for ${STALL_MS / 1000} s at byte ${offset}`);
  }
}

/**
 * How long a read of a Blob may give nothing before it is abandoned and the Blob read again from
 * where it stopped. Chromium 156 now and then never resolves a BYOB read of a file-backed Blob
 * (seen in about 1 analysis in 20 under some reading patterns, midway through a layer; never
 * reproduced outside the browser): without this the analysis would wait for ever.
 */
export const STALL_MS = 5_000;
const MAX_RESUMES = 5;

/**
 * Read a Blob front to back, as readStream does; a read that stalls (`stallMs`) is abandoned and
 * the rest read from `blob.slice(offset)`, up to MAX_RESUMES times. A Blob can be read again from
 * any offset, so nothing is lost; a stream could not be.
 */
export async function readBlob(
  blob: Blob,
  onChunk: (chunk: Uint8Array) => void | Promise<void>,
  signal?: AbortSignal,
  chunkSize = CHUNK_SIZE,
  stallMs = STALL_MS,
): Promise<void> {
  let offset = 0;
  for (let resumes = 0; ; resumes++) {
    if (resumes > 0 && offset >= blob.size) return; // stalled after its last byte: nothing is missing
    const rest = offset === 0 ? blob : blob.slice(offset);
    try {
      await readStream(
        rest.stream(),
        (chunk) => {
          // Counted as handed on: a stall is in a read, never in onChunk.
          offset += chunk.length;
          return onChunk(chunk);
        },
        signal,
        chunkSize,
        stallMs,
      );
      return;
    } catch (e) {
      if (!(e instanceof StalledReadError) || resumes >= MAX_RESUMES) {
        if (e instanceof StalledReadError) throw new StalledReadError(offset);
        throw e;
      }
    }
  }
}

/**
 * How long a read loop may run before it lets the thread's other tasks run. A read of a file whose
 * bytes are already waiting resolves at once, so a loop of reads and synchronous hashing can run
 * through a whole layer in microtasks alone: the thread never turns to its message queue, and a
 * Cancel posted to it waits until the layer is done (measured: a 768 MiB layer cancelled at 8%
 * was hashed to the end, ~2 s later, in two runs of three).
 */
export const YIELD_MS = 50;
let lastYield = 0;

/** A task boundary every YIELD_MS of work: messages waiting for this thread are handled there. */
async function yieldNow(): Promise<void> {
  const now = performance.now();
  if (now - lastYield < YIELD_MS) return;
  // A message to itself rather than setTimeout(0), which browsers clamp to 4 ms once nested.
  await new Promise<void>((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      channel.port2.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
  lastYield = performance.now();
}

/** `read`, or a StalledReadError when it gives nothing for `ms`. */
function withStall<T>(read: Promise<T>, ms: number | undefined): Promise<T> {
  if (ms === undefined) return read;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StalledReadError(-1)), ms);
  });
  return Promise.race([read, stalled]).finally(() => clearTimeout(timer));
}

export async function readStream(
  stream: ReadableStream<Uint8Array>,
  onChunk: (chunk: Uint8Array) => void | Promise<void>,
  signal?: AbortSignal,
  chunkSize = CHUNK_SIZE,
  /** Give up on a read that gives nothing for this long (readBlob resumes it); none by default. */
  stallMs?: number,
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
        await yieldNow();
        if (signal?.aborted) throw new CancelledError();
        const { done, value } = await withStall(byob.read(new Uint8Array(buffer, 0, chunkSize)), stallMs);
        if (done || !value) break;
        buffer = value.buffer as ArrayBuffer; // the read hands the buffer back
        await emit(value.length);
      }
    } catch (e) {
      // A stalled read may never settle, nor may cancelling it: do not wait for either.
      if (e instanceof StalledReadError) void byob.cancel().catch(() => {});
      else await byob.cancel().catch(() => {});
      throw e;
    } finally {
      try {
        byob.releaseLock();
      } catch {
        // a read still pending (stalled): the stream is abandoned anyway
      }
    }
    return;
  }
  const reader = stream.getReader();
  const view = new Uint8Array(buffer);
  let fill = 0;
  try {
    for (;;) {
      await yieldNow();
      if (signal?.aborted) throw new CancelledError();
      const { done, value } = await withStall(reader.read(), stallMs);
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
    if (e instanceof StalledReadError) void reader.cancel().catch(() => {});
    else await reader.cancel().catch(() => {});
    throw e;
  } finally {
    try {
      reader.releaseLock();
    } catch {
      // a read still pending (stalled): the stream is abandoned anyway
    }
  }
}
