/**
 * All UI state lives here; components receive slices of it as props. Svelte 5 rune class,
 * as in the svelte.dev examples: fields are reactive, methods are the only writers.
 */
import type { Analysis, Check, ImageInfo, Problem, Progress } from '../../core/model';
import type { FromWorker } from '../../messages';
import { WorkerClient } from '../worker-client';

export type Status = 'idle' | 'running' | 'done' | 'failed' | 'cancelled';
export type Tab = 'graph' | 'summary' | 'history' | 'layers' | 'problems';

interface Sample {
  elapsedMs: number;
  bytesDone: number;
}

export interface CheckCounts {
  verified: number;
  mismatch: number;
  unchecked: number;
  /** pending + running */
  open: number;
  total: number;
}

/** Rate over the last few seconds reacts to slow and fast layers without jumping on every snapshot. */
const RATE_WINDOW_MS = 3000;

function countChecks(checks: Check[]): CheckCounts {
  const c: CheckCounts = { verified: 0, mismatch: 0, unchecked: 0, open: 0, total: checks.length };
  for (const check of checks) {
    if (check.state === 'verified') c.verified++;
    else if (check.state === 'mismatch') c.mismatch++;
    else if (check.state === 'unchecked') c.unchecked++;
    else c.open++;
  }
  return c;
}

export class AnalysisState {
  // Snapshots are replaced wholesale, never mutated, so deep proxies would only cost time.
  analysis = $state.raw<Analysis | null>(null);
  progress = $state.raw<Progress | null>(null);
  status = $state<Status>('idle');
  error = $state.raw<Problem | null>(null);
  /** Name of the file the current error is about (it may not be the one on screen). */
  errorSource = $state<string | null>(null);
  /** Name of the file of the latest run, known before its first snapshot arrives. */
  openingName = $state<string | null>(null);
  selectedImageId = $state<string | null>(null);
  selectedNodeId = $state<string | null>(null);
  tab = $state<Tab>('graph');

  #samples = $state.raw<Sample[]>([]);
  #run = 0;
  /** Bumped by every open request, so a slow sample download cannot replace a file opened meanwhile. */
  #intent = 0;
  /** True until the latest run's first snapshot: selections then belong to the previous file. */
  #fresh = false;
  #client: WorkerClient;

  /** Bytes per second over the recent window; null until two snapshots are apart in time. */
  throughput = $derived.by((): number | null => {
    const samples = this.#samples;
    const last = samples.at(-1);
    if (!last) return null;
    const first = samples.find((s) => s.elapsedMs >= last.elapsedMs - RATE_WINDOW_MS) ?? last;
    const dt = last.elapsedMs - first.elapsedMs;
    if (dt >= 250) return ((last.bytesDone - first.bytesDone) / dt) * 1000;
    if (last.elapsedMs >= 250) return (last.bytesDone / last.elapsedMs) * 1000;
    return null;
  });

  /** Seconds left at the current rate. */
  timeLeft = $derived.by((): number | null => {
    const p = this.progress;
    const rate = this.throughput;
    if (!p || rate === null || rate <= 0) return null;
    return Math.max(0, p.bytesTotal - p.bytesDone) / rate;
  });

  selectedImage = $derived.by((): ImageInfo | null => {
    const images = this.analysis?.images ?? [];
    return images.find((i) => i.id === this.selectedImageId) ?? images[0] ?? null;
  });

  digestCounts = $derived.by((): CheckCounts =>
    countChecks(Object.values(this.analysis?.blobs ?? {}).map((b) => b.digestCheck)),
  );

  diffIdCounts = $derived.by((): CheckCounts =>
    countChecks(
      Object.values(this.analysis?.blobs ?? {})
        .filter((b) => b.role === 'layer')
        .map((b) => b.diffIdCheck),
    ),
  );

  problemCount = $derived((this.analysis?.problems.length ?? 0) + (this.error ? 1 : 0));

  constructor() {
    this.#client = new WorkerClient({
      message: (msg) => this.#receive(msg),
      error: (message) => this.#workerBroke(message),
    });
  }

  open(file: Blob, name = file instanceof File ? file.name : 'archive'): void {
    this.#intent++;
    if (this.status === 'running') this.#client.send({ type: 'cancel', run: this.#run });
    const run = ++this.#run;
    this.status = 'running';
    this.error = null;
    this.errorSource = null;
    this.openingName = name;
    this.progress = { bytesDone: 0, bytesTotal: file.size, elapsedMs: 0 };
    this.#samples = [];
    this.#fresh = true;
    try {
      this.#client.send({ type: 'open', run, file, name });
    } catch (e) {
      this.#workerBroke(
        `The analysis worker could not be started: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
  }

  async openSample(): Promise<void> {
    const name = 'sample.tar';
    const intent = ++this.#intent;
    let blob: Blob;
    try {
      const res = await fetch(`${import.meta.env.BASE_URL}sample/sample.tar`);
      if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`.trim());
      blob = await res.blob();
    } catch (e) {
      if (intent !== this.#intent) return;
      this.status = this.analysis ? this.status : 'failed';
      this.errorSource = name;
      this.error = {
        code: 'read-error',
        message: `The sample archive could not be loaded: ${e instanceof Error ? e.message : String(e)}`,
        where: `${import.meta.env.BASE_URL}sample/sample.tar`,
        severity: 'error',
      };
      return;
    }
    if (intent !== this.#intent) return;
    this.open(blob, name);
  }

  cancel(): void {
    if (this.status !== 'running') return;
    this.#client.send({ type: 'cancel', run: this.#run });
    this.status = 'cancelled';
  }

  selectNode(id: string | null): void {
    this.selectedNodeId = id;
  }

  selectImage(id: string): void {
    this.selectedImageId = id;
  }

  dismissError(): void {
    this.error = null;
    this.errorSource = null;
  }

  #receive(msg: FromWorker): void {
    if (msg.run !== this.#run) return;
    if (msg.type === 'snapshot') {
      this.#applySnapshot(msg.analysis, msg.progress);
    } else {
      this.error = msg.problem;
      this.errorSource = this.openingName;
      // The previous analysis, if any, stays on screen: only the new file failed.
      this.status = 'failed';
      this.progress = null;
    }
  }

  #applySnapshot(analysis: Analysis, progress: Progress): void {
    if (this.#fresh) {
      this.#fresh = false;
      this.selectedImageId = null;
      this.selectedNodeId = null;
    }
    this.analysis = analysis;
    this.progress = progress;
    this.#samples = [...this.#samples.filter((s) => s.elapsedMs < progress.elapsedMs), progress].slice(-64);

    if (!analysis.images.some((i) => i.id === this.selectedImageId)) {
      this.selectedImageId = (analysis.images.find((i) => i.present) ?? analysis.images[0])?.id ?? null;
    }
    if (this.selectedNodeId !== null && !analysis.nodes.some((n) => n.id === this.selectedNodeId)) {
      this.selectedNodeId = null;
    }
    // After a cancel the worker still reports what it managed; the status stays "cancelled".
    if (this.status === 'running' && analysis.complete) this.status = 'done';
  }

  #workerBroke(message: string): void {
    this.error = { code: 'read-error', message, where: 'analysis worker', severity: 'error' };
    this.errorSource = this.openingName;
    if (this.status === 'running') this.status = 'failed';
    this.progress = null;
    // Any answer still in flight belongs to the dead worker.
    this.#run++;
  }
}
