/**
 * Bytes gathered into a Blob as they stream past (a registry layer kept for the cache, one
 * entry of a gzip-compressed archive). They are copied into one reused 16 MiB buffer, which
 * becomes a Blob part when full: the Blob constructor copies it out of the worker's heap (the
 * browser keeps Blob data elsewhere, on disk when large), so the heap holds one buffer whatever
 * the size, and no fresh memory is allocated per chunk (touching fresh memory is what limits
 * throughput on these machines: docs/decisions.md).
 */
const PART = 16 << 20;

export class BlobParts {
  #parts: Blob[] = [];
  #buffer: Uint8Array | null = null;
  #fill = 0;

  /** Copies the chunk: stream readers may reuse their buffers. */
  push(chunk: Uint8Array): void {
    let rest = chunk;
    while (rest.length > 0) {
      const buffer = (this.#buffer ??= new Uint8Array(PART));
      const take = Math.min(PART - this.#fill, rest.length);
      buffer.set(rest.subarray(0, take), this.#fill);
      this.#fill += take;
      rest = rest.subarray(take);
      if (this.#fill === PART) this.#flush();
    }
  }

  /** `n` zero bytes (a sparse file's hole). */
  zeros(n: number): void {
    for (let rest = n; rest > 0;) {
      const buffer = (this.#buffer ??= new Uint8Array(PART));
      const take = Math.min(PART - this.#fill, rest);
      buffer.fill(0, this.#fill, this.#fill + take);
      this.#fill += take;
      rest -= take;
      if (this.#fill === PART) this.#flush();
    }
  }

  blob(): Blob {
    this.#flush();
    this.#buffer = null;
    return new Blob(this.#parts);
  }

  #flush(): void {
    if (this.#fill === 0 || !this.#buffer) return;
    this.#parts.push(new Blob([this.#buffer.subarray(0, this.#fill) as Uint8Array<ArrayBuffer>]));
    this.#fill = 0;
  }
}
