/**
 * The page side of the worker protocol (src/messages.ts). Owns the Worker object so that
 * the state class only sees typed messages and errors.
 */
import type { FromWorker, ToWorker } from '../messages';

export interface WorkerClientHandlers {
  message(msg: FromWorker): void;
  /** The worker itself broke (script error, crash, unreadable message). */
  error(message: string): void;
}

export class WorkerClient {
  #worker: Worker | null = null;
  readonly #handlers: WorkerClientHandlers;

  constructor(handlers: WorkerClientHandlers) {
    this.#handlers = handlers;
  }

  send(msg: ToWorker): void {
    this.#ensure().postMessage(msg);
  }

  /**
   * Starts the worker ahead of the first file: loading its modules and WebAssembly takes
   * tens of milliseconds that would otherwise come between a drop and the graph.
   */
  warm(): void {
    this.#ensure();
  }

  /** Drops a broken worker; the next `send` starts a fresh one. */
  reset(): void {
    this.#worker?.terminate();
    this.#worker = null;
  }

  #ensure(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(new URL('../worker/analysis-worker.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (event: MessageEvent<FromWorker>) => {
      if (worker !== this.#worker) return;
      this.#handlers.message(event.data);
    };
    worker.onerror = (event: ErrorEvent) => {
      // Without preventDefault the browser also reports it as an uncaught page error;
      // here it is shown to the user instead.
      event.preventDefault();
      if (worker !== this.#worker) return;
      const where = event.filename ? ` (${event.filename}:${event.lineno})` : '';
      this.reset();
      this.#handlers.error(
        `The analysis worker failed: ${event.message || 'it could not be started'}${where}`,
      );
    };
    worker.onmessageerror = () => {
      if (worker !== this.#worker) return;
      this.#handlers.error('A message from the analysis worker could not be read.');
    };
    this.#worker = worker;
    return worker;
  }
}
