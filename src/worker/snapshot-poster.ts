/**
 * Posts an analysis to the page at most every 200 ms while it changes, and once more at the
 * end. Analyses are small, so a whole snapshot is cheaper than any diff protocol, but
 * posting on every chunk would flood the page; and each snapshot re-renders the page on the
 * same two cores the digest workers use, so five a second is enough for progress to read as live.
 */
import type { Analysis, Progress } from '../core/model';
import type { FromWorker } from '../messages';

const INTERVAL_MS = 200;

export class SnapshotPoster {
  #latest: { analysis: Analysis; progress: Progress } | null = null;
  #lastPost = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #posted = false;

  constructor(
    private readonly run: number,
    private readonly post: (m: FromWorker) => void,
  ) {}

  /** Pass as an analysis's `onUpdate`. */
  readonly update = (analysis: Analysis, progress: Progress): void => {
    this.#latest = { analysis, progress };
    const wait = INTERVAL_MS - (performance.now() - this.#lastPost);
    if (wait <= 0) this.#flush();
    else this.#timer ??= setTimeout(() => this.#flush(), wait);
  };

  /** The final analysis, posted at once with the last progress seen. */
  finish(analysis: Analysis): void {
    this.stop();
    const progress = this.#latest?.progress ?? { bytesDone: 0, bytesTotal: 0, elapsedMs: 0 };
    this.#latest = { analysis, progress };
    this.#flush();
  }

  /** Post the latest analysis now, if one is waiting for the interval to pass. */
  flush(): void {
    if (!this.#timer) return;
    clearTimeout(this.#timer);
    this.#flush();
  }

  /** Whether any analysis of the run has reached the page. */
  get posted(): boolean {
    return this.#posted;
  }

  /** Drop a pending post (the run failed or was superseded). */
  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #flush(): void {
    this.#timer = null;
    const latest = this.#latest;
    if (!latest) return;
    this.#lastPost = performance.now();
    this.#posted = true;
    this.post({
      type: 'snapshot',
      run: this.run,
      analysis: latest.analysis,
      progress: { ...latest.progress },
    });
  }
}
