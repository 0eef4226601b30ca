/**
 * A layer's uncompressed bytes crossing from the job that decompresses it to the job that hashes
 * them (and lists them, unless the sender does: `listSent`), over a MessagePort: two threads share
 * one compressed layer's pass (decompression on one core; diff_id on the other; the listing on the
 * lighter of the two) instead of one thread doing all three (docs/decisions.md, "Compressed layers
 * piped between two workers", "Which half lists").
 *
 * Chunks are transferred, never copied, when the sender owns their whole buffer (a decoder's
 * fresh output). Anything else (a view of a decoder's buffer: the WebAssembly decoders') is
 * copied into a 1 MiB buffer that the receiver sends back once it has consumed it: on
 * these machines touching fresh memory runs at ~320 MB/s, so a fresh copy of every chunk costs
 * more than decompressing it (docs/decisions.md, "Copies into buffers that come back").
 * The receiver grants credit as it consumes bytes, so at most `window` bytes are ever in flight:
 * a slow receiver holds the sender back instead of letting the queue grow with the layer. The
 * sender's first message says whether it lists the bytes itself, so that exactly one half does.
 */
import type { DigestResult } from './blob-digester';
import { CancelledError } from './read-blob';

/** The uncompressed side's error, as the decompressing job found it (null: it ended cleanly). */
export type PlainEndError = DigestResult['error'];

type SenderMessage =
  /** Always first: whether the sender lists the bytes (the receiver then only hashes them). */
  | { type: 'start'; listed: boolean }
  /** `pooled[i]`: chunk i's buffer is the sender's, to be sent back once consumed. */
  | { type: 'chunks'; chunks: Uint8Array[]; pooled: boolean[] }
  | { type: 'end'; error: PlainEndError }
  /** The sender stopped without finishing (a read failed, the run was cancelled). */
  | { type: 'abort'; message: string; cancelled: boolean };

type ReceiverMessage = { type: 'credit'; bytes: number; buffers: ArrayBuffer[] } | { type: 'stop' };

/** Bytes batched into one message: fewer, larger messages than the decoders' chunks. */
const BATCH = 1 << 20;
/** Bytes in flight before the sender waits for the receiver. */
const WINDOW = 16 << 20;
/** Size of the buffers copies go into (the window's worth of them circulate at most). */
const COPY_BUFFER = 1 << 20;

export class PlainSender {
  private batch: Uint8Array[] = [];
  private pooled: boolean[] = [];
  private batched = 0;
  /** Copy buffers back from the receiver, and the one being filled. */
  private readonly pool: ArrayBuffer[] = [];
  private fill: Uint8Array | null = null;
  private filled = 0;
  /** Copy buffers allocated so far: about the window's worth, however long the stream. */
  copyBuffersMade = 0;
  private credit: number;
  private wake: (() => void) | null = null;
  private stopped = false;

  private readonly signal: AbortSignal | undefined;
  private readonly batchBytes: number;

  constructor(
    private readonly port: MessagePort,
    options: {
      signal?: AbortSignal;
      /** The sender lists what it sends (DigestBlobOptions.listSent). */
      listed?: boolean;
      window?: number;
      batch?: number;
    } = {},
  ) {
    this.signal = options.signal;
    this.credit = options.window ?? WINDOW;
    this.batchBytes = options.batch ?? BATCH;
    port.onmessage = (e: MessageEvent<ReceiverMessage>) => {
      if (e.data.type === 'credit') {
        this.credit += e.data.bytes;
        this.pool.push(...e.data.buffers);
      } else this.stopped = true;
      this.resume();
    };
    this.signal?.addEventListener('abort', this.resume);
    this.post({ type: 'start', listed: options.listed ?? false });
  }

  private readonly resume = () => {
    const w = this.wake;
    this.wake = null;
    w?.();
  };

  /**
   * Queue a chunk. `owned`: the caller will never touch its buffer again, so a chunk spanning its
   * whole buffer is transferred; otherwise it is copied.
   */
  async send(chunk: Uint8Array, owned: boolean): Promise<void> {
    if (chunk.length === 0) return;
    const whole = owned && chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength;
    if (whole) {
      this.closeFill(); // order: what was copied before goes first
      this.batch.push(chunk);
      this.pooled.push(false);
    } else {
      for (let at = 0; at < chunk.length;) {
        this.fill ??= new Uint8Array(this.pool.pop() ?? this.newCopyBuffer());
        const n = Math.min(chunk.length - at, this.fill.length - this.filled);
        this.fill.set(chunk.subarray(at, at + n), this.filled);
        this.filled += n;
        at += n;
        if (this.filled === this.fill.length) this.closeFill();
      }
    }
    this.batched += chunk.length;
    if (this.batched >= this.batchBytes) await this.flush();
  }

  private newCopyBuffer(): ArrayBuffer {
    this.copyBuffersMade++;
    return new ArrayBuffer(COPY_BUFFER);
  }

  /** The copy buffer being filled joins the batch, as far as it is filled. */
  private closeFill(): void {
    if (!this.fill) return;
    if (this.filled > 0) {
      this.batch.push(this.fill.subarray(0, this.filled));
      this.pooled.push(true);
    } else this.pool.push(this.fill.buffer as ArrayBuffer);
    this.fill = null;
    this.filled = 0;
  }

  private async flush(): Promise<void> {
    this.closeFill();
    if (this.batched === 0) return;
    const { batch: chunks, pooled } = this;
    this.credit -= this.batched;
    this.batch = [];
    this.pooled = [];
    this.batched = 0;
    this.post(
      { type: 'chunks', chunks, pooled },
      chunks.map((c) => c.buffer as ArrayBuffer),
    );
    while (this.credit < 0) {
      if (this.signal?.aborted) throw new CancelledError();
      if (this.stopped) throw new CancelledError();
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** Everything is sent: the receiver finishes with the decompressor's outcome. */
  async end(error: PlainEndError): Promise<void> {
    await this.flush();
    this.post({ type: 'end', error });
    this.close();
  }

  /** The sending job failed: the receiver fails with the same message instead of waiting. */
  abort(e: unknown): void {
    this.post({
      type: 'abort',
      message: e instanceof Error ? e.message : String(e),
      cancelled: e instanceof CancelledError,
    });
    this.close();
  }

  private post(m: SenderMessage, transfer: Transferable[] = []): void {
    this.port.postMessage(m, transfer);
  }

  private close(): void {
    this.signal?.removeEventListener('abort', this.resume);
    this.port.onmessage = null;
    this.port.close();
  }
}

/** What the receiving half does with what a PlainSender sends. */
export interface PlainHandler {
  /** Called once, before any chunk: whether the sender lists the bytes itself. */
  start?: (senderLists: boolean) => void;
  chunk: (chunk: Uint8Array) => void | Promise<void>;
}

/**
 * Feed what a PlainSender sends to `handler`, in order, granting credit as each batch is consumed.
 * Resolves with the sender's end error; rejects when the sender aborts or `signal` does.
 */
export function receivePlain(
  port: MessagePort,
  handler: PlainHandler,
  signal?: AbortSignal,
): Promise<PlainEndError> {
  return new Promise<PlainEndError>((resolve, reject) => {
    const queue: SenderMessage[] = [];
    let draining = false;
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      port.onmessage = null;
      port.close();
      fn();
    };
    const onAbort = () => {
      port.postMessage({ type: 'stop' } satisfies ReceiverMessage);
      settle(() => reject(new CancelledError()));
    };
    const drain = async () => {
      if (draining) return;
      draining = true;
      try {
        for (let m = queue.shift(); m && !settled; m = queue.shift()) {
          if (m.type === 'abort') {
            const { message, cancelled } = m;
            return settle(() => reject(cancelled ? new CancelledError() : new Error(message)));
          }
          if (m.type === 'end') {
            const { error } = m;
            return settle(() => resolve(error));
          }
          if (m.type === 'start') {
            handler.start?.(m.listed);
            continue;
          }
          let bytes = 0;
          for (const c of m.chunks) {
            const r = handler.chunk(c);
            if (r) await r;
            bytes += c.length;
          }
          // The handler keeps no view of a chunk past its call (hashes copy; the tar parser keeps
          // only what it decodes), so the sender's copy buffers can go back to be filled again.
          const buffers = m.chunks.filter((_, i) => m.pooled[i]).map((c) => c.buffer as ArrayBuffer);
          if (!settled)
            port.postMessage({ type: 'credit', bytes, buffers } satisfies ReceiverMessage, buffers);
        }
      } catch (e) {
        port.postMessage({ type: 'stop' } satisfies ReceiverMessage);
        settle(() => reject(e));
      } finally {
        draining = false;
      }
    };
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort);
    port.onmessage = (e: MessageEvent<SenderMessage>) => {
      queue.push(e.data);
      void drain();
    };
  });
}
