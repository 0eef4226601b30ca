import { LayerLister, uncompressedLimit } from '../layers/layer-listing';
import type { LayerLimits } from '../layers/layer-listing';
import { BlobDigester } from './blob-digester';
import type { DigestResult } from './blob-digester';
import { readBlob } from './read-blob';

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
}

/** Hash (and for compressed layers, decompress and hash) a whole blob in one streaming pass. */
export async function digestBlob(blob: Blob, options: DigestBlobOptions): Promise<DigestResult> {
  const lister = options.listing ? new LayerLister({ layer: options.layer, limits: options.limits }) : null;
  const digester = await BlobDigester.create(
    lister
      ? {
          diffId: true,
          onUncompressed: (chunk) => lister.push(chunk),
          maxUncompressed: uncompressedLimit(blob.size, lister.limits),
        }
      : { diffId: options.diffId },
  );
  let done = 0;
  await readBlob(
    blob,
    async (chunk) => {
      await digester.write(chunk);
      done += chunk.length;
      options.onProgress?.(done);
    },
    options.signal,
  );
  const result = await digester.finish();
  if (lister) result.listing = lister.finish(result.error);
  return result;
}
