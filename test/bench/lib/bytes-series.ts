/**
 * Memory against layer bytes, with the entry count held still: three OCI image layouts (tar) of
 * one gzip layer each, 256 files of incompressible data each, 64 KiB, 4 MiB and 10 MiB per file
 * (16 MiB, 1 GiB and 2.5 GiB of layer), and the same three images as docker-archives (skopeo
 * writes their layers uncompressed). If memory followed the image's bytes, the browser's RSS growth
 * would rise with them; bounded by the tree, it stays where the reading (and decompression)
 * pipeline's working set puts it. Made with umoci and skopeo at run time and reused from
 * test/bench/work/bytes-series/.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from '@playwright/test';
import { measureApp } from './app';
import type { Workspace } from './inputs';
import { skopeoWrapper } from './layer-inputs';
import { median, type QuietGate } from './proc';
import { GiB, MiB, result, type Result } from './results';

const FILES = 256;
const SIZES_KIB = [64, 4096, 10240];

interface SeriesArchive {
  path: string;
  fileKiB: number;
  /** Bytes of file content in the layer (the tar is that plus 256 headers). */
  contentBytes: number;
  size: number;
  /** The same image as a docker-archive (uncompressed layer), made by skopeo from the OCI one. */
  docker?: { path: string; size: number };
}

const KINDS = [
  { key: 'oci', label: 'OCI archive, gzip layer' },
  { key: 'docker', label: 'docker-archive, uncompressed layer' },
] as const;

export const BYTES_SERIES_DEFINITIONS = [
  'bytes series: three OCI image layout tars made by umoci, one gzip layer of 256 files of xorshift data each (64 KiB, 4 MiB, 10 MiB per file), and the same images copied by skopeo to docker-archives (uncompressed layers); RSS growth over idle (all Chromium processes) during the full analysis, median of the runs. "per GiB beyond 1 GiB" = (growth at 2.5 GiB − growth at 1 GiB) ÷ 1.5: what each further GiB of image costs with the tree held still.',
];

/** Deterministic incompressible bytes (xorshift32), so that gzip keeps the layer's size. */
function fill(buf: Uint8Array, seed: number): void {
  let x = seed | 1;
  const words = new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength >> 2);
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
}

/** Where and how series archives are made. */
interface Maker {
  ws: Workspace;
  dir: string;
  skopeo: (cmd: string) => string;
  log: (s: string) => void;
}

function make(maker: Maker, fileKiB: number): SeriesArchive {
  const { ws, dir, log } = maker;
  const name = `files-${FILES}x${fileKiB}k`;
  const out = path.join(dir, `${name}.tar`);
  const marker = `${out}.json`;
  if (existsSync(out) && existsSync(marker)) {
    const a = JSON.parse(readFileSync(marker, 'utf8')) as SeriesArchive;
    if (statSync(out).size === a.size) return withDocker(maker, name, a, marker);
  }
  log(`  making ${name} (${((FILES * fileKiB) / 1024).toFixed(0)} MiB of files) with umoci …`);
  const L = ws.rel(path.join(dir, `${name}-layout`));
  const B = ws.rel(path.join(dir, `${name}-bundle`));
  rmSync(path.join(ws.repo, L), { recursive: true, force: true });
  rmSync(path.join(ws.repo, B), { recursive: true, force: true });
  ws.run(`umoci init --layout ${L}`);
  ws.run(`umoci new --image ${L}:t`);
  ws.run(`umoci unpack --image ${L}:t ${B}`);
  const data = path.join(ws.repo, B, 'rootfs', 'data');
  mkdirSync(data, { recursive: true });
  const buf = new Uint8Array(fileKiB * 1024);
  for (let i = 0; i < FILES; i++) {
    fill(buf, 0x9e3779b9 ^ (i * 2654435761));
    writeFileSync(path.join(data, `f${String(i).padStart(3, '0')}`), buf);
  }
  ws.commands.push(
    `# node (test/bench/lib/bytes-series.ts): ${FILES} files of ${fileKiB} KiB of xorshift32 data in ${B}/rootfs/data`,
  );
  ws.run(`umoci repack --image ${L}:t ${B}`);
  ws.run(`tar -C ${L} -cf ${ws.rel(out)} .`);
  rmSync(path.join(ws.repo, L), { recursive: true, force: true });
  rmSync(path.join(ws.repo, B), { recursive: true, force: true });
  const a: SeriesArchive = {
    path: ws.rel(out),
    fileKiB,
    contentBytes: FILES * fileKiB * 1024,
    size: statSync(out).size,
  };
  writeFileSync(marker, `${JSON.stringify(a, null, 2)}\n`);
  return withDocker(maker, name, a, marker);
}

/** The docker-archive twin of a series archive, made once by skopeo from the OCI archive. */
function withDocker(
  { ws, dir, skopeo, log }: Maker,
  name: string,
  a: SeriesArchive,
  marker: string,
): SeriesArchive {
  const out = path.join(dir, `${name}-docker.tar`);
  if (a.docker && existsSync(out) && statSync(out).size === a.docker.size) return a;
  log(`  copying ${name} to a docker-archive with skopeo …`);
  rmSync(out, { force: true });
  ws.run(skopeo(`skopeo copy oci-archive:${a.path} docker-archive:${ws.rel(out)}:bench/series:1`));
  const withTwin: SeriesArchive = { ...a, docker: { path: ws.rel(out), size: statSync(out).size } };
  writeFileSync(marker, `${JSON.stringify(withTwin, null, 2)}\n`);
  return withTwin;
}

interface SeriesRun {
  browser: Browser;
  url: string;
  ws: Workspace;
  runs: number;
  gate: QuietGate;
  log: (s: string) => void;
}

export async function runBytesSeries(
  browser: Browser,
  url: string,
  ws: Workspace,
  runs: number,
  gate: QuietGate,
  log: (s: string) => void,
): Promise<{ results: Result[]; commands: string[] }> {
  const dir = path.join(ws.work, 'bytes-series');
  mkdirSync(dir, { recursive: true });
  const before = ws.commands.length;
  log(`Bytes series: ${FILES} files per layer, ${SIZES_KIB.map((k) => `${k} KiB`).join(', ')} each …`);
  const maker: Maker = { ws, dir, skopeo: skopeoWrapper(ws, []), log };
  const archives = SIZES_KIB.map((k) => make(maker, k));
  const results: Result[] = [];
  for (const kind of KINDS)
    results.push(...(await measureKind({ browser, url, ws, runs, gate, log }, kind, archives)));
  return { results, commands: ws.commands.slice(before) };
}

/** One kind of archive across the three sizes: growth per size, and per GiB beyond 1 GiB. */
async function measureKind(
  { browser, url, ws, runs, gate, log }: SeriesRun,
  kind: (typeof KINDS)[number],
  archives: SeriesArchive[],
): Promise<Result[]> {
  const growth: number[] = [];
  const results: Result[] = [];
  for (const a of archives) {
    const file = kind.key === 'oci' ? a.path : (a.docker as { path: string }).path;
    const all: number[] = [];
    const issues: string[] = [];
    for (let i = 0; i < runs; i++) {
      await gate.wait(`bytes series ${kind.key} ${a.fileKiB} KiB (run ${i + 1})`);
      const r = await measureApp(browser, url, path.join(ws.repo, file));
      const bad = r.rows.filter((row) => row.digestState !== 'verified' || row.diffIdState !== 'verified');
      if (r.status !== 'done' || bad.length > 0 || r.errors.length > 0)
        issues.push(
          `run ${i + 1}: status ${r.status}, ${bad.length} layers not verified ${r.errors.join('; ')}`,
        );
      all.push(r.growthMiB);
      log(
        `  ${kind.key} ${a.fileKiB} KiB × ${FILES}: verified in ${(r.verifyMs / 1000).toFixed(2)} s, RSS +${r.growthMiB.toFixed(0)} MiB (peak ${r.peakMiB.toFixed(0)})`,
      );
    }
    const g = median(all);
    growth.push(g);
    results.push(
      result(
        'layers',
        `bytes series (${kind.label}): RSS growth, ${FILES} entries, ${(a.contentBytes / MiB).toFixed(0)} MiB of files`,
        g,
        'MiB',
        { runs: all, ...(issues.length ? { note: issues.join('; ') } : {}) },
      ),
    );
  }
  const [, oneGiB, big] = archives as [SeriesArchive, SeriesArchive, SeriesArchive];
  const perGiB =
    ((growth[2] as number) - (growth[1] as number)) / ((big.contentBytes - oneGiB.contentBytes) / GiB);
  results.push(
    result(
      'layers',
      `bytes series (${kind.label}): RSS growth per GiB beyond 1 GiB, entries held still`,
      perGiB,
      'MiB/GiB',
      {
        goal: 'bounded by the tree, not layer bytes (≤ 50 MiB/GiB)',
        met: perGiB <= 50,
        note: `growth ${growth.map((g) => `+${g.toFixed(0)}`).join(', ')} MiB at ${archives.map((a) => `${(a.contentBytes / MiB).toFixed(0)} MiB`).join(', ')} of files`,
      },
    ),
  );
  return results;
}
