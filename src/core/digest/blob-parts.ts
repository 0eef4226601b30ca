/**
 * Bytes gathered into a Blob as they stream past (a registry layer kept for the cache, one
 * entry of a gzip-compressed archive). They move into a Blob part every 16 MiB, so the heap
 * holds one part at a time: the browser keeps Blob data out of the worker's heap, and on disk
 * when it is large.
 */
const PART = 16 << 20;

export class BlobParts {
  #parts: Blob[] = [];
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;

  /** Copies the chunk: stream readers may reuse their buffers. */
  push(chunk: Uint8Array): void {
    this.#pending.push(chunk.slice());
    this.#pendingBytes += chunk.length;
    if (this.#pendingBytes >= PART) this.#flush();
  }

  blob(): Blob {
    this.#flush();
    return new Blob(this.#parts);
  }

  #flush(): void {
    if (this.#pending.length > 0) this.#parts.push(new Blob(this.#pending as BlobPart[]));
    this.#pending = [];
    this.#pendingBytes = 0;
  }
}
