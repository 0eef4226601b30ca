/**
 * One-pass digesting against the native tools: sha256sum of the stored bytes, and
 * `gzip -dc | sha256sum` / `zstd -dc | sha256sum` for the diff_id.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { constants as zlibConstants, gzipSync, type ZlibOptions } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { BlobDigester } from '../../src/core/digest/blob-digester';
import { BlobParts } from '../../src/core/digest/blob-parts';
import { digestBlob, digestStream } from '../../src/core/digest/digest-blob';
import { DECLARED_SIZE_HEAD, DECLARED_SIZE_TAIL, declaredPlainSize } from '../../src/core/digest/magic';
import { sha256OfBytes } from '../../src/core/digest/sha256';
import { CancelledError, StalledReadError, readBlob, readStream } from '../../src/core/digest/read-blob';
import { SHARED, blobOf, sh, sha256sum, tempDir } from './helpers/tools';

const dir = tempDir();
const plain = join(dir, 'layer.tar');

beforeAll(() => {
  // A layer-like tar of a few MB of real files, so chunks cross many boundaries.
  sh('tar', ['-C', '/usr/share', '-cf', plain, 'doc/bash', 'common-licenses']);
  writeFileSync(`${plain}.gz`, sh('bash', ['-c', `gzip -c -6 ${plain} | base64 -w0`]), 'base64');
  sh('zstd', ['-q', '-3', '-f', plain, '-o', `${plain}.zst`]);
});

describe('BlobDigester', () => {
  it.each([
    ['none', ''],
    ['gzip', '.gz'],
    ['zstd', '.zst'],
  ])('digests a %s layer and its diff_id like sha256sum', async (compression, ext) => {
    const r = await digestBlob(await blobOf(plain + ext), { diffId: true });
    expect(r.compression).toBe(compression);
    expect(r.digest).toBe(sha256sum(plain + ext));
    expect(r.diffId).toBe(sha256sum(plain));
    expect(r.uncompressedSize).toBe(readFileSync(plain).length);
    expect(r.error).toBeNull();
  });

  it('gives the same digests for any chunking, down to a byte at a time at the start', async () => {
    const bytes = new Uint8Array(readFileSync(`${plain}.gz`));
    const d = await BlobDigester.create({ diffId: true });
    let i = 0;
    for (const size of [1, 1, 1, 2, 3, 7, 4096, 100_000]) {
      await d.write(bytes.subarray(i, i + size));
      i += size;
    }
    await d.write(bytes.subarray(i));
    const r = await d.finish();
    expect(r.digest).toBe(sha256sum(`${plain}.gz`));
    expect(r.diffId).toBe(sha256sum(plain));
  });

  it('reports a truncated gzip layer and still digests its stored bytes', async () => {
    const bytes = readFileSync(`${plain}.gz`);
    const cut = join(dir, 'cut.gz');
    writeFileSync(cut, bytes.subarray(0, bytes.length >> 1));
    const r = await digestBlob(await blobOf(cut), { diffId: true });
    expect(r.digest).toBe(sha256sum(cut));
    expect(r.diffId).toBeNull();
    expect(r.error?.code).toBe('gzip-error');
  });

  it('reports truncated zstd data', async () => {
    const bytes = new Uint8Array(readFileSync(`${plain}.zst`));
    const d = await BlobDigester.create({ diffId: true });
    await d.write(bytes.subarray(0, bytes.length - 5000));
    const r = await d.finish();
    expect(r.diffId).toBeNull();
    expect(r.error?.code).toBe('zstd-error');
  });

  it('reports corrupt zstd data, from the decoder or from the frame checksum zstd wrote', async () => {
    const bytes = new Uint8Array(readFileSync(`${plain}.zst`));
    // Every 997th byte of the blocks, one at a time: wherever a flip lands, the decoder sees bad
    // entropy data or decodes other bytes, which the frame's XXH64 checksum then catches.
    for (let at = 100; at < bytes.length - 8; at += Math.floor(bytes.length / 7)) {
      const bad = bytes.slice();
      bad[at]! ^= 0x5a;
      const d = await BlobDigester.create({ diffId: true });
      await d.write(bad);
      const r = await d.finish();
      expect(r.diffId, `byte ${at}`).toBeNull();
      expect(r.error?.code).toBe('zstd-error');
      expect(r.error?.message).toMatch(/zstd: .*(corrupt|checksum|invalid|too large|size|block)/i);
    }
  });

  it('decodes concatenated zstd frames and pzstd’s skippable frames as one stream', async () => {
    const twice = join(dir, 'twice.tar');
    sh('bash', ['-c', `cat ${plain} ${plain} > ${twice}`]);
    sh('bash', ['-c', `cat ${plain}.zst ${plain}.zst > ${twice}.zst`]);
    // pzstd writes each frame behind a skippable frame holding its size (zstd's format, 3.1.2).
    sh('pzstd', ['-q', '-f', '-p', '2', twice, '-o', `${twice}.pzst`]);
    for (const f of [`${twice}.zst`, `${twice}.pzst`]) {
      const r = await digestBlob(await blobOf(f), { diffId: true });
      expect(r.compression).toBe('zstd');
      expect(r.error).toBeNull();
      expect(r.diffId).toBe(sha256sum(twice));
    }
  });

  it('refuses a frame whose window is over 128 MiB (zstd --long=28 from a pipe), saying so', async () => {
    const wide = join(dir, 'wide.zst');
    sh('bash', ['-c', `zstd -q --long=28 -c < ${plain} > ${wide}`]);
    expect(() => sh('zstd', ['-q', '-t', wide], {})).toThrow(); // zstd itself asks for --memory
    const r = await digestBlob(await blobOf(wide), { diffId: true });
    expect(r.diffId).toBeNull();
    expect(r.error?.code).toBe('zstd-error');
    expect(r.error?.message).toMatch(/too much memory/i);
    // A 128 MiB window is within the default limit, as it is for zstd.
    sh('bash', ['-c', `zstd -q --long=27 -c < ${plain} > ${wide}`]);
    expect((await digestBlob(await blobOf(wide), { diffId: true })).diffId).toBe(sha256sum(plain));
  });

  it('decodes the zstd tar of go-containerregistry’s crane tests', async () => {
    const f = join(SHARED, 'go-containerregistry/pkg/crane/testdata/content.tar.zst');
    const r = await digestBlob(await blobOf(f), { diffId: true });
    expect(r.compression).toBe('zstd');
    expect(r.diffId).toBe(sha256sum(join(SHARED, 'go-containerregistry/pkg/crane/testdata/content.tar')));
  });

  it('skips decompression when no diff_id is wanted', async () => {
    const r = await digestBlob(await blobOf(`${plain}.gz`), { diffId: false });
    expect(r.digest).toBe(sha256sum(`${plain}.gz`));
    expect(r.diffId).toBeNull();
    expect(r.uncompressedSize).toBeNull();
  });
});

/**
 * A stream of `bytes` cut into chunks of the given sizes in turn (network bodies come in odd
 * sizes); `byte`: a byte stream, read with a BYOB reader, as a fetch body is in browsers.
 */
function chunked(bytes: Uint8Array, sizes: number[], byte = false): ReadableStream<Uint8Array> {
  let at = 0;
  let i = 0;
  return new ReadableStream({
    ...(byte ? { type: 'bytes' as const } : {}),
    pull(controller: ReadableStreamDefaultController<Uint8Array> | ReadableByteStreamController) {
      if (at >= bytes.length) {
        controller.close();
        // A byte stream's pending BYOB read ends only once answered with no bytes.
        if ('byobRequest' in controller) controller.byobRequest?.respond(0);
        return;
      }
      const n = sizes[i++ % sizes.length] as number;
      // A fresh copy each time, as a response body gives: the reader may not rely on views.
      controller.enqueue(bytes.slice(at, at + n));
      at += n;
    },
  });
}

describe('digestStream', () => {
  const big = join(dir, 'svelte.tar');
  beforeAll(() => {
    // Several MB, so that chunks cross the 1 MiB gathering buffer many times.
    sh('tar', ['-C', 'node_modules', '-cf', big, 'svelte']);
    sh('gzip', ['-k', '-6', big]);
  });

  it.each([
    ['gzip', 'default', '.gz'],
    ['plain', 'default', ''],
    ['gzip', 'byte', '.gz'],
    ['plain', 'byte', ''],
  ])(
    'digests a streamed %s layer in odd-sized chunks of a %s stream, lists it, and keeps its exact bytes',
    async (_, kind, ext) => {
      const byte = kind === 'byte';
      const bytes = new Uint8Array(readFileSync(big + ext));
      expect(bytes.length).toBeGreaterThan(ext ? 1 << 19 : 2 << 20);
      // Small network-like chunks, one larger than the 1 MiB gathering buffer, and single bytes.
      const r = await digestStream(chunked(bytes, [16_384, 1, 65_536, (1 << 20) + 7, 3, 40_000], byte), {
        diffId: true,
        listing: true,
        size: bytes.length,
        keep: true,
      });
      expect(r.digest).toBe(sha256sum(big + ext));
      expect(r.diffId).toBe(sha256sum(big));
      expect(r.size).toBe(bytes.length);
      const listed = r.listing?.entries.filter((e) => e.type === 'file').length;
      expect(listed).toBe(
        sh('tar', ['-tvf', big])
          .split('\n')
          .filter((l) => l.startsWith('-')).length,
      );
      expect(r.blob?.size).toBe(bytes.length);
      expect(await sha256OfBytes(new Uint8Array(await (r.blob as Blob).arrayBuffer()))).toBe(r.digest);
    },
  );
});

describe('digestStream of a fetch body whose Response is gone', () => {
  // Node's fetch (undici) cancels the body of a Response that is garbage-collected while that body
  // is unlocked and unread ("Response object has been garbage collected"); the registry client
  // hands on the body alone. Forced collections between tasks stand in for a busy machine, where
  // this emptied a layer about once in 60 runs. (Whether a collection empties an unlocked body in
  // a given number of rounds is up to V8's scheduling of finalizers, so that is not asserted.)
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const collect = async () => {
    for (let k = 0; k < 3; k++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  };
  let server: http.Server;
  let url: string;
  let bytes: Buffer;
  beforeAll(async () => {
    bytes = readFileSync(`${plain}.zst`);
    server = http.createServer((_, res) => res.writeHead(200, { 'content-length': bytes.length }).end(bytes));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const bodyOnly = async () => (await fetch(url)).body as ReadableStream<Uint8Array>;

  it('takes the reader before its first await, and so reads every byte', async () => {
    for (let i = 0; i < 5; i++) {
      const stream = await bodyOnly();
      const pass = digestStream(stream, { diffId: true, size: bytes.length, keep: true });
      expect(stream.locked).toBe(true);
      await collect();
      const r = await pass;
      expect(r.size).toBe(bytes.length);
      expect(r.digest).toBe(sha256sum(`${plain}.zst`));
      expect(r.diffId).toBe(sha256sum(plain));
    }
  });
});

describe('sha256OfBytes', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('uses hash-wasm where WebCrypto is missing (plain http from a host other than localhost)', async () => {
    const bytes = new Uint8Array(readFileSync(plain));
    const withWebCrypto = await sha256OfBytes(bytes);
    vi.stubGlobal('crypto', {});
    expect(globalThis.crypto.subtle).toBeUndefined();
    expect(await sha256OfBytes(bytes)).toBe(sha256sum(plain));
    expect(withWebCrypto).toBe(sha256sum(plain));
  });
});

/**
 * A Blob whose first `stalls` streams (its own and its slices', counted together) give `after`
 * bytes and then never answer again, the way a BYOB read of a file-backed Blob now and then never
 * resolves in Chromium 156.
 */
class StallingBlob extends Blob {
  constructor(
    parts: BlobPart[],
    private readonly after: number,
    readonly state: { stalls: number; streams: number },
  ) {
    super(parts);
  }
  override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
    this.state.streams++;
    if (this.state.stalls-- <= 0) return super.stream();
    const reader = super.stream().getReader();
    const after = this.after;
    let given = 0;
    return new ReadableStream({
      type: 'bytes',
      async pull(controller) {
        if (given >= after) return new Promise<void>(() => {}); // never answers
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          controller.byobRequest?.respond(0);
          return;
        }
        const part = value.subarray(0, after - given);
        given += part.length;
        controller.enqueue(part.slice());
      },
    });
  }
  override slice(start?: number, end?: number): Blob {
    return new StallingBlob([super.slice(start, end)], this.after, this.state);
  }
}

describe('readBlob resumes a stalled read', () => {
  const bytes = new Uint8Array(3 * (1 << 20) + 12_345);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) & 0xff;
  const collect = async (blob: Blob) => {
    const parts: Uint8Array[] = [];
    await readBlob(blob, (c) => void parts.push(c.slice()), undefined, 1 << 20, 100);
    return Buffer.concat(parts);
  };

  it('reads on from where it stopped, every byte once, after one stall and after two', async () => {
    for (const stalls of [1, 2]) {
      const blob = new StallingBlob([bytes], 1_500_000, { stalls, streams: 0 });
      expect((await collect(blob)).equals(bytes)).toBe(true);
      expect(blob.state.streams).toBe(stalls + 1);
    }
  });

  it('gives up with the offset once a blob stalls again and again', async () => {
    const blob = new StallingBlob([bytes], 1_000, { stalls: 100, streams: 0 });
    const error = await collect(blob).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StalledReadError);
    expect((error as StalledReadError).message).toMatch(/gave no bytes for 5 s at byte 6000$/);
  });
});

describe('readStream and a cancel from another task', () => {
  /** A byte stream that always has its next chunk ready: every read resolves at once. */
  const eager = (chunks: number) => {
    let given = 0;
    return new ReadableStream<Uint8Array>({
      type: 'bytes',
      pull(controller) {
        if (given++ === chunks) controller.close();
        else controller.enqueue(new Uint8Array(64 << 10));
      },
    });
  };
  /** A chunk's synchronous work (a hash, say). */
  const busy = (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end);
  };

  for (const reader of ['byob', 'default'] as const) {
    it(`stops soon after the cancel, though no read ever waits (${reader} reader)`, async () => {
      const controller = new AbortController();
      // The cancel arrives as a task, as a worker's message does: only a task boundary in the
      // loop lets it run before the stream ends (200 chunks × 2 ms = 400 ms of work).
      const channel = new MessageChannel();
      channel.port1.onmessage = () => controller.abort();
      setTimeout(() => channel.port2.postMessage('cancel'), 20);
      let chunks = 0;
      const stream = eager(200);
      const source =
        reader === 'byob'
          ? stream
          : new ReadableStream<Uint8Array>({
              start: async (c) => {
                // A default-reader stream with every chunk queued before the first read.
                const r = stream.getReader();
                for (;;) {
                  const { done, value } = await r.read();
                  if (done) break;
                  c.enqueue(value);
                }
                c.close();
              },
            });
      const error = await readStream(
        source,
        () => {
          chunks++;
          busy(2);
        },
        controller.signal,
        64 << 10,
      ).catch((e: unknown) => e);
      channel.port1.close();
      expect(error).toBeInstanceOf(CancelledError);
      expect(chunks).toBeGreaterThan(0);
      expect(chunks).toBeLessThan(100);
    });
  }
});

describe('BlobParts', () => {
  it('gathers chunks across its 16 MiB parts into the same bytes, whatever the chunking', async () => {
    // 34 MiB of a counter pattern, pushed in chunk sizes that straddle the part boundaries.
    const total = 34 << 20;
    const words = new Uint32Array(total / 4);
    for (let i = 0; i < words.length; i++) words[i] = Math.imul(i, 2654435761);
    const source = new Uint8Array(words.buffer);
    const parts = new BlobParts();
    const sizes = [1, 999_983, 16 << 20, 4096, 3_000_017];
    // One reused buffer, as a BYOB reader would give: BlobParts must copy.
    const reused = new Uint8Array(16 << 20);
    for (let at = 0, i = 0; at < total; i++) {
      const n = Math.min(sizes[i % sizes.length] as number, total - at);
      reused.set(source.subarray(at, at + n));
      parts.push(reused.subarray(0, n));
      reused.fill(0xee, 0, n);
      at += n;
    }
    const blob = parts.blob();
    expect(blob.size).toBe(total);
    expect(await sha256OfBytes(new Uint8Array(await blob.arrayBuffer()))).toBe(await sha256OfBytes(source));
  });
});

describe('gzip: zlib in WebAssembly', () => {
  it('reads concatenated members as gzip -dc does, in any chunking', async () => {
    const twice = join(dir, 'twice-gz.tar');
    sh('bash', ['-c', `cat ${plain} ${plain} > ${twice} && cat ${plain}.gz ${plain}.gz > ${twice}.gz`]);
    const bytes = new Uint8Array(readFileSync(`${twice}.gz`));
    for (const size of [1 << 20, 65_536, 4097]) {
      const d = await BlobDigester.create({ diffId: true });
      for (let i = 0; i < bytes.length; i += size) await d.write(bytes.subarray(i, i + size));
      const r = await d.finish();
      expect(r.error).toBeNull();
      expect(r.diffId).toBe(sha256sum(twice));
    }
  });

  it('inflates what gzip and zlib write at every level and strategy, whatever the chunking', async () => {
    // The build's own inner loop (scripts/zlib-wasm/inffast-wasm.c) against the tools that wrote
    // the streams: gzip's levels, and zlib's strategies and small windows (node:zlib is zlib),
    // which make fixed-code blocks, runs at distance 1, short periods and matches reaching back
    // into the window. 7-byte writes send the decoder through zlib's own loop at the ends of its
    // buffers.
    const inputs = ['files', 'random', 'periods'].map((n) => join(dir, `inflate-${n}.bin`));
    sh('bash', [
      '-c',
      `head -c 1000000 ${plain} > ${inputs[0]} && head -c 300000 /dev/urandom > ${inputs[1]} && ` +
        `{ head -c 100000 /dev/zero; yes ab | head -c 100000; yes abcdefg | head -c 100000; ` +
        `yes abcdefghijklmnopq | head -c 100000; head -c 200000 ${plain}; } > ${inputs[2]}`,
    ]);
    const zlibOptions: ZlibOptions[] = [
      { strategy: zlibConstants.Z_RLE },
      { strategy: zlibConstants.Z_HUFFMAN_ONLY },
      { strategy: zlibConstants.Z_FIXED },
      { strategy: zlibConstants.Z_FILTERED },
      { windowBits: 9, memLevel: 1 },
    ];
    for (const input of inputs) {
      const want = sha256sum(input);
      const streams: [string, Uint8Array][] = [
        ...['-1', '-6', '-9'].map((l): [string, Uint8Array] => [
          `gzip ${l}`,
          new Uint8Array(Buffer.from(sh('bash', ['-c', `gzip -c ${l} ${input} | base64 -w0`]), 'base64')),
        ]),
        ...zlibOptions.map((o): [string, Uint8Array] => [
          `zlib ${JSON.stringify(o)}`,
          new Uint8Array(gzipSync(readFileSync(input), o)),
        ]),
      ];
      for (const [how, bytes] of streams) {
        for (const size of how === 'gzip -6' ? [7, 4097, 1 << 20] : [4097, 1 << 20]) {
          const d = await BlobDigester.create({ diffId: true });
          for (let i = 0; i < bytes.length; i += size) await d.write(bytes.subarray(i, i + size));
          const r = await d.finish();
          expect(r.error, `${input}, ${how}, ${size}-byte writes`).toBeNull();
          expect(r.diffId, `${input}, ${how}, ${size}-byte writes`).toBe(want);
        }
      }
    }
  });

  it('reports corrupt gzip data in zlib’s words: bad blocks, or the CRC-32 of the member', async () => {
    const bytes = new Uint8Array(readFileSync(`${plain}.gz`));
    for (const at of [100, bytes.length >> 1, bytes.length - 6]) {
      const bad = bytes.slice();
      bad[at]! ^= 0x5a;
      const r = await digestBlob(new Blob([bad]), { diffId: true });
      expect(r.diffId, `byte ${at}`).toBeNull();
      expect(r.error?.code).toBe('gzip-error');
      expect(r.error?.message).toMatch(/gzip: (invalid|incorrect|too many|unknown)/);
    }
    // Cut inside the member: the end of the data, said as such.
    const cut = await digestBlob(new Blob([bytes.subarray(0, bytes.length >> 1)]), { diffId: true });
    expect(cut.error?.message).toMatch(/gzip: the data ends too soon/);
  });
});

describe('declaredPlainSize', () => {
  /** What `declaredPlainSize` reads of a file: its first and last bytes. */
  const declared = (path: string) => {
    const bytes = new Uint8Array(readFileSync(path));
    return declaredPlainSize(
      bytes.subarray(0, DECLARED_SIZE_HEAD),
      bytes.subarray(bytes.length - DECLARED_SIZE_TAIL),
    );
  };
  // 100 B: zstd's 1-byte field (single segment); 1,000 B: the 2-byte field, offset by 256;
  // 100,000 B and the few-MB tar: the 4-byte field.
  const sizes = [100, 1000, 100_000];
  beforeAll(() => {
    for (const n of sizes) writeFileSync(join(dir, `f${n}`), readFileSync(plain).subarray(0, n));
  });
  const files = () => [plain, ...sizes.map((n) => join(dir, `f${n}`))];

  it('gzip: ISIZE, as gzip -l reads it', () => {
    for (const f of files()) {
      sh('gzip', ['-k', '-f', '-6', f]);
      const listed = Number(
        sh('gzip', ['-l', `${f}.gz`])
          .trim()
          .split('\n')[1]
          ?.trim()
          .split(/\s+/)[1],
      );
      expect(declared(`${f}.gz`)).toBe(listed);
      expect(listed).toBe(readFileSync(f).length);
    }
  });

  it('zstd: Frame_Content_Size when the tool wrote one; null when it did not (a pipe, --no-content-size)', () => {
    for (const f of files()) {
      sh('zstd', ['-q', '-3', '-f', f, '-o', `${f}.zst`]);
      expect(declared(`${f}.zst`)).toBe(readFileSync(f).length);
      sh('zstd', ['-q', '-3', '-f', '--no-content-size', f, '-o', `${f}.nosize.zst`]);
      expect(declared(`${f}.nosize.zst`)).toBeNull();
      sh('bash', ['-c', `zstd -q -3 -c < ${f} > ${f}.piped.zst`]);
      expect(declared(`${f}.piped.zst`)).toBeNull();
    }
  });

  it('anything else declares nothing', () => {
    expect(declared(plain)).toBeNull();
  });
});
