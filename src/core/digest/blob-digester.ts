/**
 * One pass over a blob: SHA-256 of the bytes as stored (the descriptor digest) and, for a
 * compressed layer, decompression and SHA-256 of the uncompressed tar (its diff_id,
 * image-spec config.md "rootfs"). An uncompressed blob's diff_id is its digest, so it is
 * hashed once. The uncompressed bytes can also be handed to a tar parser in the same pass.
 */
import type { LayerListing } from '../layers/layer-listing';
import type { Compression } from '../model';
import { createDecompressor, decodeErrorCode } from './decompress';
import type { Decompressor } from './decompress';
import { sniff } from './magic';
import { createIncrementalSha256 } from './sha256';
import type { IncrementalHash } from './sha256';

export interface DigestResult {
  /** `sha256:<hex>` of the stored bytes. */
  digest: string;
  size: number;
  compression: Compression;
  /** SHA-256 of the decompressed bytes; null when they could not be produced. */
  diffId: string | null;
  uncompressedSize: number | null;
  /**
   * Why the uncompressed side failed, with the compressed offset reached. `limit`: the
   * data expands beyond `maxUncompressed`, so decompression was stopped there.
   */
  error: { code: 'gzip-error' | 'zstd-error' | 'decompress-error' | 'limit'; message: string } | null;
  /** The layer's tar listing, when one was asked for (digestBlob's `listing` option). */
  listing?: LayerListing;
}

export interface DigesterOptions {
  /** Also decompress (when compressed) and hash the uncompressed stream. */
  diffId: boolean;
  /**
   * Receives the uncompressed bytes: views to copy unless `fresh` (the decompressor's own new
   * buffer, which the handler may keep or transfer).
   */
  onUncompressed?: (chunk: Uint8Array, fresh: boolean) => void | Promise<void>;
  /**
   * Hash the uncompressed bytes (default). False when another job hashes them (they are piped to
   * it through `onUncompressed`); the result's diffId is then null.
   */
  hashPlain?: boolean;
  /**
   * Stop decompressing once this many uncompressed bytes have been produced (a
   * decompression bomb would otherwise run for as long as its ratio allows). The stored
   * bytes are still hashed to the end; the uncompressed side reports a `limit` error.
   * Does not apply to uncompressed blobs, which expand to nothing.
   */
  maxUncompressed?: number;
}

/** Thrown from the output handler to make the decompressor stop. */
class UncompressedLimitReached extends Error {
  constructor(limit: number) {
    super(`more than ${limit} uncompressed bytes`);
  }
}

const HEAD = 6;

export class BlobDigester {
  private size = 0;
  private head = new Uint8Array(HEAD);
  private headFill = 0;
  private compression: Compression | null = null;
  private decompressor: Decompressor | null = null;
  private uncompressedSize = 0;
  private error: DigestResult['error'] = null;

  private constructor(
    private readonly raw: IncrementalHash,
    private readonly plain: IncrementalHash | null,
    private readonly options: DigesterOptions,
  ) {}

  static async create(options: DigesterOptions): Promise<BlobDigester> {
    const plain = options.hashPlain === false ? null : await createIncrementalSha256();
    return new BlobDigester(await createIncrementalSha256(), plain, options);
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (chunk.length === 0) return;
    this.raw.update(chunk);
    this.size += chunk.length;
    if (this.compression === null) {
      // Wait for enough bytes to recognise the format, whatever the chunking.
      const take = Math.min(HEAD - this.headFill, chunk.length);
      this.head.set(chunk.subarray(0, take), this.headFill);
      this.headFill += take;
      if (this.headFill < HEAD) return;
      this.start();
      await this.forward(this.head.slice(0, HEAD));
      if (take < chunk.length) await this.forward(chunk.subarray(take));
      return;
    }
    await this.forward(chunk);
  }

  private start(): void {
    const magic = sniff(this.head.subarray(0, this.headFill));
    this.compression =
      magic === 'gzip' || magic === 'zstd' ? magic : magic === 'xz' || magic === 'bzip2' ? 'unknown' : 'none';
    if (this.compression === 'unknown') {
      this.error = { code: 'decompress-error', message: `${magic} compression is not supported for layers` };
    }
    if (this.options.diffId && (this.compression === 'gzip' || this.compression === 'zstd')) {
      this.decompressor = createDecompressor(this.compression, (out) => this.onPlain(out));
    }
  }

  private onPlain(out: Uint8Array): void | Promise<void> {
    const max = this.options.maxUncompressed;
    if (max !== undefined && this.uncompressedSize + out.length > max) return this.overLimit(out, max);
    this.plain?.update(out);
    this.uncompressedSize += out.length;
    return this.options.onUncompressed?.(out, this.decompressor?.freshOutput ?? false);
  }

  /** Hand on what fits under the limit, record the error, and throw to stop the decompressor. */
  private async overLimit(out: Uint8Array, max: number): Promise<void> {
    if (this.error?.code !== 'limit') {
      const fits = out.subarray(0, Math.max(0, max - this.uncompressedSize));
      if (fits.length > 0) {
        this.plain?.update(fits);
        this.uncompressedSize += fits.length;
        const r = this.options.onUncompressed?.(fits, false);
        if (r) await r;
      }
      this.error ??= {
        code: 'limit',
        message: `the layer expands to more than ${max} bytes (${this.compression} data, ${this.size} compressed bytes read); decompression stopped there, so its diff_id is not checked (the limit can be raised)`,
      };
    }
    throw new UncompressedLimitReached(max);
  }

  private async forward(chunk: Uint8Array): Promise<void> {
    if (this.compression === 'none') {
      if (this.options.onUncompressed) {
        const r = this.options.onUncompressed(chunk, false);
        if (r) await r;
      }
      return;
    }
    if (!this.decompressor || this.error) return;
    try {
      await this.decompressor.write(chunk);
    } catch (e) {
      this.fail(e);
    }
  }

  private fail(e: unknown): void {
    const code = decodeErrorCode(this.compression ?? 'unknown');
    const reason = e instanceof Error ? e.message : String(e);
    this.error ??= {
      code,
      message: `${this.compression} data is corrupt or truncated near compressed byte ${this.size}: ${reason}`,
    };
    this.decompressor = null;
  }

  async finish(): Promise<DigestResult> {
    if (this.compression === null) {
      this.start();
      if (this.headFill > 0) await this.forward(this.head.slice(0, this.headFill));
    }
    if (this.decompressor && !this.error) {
      try {
        await this.decompressor.close();
      } catch (e) {
        this.fail(e);
      }
    }
    const digest = this.raw.digest();
    const compression = this.compression ?? 'none';
    const wantPlain = this.options.diffId;
    if (compression === 'none') {
      return {
        digest,
        size: this.size,
        compression,
        diffId: wantPlain ? digest : null,
        uncompressedSize: this.size,
        error: null,
      };
    }
    const ok = wantPlain && !this.error;
    return {
      digest,
      size: this.size,
      compression,
      diffId: ok && this.plain ? this.plain.digest() : null,
      uncompressedSize: ok ? this.uncompressedSize : null,
      error: this.error,
    };
  }
}
