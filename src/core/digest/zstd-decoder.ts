/**
 * zstd decompression (RFC 8878) with the reference decoder: zstd 1.5.4's own C, decompression
 * only, compiled to WebAssembly by scripts/zstd-wasm/build.sh (zstd-decoder-wasm.ts). Browsers
 * have no native zstd; in Chromium this decodes ~9× faster than the pure-JS fzstd it replaced
 * (184 against 20.6 MB/s of input), checks frame checksums, and yields its output a buffer at a
 * time, so a stream that expands without bound costs no more memory than one buffer
 * (docs/decisions.md, "zstd").
 *
 * One WebAssembly instance per stream, over one compiled module: a frame's window (up to
 * 128 MiB, zstd's default decoding limit) is allocated in the instance's memory, which
 * WebAssembly never shrinks, so it goes when the stream's instance is collected.
 */
import { base64Decode } from '../base64';
import type { Decompressor, OutputHandler } from './decompress';
import { ZSTD_DECODER_WASM } from './zstd-decoder-wasm';

interface ZstdExports {
  memory: WebAssembly.Memory;
  zl_init(inCap: number, outCap: number): number;
  zl_in_ptr(): number;
  zl_out_ptr(): number;
  zl_in_pos(): number;
  zl_out_pos(): number;
  zl_feed(size: number): void;
  zl_step(): number;
  zl_is_error(code: number): number;
  zl_error_name(code: number): number;
}

/** Compressed bytes copied into the instance per step of the caller's chunk. */
const IN_CAP = 1 << 20;
/** Uncompressed bytes handed on at a time: the most any step of the decoder produces. */
const OUT_CAP = 256 << 10;

let compiled: Promise<WebAssembly.Module> | null = null;

function zstdModule(): Promise<WebAssembly.Module> {
  compiled ??= WebAssembly.compile(base64Decode(ZSTD_DECODER_WASM, 'base64') as Uint8Array<ArrayBuffer>);
  return compiled;
}

async function instantiate(): Promise<ZstdExports> {
  const instance = await WebAssembly.instantiate(await zstdModule(), {});
  const x = instance.exports as unknown as ZstdExports;
  if (!x.zl_init(IN_CAP, OUT_CAP)) throw new Error('zstd: the decoder could not allocate its buffers');
  return x;
}

/** A NUL-terminated ASCII string in the instance's memory (zstd's error names). */
function cString(x: ZstdExports, at: number): string {
  const bytes = new Uint8Array(x.memory.buffer);
  let end = at;
  while (end < bytes.length && bytes[end] !== 0) end++;
  return String.fromCharCode(...bytes.subarray(at, Math.min(end, at + 200)));
}

export class ZstdDecompressor implements Decompressor {
  /** Output chunks are views of the instance's output buffer, overwritten by the next step. */
  readonly freshOutput = false;
  private readonly decoder: Promise<ZstdExports>;
  /** ZSTD_decompressStream's last return: 0 once a frame is complete and flushed. */
  private pending = 1;
  private failure: unknown = null;

  constructor(private readonly onData: OutputHandler) {
    this.decoder = instantiate();
    this.decoder.catch(() => {}); // reported by the first write or close
  }

  async write(chunk: Uint8Array): Promise<void> {
    const x = await this.decoder;
    for (let at = 0; at < chunk.length; at += IN_CAP) {
      const piece = chunk.subarray(at, at + IN_CAP);
      // The caller reuses its buffer after this resolves, so the decoder gets its own copy.
      new Uint8Array(x.memory.buffer, x.zl_in_ptr(), piece.length).set(piece);
      x.zl_feed(piece.length);
      await this.drain(x, piece.length);
    }
  }

  /**
   * Steps until the input is consumed and a step leaves the output buffer short of full: the
   * decoder has then flushed all it can (zstd.h, ZSTD_decompressStream). Each step's output is
   * handled before the next, which overwrites it.
   */
  private async drain(x: ZstdExports, size: number): Promise<void> {
    for (;;) {
      if (this.failure) throw this.failure;
      const ret = x.zl_step() >>> 0;
      if (x.zl_is_error(ret)) throw new Error(`zstd: ${cString(x, x.zl_error_name(ret))}`);
      this.pending = ret;
      const produced = x.zl_out_pos();
      if (produced > 0) {
        const r = this.onData(new Uint8Array(x.memory.buffer, x.zl_out_ptr(), produced));
        if (r) await r;
      }
      if (x.zl_in_pos() >= size && produced < OUT_CAP) return;
    }
  }

  /** Every write ended fully flushed; a frame still open means the input stopped inside it. */
  async close(): Promise<void> {
    await this.decoder;
    if (this.failure) throw this.failure;
    if (this.pending !== 0) throw new Error('zstd: the data ends too soon (a frame is incomplete)');
  }

  /** Nothing outlives the instance; a write in progress stops at its next step. */
  abort(reason: unknown): void {
    this.failure ??= reason;
  }
}
