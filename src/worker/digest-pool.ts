/**
 * A pool of digest workers behind the core's BlobVerifier interface. Falls back to
 * digesting in this worker where nested workers are unavailable.
 */
import type { BlobVerifier, PipedVerifier, PlainVerifier } from '../core/archive/analyze';
import { digestBlob, digestPiped, digestPlain } from '../core/digest/digest-blob';
import type { PlainResult } from '../core/digest/digest-blob';
import type { FetchVerifier } from '../core/registry/analyze-registry';
import { fetchBlobAndDigest } from '../core/registry/client';
import { unpackListing } from '../core/layers/listing-transfer';
import type { DigestResult } from '../core/digest/blob-digester';
import { CancelledError } from '../core/digest/read-blob';
import type { DigestJob, FromDigestWorker, ToDigestWorker } from './digest-protocol';

type Result = (DigestResult & { blob?: Blob }) | PlainResult;

interface Pending {
  resolve: (r: Result) => void;
  reject: (e: Error) => void;
  onProgress: (n: number) => void;
}

class PoolWorker {
  readonly worker: Worker;
  busy = false;
  readonly pending = new Map<number, Pending>();

  /** @param onFail called once the worker has failed: the pool drops it and starts another when needed. */
  constructor(onFail: (w: PoolWorker) => void) {
    this.worker = new Worker(new URL('./digest-worker.ts', import.meta.url), { type: 'module' });
    this.worker.onmessage = (e: MessageEvent<FromDigestWorker>) => {
      const m = e.data;
      const p = this.pending.get(m.id);
      if (!p) return;
      if (m.type === 'progress') return p.onProgress(m.bytesDone);
      this.pending.delete(m.id);
      if (m.type !== 'result') return p.reject(m.cancelled ? new CancelledError() : new Error(m.message));
      // A listing that cannot be unpacked fails this blob, not the whole run (no promise left waiting).
      try {
        p.resolve(m.packed ? { ...m.result, listing: unpackListing(m.packed) } : m.result);
      } catch (e) {
        p.reject(
          new Error(
            `the layer listing could not be read back: ${e instanceof Error ? e.message : String(e)}`,
          ),
        );
      }
    };
    // An uncaught error, or a module that could not load (the worker is dead then, and a job
    // posted to it would never be answered): its jobs fail with the message, and the worker is
    // replaced, so that a later job is not sent to it.
    this.worker.onerror = (e) => {
      e.preventDefault();
      for (const p of this.pending.values())
        p.reject(new Error(`digest worker failed: ${e.message || 'unknown error'}`));
      this.pending.clear();
      this.worker.terminate();
      onFail(this);
    };
  }
}

/** What placing a job needs to know of a worker. */
export interface Placeable {
  /** Running a job that holds one of the analysis's runners. */
  busy: boolean;
  /** Jobs sent to it and not yet answered. */
  readonly pending: { readonly size: number };
}

/**
 * The worker for the next job (`make` adds one while there are fewer than `size`). A job that
 * holds a runner goes to an idle worker, which it makes busy until the caller frees it. The receiving half of a pipe (`plain`) starts with its
 * sender, beside the runners: it goes to the worker with the fewest jobs (not its sender's, which
 * has just taken one) and leaves it free for the next sender, so two layers are decompressed at
 * once, each hashed on the other's worker between its own chunks (docs/decisions.md, "Two piped
 * layers at once").
 */
export function placeJob<W extends Placeable>(workers: W[], size: number, plain: boolean, make: () => W): W {
  if (plain) {
    if (workers.length < size) return make();
    return workers.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
  }
  // The analyses run at most `size` runners at once, so the first worker is a fallback only.
  const w = workers.find((x) => !x.busy) ?? (workers.length < size ? make() : (workers[0] as W));
  w.busy = true;
  return w;
}

/** A job as the pool is given it: any message but `cancel`, without the id the pool assigns. */
type Job =
  Exclude<ToDigestWorker, { type: 'cancel' }> extends infer M
    ? M extends unknown
      ? Omit<M, 'id'>
      : never
    : never;

export function createDigestPool(size: number): {
  verifier: BlobVerifier;
  plainVerifier: PlainVerifier;
  pipedVerifier: PipedVerifier;
  fetchVerifier: FetchVerifier;
  dispose: () => void;
} {
  if (typeof Worker !== 'function') {
    return {
      verifier: (blob, o) => digestBlob(blob, o),
      plainVerifier: (port, o) => digestPlain(port, o),
      pipedVerifier: (port, o) => digestPiped(port, o),
      fetchVerifier: (request, o) => fetchBlobAndDigest(request, o),
      dispose: () => {},
    };
  }
  const workers: PoolWorker[] = [];
  const make = () => {
    const w = new PoolWorker((failed) => {
      const i = workers.indexOf(failed);
      if (i >= 0) workers.splice(i, 1);
    });
    workers.push(w);
    return w;
  };
  // Started now, not at the first job: a digest worker takes 30–40 ms to load its module, which
  // the first analysis after the page opened used to wait for between its graph and its digests
  // (docs/decisions.md, "Digest workers started with the page").
  while (workers.length < size) make();
  let nextId = 1;
  const acquire = (plain: boolean): PoolWorker => placeJob(workers, size, plain, make);
  const run = <R extends Result>(
    job: Job,
    signal: AbortSignal | undefined,
    onProgress: ((n: number) => void) | undefined,
    transfer: Transferable[] = [],
  ) =>
    new Promise<R>((resolve, reject) => {
      // Jobs fed through a port start beside the runners (placeJob).
      const plainJob = job.type === 'digest-plain' || job.type === 'digest-piped';
      const w = acquire(plainJob);
      const id = nextId++;
      const done = () => {
        if (!plainJob) w.busy = false;
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => w.worker.postMessage({ type: 'cancel', id } satisfies ToDigestWorker);
      signal?.addEventListener('abort', onAbort);
      w.pending.set(id, {
        resolve: (r) => (done(), resolve(r as R)),
        reject: (e) => (done(), reject(e)),
        onProgress: onProgress ?? (() => {}),
      });
      w.worker.postMessage({ ...job, id } as ToDigestWorker, transfer);
    });
  // Only what can cross a thread (no signal, no callbacks); the receiving half has no diff_id flag.
  const listing = (o: Omit<DigestJob, 'diffId'>): Omit<DigestJob, 'diffId'> => ({
    listing: o.listing,
    limits: o.limits,
    layer: o.layer,
  });
  const job = (o: DigestJob): DigestJob => ({ diffId: o.diffId, ...listing(o) });
  const verifier: BlobVerifier = (blob, o) =>
    run(
      { type: 'digest', blob, ...job(o), plainTo: o.plainTo, listSent: o.listSent },
      o.signal,
      o.onProgress,
      o.plainTo ? [o.plainTo] : [],
    );
  // The two halves of a piped layer run on two workers, their ports joined directly.
  const plainVerifier: PlainVerifier = (port, o) =>
    run({ type: 'digest-plain', port, ...listing(o) }, o.signal, undefined, [port]);
  // A blob of an archive compressed as a whole, sent by the analysis worker as it decompresses.
  const pipedVerifier: PipedVerifier = (port, o) =>
    run({ type: 'digest-piped', port, size: o.size, ...job(o) }, o.signal, undefined, [port]);
  // The digest worker makes the request itself: a response body transferred between workers
  // costs the sending thread more than the verification (measured: docs/decisions.md).
  const fetchVerifier: FetchVerifier = (request, o) =>
    run({ type: 'digest-fetch', request, size: o.size, keep: o.keep, ...job(o) }, o.signal, o.onProgress);
  return {
    verifier,
    plainVerifier,
    pipedVerifier,
    fetchVerifier,
    dispose: () => workers.forEach((w) => w.worker.terminate()),
  };
}
