import { BlobDigester } from './blob-digester';
import type { DigestResult } from './blob-digester';
import { readBlob } from './read-blob';

export interface DigestBlobOptions {
  diffId: boolean;
  onProgress?: (bytesDone: number) => void;
  signal?: AbortSignal;
}

/** Hash (and for compressed layers, decompress and hash) a whole blob in one streaming pass. */
export async function digestBlob(blob: Blob, options: DigestBlobOptions): Promise<DigestResult> {
  const digester = await BlobDigester.create({ diffId: options.diffId });
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
  return digester.finish();
}
