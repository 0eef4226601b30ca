/**
 * Streaming decompressors with one push interface. gzip uses the browser's native
 * DecompressionStream (fastest measured; pako where it is missing); zstd, which browsers
 * cannot decompress natively, uses fzstd because it is truly streaming (see docs/decisions.md).
 */
import { Inflate } from 'pako';
import { Decompress as ZstdDecompress } from 'fzstd';

export type OutputHandler = (chunk: Uint8Array) => void | Promise<void>;

export interface Decompressor {
  /**
   * Each output chunk is a fresh buffer the handler may keep or transfer (the native stream's);
   * false when chunks may be views of a buffer the decoder still uses (the JS decoders').
   */
  readonly freshOutput: boolean;
  /** Resolves once the chunk has been consumed: the caller may then reuse its buffer. */
  write(chunk: Uint8Array): Promise<void>;
  /** Flushes and resolves when every output chunk has been handled. */
  close(): Promise<void>;
}

export type Codec = 'gzip' | 'zstd';

export function createDecompressor(codec: Codec, onData: OutputHandler): Decompressor {
  if (codec === 'zstd') return new FzstdDecompressor(onData);
  if (typeof DecompressionStream === 'function') return new NativeDecompressor('gzip', onData);
  return new PakoDecompressor(onData);
}

class NativeDecompressor implements Decompressor {
  readonly freshOutput = true;
  private readonly writer: WritableStreamDefaultWriter<BufferSource>;
  private readonly pump: Promise<void>;
  private failure: unknown = null;

  constructor(format: CompressionFormat, onData: OutputHandler) {
    const ds = new DecompressionStream(format);
    this.writer = ds.writable.getWriter();
    const reader = ds.readable.getReader();
    this.pump = (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          const r = onData(value);
          if (r) await r;
        }
      } catch (e) {
        this.failure ??= e;
        // Unblock a writer waiting on backpressure: cancelling errors the whole transform.
        await reader.cancel(e).catch(() => {});
        throw e;
      }
    })();
    this.pump.catch(() => {}); // observed in close(); avoid an unhandled rejection meanwhile
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    try {
      // A copy: the stream may still read the chunk after write() resolves (Node's zlib
      // works off-thread), and callers reuse their buffer for the next read. Compressed
      // input is a third of the output, so this copy is small next to decompression.
      await this.writer.write(chunk.slice());
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

/** Shared by the two JS decoders: they emit output synchronously from push(). */
abstract class QueuedDecompressor implements Decompressor {
  readonly freshOutput = false;
  protected queue: Uint8Array[] = [];
  constructor(private readonly onData: OutputHandler) {}

  protected async drain(): Promise<void> {
    const q = this.queue;
    this.queue = [];
    for (const c of q) {
      const r = this.onData(c);
      if (r) await r;
    }
  }

  abstract write(chunk: Uint8Array): Promise<void>;
  abstract close(): Promise<void>;
}

class PakoDecompressor extends QueuedDecompressor {
  private readonly inflate = new Inflate();
  constructor(onData: OutputHandler) {
    super(onData);
    this.inflate.onData = (c: Uint8Array) => void this.queue.push(c);
  }
  private check(): void {
    if (this.inflate.err) throw new Error(`gzip: ${this.inflate.msg || `error ${this.inflate.err}`}`);
  }
  async write(chunk: Uint8Array): Promise<void> {
    this.inflate.push(chunk, false);
    this.check();
    await this.drain();
  }
  async close(): Promise<void> {
    this.inflate.push(new Uint8Array(0), true);
    this.check();
    await this.drain();
  }
}

class FzstdDecompressor extends QueuedDecompressor {
  private readonly zstd: ZstdDecompress;
  constructor(onData: OutputHandler) {
    super(onData);
    this.zstd = new ZstdDecompress((c) => void this.queue.push(c));
  }
  async write(chunk: Uint8Array): Promise<void> {
    // fzstd keeps references to input it has not decoded yet; the caller reuses its buffer.
    this.zstd.push(chunk.slice());
    await this.drain();
  }
  async close(): Promise<void> {
    this.zstd.push(new Uint8Array(0), true);
    await this.drain();
  }
}
