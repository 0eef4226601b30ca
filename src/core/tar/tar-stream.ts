/**
 * A push parser for tar streams: bytes arrive in chunks of any size (from a decompressor
 * or a file reader) and entries are reported as their headers complete, with their data
 * handed on as views of the incoming chunks, never buffered whole. Header semantics are
 * shared with the random-access index (./header.ts).
 */
import {
  BLOCK,
  DEFAULT_TAR_LIMITS,
  HeaderAssembler,
  TarError,
  decodeHeader,
  gnuSparseExtension,
  isZeroBlock,
  paddedSize,
  wordsOf,
} from './header';
import type { RawHeader, TarEntry, TarLimits } from './header';
import { SparseMapReader, checkSparse } from './sparse';

export interface EntryConsumer {
  /** Data of the entry, as views of the parser's input: copy what must outlive the call. */
  data(chunk: Uint8Array): void | Promise<void>;
  end(): void | Promise<void>;
}

export interface TarStreamHandler {
  /** Called for each real entry; return a consumer to receive its data. */
  entry(entry: TarEntry): EntryConsumer | null | undefined | void;
  /** A PAX global header's records, at the offset of its header: parsed, not applied (./header.ts). */
  global?(records: ReadonlyMap<string, string>, offset: number): void;
}

/** `sparse`: reading a sparse entry's map, in blocks, before its entry is handed on (./sparse.ts). */
type State = 'header' | 'meta' | 'data' | 'padding' | 'sparse' | 'end';

export class TarStreamParser {
  private state: State = 'header';
  private headerBuf = new Uint8Array(BLOCK);
  private readonly headerWords = wordsOf(this.headerBuf.buffer);
  /**
   * A 32-bit view of the buffer the last chunks came in, for header checksums: chunks usually
   * come in the same few buffers (a reader's, a decoder's), so it is made once per buffer. Held by
   * the parser only, so it keeps no buffer alive after the layer.
   */
  private chunkWords: Uint32Array | null = null;
  private headerFill = 0;
  private metaHeader: RawHeader | null = null;
  private metaOffset = 0;
  private metaBuf = new Uint8Array(0);
  private metaFill = 0;
  private remaining = 0;
  private padding = 0;
  private consumer: EntryConsumer | null = null;
  private current: TarEntry | null = null;
  /** The sparse entry whose map is being read: type `S` extension blocks, or a 1.0 map. */
  private sparse: { entry: TarEntry; reader: SparseMapReader | null } | null = null;
  private readonly meta: HeaderAssembler;
  private zeroBlocks = 0;
  /** Bytes of the tar stream consumed so far. */
  offset = 0;
  /** Real entries seen (PAX and GNU records excluded). */
  entries = 0;

  constructor(
    private readonly handler: TarStreamHandler,
    private readonly limits: TarLimits = DEFAULT_TAR_LIMITS,
  ) {
    this.meta = new HeaderAssembler(limits);
  }

  /** True once the end-of-archive marker has been read. */
  get ended(): boolean {
    return this.state === 'end';
  }

  /** Path of the entry whose data is being read, for error messages. */
  get currentPath(): string | null {
    return this.current?.path ?? null;
  }

  async push(chunk: Uint8Array): Promise<void> {
    let pos = 0;
    while (pos < chunk.length) {
      switch (this.state) {
        case 'end':
          // Bytes after the end-of-archive marker (more zero padding, usually) are ignored.
          this.offset += chunk.length;
          return;
        case 'header':
        case 'sparse': {
          // A sparse entry's map blocks are gathered as headers are (they are never in progress together).
          if (this.state === 'header' && this.headerFill === 0 && chunk.length - pos >= BLOCK) {
            // A whole header in this chunk is decoded where it lies: a copy (and a view to copy
            // from) per header was measurable on 200,000 entries.
            pos += BLOCK;
            const b = chunk.buffer;
            if (this.chunkWords?.buffer !== b || this.chunkWords.length !== b.byteLength >>> 2) {
              this.chunkWords = wordsOf(b);
            }
            const r = this.onHeader(chunk, pos - BLOCK, this.offset + pos - BLOCK, this.chunkWords);
            if (r) await r;
            break;
          }
          const take = Math.min(BLOCK - this.headerFill, chunk.length - pos);
          this.headerBuf.set(chunk.subarray(pos, pos + take), this.headerFill);
          this.headerFill += take;
          pos += take;
          if (this.headerFill === BLOCK) {
            this.headerFill = 0;
            const at = this.offset + pos - BLOCK;
            const r =
              this.state === 'sparse'
                ? this.onSparseBlock(at)
                : this.onHeader(this.headerBuf, 0, at, this.headerWords);
            if (r) await r;
          }
          break;
        }
        case 'meta': {
          const take = Math.min(this.metaBuf.length - this.metaFill, chunk.length - pos);
          this.metaBuf.set(chunk.subarray(pos, pos + take), this.metaFill);
          this.metaFill += take;
          pos += take;
          if (this.metaFill === this.metaBuf.length) {
            const header = this.metaHeader as RawHeader;
            const global = this.meta.addMeta(header, this.metaBuf, this.offset + pos - this.metaBuf.length);
            if (global) this.handler.global?.(global, this.metaOffset);
            this.padding = paddedSize(header.size) - header.size;
            this.state = this.padding > 0 ? 'padding' : 'header';
          }
          break;
        }
        case 'data': {
          const take = Math.min(this.remaining, chunk.length - pos);
          if (this.consumer) {
            const r = this.consumer.data(chunk.subarray(pos, pos + take));
            if (r) await r;
          }
          this.remaining -= take;
          pos += take;
          if (this.remaining === 0) {
            const r = this.endEntry();
            if (r) await r;
          }
          break;
        }
        case 'padding': {
          const take = Math.min(this.padding, chunk.length - pos);
          this.padding -= take;
          pos += take;
          if (this.padding === 0) this.state = 'header';
          break;
        }
      }
    }
    this.offset += chunk.length;
  }

  /**
   * The header block at `at` in `buf`. A promise only when the entry's consumer returned one:
   * an await per header was measurable on 200,000 entries.
   */
  private onHeader(
    buf: Uint8Array,
    at: number,
    headerOffset: number,
    words: Uint32Array,
  ): Promise<void> | void {
    if (isZeroBlock(buf, at)) {
      // Two zero blocks end the archive (POSIX ustar); a stream that ends after one is whole too.
      this.zeroBlocks++;
      if (this.zeroBlocks >= 2) this.state = 'end';
      return;
    }
    if (this.zeroBlocks > 0) {
      // A lone zero block, then more: GNU tar ("A lone zero block") and bsdtar end the archive
      // there, and Go's archive/tar fails on it (ErrHeader), so nothing extracts what follows.
      // Listing it would show files no container gets.
      throw new TarError(
        'tar-header',
        `a lone zero block at offset ${headerOffset - BLOCK} is followed by more data: GNU tar and bsdtar end the archive at it, and Go's archive/tar, which Docker and containerd read layers with, fails on it; nothing after it is extracted`,
        headerOffset - BLOCK,
      );
    }
    const header = decodeHeader(buf, headerOffset, at, words);
    if (HeaderAssembler.isMeta(header.type)) {
      this.meta.checkMetaSize(header, headerOffset);
      this.metaHeader = header;
      this.metaOffset = headerOffset;
      this.metaBuf = new Uint8Array(header.size);
      this.metaFill = 0;
      this.state = 'meta';
      if (header.size === 0) {
        const global = this.meta.addMeta(header, this.metaBuf, headerOffset + BLOCK);
        if (global) this.handler.global?.(global, headerOffset);
        this.state = 'header';
      }
      return;
    }
    const entry = this.meta.finish(header, headerOffset);
    const sparse = entry.sparse;
    if (sparse && !sparse.error) {
      if (header.sparseExtended || sparse.format === '1.0') {
        if (sparse.format === '1.0' && entry.size < BLOCK) {
          sparse.error = `its data (${entry.size} bytes) has no room for its map (GNU sparse 1.0)`;
        } else {
          const reader = sparse.format === '1.0' ? new SparseMapReader() : null;
          this.sparse = { entry, reader };
          this.current = entry;
          this.state = 'sparse';
          return;
        }
      } else checkSparse(sparse, entry.size);
    }
    return this.begin(entry);
  }

  /**
   * One block of a sparse entry's map: a type `S` extension block (not counted in the entry's
   * size), or a block of a 1.0 map (the first of the entry's data). Bytes a map may take are
   * limited as PAX records are; past the limit, or when malformed, the entry is handed on with
   * its `sparse.error` and the rest of its data.
   */
  private onSparseBlock(blockOffset: number): Promise<void> | void {
    const { entry, reader } = this.sparse as NonNullable<typeof this.sparse>;
    const block = this.headerBuf;
    const sparse = entry.sparse as NonNullable<TarEntry['sparse']>;
    entry.dataOffset += BLOCK;
    // The map's bytes so far, this block's included.
    const mapBytes = entry.dataOffset - entry.headerOffset - BLOCK;
    if (reader) {
      entry.size -= BLOCK;
      const map = reader.push(block);
      if (map === null) {
        if (mapBytes > this.limits.maxMetaBytes) {
          sparse.error = `its map (GNU sparse 1.0) runs past ${this.limits.maxMetaBytes} bytes`;
        } else if (entry.size < BLOCK) {
          sparse.error = `its map (GNU sparse 1.0) runs past the end of its data`;
        } else return;
      } else if ('error' in map) sparse.error = map.error;
      else {
        sparse.map = map;
        checkSparse(sparse, entry.size);
      }
    } else {
      const more = gnuSparseExtension(block, sparse, blockOffset);
      if (mapBytes > this.limits.maxMetaBytes && !sparse.error) {
        sparse.error = `its map (GNU type S extension blocks) runs past ${this.limits.maxMetaBytes} bytes`;
      }
      // Past the limit the blocks are still skipped (they are not data), their entries not kept.
      if (sparse.error) sparse.map.length = 0;
      if (more) return;
      checkSparse(sparse, entry.size);
    }
    this.sparse = null;
    return this.begin(entry);
  }

  /** Hand a real entry on, then take its data. */
  private begin(entry: TarEntry): Promise<void> | void {
    this.entries++;
    this.current = entry;
    this.consumer = this.handler.entry(entry) ?? null;
    this.remaining = entry.size;
    this.padding = paddedSize(entry.size) - entry.size;
    if (entry.size === 0) return this.endEntry();
    this.state = 'data';
  }

  private endEntry(): Promise<void> | void {
    const consumer = this.consumer;
    this.consumer = null;
    this.current = null;
    this.state = this.padding > 0 ? 'padding' : 'header';
    if (consumer) return consumer.end();
  }

  /**
   * Call once the input is exhausted. Throws a TarError when the stream stopped inside
   * an entry; a stream that ends between entries without the closing zero blocks is
   * accepted (many writers omit them) and reported through `ended`.
   */
  finish(): void {
    if (
      this.state === 'data' ||
      this.state === 'meta' ||
      this.state === 'sparse' ||
      (this.state === 'header' && this.headerFill > 0)
    ) {
      const where = this.current ? `entry "${this.current.path}"` : 'a header';
      throw new TarError(
        'tar-truncated',
        `the tar stream ends inside ${where} (${this.state === 'data' ? `${this.remaining} bytes missing` : 'incomplete'})`,
        this.offset,
      );
    }
  }
}
