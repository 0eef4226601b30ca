/**
 * Section "registry" (registry inspection): a real docker-registry on 127.0.0.1 holding the
 * bench's large OCI image (pushed by skopeo), the app served with its registry proxy
 * (allowLocal, as ALLOW_LOCAL_REGISTRIES=1 npm start does), and Chromium timing Enter in the
 * reference field → first graph node, → status "done" with an empty IndexedDB (fresh context),
 * and a reopen in the same context (blob cache warm); against `skopeo copy … dir:` in the same run.
 */
import { mkdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, Page } from '@playwright/test';
import { createRegistryProxy } from '../../../proxy/registry-proxy';
import { createStaticHandler, setSecurityHeaders } from '../../../scripts/static-server';
import { startRegistry } from '../../unit/helpers/registry';
import { readOutcome } from './app';
import type { Inputs, Workspace } from './inputs';
import { skopeoWrapper } from './layer-inputs';
import { CpuWatch, RssSampler, measureRuns, median, sh, sleep, timed, type QuietGate } from './proc';
import { MB, result, type Result } from './results';
import { rec as recMeasured, repeat } from './native';

export const REGISTRY_DEFINITIONS = [
  'registry: the bench OCI image pushed by skopeo into docker-registry on 127.0.0.1 and read through the app\'s proxy (/registry-insecure/, allowLocal). Enter → graph: keydown of Enter in reference-input → first graph-node visible (in-page clock); cold: Enter → status "done" in a fresh browser context (IndexedDB empty); warm: the page reloaded in the same context (blob cache in IndexedDB filled by the cold run) → "done", given 120 s (a reopen still running then is recorded as not done). Baseline: skopeo copy --src-tls-verify=false docker://… dir:<fresh dir>, which downloads and checks every blob digest (no decompression), wall time.',
  'decompression floor: `gzip -dc blob > /dev/null` of every layer blob skopeo wrote, all started at once (one process per layer, as the app gives each layer to a digest worker), wall time: the least any analysis that checks diff_ids must spend, whatever its implementation.',
];

/**
 * The built app and its registry proxy on one origin, as scripts/start.ts mounts them, with
 * allowLocal (ALLOW_LOCAL_REGISTRIES=1). BENCH_PROXY_LOG=1 prints every proxied request.
 */
export async function serveAppWithProxy(distDir: string): Promise<{ server: http.Server; url: string }> {
  const serveStatic = createStaticHandler(distDir);
  const proxy = createRegistryProxy({
    allowLocal: true,
    log: process.env.BENCH_PROXY_LOG ? (l) => console.log(l) : undefined,
  });
  const server = http.createServer((req, res) => {
    setSecurityHeaders(res);
    if (proxy(req, res)) return;
    serveStatic(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` };
}

/** Marks in the page's clock: Enter pressed in the reference field, first graph node visible, run over. */
const INSTALL_OBSERVER = `(() => {
  const marks = { enter: null, graph: null, done: null, status: null };
  window.__benchRegistry = marks;
  const check = () => {
    if (marks.enter === null) return;
    if (marks.graph === null) {
      const node = document.querySelector('[data-testid="graph-node"]');
      if (node) {
        const r = node.getBoundingClientRect();
        if (r.width > 0 && r.height > 0 && getComputedStyle(node).visibility !== 'hidden') marks.graph = performance.now();
      }
    }
    const el = document.querySelector('[data-testid="status"] [data-status]');
    const status = el && el.getAttribute('data-status');
    if (marks.done === null && status && status !== 'running' && status !== 'idle') {
      marks.done = performance.now();
      marks.status = status;
    }
  };
  const frame = () => { check(); if (marks.graph === null || marks.done === null) requestAnimationFrame(frame); };
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && e.target && e.target.dataset && e.target.dataset.testid === 'reference-input' && marks.enter === null) {
      marks.enter = performance.now();
      requestAnimationFrame(frame);
    }
  }, true);
  new MutationObserver(check).observe(document.body, {
    subtree: true, childList: true, attributes: true, attributeFilter: ['data-status'],
  });
})()`;

interface Marks {
  enter: number | null;
  graph: number | null;
  done: number | null;
  status: string | null;
}

interface Open {
  graphMs: number;
  doneMs: number;
  status: string | null;
  statusText: string;
  rows: { digest: string; digestState: string; diffIdState: string }[];
  problems: string[];
  growthMiB: number;
}

async function openReference(page: Page, url: string, reference: string, timeoutMs: number): Promise<Open> {
  await page.goto(url);
  const input = page.getByTestId('reference-input').first();
  await input.waitFor({ state: 'visible', timeout: 60_000 });
  await page.evaluate(INSTALL_OBSERVER);
  await input.fill(reference);
  const sampler = new RssSampler(100).start();
  await sleep(1000);
  const idle = sampler.medianKiB(-Infinity, Infinity);
  const tStart = sampler.now();
  let timedOut = false;
  try {
    await input.press('Enter');
    await page.waitForFunction(
      () => (window as unknown as { __benchRegistry?: Marks }).__benchRegistry?.done != null,
      undefined,
      { polling: 50, timeout: timeoutMs },
    );
  } catch (e) {
    if (!(e instanceof Error && e.name === 'TimeoutError')) throw e;
    timedOut = true;
  } finally {
    sampler.stop();
  }
  const marks = await page.evaluate(() => (window as unknown as { __benchRegistry: Marks }).__benchRegistry);
  if (timedOut) {
    const statusText = (await page.getByTestId('status').innerText()).replace(/\s+/g, ' ').trim();
    const peak = sampler.peak(tStart, Infinity);
    return {
      graphMs: marks.graph !== null && marks.enter !== null ? marks.graph - marks.enter : NaN,
      doneMs: NaN,
      status: `not done after ${(timeoutMs / 1000).toFixed(0)} s`,
      statusText,
      rows: [],
      problems: [],
      growthMiB: peak ? (peak.totalKiB - idle) / 1024 : NaN,
    };
  }
  const { statusText, problems, rows } = await readOutcome(page);
  if (marks.enter === null || marks.done === null) throw new Error('the page recorded no Enter/done time');
  const peak = sampler.peak(tStart, Infinity);
  return {
    graphMs: marks.graph !== null ? marks.graph - marks.enter : NaN,
    doneMs: marks.done - marks.enter,
    status: marks.status,
    statusText,
    rows,
    problems,
    growthMiB: peak ? (peak.totalKiB - idle) / 1024 : NaN,
  };
}

const COLD_TIMEOUT_MS = 600_000;
/** A warm reopen that takes longer than this has missed its goal by far: the run goes on. */
const WARM_TIMEOUT_MS = 120_000;

interface RegistryRun {
  cold: Open;
  warm: Open;
  otherCores: number;
}

export async function runRegistry(
  browser: Browser,
  distDir: string,
  ws: Workspace,
  inputs: Inputs,
  runs: number,
  gate: QuietGate,
  log: (s: string) => void,
): Promise<{ results: Result[]; commands: string[]; notes: string[] }> {
  const commands: string[] = [];
  const notes: string[] = [];
  const results: Result[] = [];
  const storageDir = path.join(ws.work, 'registry', 'storage');
  const configDir = path.join(ws.work, 'registry', 'config');
  mkdirSync(storageDir, { recursive: true });
  mkdirSync(configDir, { recursive: true });
  const registry = await startRegistry({ storageDir, configDir });
  commands.push(
    `docker-registry serve <config: filesystem storage ${ws.rel(storageDir)}, addr 127.0.0.1:0>  # test/unit/helpers/registry.ts startRegistry`,
  );
  log(`docker-registry listening on ${registry.host} (storage ${ws.rel(storageDir)})`);
  const { server, url } = await serveAppWithProxy(distDir);
  const wrap = skopeoWrapper(ws, notes);
  const shadow = path.join(ws.work, 'containers-shadow');
  try {
    const image = `${registry.host}/bench/big:1`;
    const want = inputs.layers.map((l) => l.digest);
    const layerBytes = inputs.layers.reduce((a, l) => a + l.size, 0);
    // Reuse the pushed image when the storage already holds this archive's layers.
    const current = await fetch(`http://${image.replace('/bench/big:1', '/v2/bench/big/manifests/1')}`, {
      headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' },
    })
      .then(async (r) => (r.ok ? ((await r.json()) as { layers?: { digest: string }[] }) : null))
      .catch(() => null);
    const pushCmd = `skopeo copy --dest-tls-verify=false oci-archive:${inputs.ociArchive.path} docker://${image}`;
    if (current?.layers?.map((l) => l.digest).join() === want.join()) {
      log('  the registry storage already holds the bench image; not pushing again');
      commands.push(`${pushCmd}  # done in an earlier run, storage reused`);
    } else {
      log(`  ${pushCmd} …`);
      const t = timed(wrap(pushCmd), ws.work, { cwd: ws.repo });
      commands.push(pushCmd);
      log(`  pushed in ${t.seconds.toFixed(1)} s`);
    }
    const reference = image;
    log(`  app: ${reference} cold (fresh context) then reopened warm (same context), ${runs} pair(s)`);

    // The app: cold (fresh context) then warm (same context, page reloaded).
    const measured = await measureRuns<RegistryRun>(
      gate,
      runs,
      'registry cold + warm',
      async (i) => {
        const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
        const errors: string[] = [];
        try {
          const page = await context.newPage();
          page.on('pageerror', (e) => errors.push(`${e.name}: ${e.message}`));
          const cpu = new CpuWatch();
          const cold = await openReference(page, url, reference, COLD_TIMEOUT_MS);
          const warm = await openReference(page, url, reference, WARM_TIMEOUT_MS);
          const otherCores = cpu.stop().otherCores;
          const issues: string[] = [];
          for (const [k, o] of [
            ['cold', cold],
            ['warm', warm],
          ] as const) {
            if (o.status !== 'done') {
              issues.push(`${k}: status ${o.status} (${o.statusText})`);
              continue;
            }
            const bad = o.rows.filter((r) => r.digestState !== 'verified' || r.diffIdState !== 'verified');
            if (bad.length) issues.push(`${k}: ${bad.length} layer(s) not verified`);
            if (
              o.rows
                .map((r) => r.digest)
                .sort()
                .join() !== [...want].sort().join()
            )
              issues.push(`${k}: layer rows differ from the pushed image`);
            if (o.problems.length) issues.push(`${k}: problems ${o.problems.join('; ')}`);
          }
          if (errors.length) issues.push(`page errors: ${errors.join('; ')}`);
          if (issues.length) notes.push(...issues.map((s) => `registry run ${i + 1}: ${s}`));
          log(
            `  registry run ${i + 1}: Enter → graph ${cold.graphMs.toFixed(0)} ms, cold done ${(cold.doneMs / 1000).toFixed(2)} s ` +
              `(RSS +${cold.growthMiB.toFixed(0)} MiB), warm reopen ${(warm.doneMs / 1000).toFixed(2)} s, other load ${otherCores.toFixed(2)} cores; ` +
              `cold "${cold.statusText}", warm "${warm.statusText}"` +
              (issues.length ? `\n    ISSUES: ${issues.join('; ')}` : ''),
          );
          return { cold, warm, otherCores };
        } finally {
          await context.close();
        }
      },
      (r) => r.otherCores,
      log,
    );

    // The baseline: skopeo copy to a fresh dir: each run.
    const dest = path.join(ws.work, 'registry', 'skopeo-dir');
    const skopeoCmd = `skopeo copy --src-tls-verify=false docker://${image} dir:${ws.rel(dest)}`;
    commands.push(skopeoCmd);
    const sk = await measureRuns(
      gate,
      runs,
      'skopeo copy → dir:',
      () => {
        rmSync(dest, { recursive: true, force: true });
        const w = new CpuWatch();
        const t = timed(wrap(skopeoCmd), ws.work, { cwd: ws.repo });
        return { ...t, otherCores: w.stop().otherCores };
      },
      (t) => t.otherCores,
      log,
    );
    const got = sh(`ls ${dest} | wc -l`).trim();
    // What any analysis that checks diff_ids must at least do: decompress every layer. On the
    // blobs skopeo just wrote, `gzip -dc` of all layers at once (one process per layer, as the
    // app runs one layer per digest worker on the two cores): if this alone takes longer than
    // skopeo's whole copy, no implementation of the full analysis can be faster than skopeo.
    const blobs = inputs.layers.map((l) => path.join(dest, l.digest.slice('sha256:'.length)));
    const floorCmd = `${blobs.map((b) => `gzip -dc ${ws.rel(b)} > /dev/null &`).join(' ')} wait`;
    commands.push(floorCmd);
    const floor = await repeat(ws, gate, log, floorCmd, runs);
    const floorS = floor.seconds;
    log(`  gzip -dc of every layer, in parallel: ${floorS.toFixed(2)} s`);
    rmSync(dest, { recursive: true, force: true });
    rmSync(shadow, { recursive: true, force: true });
    const skopeoS = median(sk.used.map((t) => t.seconds));
    log(`  skopeo copy → dir: ${skopeoS.toFixed(2)} s (${got} files)`);

    const used = measured.used;
    const m = (f: (r: RegistryRun) => number) => median(used.map(f));
    const rec = (f: (r: RegistryRun) => number) => ({
      runs: measured.all.map(f),
      runLoads: measured.all.map((r) => r.otherCores),
      undisturbed: measured.summary,
      otherCores: m((r) => r.otherCores),
    });
    const cold = m((r) => r.cold.doneMs / 1000);
    const warmDone = used.filter((r) => Number.isFinite(r.warm.doneMs));
    const warm = warmDone.length ? median(warmDone.map((r) => r.warm.doneMs / 1000)) : null;
    const skopeoBaseline = { tool: 'skopeo copy → dir:', value: skopeoS, unit: 's' };
    const size = `${(layerBytes / MB).toFixed(1)} MB of gzip layers (${inputs.layers.length} layers)`;
    results.push(
      result(
        'registry',
        'Enter → 1st graph-node visible (cold)',
        m((r) => r.cold.graphMs),
        'ms',
        {
          ...rec((r) => r.cold.graphMs),
          note: `warm reopen: ${m((r) => r.warm.graphMs).toFixed(0)} ms`,
        },
      ),
      result('registry', 'full analysis, cold (Enter → done, IndexedDB empty)', cold, 's', {
        ...rec((r) => r.cold.doneMs / 1000),
        baseline: skopeoBaseline,
        goal: '< 1.0× skopeo (faster)',
        met: cold < skopeoS,
        note:
          `${size}; ${(layerBytes / MB / cold).toFixed(1)} MB/s vs skopeo ${(layerBytes / MB / skopeoS).toFixed(1)} MB/s; ` +
          (cold < skopeoS
            ? 'met'
            : `NOT met: ${(cold / skopeoS).toFixed(2)}× skopeo's time (${(cold - skopeoS).toFixed(1)} s slower)`) +
          `; RSS growth ${m((r) => r.cold.growthMiB).toFixed(0)} MiB`,
        detail: measured.all.map((r) => ({
          otherCores: r.otherCores,
          cold: { ...r.cold, rows: r.cold.rows.length },
          warm: { ...r.warm, rows: r.warm.rows.length },
        })),
      }),
      result('registry', 'reopen, same context, blob cache warm (Enter → done)', warm, 's', {
        ...rec((r) => r.warm.doneMs / 1000),
        baseline: { tool: 'cold analysis', value: cold, unit: 's' },
        goal: '≤ 0.10× cold',
        met: warm === null ? false : warm <= cold / 10,
        ratio: warm === null ? null : warm / cold,
        note:
          warm === null
            ? `NOT met: no warm reopen reached "done" within ${WARM_TIMEOUT_MS / 1000} s (${used.map((r) => `"${r.warm.statusText}"`).join(', ')}), i.e. > ${(WARM_TIMEOUT_MS / 1000 / cold).toFixed(1)}× the cold time`
            : warm <= cold / 10
              ? 'met'
              : `NOT met: ${(warm / cold).toFixed(2)}× the cold time (the goal asks ≤ 0.10×, i.e. ≤ ${(cold / 10).toFixed(2)} s)` +
                (warmDone.length < used.length
                  ? `; ${used.length - warmDone.length} run(s) not done within ${WARM_TIMEOUT_MS / 1000} s`
                  : ''),
      }),
      result('registry', 'decompression floor: gzip -dc of every layer, in parallel (native)', floorS, 's', {
        ...recMeasured(floor, (seconds) => seconds),
        baseline: skopeoBaseline,
        ratio: floorS / skopeoS,
        note:
          floorS > skopeoS
            ? `decompression alone, natively, takes ${(floorS / skopeoS).toFixed(2)}× skopeo's whole copy: an analysis that checks diff_ids cannot be faster than skopeo here`
            : `decompression alone takes ${(floorS / skopeoS).toFixed(2)}× skopeo's copy`,
      }),
      result('registry', 'skopeo copy docker:// → dir: (native)', skopeoS, 's', {
        runs: sk.all.map((t) => t.seconds),
        runLoads: sk.all.map((t) => t.otherCores),
        undisturbed: sk.summary,
        otherCores: median(sk.used.map((t) => t.otherCores)),
        note: `${(layerBytes / MB / skopeoS).toFixed(1)} MB/s; max RSS ${Math.max(...sk.all.map((t) => t.maxRssKiB ?? 0))} KiB`,
      }),
    );
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await registry.stop();
    log('docker-registry stopped');
  }
  return { results, commands, notes };
}
