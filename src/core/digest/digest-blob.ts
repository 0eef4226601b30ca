import { LayerLister, uncompressedLimit } from '../layers/layer-listing';
import type { LayerLimits } from '../layers/layer-listing';
import { BlobDigester } from './blob-digester';
import type { DigestResult } from './blob-digester';
import { BlobParts } from './blob-parts';
import { readBlob, readStream } from './read-blob';

export interface DigestBlobOptions {
  diffId: boolean;
  /**
   * Also parse the uncompressed tar in the same pass and return its listing (a layer).
   * Implies decompression, and bounds it by the limits' uncompressed-bytes allowance.
   */
  listing?: boolean;
  limits?: Partial<LayerLimits>;
  /** Label of the layer in the listing's problems (its digest, usually). */
  layer?: string;
  onProgress?: (bytesDone: number) => void;
  signal?: AbortSignal;
  /**
   * Hash the stored bytes (default). False: decompress, hash and list only, the digest left `''`
   * for a job that hashes the same blob on another worker (a compressed layer split in two).
   */
  hashStored?: boolean;
}

/** The digester for one pass, with the listing's parser fed from its uncompressed side. */
async function start(
  size: number,
  options: DigestBlobOptions,
): Promise<{ digester: BlobDigester; lister: LayerLister | null }> {
  const lister = options.listing ? new LayerLister({ layer: options.layer, limits: options.limits }) : null;
  const digester = await BlobDigester.create(
    lister
      ? {
          diffId: true,
          onUncompressed: (chunk) => lister.push(chunk),
          maxUncompressed: uncompressedLimit(size, lister.limits),
          hashStored: options.hashStored,
        }
      : { diffId: options.diffId, hashStored: options.hashStored },
  );
  return { digester, lister };
}

async function finish(digester: BlobDigester, lister: LayerLister | null): Promise<DigestResult> {
  const result = await digester.finish();
  if (lister) result.listing = lister.finish(result.error);
  return result;
}

/** Hash (and for compressed layers, decompress and hash) a whole blob in one streaming pass. */
export function digestBlob(blob: Blob, options: DigestBlobOptions): Promise<DigestResult> {
  return digestFrom((onChunk) => readBlob(blob, onChunk, options.signal), { ...options, size: blob.size });
}

export interface DigestStreamOptions extends DigestBlobOptions {
  /** The size the descriptor claims: it bounds decompression before the stream's end is known. */
  size: number;
  /** Also gather the bytes into a Blob (for the cache). */
  keep?: boolean;
}

/** The same pass over a stream (a registry's response body); `keep` also gathers its bytes. */
export function digestStream(
  stream: ReadableStream<Uint8Array>,
  options: DigestStreamOptions,
): Promise<DigestResult & { blob?: Blob }> {
  return digestFrom((onChunk) => readStream(stream, onChunk, options.signal), options);
}

async function digestFrom(
  read: (onChunk: (chunk: Uint8Array) => Promise<void>) => Promise<void>,
  options: DigestStreamOptions,
): Promise<DigestResult & { blob?: Blob }> {
  const { digester, lister } = await start(options.size, options);
  const kept = options.keep ? new BlobParts() : null;
  let done = 0;
  await read(async (chunk) => {
    kept?.push(chunk);
    await digester.write(chunk);
    done += chunk.length;
    options.onProgress?.(done);
  });
  const result: DigestResult & { blob?: Blob } = await finish(digester, lister);
  if (kept) result.blob = kept.blob();
  return result;
}
