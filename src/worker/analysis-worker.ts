/// <reference lib="webworker" />
/**
 * The analysis worker: everything heavy happens here, never on the page's thread.
 * It answers the page with `FromWorker` messages (src/messages.ts).
 */
import { NotAnArchiveError, analyzeArchive } from '../core/archive/analyze';
import type { Analysis, Progress } from '../core/model';
import type { FromWorker, ToWorker } from '../messages';
import { createDigestPool } from './digest-pool';

declare const self: DedicatedWorkerGlobalScope;

const post = (m: FromWorker) => self.postMessage(m);
/** Two blobs at once: one per core (docs/decisions.md). */
const pool = createDigestPool(Math.max(1, Math.min(2, navigator.hardwareConcurrency || 2)));
const runs = new Map<number, AbortController>();

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const msg = event.data;
  if (msg.type === 'cancel') {
    runs.get(msg.run)?.abort();
    return;
  }
  if (msg.type === 'open') void open(msg.run, msg.file, msg.name);
};

async function open(run: number, file: Blob, name: string): Promise<void> {
  // A new file supersedes whatever was still being verified.
  for (const c of runs.values()) c.abort();
  const controller = new AbortController();
  runs.set(run, controller);
  let latest: { analysis: Analysis; progress: Progress } | null = null;
  let lastPost = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const flush = () => {
    timer = null;
    if (!latest) return;
    lastPost = performance.now();
    post({ type: 'snapshot', run, analysis: latest.analysis, progress: { ...latest.progress } });
  };
  try {
    const analysis = await analyzeArchive(file, {
      name,
      signal: controller.signal,
      verifier: pool.verifier,
      concurrency: 2,
      onUpdate: (analysis, progress) => {
        latest = { analysis, progress };
        const wait = 100 - (performance.now() - lastPost);
        if (wait <= 0) flush();
        else timer ??= setTimeout(flush, wait);
      },
    });
    if (timer) clearTimeout(timer);
    const last = latest as { progress: Progress } | null;
    latest = { analysis, progress: last?.progress ?? { bytesDone: 0, bytesTotal: 0, elapsedMs: 0 } };
    flush();
  } catch (e) {
    if (timer) clearTimeout(timer);
    if (e instanceof NotAnArchiveError) {
      post({ type: 'failed', run, problem: e.problem });
    } else {
      const message = e instanceof Error ? e.message : String(e);
      post({
        type: 'failed',
        run,
        problem: {
          code: 'read-error',
          message: `analysis stopped: ${message}`,
          where: name,
          severity: 'error',
        },
      });
    }
  } finally {
    runs.delete(run);
  }
}
