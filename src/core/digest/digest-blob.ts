import { LayerLister, layerLimits, uncompressedLimit } from '../layers/layer-listing';
import type { LayerLimits, LayerListing } from '../layers/layer-listing';
import { BlobDigester } from './blob-digester';
import type { DigestResult } from './blob-digester';
import { BlobParts } from './blob-parts';
import { PlainSender, receivePlain } from './plain-pipe';
import { readBlob, readStream } from './read-blob';
import { createIncrementalSha256 } from './sha256';

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
   * Send the uncompressed bytes here instead of hashing and listing them: `digestPlain` on the
   * port's other end does that on another thread (a large compressed layer's pass in two). The
   * result's diffId is then null; `listing` and `limits` still bound decompression.
   */
  plainTo?: MessagePort;
  /**
   * With `plainTo` and `listing`: list the uncompressed bytes here, before sending them; the pipe
   * tells the receiving half, which then only hashes them. For a layer that expands many times
   * over, the decompressing half is the lighter one (docs/decisions.md, "Which half lists").
   */
  listSent?: boolean;
}

function listerFor(options: Pick<DigestBlobOptions, 'layer' | 'limits'>, wanted: boolean | undefined) {
  return wanted ? new LayerLister({ layer: options.layer, limits: options.limits }) : null;
}

/**
 * The digester for one pass, its uncompressed side fed to the listing's parser, to the pipe, or
 * both (`listSent`: parsed before it is sent, as a transferred chunk is gone from this thread).
 */
async function start(
  size: number,
  options: DigestBlobOptions,
): Promise<{ digester: BlobDigester; lister: LayerLister | null; sender: PlainSender | null }> {
  const lister = listerFor(options, options.listing && (!options.plainTo || options.listSent));
  const sender = options.plainTo
    ? new PlainSender(options.plainTo, { signal: options.signal, listed: lister !== null })
    : null;
  const digester = await BlobDigester.create({
    diffId: options.diffId || sender !== null || lister !== null,
    // The receiving half hashes what is sent.
    hashPlain: sender === null,
    onUncompressed:
      lister || sender
        ? async (chunk, fresh) => {
            await lister?.push(chunk);
            await sender?.send(chunk, fresh);
          }
        : undefined,
    // The listing's allowance bounds decompression, wherever the listing is made.
    maxUncompressed: options.listing ? uncompressedLimit(size, layerLimits(options.limits)) : undefined,
  });
  return { digester, lister, sender };
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

/**
 * The same pass over bytes another job sends on `port` through a PlainSender: a blob of an archive
 * compressed as a whole, which the job that decompresses the archive hands on, so that this
 * pass (digest, a layer's own decompression, diff_id, listing) runs on another core.
 */
export function digestPiped(port: MessagePort, options: DigestStreamOptions): Promise<DigestResult> {
  return digestFrom(async (onChunk) => {
    // The sender ends cleanly or aborts (the receiver then rejects): it has no error of its own.
    await receivePlain(port, { chunk: onChunk }, options.signal);
  }, options);
}

async function digestFrom(
  read: (onChunk: (chunk: Uint8Array) => Promise<void>) => Promise<void>,
  options: DigestStreamOptions,
): Promise<DigestResult & { blob?: Blob }> {
  // Reading starts before the first await, while the digester is still being made: readStream
  // takes the stream's reader at once. Node's fetch (undici) cancels the body of a Response that
  // is garbage-collected while that body is still unlocked and unread, and a registry layer's
  // body travels without its Response; read from a later task, it then ended after 0 bytes (a
  // 368-byte layer "hashes to e3b0c442…", about 1 run in 60 of three analyses on a busy machine).
  const starting = start(options.size, options);
  let pass: Awaited<typeof starting> | null = null;
  const kept = options.keep ? new BlobParts() : null;
  let done = 0;
  let result: DigestResult & { blob?: Blob };
  try {
    await read(async (chunk) => {
      pass ??= await starting;
      kept?.push(chunk);
      await pass.digester.write(chunk);
      done += chunk.length;
      options.onProgress?.(done);
    });
    pass ??= await starting;
    result = await pass.digester.finish();
    await pass.sender?.end(result.error);
  } catch (e) {
    // The receiving job must not wait for bytes that will never come.
    (pass ?? (await starting.catch(() => null)))?.sender?.abort(e);
    throw e;
  }
  if (pass.lister) result.listing = pass.lister.finish(result.error);
  if (kept) result.blob = kept.blob();
  return result;
}

export type DigestPlainOptions = Pick<DigestBlobOptions, 'listing' | 'limits' | 'layer' | 'signal'>;

/** What the receiving half of a piped layer finds: the diff_id, and the listing when asked for. */
export interface PlainResult {
  diffId: string | null;
  uncompressedSize: number | null;
  listing?: LayerListing;
}

/**
 * The other half of a pass whose decompression runs elsewhere (`plainTo`): hash the uncompressed
 * bytes that arrive on `port`, and list them when `listing` is asked, unless the sender says it
 * lists them (`listSent`). The sender's decompression error (corrupt data, the byte limit) arrives
 * with the end and stops the listing as it would in one pass.
 */
export async function digestPlain(port: MessagePort, options: DigestPlainOptions): Promise<PlainResult> {
  const hash = await createIncrementalSha256();
  // Made when the sender's first message says who lists.
  let lister = null as LayerLister | null;
  let size = 0;
  const error = await receivePlain(
    port,
    {
      start: (senderLists) => (lister = listerFor(options, options.listing && !senderLists)),
      chunk: (chunk) => {
        hash.update(chunk);
        size += chunk.length;
        return lister?.push(chunk);
      },
    },
    options.signal,
  );
  const result: PlainResult = {
    diffId: error ? null : hash.digest(),
    uncompressedSize: error ? null : size,
  };
  if (lister) result.listing = lister.finish(error);
  return result;
}
