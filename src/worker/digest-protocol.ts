/** Messages between the analysis worker and its digest workers (one blob at a time each). */
import type { DigestResult } from '../core/digest/blob-digester';
import type { DigestBlobOptions, PlainResult } from '../core/digest/digest-blob';
import type { PackedListing } from '../core/layers/listing-transfer';
import type { BlobRequest } from '../core/registry/client';

/** What every digest job asks for: digestBlob's options that can cross a thread. */
export type DigestJob = Pick<DigestBlobOptions, 'diffId' | 'listing' | 'limits' | 'layer'>;

export type ToDigestWorker =
  /**
   * `plainTo`: send the uncompressed bytes to another digest worker's `digest-plain` job
   * (`listSent`: and list them here first).
   */
  | (DigestJob & { type: 'digest'; id: number; blob: Blob; plainTo?: MessagePort; listSent?: boolean })
  /** Hash (and list, when asked) the uncompressed bytes another worker sends on `port` (digestPlain). */
  | (Omit<DigestJob, 'diffId'> & { type: 'digest-plain'; id: number; port: MessagePort })
  /** A whole pass over a blob of `size` bytes that another worker sends on `port` (digestPiped). */
  | (DigestJob & { type: 'digest-piped'; id: number; port: MessagePort; size: number })
  /**
   * The same for a blob this worker fetches itself (a registry layer through the proxy), so that
   * its bytes never cross a thread; the request carries the Authorization the client holds.
   */
  | (DigestJob & { type: 'digest-fetch'; id: number; request: BlobRequest; size: number; keep?: boolean })
  | { type: 'cancel'; id: number };

export type FromDigestWorker =
  | { type: 'progress'; id: number; bytesDone: number }
  /** The result's listing travels packed (`listing-transfer.ts`), not as the result's own field. */
  | {
      type: 'result';
      id: number;
      result: (DigestResult & { blob?: Blob }) | PlainResult;
      packed?: PackedListing;
    }
  | { type: 'error'; id: number; message: string; cancelled: boolean };
