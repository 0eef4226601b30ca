/**
 * The one typed protocol between the page and the analysis worker. Both sides import
 * these types, so a change here is checked on both sides of the boundary.
 */
import type { Analysis, Problem, Progress } from './core/model';

export type ToWorker =
  /** Analyse a dropped or picked file. `run` tags every answer so stale ones can be ignored. */
  { type: 'open'; run: number; file: Blob; name: string } | { type: 'cancel'; run: number };

export type FromWorker =
  /**
   * The whole analysis so far. Sent when the graph is first known, then at most every
   * ~100 ms while checks run, and once more at the end with `analysis.complete` set.
   * Analyses are small (tens of blobs), so a snapshot is cheaper than a diff protocol.
   */
  | { type: 'snapshot'; run: number; analysis: Analysis; progress: Progress }
  /** The file could not be analysed at all (not an archive, unreadable). */
  | { type: 'failed'; run: number; problem: Problem };
