/** Messages between the analysis worker and its digest workers (one blob at a time each). */
import type { DigestResult } from '../core/digest/blob-digester';
import type { LayerLimits } from '../core/layers/layer-listing';

export type ToDigestWorker =
  | {
      type: 'digest';
      id: number;
      blob: Blob;
      diffId: boolean;
      /** List the layer's tar in the same pass; the result carries the listing. */
      listing?: boolean;
      limits?: Partial<LayerLimits>;
      /** Label of the layer in the listing's problems. */
      layer?: string;
    }
  /** The same for a registry's response body, transferred here; `keep` returns its bytes as a Blob. */
  | {
      type: 'digest-stream';
      id: number;
      stream: ReadableStream<Uint8Array>;
      diffId: boolean;
      listing?: boolean;
      limits?: Partial<LayerLimits>;
      layer?: string;
      size: number;
      keep?: boolean;
    }
  | { type: 'cancel'; id: number };

export type FromDigestWorker =
  | { type: 'progress'; id: number; bytesDone: number }
  | { type: 'result'; id: number; result: DigestResult & { blob?: Blob } }
  | { type: 'error'; id: number; message: string; cancelled: boolean };
