/** Messages between the analysis worker and its digest workers (one blob at a time each). */
import type { DigestResult } from '../core/digest/blob-digester';

export type ToDigestWorker =
  { type: 'digest'; id: number; blob: Blob; diffId: boolean } | { type: 'cancel'; id: number };

export type FromDigestWorker =
  | { type: 'progress'; id: number; bytesDone: number }
  | { type: 'result'; id: number; result: DigestResult }
  | { type: 'error'; id: number; message: string; cancelled: boolean };
