/**
 * Streaming decompressors with one push interface. gzip and zstd use zlib's and zstd's own
 * decoders compiled to WebAssembly (wasm-decoder.ts: faster here than the browser's
 * DecompressionStream and than any JS decoder measured); xz (archives compressed as a whole
 * only) uses xz-decompress, loaded when first needed (see docs/decisions.md).
 */
import type { Magic } from './magic';
import { WasmDecompressor } from './wasm-decoder';

export type OutputHandler = (chunk: Uint8Array) => void | Promise<void>;

export interface Decompressor {
  /**
   * Each output chunk is a fresh buffer the handler may keep or transfer (the xz stream's);
   * false when chunks are views of a buffer the decoder reuses (the WebAssembly decoders').
   */
  readonly freshOutput: boolean;
  /** Resolves once the chunk has been consumed: the caller may then reuse its buffer. */
  write(chunk: Uint8Array): Promise<void>;
  /** Flushes and resolves when every output chunk has been handled. */
  close(): Promise<void>;
  /**
   * Gives up without finishing (the reading stopped: cancelled, or it failed). Needed where a
   * decoder holds something until its stream ends: the xz decoder serves one stream at a time.
   */
  abort(reason: unknown): void;
}

/** xz only for archives compressed as a whole (`docker save | xz`): layers are never xz. */
export type Codec = 'gzip' | 'zstd' | 'xz';

/** The codec of an archive compressed as a whole, from its magic bytes (null: not one read here). */
export function archiveCodec(magic: Magic): Codec | null {
  return magic === 'gzip' || magic === 'zstd' || magic === 'xz' ? magic : null;
}

/** The problem code of a stream that `codec` could not decode (xz has none of its own). */
export function decodeErrorCode(codec: string): 'gzip-error' | 'zstd-error' | 'decompress-error' {
  return codec === 'gzip' ? 'gzip-error' : codec === 'zstd' ? 'zstd-error' : 'decompress-error';
}

export function createDecompressor(codec: Codec, onData: OutputHandler): Decompressor {
  if (codec === 'xz') {
    const identity = new TransformStream<BufferSource, Uint8Array>();
    return new StreamDecompressor(identity.writable, xzReadable(identity.readable), onData);
  }
  return new WasmDecompressor(codec, onData);
}

/**
 * xz-decompress (xz-embedded in WebAssembly), loaded only when an xz archive is opened. Its
 * module is a UMD bundle: a namespace import holds the class directly where the bundler reads
 * UMD, and under `default` where Node loads it as CommonJS.
 */
async function xzReadable(input: ReadableStream<Uint8Array>): Promise<ReadableStream<Uint8Array>> {
  const mod = (await import('xz-decompress')) as typeof import('xz-decompress') & {
    default?: typeof import('xz-decompress');
  };
  const XzReadableStream = mod.XzReadableStream ?? mod.default?.XzReadableStream;
  if (!XzReadableStream) throw new Error('xz: the decoder could not be loaded');
  const source = new XzReadableStream(input).getReader();
  // Pulled one chunk at a time, and its errors put in words: they are xz-embedded's return codes.
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await source.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (e) {
          throw new Error(xzMessage(e));
        }
      },
      cancel: (reason) => source.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}

/** xz-embedded's `enum xz_ret` (xz.h), as xz-decompress reports it: "… error code N". */
const XZ_ERRORS: Record<number, string> = {
  2: 'its integrity check type is not supported',
  3: 'the decoder ran out of memory',
  4: 'its dictionary needs more memory than the decoder allows',
  5: 'this is not xz data',
  6: 'it uses xz options this decoder does not support',
  7: 'the data is corrupt',
  8: 'the data ends too soon',
};

function xzMessage(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  const code = /error code (\d+)/.exec(text)?.[1];
  if (code !== undefined) return XZ_ERRORS[Number(code)] ?? `xz error ${code}`;
  // The decoder dereferences a missing input when the stream ends before any data.
  if (e instanceof TypeError) return 'the data ends too soon';
  return text;
}

/**
 * The most compressed input written to a stream decoder at once: what one write may queue is then
 * bounded by this piece's expansion, not by a whole 1 MiB read's (for DecompressionStream, which
 * the app used for gzip until 2026-12-04, ~256 MiB instead of ~1 GiB; 64 KiB pieces cost 4–6%).
 */
const WRITE_PIECE = 256 << 10;

/**
 * A decompressor that is a pair of Web Streams (the xz decoder): every output chunk is a fresh
 * buffer (xz-decompress copies out of its WebAssembly memory), so the handler may keep or
 * transfer it.
 */
class StreamDecompressor implements Decompressor {
  readonly freshOutput = true;
  private readonly writer: WritableStreamDefaultWriter<BufferSource>;
  private readonly pump: Promise<void>;
  private failure: unknown = null;

  constructor(
    writable: WritableStream<BufferSource>,
    readable: Promise<ReadableStream<Uint8Array>>,
    onData: OutputHandler,
  ) {
    this.writer = writable.getWriter();
    this.pump = (async () => {
      let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
      try {
        reader = (await readable).getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          const r = onData(value);
          if (r) await r;
        }
      } catch (e) {
        this.failure ??= e;
        // Unblock a writer waiting on backpressure: cancelling errors the whole transform (and
        // releases the xz decoder, which serves one stream at a time).
        await reader?.cancel(e).catch(() => {});
        throw e;
      }
    })();
    this.pump.catch(() => {}); // observed in close(); avoid an unhandled rejection meanwhile
  }

  abort(reason: unknown): void {
    this.failure ??= reason;
    // Errors the stream pair, so a decoder waiting for input stops (and lets go of what it holds).
    this.writer.abort(reason).catch(() => {});
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    try {
      // A copy: the stream may still read the chunk after write() resolves, and callers reuse
      // their buffer for the next read. Compressed input is small next to its output.
      const copy = chunk.slice();
      // In pieces: a stream decoder may decode a whole written chunk at once and queue all its
      // output, whatever the reader's pace (Chromium's DecompressionStream does: docs/decisions.md,
      // "Decompression in bounded steps").
      let last: Promise<void> = Promise.resolve();
      for (let at = 0; at < copy.length; at += WRITE_PIECE) {
        await this.writer.ready;
        if (this.failure) throw this.failure;
        last = this.writer.write(copy.subarray(at, at + WRITE_PIECE));
        last.catch(() => {});
      }
      await last;
    } catch (e) {
      throw this.failure ?? e;
    }
  }

  async close(): Promise<void> {
    if (this.failure) throw this.failure;
    try {
      await this.writer.close();
    } catch (e) {
      throw this.failure ?? e;
    }
    await this.pump;
  }
}
