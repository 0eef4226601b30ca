/**
 * `npm run bench`: a benchmark, not a test. Builds a ≥ 500 MB image with umoci and skopeo
 * (test/bench/work/, reused between runs; --fresh rebuilds), measures native baselines on the same
 * files, the app in Chromium (drop → graph, full verification, browser RSS), and library
 * alternatives on a bench page; prints a table and writes test/bench/results.json.
 *
 *   npm run bench [-- --fresh] [--runs=N] [--skip=native,app,libs,layers,registry] [--quiet-budget=SECONDS]
 *
 * "layers" measures layer file systems (a debootstrap root file system and a layer of 200,000
 * small files, test/bench/lib/layers.ts); "registry" inspects the large OCI image pushed into a
 * docker-registry on 127.0.0.1 through the app's proxy (test/bench/lib/registry.ts).
 *
 * --runs (default 2) is the number of runs of each library comparison; the native tools and the
 * app run max(3, N) times. Figures are medians.
 *
 * The machine is shared: before each measurement the run waits for other processes to go quiet,
 * and repeats a run they disturbed, within --quiet-budget seconds in all (default 300: 45% for the
 * app, 35% for the libraries, 20% for the native tools, in that order) so that
 * the benchmark still ends in time; every figure records how many cores other processes kept
 * busy while it was measured ("bg cores"). Past a soft deadline (--deadline, default 660 s after
 * the start) each remaining figure is measured once, without waiting, so that a run on a busy
 * machine still ends within about 15 minutes.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from '@playwright/test';
import { buildApp, runApp, serveApp } from './lib/app';
import { Workspace, loadOrCreateInputs } from './lib/inputs';
import { describeBenchOci, loadOrCreateLayerInputs, type LayerInputs } from './lib/layer-inputs';
import { LAYERS_DEFINITIONS, runLayers } from './lib/layers';
import { BYTES_SERIES_DEFINITIONS, runBytesSeries } from './lib/bytes-series';
import { REGISTRY_DEFINITIONS, runRegistry } from './lib/registry';
import { runLibraries, startBenchPageServer } from './lib/libs';
import { runNative, type NativeFigures } from './lib/native';
import { QuietGate, sh } from './lib/proc';
import { type Result, resolveBaselines, table } from './lib/results';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../chromium';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const work = path.join(repo, 'test/bench/work');
const resultsFile = path.join(repo, 'test/bench/results.json');

const DEFINITIONS = [
  'drop → graph: from the Playwright setInputFiles call on open-file-input until the first graph-node is visible (polled every frame); "in page": from the input\'s change event to the frame after that node is visible (performance.now() in the page).',
  'full verification: from the change event to the status word leaving "running" (in-page clock), every layer-row then checked verified/verified; MB/s over the archive file size. The OCI baselines are gzip -dc | sha256sum (zstd -dc | sha256sum for the zstd copy skopeo makes of the same archive) per layer, one after the other, MB/s of compressed input.',
  'RSS: summed VmRSS (/proc/<pid>/status) of every Chromium process under this Node process, sampled every 100 ms; shared pages count once per process. Growth = peak − median idle over the 1 s before the file is set. "2nd half" = peak in the second half of the verification minus peak in the first half, per GiB of archive read in that half: ≈0 when memory does not grow with size; it also holds the listings and trees of layers that finish in that half, so memory against bytes alone, the tree held still, is measured by the bytes series.',
  'Library rows: one fresh page each (Vite dev server, test/bench/page), the real-files layer as plain tar / its gzip blob / a zstd -3 copy; MB/s of input (compressed for decompressors), including file reading; RSS growth = peak during the call − idle before it.',
  ...LAYERS_DEFINITIONS,
  ...BYTES_SERIES_DEFINITIONS,
  ...REGISTRY_DEFINITIONS,
  "bg cores: cores kept busy by other processes on this shared 2-core machine while the figure was measured (/proc/stat minus this benchmark's own process tree), median over the runs used; (k/n quiet): k of n runs had < 0.35 cores of other work. Disturbed runs are repeated while the waiting budget lasts; figures are medians of the quiet runs (of all runs when none was quiet); every run is in results.json. Past the soft deadline each remaining figure gets a single run.",
];

function parseArgs(argv: string[]) {
  const opts = { fresh: false, runs: 2, skip: new Set<string>(), quietBudget: 300, deadline: 660 };
  for (const a of argv) {
    if (a === '--fresh') opts.fresh = true;
    else if (a.startsWith('--runs=')) opts.runs = Math.max(1, Number(a.slice(7)) || 1);
    else if (a.startsWith('--quiet-budget=')) opts.quietBudget = Math.max(0, Number(a.slice(15)) || 0);
    else if (a.startsWith('--deadline=')) opts.deadline = Math.max(0, Number(a.slice(11)) || 0);
    else if (a.startsWith('--skip=')) for (const s of a.slice(7).split(',')) opts.skip.add(s.trim());
    else if (a === '--help' || a === '-h') {
      console.log(
        'npm run bench [-- --fresh] [--runs=N] [--skip=native,app,libs,layers,registry] [--quiet-budget=SECONDS] [--deadline=SECONDS]',
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  return opts;
}

const started = performance.now();
function log(s: string): void {
  const t = ((performance.now() - started) / 1000).toFixed(0).padStart(4);
  console.log(`[${t}s] ${s}`);
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  mkdirSync(work, { recursive: true });
  const ws = new Workspace(repo, work);
  // Native tools and the app are quick: at least 3 runs each; --runs sets the library comparisons.
  const cheapRuns = Math.max(3, opts.runs);
  // Soft deadline: past it, each remaining figure gets a single run (see QuietGate).
  const gate = new QuietGate(opts.quietBudget * 1000, 0.35, log, started + opts.deadline * 1000);
  const loadBefore = readFileSync('/proc/loadavg', 'utf8').trim();
  const notes: string[] = [];
  const results: Result[] = [];

  // ------------------------------------------------------------ 1. inputs
  const inputs = loadOrCreateInputs(ws, opts.fresh, log);
  notes.push(...inputs.notes);
  console.log(`\nInputs (made ${inputs.createdAt}, from the repo root):`);
  for (const c of inputs.commands) console.log(`  $ ${c}`);
  console.log(
    `  docker-archive ${inputs.dockerArchive.size} bytes (${(inputs.dockerArchive.size / 1e6).toFixed(1)} MB), ` +
      `oci-archive ${inputs.ociArchive.size} bytes (${(inputs.ociArchive.size / 1e6).toFixed(1)} MB)` +
      (inputs.zstdArchive
        ? `, its zstd copy ${inputs.zstdArchive.size} bytes (${(inputs.zstdArchive.size / 1e6).toFixed(1)} MB)`
        : ''),
  );
  for (const [i, l] of inputs.layers.entries()) {
    console.log(`  layer ${i} ${l.label}: ${l.digest} gzip ${l.size} bytes, diff_id ${l.diffId}`);
  }
  for (const n of inputs.notes) console.log(`  note: ${n}`);
  let layerInputs: LayerInputs | null = null;
  if (!opts.skip.has('layers')) {
    layerInputs = loadOrCreateLayerInputs(ws, opts.fresh, log);
    console.log(`\nLayer inputs (made ${layerInputs.createdAt}):`);
    for (const c of layerInputs.commands) console.log(`  $ ${c}`);
    for (const a of [layerInputs.rootfs, layerInputs.files]) {
      console.log(`  ${a.label}: ${a.path} ${a.size} bytes; ${a.content}`);
      for (const l of a.layers)
        console.log(
          `    layer ${l.digest} gzip ${l.size} bytes, tar ${l.tarSize} bytes, ${l.entries} entries`,
        );
    }
    for (const n of layerInputs.notes) console.log(`  note: ${n}`);
  }
  console.log('');
  // Every input is read from the page cache, by the browser and by the tools alike.
  sh(
    `cat ${[inputs.dockerArchive.path, inputs.ociArchive.path, inputs.zstdArchive?.path ?? '', inputs.bigLayer.tarPath, inputs.bigLayer.gzipPath, inputs.bigLayer.zstdPath].join(' ')} > /dev/null`,
    { cwd: repo },
  );

  // ------------------------------------------------------------ browser
  let browser: Browser | null = null;
  let chromiumVersion = 'not launched';
  const executablePath = CHROMIUM_PATH;
  const cleanups: (() => Promise<void>)[] = [];
  const sectionCommands: string[] = [];
  const dist = path.join(work, 'app-dist');
  let buildState = 'not yet';
  /** Builds the app once for every section that needs it; a reason when it did not build. */
  const ensureBuilt = async (): Promise<string | null> => {
    if (buildState === 'not yet') {
      log('Building the app (vite build → test/bench/work/app-dist) …');
      try {
        await buildApp(repo, dist);
        buildState = 'built';
      } catch (e) {
        buildState = `the app did not build: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
        log(buildState);
      }
    }
    return buildState === 'built' ? null : buildState;
  };
  let staticUrl: string | null = null;
  const serveStatic = async (): Promise<string> => {
    if (staticUrl) return staticUrl;
    const { server, url } = await serveApp(dist);
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    log(`Serving the app at ${url} (scripts/static-server.ts)`);
    staticUrl = url;
    return url;
  };
  try {
    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
    chromiumVersion = browser.version();
    log(`Chromium ${chromiumVersion} (${executablePath})`);

    // ---------------------------------------------------------- 3. the app
    if (!opts.skip.has('app')) {
      gate.allow(opts.quietBudget * 0.45 * 1000);
      const why = await ensureBuilt();
      if (why) notes.push(`app not measured: ${why}`);
      if (!why) {
        const url = await serveStatic();
        const archives = [
          {
            label: 'docker-archive',
            file: path.join(repo, inputs.dockerArchive.path),
            size: inputs.dockerArchive.size,
            baseline: (n: NativeFigures) => ({ tool: 'sha256sum', value: n.dockerSha256, unit: 'MB/s' }),
            expectedLayerDigests: inputs.dockerLayerDigests,
          },
          {
            label: 'oci-archive (gzip)',
            file: path.join(repo, inputs.ociArchive.path),
            size: inputs.ociArchive.size,
            baseline: (n: NativeFigures) => ({
              tool: 'gzip -dc | sha256sum',
              value: n.ociGunzipSha256,
              unit: 'MB/s in',
            }),
            expectedLayerDigests: inputs.layers.map((l) => l.digest),
          },
          ...(inputs.zstdArchive
            ? [
                {
                  label: 'oci-archive (zstd)',
                  file: path.join(repo, inputs.zstdArchive.path),
                  size: inputs.zstdArchive.size,
                  baseline: (n: NativeFigures) => ({
                    tool: 'zstd -dc | sha256sum',
                    value: n.ociUnzstdSha256,
                    unit: 'MB/s in',
                  }),
                  expectedLayerDigests: inputs.zstdArchive.layers.map((l) => l.digest),
                },
              ]
            : []),
        ];
        for (const a of archives) {
          log(`App: ${a.label} …`);
          try {
            results.push(...(await runApp(browser, url, a, cheapRuns, gate, log)));
          } catch (e) {
            const why = e instanceof Error ? e.message.split('\n')[0]! : String(e);
            notes.push(`app on ${a.label} failed: ${why}`);
            log(`  FAILED: ${why}`);
          }
        }
      }
    }

    // ---------------------------------------------------------- 4. libraries
    if (!opts.skip.has('libs')) {
      gate.allow(opts.quietBudget * 0.35 * 1000);
      log('Library comparisons (Vite dev server, test/bench/page) …');
      const { server, url } = await startBenchPageServer(repo, work);
      cleanups.push(() => server.close());
      results.push(...(await runLibraries(browser, url, inputs, opts.runs, repo, gate, log)));
    }

    // ---------------------------------------------------------- 5. layer file systems
    if (layerInputs) {
      gate.allow(opts.quietBudget * 0.1 * 1000);
      const why = await ensureBuilt();
      if (why) notes.push(`layers not measured: ${why}`);
      else {
        try {
          const url = await serveStatic();
          // The bench's OCI archive is the third memory point (its growth from the app section when measured).
          const fromApp = results.find((r) => r.name === 'oci-archive (gzip): RSS growth over idle');
          const third = {
            archive: describeBenchOci(ws, inputs.ociArchive, inputs.layers),
            growthMiB: fromApp?.value ?? null,
          };
          const l = await runLayers(browser, url, ws, layerInputs, cheapRuns, gate, log, third);
          results.push(...l.results);
          sectionCommands.push(...l.commands);
          const series = await runBytesSeries(browser, url, ws, cheapRuns, gate, log);
          results.push(...series.results);
          sectionCommands.push(...series.commands);
        } catch (e) {
          const msg = e instanceof Error ? e.message.split('\n')[0]! : String(e);
          notes.push(`layers section failed: ${msg}`);
          log(`  FAILED: ${msg}`);
        }
      }
    }

    // ---------------------------------------------------------- 6. registry inspection
    if (!opts.skip.has('registry')) {
      gate.allow(opts.quietBudget * 0.1 * 1000);
      const why = await ensureBuilt();
      if (why) notes.push(`registry not measured: ${why}`);
      else {
        try {
          log('Registry: docker-registry on 127.0.0.1, the app with its proxy (allowLocal) …');
          // A cold + warm pair takes about a minute on this machine: --runs pairs (default 2), not max(3, N).
          const r = await runRegistry(browser, dist, ws, inputs, opts.runs, gate, log);
          results.push(...r.results);
          sectionCommands.push(...r.commands);
          notes.push(...r.notes);
        } catch (e) {
          const msg = e instanceof Error ? e.message.split('\n')[0]! : String(e);
          notes.push(`registry section failed: ${msg}`);
          log(`  FAILED: ${msg}`);
        }
      }
    }
  } finally {
    await browser?.close().catch(() => {});
    for (const c of cleanups) await c().catch(() => {});
  }

  // ------------------------------------------------------------ 2. native baselines
  // Last: they are short, so they find quiet moments more easily than the browser runs do.
  let nativeCommands: string[] = [];
  if (!opts.skip.has('native')) {
    gate.allow(opts.quietBudget * 0.2 * 1000);
    const n = await runNative(ws, inputs, cheapRuns, gate, log);
    nativeCommands = n.commands;
    results.push(...n.results);
    resolveBaselines(results, n.figures);
  }

  // ------------------------------------------------------------ 7. report
  const order: Result['group'][] = ['app', 'native', 'library', 'layers', 'registry'];
  results.sort((a, b) => order.indexOf(a.group) - order.indexOf(b.group));
  const totalSeconds = (performance.now() - started) / 1000;
  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? null,
    memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    chromiumVersion,
    node: process.version,
  };
  const out = {
    date: new Date().toISOString(),
    machine,
    runs: opts.runs,
    totalSeconds,
    load: {
      loadavgBefore: loadBefore,
      loadavgAfter: readFileSync('/proc/loadavg', 'utf8').trim(),
      waitedForQuietSeconds: gate.waitedMs / 1000,
      repeatedRuns: gate.repeats,
      repeatedSeconds: gate.repeatedMs / 1000,
      hurriedPastDeadline: gate.hurried,
      note: 'the machine is shared; each result has otherCores: cores kept busy by other processes while it was measured',
    },
    units: 'MB = 10^6 bytes; MiB/GiB = 2^20/2^30 bytes; figures are medians of the runs',
    runsNativeAndApp: cheapRuns,
    definitions: DEFINITIONS,
    inputs: {
      createdAt: inputs.createdAt,
      commands: inputs.commands,
      measurementCommands: [...nativeCommands, ...sectionCommands],
      layerInputs,
      realTree: inputs.realTree,
      synthetic: inputs.synthetic,
      dockerArchive: inputs.dockerArchive,
      ociArchive: inputs.ociArchive,
      layers: inputs.layers,
      bigLayer: inputs.bigLayer,
    },
    notes,
    results,
  };
  writeFileSync(resultsFile, `${JSON.stringify(out, null, 2)}\n`);

  console.log('\nMeasurement commands (native baselines):');
  for (const c of [...nativeCommands, ...sectionCommands]) console.log(`  $ ${c}`);
  console.log(
    `\nMachine: ${machine.cpus} CPUs (${machine.cpuModel}), ${machine.memGiB} GiB, Chromium ${chromiumVersion}, Node ${machine.node}; ` +
      `medians of ${cheapRuns} runs (native, app) and ${opts.runs} (libraries). MB = 10^6 bytes.\n` +
      `Waited ${(gate.waitedMs / 1000).toFixed(0)} s for quiet and repeated ${gate.repeats} disturbed run(s) ` +
      `(${(gate.repeatedMs / 1000).toFixed(0)} s); loadavg before ${loadBefore}` +
      `${gate.hurried ? '; past the soft deadline some figures got a single run' : ''}.\n`,
  );
  for (const d of DEFINITIONS) console.log(`  ${d}`);
  console.log('');
  console.log(table(results));
  const withNotes = results.filter((r) => r.note);
  if (withNotes.length) {
    console.log('\nNotes:');
    for (const r of withNotes) console.log(`  ${r.name.trim()}: ${r.note}`);
  }
  for (const n of notes) console.log(`  ${n}`);
  console.log(`\nWrote ${path.relative(repo, resultsFile)}. Total run time ${totalSeconds.toFixed(0)} s.`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exit(1);
});
