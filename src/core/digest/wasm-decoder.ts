/**
 * gzip (RFC 1952) and zstd (RFC 8878) decompression with the reference decoders compiled to
 * WebAssembly: zlib 1.2.13's inflate and zstd 1.5.4's decoder, decompression only
 * (scripts/zlib-wasm/build.sh, scripts/zstd-wasm/build.sh; both export the same functions). In
 * Chromium, zstd decodes ~9× faster than the pure-JS fzstd it replaced (184 against 20.6 MB/s of
 * input) and gzip ~3× faster than DecompressionStream on these machines (zlib's inner loop adapted
 * to wasm32, scripts/zlib-wasm/inffast-wasm.c), faster than `gzip -dc` itself; both check their
 * checksums, and yield their output a buffer at a time, so a stream that expands without bound
 * costs no more memory than one buffer (docs/decisions.md, "zstd", "gzip").
 *
 * One WebAssembly instance per stream, over one compiled module per codec: a zstd frame's window
 * (up to 128 MiB, zstd's default decoding limit) is allocated in the instance's memory, which
 * WebAssembly never shrinks, so it goes when the stream's instance is collected.
 */
import { base64Decode } from '../base64';
import type { Decompressor, OutputHandler } from './decompress';
import { GZIP_DECODER_WASM } from './gzip-decoder-wasm';
import { ZSTD_DECODER_WASM } from './zstd-decoder-wasm';

export type WasmCodec = 'gzip' | 'zstd';

interface DecoderExports {
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

const WASM: Record<WasmCodec, string> = { gzip: GZIP_DECODER_WASM, zstd: ZSTD_DECODER_WASM };
/** What a stream cut inside a gzip member or a zstd frame is said to be. */
const CUT: Record<WasmCodec, string> = {
  gzip: 'the data ends too soon (a gzip member is incomplete)',
  zstd: 'the data ends too soon (a frame is incomplete)',
};
const compiled = new Map<WasmCodec, Promise<WebAssembly.Module>>();

function decoderModule(codec: WasmCodec): Promise<WebAssembly.Module> {
  let m = compiled.get(codec);
  if (!m) {
    m = WebAssembly.compile(base64Decode(WASM[codec], 'base64') as Uint8Array<ArrayBuffer>);
    compiled.set(codec, m);
  }
  return m;
}

/**
 * Compiles a codec's module ahead of its first stream (a digest worker does it as it starts), so
 * that the first layer does not wait for the base64 decoding and the compilation. A failure is
 * left for that stream to report.
 */
export function prepareDecoder(codec: WasmCodec): void {
  decoderModule(codec).catch(() => {});
}

async function instantiate(codec: WasmCodec): Promise<DecoderExports> {
  const instance = await WebAssembly.instantiate(await decoderModule(codec), {});
  const x = instance.exports as unknown as DecoderExports;
  if (!x.zl_init(IN_CAP, OUT_CAP)) throw new Error(`${codec}: the decoder could not allocate its buffers`);
  return x;
}

/** A NUL-terminated ASCII string in the instance's memory (the decoders' error messages). */
function cString(x: DecoderExports, at: number): string {
  const bytes = new Uint8Array(x.memory.buffer);
  let end = at;
  while (end < bytes.length && bytes[end] !== 0) end++;
  return String.fromCharCode(...bytes.subarray(at, Math.min(end, at + 200)));
}

export class WasmDecompressor implements Decompressor {
  /** Output chunks are views of the instance's output buffer, overwritten by the next step. */
  readonly freshOutput = false;
  private readonly decoder: Promise<DecoderExports>;
  /** The last step's return: 0 once a frame (zstd) or member (gzip) is complete and flushed. */
  private pending = 1;
  private failure: unknown = null;

  constructor(
    private readonly codec: WasmCodec,
    private readonly onData: OutputHandler,
  ) {
    this.decoder = instantiate(codec);
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
  private async drain(x: DecoderExports, size: number): Promise<void> {
    for (;;) {
      if (this.failure) throw this.failure;
      const ret = x.zl_step() >>> 0;
      if (x.zl_is_error(ret)) throw new Error(`${this.codec}: ${cString(x, x.zl_error_name(ret))}`);
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
    if (this.pending !== 0) throw new Error(`${this.codec}: ${CUT[this.codec]}`);
  }

  /** Nothing outlives the instance; a write in progress stops at its next step. */
  abort(reason: unknown): void {
    this.failure ??= reason;
  }
}
