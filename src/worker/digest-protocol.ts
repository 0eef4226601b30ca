/** Messages between the analysis worker and its digest workers (one blob at a time each). */
import type { DigestResult } from '../core/digest/blob-digester';
import type { LayerLimits } from '../core/layers/layer-listing';
import type { PackedListing } from '../core/layers/listing-transfer';
import type { BlobRequest } from '../core/registry/client';

/** What every digest job asks for, as the core's BlobVerifier options name it. */
export interface DigestJob {
  diffId: boolean;
  /** List the layer's tar in the same pass; the result carries the listing. */
  listing?: boolean;
  limits?: Partial<LayerLimits>;
  /** Label of the layer in the listing's problems. */
  layer?: string;
  /** False: another job hashes the stored bytes; this one decompresses and lists only. */
  storedDigest?: boolean;
}

export type ToDigestWorker =
  | (DigestJob & { type: 'digest'; id: number; blob: Blob })
  /**
   * The same for a blob this worker fetches itself (a registry layer through the proxy), so that
   * its bytes never cross a thread; the request carries the Authorization the client holds.
   */
  | (DigestJob & { type: 'digest-fetch'; id: number; request: BlobRequest; size: number; keep?: boolean })
  | { type: 'cancel'; id: number };

export type FromDigestWorker =
  | { type: 'progress'; id: number; bytesDone: number }
  /** The result's listing travels packed (`listing-transfer.ts`), not as the result's own field. */
  | { type: 'result'; id: number; result: DigestResult & { blob?: Blob }; packed?: PackedListing }
  | { type: 'error'; id: number; message: string; cancelled: boolean };
