/**
 * A pool of digest workers behind the core's BlobVerifier interface. Falls back to
 * digesting in this worker where nested workers are unavailable.
 */
import type { BlobVerifier } from '../core/archive/analyze';
import { digestBlob } from '../core/digest/digest-blob';
import type { DigestResult } from '../core/digest/blob-digester';
import { CancelledError } from '../core/digest/read-blob';
import type { FromDigestWorker, ToDigestWorker } from './digest-protocol';

interface Pending {
  resolve: (r: DigestResult) => void;
  reject: (e: Error) => void;
  onProgress: (n: number) => void;
}

class PoolWorker {
  readonly worker: Worker;
  busy = false;
  readonly pending = new Map<number, Pending>();

  constructor() {
    this.worker = new Worker(new URL('./digest-worker.ts', import.meta.url), { type: 'module' });
    this.worker.onmessage = (e: MessageEvent<FromDigestWorker>) => {
      const m = e.data;
      const p = this.pending.get(m.id);
      if (!p) return;
      if (m.type === 'progress') return p.onProgress(m.bytesDone);
      this.pending.delete(m.id);
      if (m.type === 'result') p.resolve(m.result);
      else p.reject(m.cancelled ? new CancelledError() : new Error(m.message));
    };
    this.worker.onerror = (e) => {
      e.preventDefault();
      for (const p of this.pending.values())
        p.reject(new Error(`digest worker failed: ${e.message || 'unknown error'}`));
      this.pending.clear();
    };
  }
}

export function createDigestPool(size: number): { verifier: BlobVerifier; dispose: () => void } {
  if (typeof Worker !== 'function') {
    return { verifier: (blob, o) => digestBlob(blob, o), dispose: () => {} };
  }
  const workers: PoolWorker[] = [];
  let nextId = 1;
  const acquire = (): PoolWorker => {
    const idle = workers.find((w) => !w.busy);
    if (idle) return idle;
    if (workers.length < size) {
      const w = new PoolWorker();
      workers.push(w);
      return w;
    }
    // The analysis runs at most `size` verifications at once, so this is a fallback only.
    return workers[0] as PoolWorker;
  };
  const verifier: BlobVerifier = (blob, options) =>
    new Promise<DigestResult>((resolve, reject) => {
      const w = acquire();
      w.busy = true;
      const id = nextId++;
      const done = () => {
        w.busy = false;
        options.signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => w.worker.postMessage({ type: 'cancel', id } satisfies ToDigestWorker);
      options.signal?.addEventListener('abort', onAbort);
      w.pending.set(id, {
        resolve: (r) => (done(), resolve(r)),
        reject: (e) => (done(), reject(e)),
        onProgress: options.onProgress,
      });
      w.worker.postMessage({
        type: 'digest',
        id,
        blob,
        diffId: options.diffId,
        listing: options.listing,
        limits: options.limits,
        layer: options.layer,
      } satisfies ToDigestWorker);
    });
  return { verifier, dispose: () => workers.forEach((w) => w.worker.terminate()) };
}
