/**
 * Library comparisons in the same Chromium: test/bench/page served by Vite's dev server
 * (so it can import src/core and the packages), one fresh page per measurement, browser RSS
 * sampled from /proc while the page works.
 */
import { statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Browser } from '@playwright/test';
import { createServer, type ViteDevServer } from 'vite';
import type { BenchInput, BenchOutcome } from '../page/bench-page';
import type { Inputs } from './inputs';
import type { NativeFigures } from './native';
import { CpuWatch, RssSampler, measureRuns, median, sleep, type QuietGate, type Runs } from './proc';
import { MB, MiB, deferBaseline, result, type Baseline, type Result } from './results';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startBenchPageServer(
  repo: string,
  work: string,
): Promise<{ server: ViteDevServer; url: string }> {
  const port = await freePort();
  const server = await createServer({
    configFile: false,
    root: repo,
    // Not node_modules/.vite: other people's `npm run dev` uses that one.
    cacheDir: path.join(work, 'vite-cache'),
    logLevel: 'warn',
    clearScreen: false,
    server: {
      host: '127.0.0.1',
      port,
      strictPort: true,
      hmr: false,
      watch: { ignored: ['**/test/bench/work/**', '**/test/fixtures/**', '**/dist/**', '**/.git/**'] },
    },
    optimizeDeps: {
      entries: ['test/bench/page/index.html'],
      include: ['hash-wasm', 'pako', 'fzstd', 'zstddec', 'js-untar', 'xz-decompress'],
    },
  });
  await server.listen();
  return { server, url: `http://127.0.0.1:${port}/test/bench/page/index.html` };
}

interface CaseSpec {
  name: string;
  input: BenchInput;
  baseline: (n: NativeFigures) => Baseline;
  check: (o: BenchOutcome, inputs: Inputs) => string | null;
}

const sameBytes = (o: BenchOutcome, inputs: Inputs) =>
  o.bytesOut === inputs.bigLayer.tarSize
    ? null
    : `output ${o.bytesOut} bytes, expected ${inputs.bigLayer.tarSize}`;

const CASES: CaseSpec[] = [
  {
    name: 'sha256 hash-wasm + BYOB (project readBlob + createIncrementalSha256)',
    input: 'plain',
    baseline: (n) => ({ tool: 'sha256sum', value: n.bigLayerSha256, unit: 'MB/s' }),
    check: (o, i) => (o.digest === i.bigLayer.diffId ? null : `digest ${o.digest} ≠ ${i.bigLayer.diffId}`),
  },
  {
    name: 'sha256 crypto.subtle.digest on whole arrayBuffer()',
    input: 'plain',
    baseline: (n) => ({ tool: 'sha256sum', value: n.bigLayerSha256, unit: 'MB/s' }),
    check: (o, i) => (o.digest === i.bigLayer.diffId ? null : `digest ${o.digest} ≠ ${i.bigLayer.diffId}`),
  },
  {
    name: 'gunzip zlib in WebAssembly (streaming) + BYOB (project createDecompressor)',
    input: 'gzip',
    baseline: (n) => ({ tool: 'gzip -dc >/dev/null', value: n.bigLayerGunzip, unit: 'MB/s in' }),
    check: sameBytes,
  },
  {
    name: 'gunzip DecompressionStream + BYOB',
    input: 'gzip',
    baseline: (n) => ({ tool: 'gzip -dc >/dev/null', value: n.bigLayerGunzip, unit: 'MB/s in' }),
    check: sameBytes,
  },
  {
    name: 'gunzip pako Inflate (streaming) + BYOB',
    input: 'gzip',
    baseline: (n) => ({ tool: 'gzip -dc >/dev/null', value: n.bigLayerGunzip, unit: 'MB/s in' }),
    check: sameBytes,
  },
  {
    name: 'unzstd fzstd Decompress (streaming) + BYOB',
    input: 'zstd',
    baseline: (n) => ({ tool: 'zstd -dc >/dev/null', value: n.bigLayerZstd, unit: 'MB/s in' }),
    check: sameBytes,
  },
  {
    name: 'unzstd reference zstd in WebAssembly (streaming) + BYOB (project createDecompressor)',
    input: 'zstd',
    baseline: (n) => ({ tool: 'zstd -dc >/dev/null', value: n.bigLayerZstd, unit: 'MB/s in' }),
    check: sameBytes,
  },
  {
    name: 'unzstd zstddec ZSTDDecoder.decode (whole buffer)',
    input: 'zstd',
    baseline: (n) => ({ tool: 'zstd -dc >/dev/null', value: n.bigLayerZstd, unit: 'MB/s in' }),
    check: sameBytes,
  },
  {
    name: 'unxz xz-decompress (streaming) + BYOB (project createDecompressor)',
    input: 'xz',
    baseline: (n) => ({ tool: 'xz -dc >/dev/null', value: n.bigLayerUnxz, unit: 'MB/s in' }),
    check: sameBytes,
  },
  {
    name: 'tar headers: project TarStreamParser + BYOB',
    input: 'plain',
    baseline: (n) => ({ tool: 'tar -tf >/dev/null', value: n.bigLayerTarList, unit: 'MB/s' }),
    check: (o, i) =>
      o.entries === i.bigLayer.tarEntries
        ? null
        : `${o.entries} entries, tar -tf lists ${i.bigLayer.tarEntries}`,
  },
  {
    name: 'tar headers: js-untar untar(arrayBuffer)',
    input: 'plain',
    baseline: (n) => ({ tool: 'tar -tf >/dev/null', value: n.bigLayerTarList, unit: 'MB/s' }),
    check: (o, i) =>
      o.entries === i.bigLayer.tarEntries
        ? null
        : `${o.entries} entries, tar -tf lists ${i.bigLayer.tarEntries}`,
  },
  {
    name: 'layer one pass, gzip: project digestBlob (digest + gunzip + diff_id)',
    input: 'gzip',
    baseline: (n) => ({ tool: 'gzip -dc | sha256sum', value: n.bigLayerGunzipSha256, unit: 'MB/s in' }),
    check: (o, i) =>
      o.digest === i.bigLayer.gzipDigest && o.diffId === i.bigLayer.diffId
        ? null
        : `digest ${o.digest}, diff_id ${o.diffId}`,
  },
  {
    name: 'layer one pass, zstd: project digestBlob (digest + unzstd + diff_id)',
    input: 'zstd',
    baseline: (n) => ({ tool: 'zstd -dc | sha256sum', value: n.bigLayerZstdSha256, unit: 'MB/s in' }),
    check: (o, i) =>
      o.digest === i.bigLayer.zstdDigest && o.diffId === i.bigLayer.diffId
        ? null
        : `digest ${o.digest}, diff_id ${o.diffId}`,
  },
];

/** The unit of a case's figure: the same as its baseline's (MB/s, or MB/s of compressed input). */
function unitOf(spec: CaseSpec): string {
  return spec.input === 'plain' ? 'MB/s' : 'MB/s in';
}

function fileSize(files: Record<BenchInput, string>, spec: CaseSpec): number {
  return statSync(files[spec.input]).size;
}

interface CaseRun {
  mbs: number;
  ms: number;
  growthMiB: number;
  peakMiB: number;
  idleMiB: number;
  peakByTypeMiB: Record<string, number>;
  outcome: BenchOutcome;
  otherCores: number;
}

async function runCase(
  browser: Browser,
  url: string,
  inputs: Inputs,
  name: string,
  files: Record<BenchInput, string>,
): Promise<CaseRun> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`${e.name}: ${e.message}`));
  try {
    await page.goto(url);
    await page.waitForFunction(() => window.bench?.ready === true, undefined, { timeout: 60_000 });
    const input = await page.evaluate(
      (n) => window.bench.cases.find((c) => c.name === n)?.input ?? null,
      name,
    );
    if (!input) throw new Error(`the bench page has no case "${name}"`);
    await page.locator(`#file-${input}`).setInputFiles(files[input]);
    const sampler = new RssSampler(100).start();
    await sleep(700);
    const idle = sampler.medianKiB(sampler.now() - 500, sampler.now());
    const tStart = sampler.now();
    const cpu = new CpuWatch();
    let outcome: BenchOutcome;
    try {
      outcome = await page.evaluate(([n, size]) => window.bench.run(n, { uncompressedSize: size }), [
        name,
        inputs.bigLayer.tarSize,
      ] as const);
    } finally {
      sampler.stop();
    }
    const otherCores = cpu.stop().otherCores;
    if (errors.length) throw new Error(errors.join('; '));
    const peak = sampler.peak(tStart)!;
    return {
      ms: outcome.ms,
      mbs: outcome.bytesIn / MB / (outcome.ms / 1000),
      growthMiB: (peak.totalKiB - idle) / 1024,
      peakMiB: peak.totalKiB / 1024,
      idleMiB: idle / 1024,
      peakByTypeMiB: Object.fromEntries(
        Object.entries(peak.byType).map(([k, v]) => [k, Math.round(v / 1024)]),
      ),
      outcome,
      otherCores,
    };
  } catch (e) {
    const message = e instanceof Error ? e.message.split('\n')[0]! : String(e);
    throw new Error(errors.length ? `${message} (page errors: ${errors.join('; ')})` : message);
  } finally {
    await context.close();
  }
}

export async function runLibraries(
  browser: Browser,
  url: string,
  inputs: Inputs,
  runs: number,
  repo: string,
  gate: QuietGate,
  log: (s: string) => void,
): Promise<Result[]> {
  const files: Record<BenchInput, string> = {
    plain: path.join(repo, inputs.bigLayer.tarPath),
    gzip: path.join(repo, inputs.bigLayer.gzipPath),
    zstd: path.join(repo, inputs.bigLayer.zstdPath),
    xz: path.join(repo, inputs.bigLayer.xzPath as string),
  };
  const results: Result[] = [];
  for (const spec of CASES) {
    let measured: Runs<CaseRun> | null = null;
    let failure: string | null = null;
    try {
      measured = await measureRuns(
        gate,
        runs,
        spec.name,
        async () => {
          const r = await runCase(browser, url, inputs, spec.name, files);
          const wrong = spec.check(r.outcome, inputs);
          log(
            `  ${spec.name}: ${r.mbs.toFixed(1)} MB/s, ${(r.ms / 1000).toFixed(2)} s, +${r.growthMiB.toFixed(0)} MiB RSS, ` +
              `other load ${r.otherCores.toFixed(2)} cores` +
              (wrong ? ` — WRONG: ${wrong}` : ''),
          );
          if (wrong) throw new Error(`wrong result: ${wrong}`);
          return r;
        },
        (r) => r.otherCores,
        log,
      );
    } catch (e) {
      failure = e instanceof Error ? e.message : String(e);
      log(`  ${spec.name}: FAILED: ${failure}`);
    }
    const done = measured?.used ?? [];
    const all = measured?.all ?? [];
    const value = done.length ? median(done.map((r) => r.mbs)) : null;
    const detail = all.map((r) => ({
      otherCores: r.otherCores,
      ms: Math.round(r.ms),
      mbs: r.mbs,
      idleMiB: Math.round(r.idleMiB),
      peakMiB: Math.round(r.peakMiB),
      growthMiB: Math.round(r.growthMiB),
      peakByTypeMiB: r.peakByTypeMiB,
      phasesMs: r.outcome.phases,
      bytesIn: r.outcome.bytesIn,
      bytesOut: r.outcome.bytesOut,
      entries: r.outcome.entries,
    }));
    results.push(
      deferBaseline(
        result('library', spec.name, value, unitOf(spec), {
          runs: all.map((r) => r.mbs),
          runLoads: all.map((r) => r.otherCores),
          undisturbed: measured?.summary,
          otherCores: done.length ? median(done.map((r) => r.otherCores)) : undefined,
          note: failure ?? undefined,
          detail,
        }),
        spec.baseline,
      ),
      result(
        'library',
        `  ↳ peak RSS growth, input ${(fileSize(files, spec) / MiB).toFixed(0)} MiB`,
        done.length ? median(done.map((r) => r.growthMiB)) : null,
        'MiB',
        {
          runs: all.map((r) => r.growthMiB),
          runLoads: all.map((r) => r.otherCores),
          undisturbed: measured?.summary,
        },
      ),
    );
  }
  return results;
}
