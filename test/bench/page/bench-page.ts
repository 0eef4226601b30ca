/**
 * Library comparisons in the browser, on files given through this page's <input type=file>
 * elements. Served by Vite's dev server (test/bench/lib/libs.ts) so that it can import the
 * project's src/core and the packages; driven by page.evaluate(() => window.bench.run(...)).
 * Each run reports its own time (performance.now()); memory is sampled from /proc by the runner.
 */
import { Decompress as FzstdDecompress } from 'fzstd';
import untar from 'js-untar';
import { Inflate } from 'pako';
import { ZSTDDecoder } from 'zstddec';
import { createDecompressor } from '../../../src/core/digest/decompress';
import type { Codec } from '../../../src/core/digest/decompress';
import { digestBlob } from '../../../src/core/digest/digest-blob';
import { readBlob } from '../../../src/core/digest/read-blob';
import { createIncrementalSha256, sha256OfBytes } from '../../../src/core/digest/sha256';
import { TarStreamParser } from '../../../src/core/tar/tar-stream';

export type BenchInput = 'plain' | 'gzip' | 'zstd' | 'xz';

export interface BenchOutcome {
  ms: number;
  bytesIn: number;
  bytesOut: number | null;
  digest?: string;
  diffId?: string | null;
  entries?: number;
  /** Sub-timings (ms) where a route has separate phases. */
  phases?: Record<string, number>;
}

export interface BenchCase {
  input: BenchInput;
  describe: string;
  run(file: File, options: { uncompressedSize: number }): Promise<Omit<BenchOutcome, 'ms' | 'bytesIn'>>;
}

function inputFile(which: BenchInput): File {
  const el = document.getElementById(`file-${which}`) as HTMLInputElement | null;
  const file = el?.files?.[0];
  if (!file) throw new Error(`no file set on #file-${which}`);
  return file;
}

/** BYOB reads written to the project's decompressor for `codec`, its output counted. */
async function decodeCounting(codec: Codec, file: File): Promise<{ bytesOut: number }> {
  let out = 0;
  const d = createDecompressor(codec, (c) => {
    out += c.length;
  });
  await readBlob(file, (c) => d.write(c));
  await d.close();
  return { bytesOut: out };
}

const CASES: Record<string, BenchCase> = {
  'sha256 hash-wasm + BYOB (project readBlob + createIncrementalSha256)': {
    input: 'plain',
    describe: 'BYOB reader into a reused 1 MiB buffer, hash-wasm SHA-256 per chunk',
    async run(file) {
      const h = await createIncrementalSha256();
      await readBlob(file, (c) => h.update(c));
      return { bytesOut: null, digest: h.digest() };
    },
  },
  'sha256 crypto.subtle.digest on whole arrayBuffer()': {
    input: 'plain',
    describe: 'file.arrayBuffer() then one crypto.subtle.digest call',
    async run(file) {
      const t0 = performance.now();
      const buf = new Uint8Array(await file.arrayBuffer());
      const t1 = performance.now();
      const digest = await sha256OfBytes(buf);
      const t2 = performance.now();
      return { bytesOut: null, digest, phases: { arrayBuffer: t1 - t0, digest: t2 - t1 } };
    },
  },
  'gunzip zlib in WebAssembly (streaming) + BYOB (project createDecompressor)': {
    input: 'gzip',
    describe:
      "BYOB reads written to the project's gzip decoder (zlib 1.2.13 compiled to WebAssembly), output counted",
    run: (file) => decodeCounting('gzip', file),
  },
  'gunzip DecompressionStream + BYOB': {
    input: 'gzip',
    describe: "BYOB reads written to DecompressionStream('gzip') in 256 KiB pieces, output counted",
    async run(file) {
      let out = 0;
      const ds = new DecompressionStream('gzip');
      const writer = ds.writable.getWriter();
      const pump = (async () => {
        const reader = ds.readable.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          out += value.length;
        }
      })();
      await readBlob(file, async (c) => {
        const copy = c.slice();
        for (let at = 0; at < copy.length; at += 256 << 10)
          await writer.write(copy.subarray(at, at + (256 << 10)));
      });
      await writer.close();
      await pump;
      return { bytesOut: out };
    },
  },
  'gunzip pako Inflate (streaming) + BYOB': {
    input: 'gzip',
    describe: 'BYOB reads pushed to pako 3 Inflate, output counted in onData',
    async run(file) {
      let out = 0;
      const inflate = new Inflate();
      inflate.onData = (c: Uint8Array) => {
        out += c.length;
      };
      await readBlob(file, (c) => {
        inflate.push(c, false);
        if (inflate.err) throw new Error(`pako: ${inflate.msg}`);
      });
      inflate.push(new Uint8Array(0), true);
      if (inflate.err) throw new Error(`pako: ${inflate.msg}`);
      return { bytesOut: out };
    },
  },
  'unzstd fzstd Decompress (streaming) + BYOB': {
    input: 'zstd',
    describe: 'BYOB reads (copied: fzstd keeps references) pushed to fzstd, output counted',
    async run(file) {
      let out = 0;
      const z = new FzstdDecompress((c) => {
        out += c.length;
      });
      await readBlob(file, (c) => z.push(c.slice()));
      z.push(new Uint8Array(0), true);
      return { bytesOut: out };
    },
  },
  'unzstd reference zstd in WebAssembly (streaming) + BYOB (project createDecompressor)': {
    input: 'zstd',
    describe:
      "BYOB reads written to the project's zstd decoder (zstd 1.5.4 compiled to WebAssembly), output counted",
    run: (file) => decodeCounting('zstd', file),
  },
  'unzstd zstddec ZSTDDecoder.decode (whole buffer)': {
    input: 'zstd',
    describe: 'file.arrayBuffer(), init the WASM module, one decode(input, uncompressedSize)',
    async run(file, { uncompressedSize }) {
      const t0 = performance.now();
      const input = new Uint8Array(await file.arrayBuffer());
      const t1 = performance.now();
      const decoder = new ZSTDDecoder();
      await decoder.init();
      const t2 = performance.now();
      const out = decoder.decode(input, uncompressedSize);
      const t3 = performance.now();
      return { bytesOut: out.length, phases: { arrayBuffer: t1 - t0, init: t2 - t1, decode: t3 - t2 } };
    },
  },
  'unxz xz-decompress (streaming) + BYOB (project createDecompressor)': {
    input: 'xz',
    describe: 'BYOB reads written to the xz decoder (xz-embedded in WebAssembly), output counted',
    run: (file) => decodeCounting('xz', file),
  },
  'tar headers: project TarStreamParser + BYOB': {
    input: 'plain',
    describe: 'BYOB reads pushed to TarStreamParser, entries counted, data skipped',
    async run(file) {
      const parser = new TarStreamParser({ entry: () => undefined });
      await readBlob(file, (c) => parser.push(c));
      return { bytesOut: null, entries: parser.entries };
    },
  },
  'tar headers: js-untar untar(arrayBuffer)': {
    input: 'plain',
    describe: 'file.arrayBuffer() then js-untar (its own worker; every file copied out)',
    async run(file) {
      const t0 = performance.now();
      const buf = await file.arrayBuffer();
      const t1 = performance.now();
      const files = await untar(buf);
      const t2 = performance.now();
      let bytes = 0;
      for (const f of files) bytes += f.buffer.byteLength;
      return { bytesOut: bytes, entries: files.length, phases: { arrayBuffer: t1 - t0, untar: t2 - t1 } };
    },
  },
  'layer one pass, gzip: project digestBlob (digest + gunzip + diff_id)': {
    input: 'gzip',
    describe: "the app's per-layer pass: hash compressed, zlib in WebAssembly, hash uncompressed",
    async run(file) {
      const r = await digestBlob(file, { diffId: true });
      return { bytesOut: r.uncompressedSize, digest: r.digest, diffId: r.diffId };
    },
  },
  'layer one pass, zstd: project digestBlob (digest + unzstd + diff_id)': {
    input: 'zstd',
    describe: "the app's per-layer pass for zstd layers (the WebAssembly decoder)",
    async run(file) {
      const r = await digestBlob(file, { diffId: true });
      return { bytesOut: r.uncompressedSize, digest: r.digest, diffId: r.diffId };
    },
  },
};

async function run(name: string, options: { uncompressedSize: number }): Promise<BenchOutcome> {
  const c = CASES[name];
  if (!c) throw new Error(`unknown bench case ${name}`);
  const file = inputFile(c.input);
  const t0 = performance.now();
  const r = await c.run(file, options);
  const ms = performance.now() - t0;
  return { ms, bytesIn: file.size, ...r };
}

declare global {
  interface Window {
    bench: {
      ready: boolean;
      cases: { name: string; input: BenchInput; describe: string }[];
      run: typeof run;
    };
  }
}

window.bench = {
  ready: true,
  cases: Object.entries(CASES).map(([name, c]) => ({ name, input: c.input, describe: c.describe })),
  run,
};
