/**
 * Section "layers" (layer file systems): the app's one pass (digests, diff_ids, listings) over a
 * real root file system layer and over a layer of 200,000 small files, against
 * `gzip -dc | tar -t` and `gzip -dc | sha256sum` on the same blobs in the same run; then the Files
 * tab on the 200,000-file layer (open, expand all, filter while typing) and the browser's RSS
 * growth, per 100k entries and per GiB of layer.
 */
import path from 'node:path';
import type { Browser, Page } from '@playwright/test';
import { measureApp, type AppRun } from './app';
import type { Workspace } from './inputs';
import type { LayerArchive, LayerInputs } from './layer-inputs';
import { SYNTH_DIRS, SYNTH_FILES_PER_DIR } from './layer-inputs';
import { repeat, type Measured } from './native';
import { chromiumRss, measureRuns, median, type QuietGate } from './proc';
import { GiB, MB, result, type Result } from './results';

export const LAYERS_DEFINITIONS = [
  'layers: full analysis = change event → status "done" (in-page clock): every blob digest, gunzip, diff_id and the tar listing of every entry; MB/s over the compressed layer bytes. Baselines on the same blob(s), same run: gzip -dc <blob> | tar -t > /dev/null and gzip -dc <blob> | sha256sum (layers one after the other). Files tab (200k archive, after "done"): tab-files click → file-tree has a box; expand-all click → data-count changed, aria-busy="false", summary without "updating"; typing "f0999" (50 ms between keys) from the first key → summary shows the search, and → settled. RSS growth = peak during the analysis − idle (all Chromium processes).',
];

interface FilesTab {
  openMs: number;
  collapsedCount: number;
  expandMs: number;
  expandedCount: number;
  rssAfterExpandMiB: number;
  typingMs: number;
  searchShownMs: number;
  searchSettledMs: number;
  searchShownAfterLastKeyMs: number;
  searchCount: number;
  summary: string;
}

const SEARCH = 'f0999';

/** Times the Files tab on the page the analysis ran in. Page functions hold no inner functions (see app.ts). */
async function measureFilesTab(page: Page): Promise<FilesTab> {
  const tree = page.getByTestId('file-tree');
  const raf = { polling: 'raf' as const, timeout: 180_000 };
  let t = performance.now();
  await page.getByTestId('tab-files').click();
  await page.waitForFunction(
    () => {
      const el = document.querySelector('[data-testid="file-tree"]');
      if (!el) return false;
      const r = el.getBoundingClientRect();
      return r.width > 0 && r.height > 0;
    },
    undefined,
    raf,
  );
  const openMs = performance.now() - t;
  await page.waitForFunction(
    () => {
      const el = document.querySelector('[data-testid="file-tree"]');
      const s = document.querySelector('[data-testid="tree-summary"]');
      return (
        el?.getAttribute('aria-busy') === 'false' &&
        !!s &&
        / after filters /.test(s.textContent ?? '') &&
        !/updating/.test(s.textContent ?? '')
      );
    },
    undefined,
    raf,
  );
  const collapsedCount = Number(await tree.getAttribute('data-count'));

  t = performance.now();
  await page.getByTestId('expand-all').click();
  await page.waitForFunction(
    (before) => {
      const el = document.querySelector('[data-testid="file-tree"]') as HTMLElement | null;
      const s = document.querySelector('[data-testid="tree-summary"]');
      const b = document.querySelector('[data-testid="expand-all"]');
      return (
        !!el &&
        !!s &&
        b?.getAttribute('aria-pressed') === 'true' &&
        el.getAttribute('aria-busy') === 'false' &&
        Number(el.dataset.count) !== before &&
        !/updating/.test(s.textContent ?? '')
      );
    },
    collapsedCount,
    raf,
  );
  const expandMs = performance.now() - t;
  const expandedCount = Number(await tree.getAttribute('data-count'));
  const rssAfterExpandMiB = chromiumRss().totalKiB / 1024;

  const search = page.getByTestId('file-search');
  await search.click();
  // Key times and the frame the summary first shows the search, all in the page's clock.
  await page.evaluate(`(() => {
    window.__benchKeys = [];
    document.addEventListener('keydown', (e) => { window.__benchKeys.push(performance.now()); }, true);
  })()`);
  t = performance.now();
  const shown = page.waitForFunction(
    (q) => {
      const s = document.querySelector('[data-testid="tree-summary"]');
      return !!s && (s.textContent ?? '').includes(`search "${q}"`) ? performance.now() : false;
    },
    SEARCH,
    raf,
  );
  await search.pressSequentially(SEARCH, { delay: 50 });
  const typed = performance.now();
  const shownInPage = (await (await shown).jsonValue()) as number;
  const keys = (await page.evaluate('window.__benchKeys')) as number[];
  await page.waitForFunction(
    (q) => {
      const el = document.querySelector('[data-testid="file-tree"]');
      const s = document.querySelector('[data-testid="tree-summary"]');
      const text = s?.textContent ?? '';
      return (
        el?.getAttribute('aria-busy') === 'false' && text.includes(`search "${q}"`) && !/updating/.test(text)
      );
    },
    SEARCH,
    raf,
  );
  const settledAt = performance.now();
  return {
    openMs,
    collapsedCount,
    expandMs,
    expandedCount,
    rssAfterExpandMiB,
    typingMs: typed - t,
    searchShownMs: shownInPage - keys[0]!,
    searchSettledMs: settledAt - t,
    searchShownAfterLastKeyMs: shownInPage - keys.at(-1)!,
    searchCount: Number(await tree.getAttribute('data-count')),
    summary: ((await page.getByTestId('tree-summary').textContent()) ?? '').replace(/\s+/g, ' ').trim(),
  };
}

interface NativePair {
  list: Measured[];
  sha: Measured[];
  listMBs: number;
  shaMBs: number;
}

async function nativeFor(
  ws: Workspace,
  archive: LayerArchive,
  runs: number,
  gate: QuietGate,
  log: (s: string) => void,
  commands: string[],
): Promise<NativePair> {
  const list: Measured[] = [];
  const sha: Measured[] = [];
  for (const l of archive.layers) {
    const m = await repeat(ws, gate, log, `gzip -dc ${l.blobPath} | tar -t > /dev/null`, runs);
    commands.push(m.command);
    list.push(m);
    const s = await repeat(ws, gate, log, `gzip -dc ${l.blobPath} | sha256sum`, runs);
    commands.push(s.command);
    const got = `sha256:${s.stdout.trim().split(/\s+/)[0]}`;
    if (got !== l.diffId) throw new Error(`gzip -dc ${l.digest} | sha256sum = ${got}, expected ${l.diffId}`);
    sha.push(s);
  }
  const bytes = archive.layers.reduce((a, l) => a + l.size, 0);
  const sum = (ms: Measured[]) => ms.reduce((a, m) => a + m.seconds, 0);
  return { list, sha, listMBs: bytes / MB / sum(list), shaMBs: bytes / MB / sum(sha) };
}

type LayerRun = AppRun & { after?: FilesTab };

async function appFor(
  browser: Browser,
  url: string,
  ws: Workspace,
  archive: LayerArchive,
  runs: number,
  gate: QuietGate,
  log: (s: string) => void,
  filesTab: boolean,
) {
  const issues: string[] = [];
  const bytes = archive.layers.reduce((a, l) => a + l.size, 0);
  const measured = await measureRuns<LayerRun>(
    gate,
    runs,
    `app on ${archive.label}`,
    async (i) => {
      const r = await measureApp(
        browser,
        url,
        path.join(ws.repo, archive.path),
        filesTab ? measureFilesTab : undefined,
      );
      const runIssues: string[] = [];
      if (r.status !== 'done') runIssues.push(`status ${r.status}`);
      const bad = r.rows.filter((row) => row.digestState !== 'verified' || row.diffIdState !== 'verified');
      if (bad.length)
        runIssues.push(
          `layers not verified: ${bad.map((b) => `${b.digest.slice(0, 19)} ${b.digestState}/${b.diffIdState}`).join(', ')}`,
        );
      const want = archive.layers
        .map((l) => l.digest)
        .sort()
        .join();
      if (
        r.rows
          .map((row) => row.digest)
          .sort()
          .join() !== want
      )
        runIssues.push('layer rows differ from the archive');
      if (r.errors.length) runIssues.push(`page errors: ${r.errors.join('; ')}`);
      if (r.problems.length) runIssues.push(`problems: ${r.problems.join('; ')}`);
      issues.push(...runIssues.map((s) => `run ${i + 1}: ${s}`));
      const f = r.after;
      log(
        `  ${archive.label} run ${i + 1}: analysed in ${(r.verifyMs / 1000).toFixed(2)} s = ` +
          `${(bytes / MB / (r.verifyMs / 1000)).toFixed(1)} MB/s, RSS +${r.growthMiB.toFixed(0)} MiB, ` +
          `other load ${r.otherCores.toFixed(2)} cores` +
          (f
            ? `; Files tab ${f.openMs.toFixed(0)} ms, expand all ${f.expandMs.toFixed(0)} ms (${f.collapsedCount} → ${f.expandedCount} rows), ` +
              `search shown ${f.searchShownMs.toFixed(0)} ms after the 1st key (${f.searchShownAfterLastKeyMs.toFixed(0)} after the last), ${f.searchCount} rows`
            : '') +
          (runIssues.length ? `\n    ISSUES: ${runIssues.join('; ')}` : ''),
      );
      return r;
    },
    (r) => r.otherCores,
    log,
  );
  return { measured, issues, bytes };
}

export async function runLayers(
  browser: Browser,
  url: string,
  ws: Workspace,
  inputs: LayerInputs,
  runs: number,
  gate: QuietGate,
  log: (s: string) => void,
  /** A third memory point: the bench's large OCI archive, with its RSS growth when the app section measured it. */
  third: { archive: LayerArchive; growthMiB: number | null } | null = null,
): Promise<{ results: Result[]; commands: string[] }> {
  const results: Result[] = [];
  const commands: string[] = [];
  const mem: { label: string; growthMiB: number; entries: number; tarGiB: number }[] = [];
  for (const archive of [inputs.rootfs, inputs.files]) {
    const entries = archive.layers.reduce((a, l) => a + l.entries, 0);
    const tarBytes = archive.layers.reduce((a, l) => a + l.tarSize, 0);
    const L = `${archive.label}`;
    log(`Layers: ${L} (${archive.path}, ${entries} entries, ${(tarBytes / MB).toFixed(1)} MB of tar) …`);
    const isFiles = archive === inputs.files;
    const { measured, issues, bytes } = await appFor(browser, url, ws, archive, runs, gate, log, isFiles);
    const native = await nativeFor(ws, archive, runs, gate, log, commands);
    const used = measured.used;
    const m = (f: (r: LayerRun) => number) => median(used.map(f));
    const rec = (f: (r: LayerRun) => number) => ({
      runs: measured.all.map(f),
      runLoads: measured.all.map((r) => r.otherCores),
      undisturbed: measured.summary,
      otherCores: m((r) => r.otherCores),
    });
    const mbs = (r: LayerRun) => bytes / MB / (r.verifyMs / 1000);
    const value = m(mbs);
    const shaBaseline = { tool: 'gzip -dc | sha256sum', value: native.shaMBs, unit: 'MB/s in' };
    const listBaseline = { tool: 'gzip -dc | tar -t', value: native.listMBs, unit: 'MB/s in' };
    const shaRatio = value / native.shaMBs;
    const size = `${(bytes / MB).toFixed(1)} MB gzip → ${(tarBytes / MB).toFixed(1)} MB tar, ${entries.toLocaleString('en-US')} entries`;
    results.push(
      result('layers', `${L}: full analysis (digest, diff_id, listing)`, value, 'MB/s in', {
        ...rec(mbs),
        baseline: shaBaseline,
        goal: '≥ 1.0× gzip -dc | sha256sum',
        met: shaRatio >= 1,
        note:
          `${size}; ${shaRatio >= 1 ? 'met' : `NOT met: ${((1 - shaRatio) * 100).toFixed(0)}% slower than gzip -dc | sha256sum`}` +
          (issues.length ? `; ${issues.join('; ')}` : ''),
        detail: measured.all.map((r) => ({
          verifyMs: Math.round(r.verifyMs),
          statusText: r.statusText,
          rows: r.rows,
          problems: r.problems,
          errors: r.errors,
          perfEntries: r.perfEntries,
          filesTab: r.after,
        })),
      }),
      result('layers', `${L}: same, against gzip -dc | tar -t`, value, 'MB/s in', {
        baseline: listBaseline,
        otherCores: m((r) => r.otherCores),
      }),
      result(
        'layers',
        `${L}: full analysis time`,
        m((r) => r.verifyMs / 1000),
        's',
        {
          ...rec((r) => r.verifyMs / 1000),
          baseline: {
            tool: 'gzip -dc | sha256sum',
            value: native.sha.reduce((a, s) => a + s.seconds, 0),
            unit: 's',
          },
        },
      ),
      result(
        'layers',
        `${L}: RSS growth over idle during the analysis`,
        m((r) => r.growthMiB),
        'MiB',
        {
          ...rec((r) => r.growthMiB),
          note: `per 100k entries ${((m((r) => r.growthMiB) / entries) * 1e5).toFixed(0)} MiB; per GiB of tar ${(m((r) => r.growthMiB) / (tarBytes / GiB)).toFixed(0)} MiB; peak ${m((r) => r.peakMiB).toFixed(0)} MiB`,
          detail: used.map((r) => ({ idleMiB: Math.round(r.idleMiB), peakByTypeMiB: r.peakByTypeMiB })),
        },
      ),
    );
    for (const [label, n] of [
      ['gzip -dc | tar -t > /dev/null', native.list],
      ['gzip -dc | sha256sum', native.sha],
    ] as const) {
      const secs = n.reduce((a, s) => a + s.seconds, 0);
      results.push(
        result('layers', `${L}: ${label} (native)`, bytes / MB / secs, 'MB/s in', {
          runs: n.length === 1 ? n[0]!.runs.map((s) => bytes / MB / s) : undefined,
          runLoads: n.length === 1 ? n[0]!.runLoads : undefined,
          undisturbed: n.length === 1 ? n[0]!.summary : undefined,
          otherCores: Math.max(...n.map((s) => s.otherCores)),
          note: `${secs.toFixed(2)} s; max RSS ${Math.max(...n.map((s) => s.maxRssKiB ?? 0))} KiB`,
        }),
      );
    }
    mem.push({ label: L, growthMiB: m((r) => r.growthMiB), entries, tarGiB: tarBytes / GiB });

    if (isFiles) {
      const f = used.map((r) => r.after).filter((x): x is FilesTab => !!x);
      const fm = (g: (x: FilesTab) => number) => median(f.map(g));
      const frec = (g: (x: FilesTab) => number) => ({
        runs: measured.all.map((r) => (r.after ? g(r.after) : NaN)),
        runLoads: measured.all.map((r) => r.otherCores),
        undisturbed: measured.summary,
        otherCores: m((r) => r.otherCores),
      });
      const expected = SYNTH_DIRS * SYNTH_FILES_PER_DIR;
      const last = f.at(-1);
      results.push(
        result(
          'layers',
          `${L}: Files tab open (click → file-tree visible)`,
          fm((x) => x.openMs),
          'ms',
          {
            ...frec((x) => x.openMs),
            note: last ? `${last.collapsedCount} rows collapsed` : undefined,
          },
        ),
        result(
          'layers',
          `${L}: expand all (click → tree settled)`,
          fm((x) => x.expandMs),
          'ms',
          {
            ...frec((x) => x.expandMs),
            note: last
              ? `${last.collapsedCount} → ${last.expandedCount} rows (${expected} files in the layer); all Chromium RSS after expanding ${fm((x) => x.rssAfterExpandMiB).toFixed(0)} MiB`
              : undefined,
          },
        ),
        result(
          'layers',
          `${L}: filter while typing "${SEARCH}" (1st keydown → summary shows it)`,
          fm((x) => x.searchShownMs),
          'ms',
          {
            ...frec((x) => x.searchShownMs),
            note: last
              ? `typing took ${fm((x) => x.typingMs).toFixed(0)} ms (50 ms between keys); shown ${fm((x) => x.searchShownAfterLastKeyMs).toFixed(0)} ms after the last key, settled ${fm((x) => x.searchSettledMs).toFixed(0)} ms after the 1st; ${last.searchCount} rows; summary "${last.summary}"`
              : undefined,
          },
        ),
      );
    }
  }

  // Memory: growth = c + a·entries + b·(tar bytes), solved exactly over three archives of very
  // different shapes (few entries and many bytes, many entries and few bytes, both).
  if (third) {
    const a = third.archive;
    const entries = a.layers.reduce((x, l) => x + l.entries, 0);
    const tarGiB = a.layers.reduce((x, l) => x + l.tarSize, 0) / GiB;
    let growth = third.growthMiB;
    let how = 'RSS growth from the app section of this run';
    if (growth === null) {
      log(`Layers: RSS growth on ${a.path} (one run, third memory point) …`);
      await gate.wait('app on the bench OCI archive (memory)');
      const r = await measureApp(browser, url, path.join(ws.repo, a.path));
      growth = r.growthMiB;
      how = `one run in this section (${(r.verifyMs / 1000).toFixed(1)} s, other load ${r.otherCores.toFixed(2)} cores)`;
    }
    mem.push({ label: `bench oci-archive (${how})`, growthMiB: growth, entries, tarGiB });
  }
  const perEntries = mem.map((x) => `${x.label} ${((x.growthMiB / x.entries) * 1e5).toFixed(0)}`).join('; ');
  const perGiB = mem.map((x) => `${x.label} ${(x.growthMiB / x.tarGiB).toFixed(0)}`).join('; ');
  const points = mem
    .map(
      (x) =>
        `${x.label}: +${x.growthMiB.toFixed(0)} MiB, ${x.entries.toLocaleString('en-US')} entries, ${(x.tarGiB * 1024).toFixed(0)} MiB of tar`,
    )
    .join('; ');
  const fit = mem.length === 3 ? solve3(mem.map((x) => [1, x.entries / 1e5, x.tarGiB, x.growthMiB])) : null;
  const bounded = fit ? fit[2] <= 50 : null;
  results.push(
    result('layers', 'RSS growth per 100k entries (fit)', fit ? fit[1] : null, 'MiB', {
      note: `growth ÷ entries × 100k per archive: ${perEntries}. Points: ${points}`,
      detail: {
        points: mem,
        fit: fit ? { fixedMiB: fit[0], perHundredKEntriesMiB: fit[1], perGiBMiB: fit[2] } : null,
      },
    }),
    result('layers', 'RSS growth per GiB of layer tar (fit)', fit ? fit[2] : null, 'MiB/GiB', {
      // Not the goal's measure: the three archives also differ in fixed working set (layers
      // decompressed at once, buffer sizes), which an exact fit puts into the bytes term. The
      // bytes series (bytes-series.ts) holds the entries still and varies only the bytes.
      note:
        `growth ÷ GiB of tar per archive: ${perGiB}. Exact fit growth = c + a·entries + b·bytes over the three archives` +
        (fit ? ` (c = ${fit[0].toFixed(0)} MiB fixed)` : ' (not made: the third archive was not measured)') +
        '. ' +
        (bounded === null
          ? ''
          : bounded
            ? 'Growth tracks the entry count, not the layer bytes.'
            : 'The fit gives layer bytes a share; see the bytes series for bytes alone.'),
    }),
    result('layers', 'RSS growth, fixed part (fit)', fit ? fit[0] : null, 'MiB'),
  );
  return { results, commands };
}

/** Solves a 3×3 linear system given as rows [x0, x1, x2, y] (Gaussian elimination); null when singular. */
function solve3(rows: number[][]): [number, number, number] | null {
  const m = rows.map((r) => [...r]);
  for (let c = 0; c < 3; c++) {
    let p = c;
    for (let r = c + 1; r < 3; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    if (Math.abs(m[p]![c]!) < 1e-12) return null;
    [m[c], m[p]] = [m[p]!, m[c]!];
    for (let r = 0; r < 3; r++) {
      if (r === c) continue;
      const f = m[r]![c]! / m[c]![c]!;
      for (let k = c; k < 4; k++) m[r]![k]! -= f * m[c]![k]!;
    }
  }
  return [m[0]![3]! / m[0]![0]!, m[1]![3]! / m[1]![1]!, m[2]![3]! / m[2]![2]!];
}
