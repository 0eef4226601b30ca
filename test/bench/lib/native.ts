/**
 * Native baselines on the same files, in the same run: sha256sum, gzip -dc | sha256sum,
 * zstd -dc | sha256sum, and the tools that match each library comparison.
 */
import path from 'node:path';
import { extractOci, readOciLayout, type Inputs, type LayerInfo, type Workspace } from './inputs';
import { CpuWatch, measureRuns, median, sh, timed, type QuietGate } from './proc';
import { MB, result, type Result } from './results';

export interface NativeFigures {
  /** sha256sum over the docker-archive, MB/s. */
  dockerSha256: number;
  /** gzip -dc | sha256sum over every layer of the OCI archive, MB/s of compressed input. */
  ociGunzipSha256: number;
  /** zstd -dc | sha256sum over every layer of its zstd copy, MB/s of compressed input. */
  ociUnzstdSha256: number;
  /** Same, for the real-files layer alone. */
  bigLayerGunzipSha256: number;
  bigLayerSha256: number;
  bigLayerGunzip: number;
  bigLayerZstd: number;
  bigLayerZstdSha256: number;
  /** xz -dc of the real-files layer's xz copy, MB/s of compressed input. */
  bigLayerUnxz: number;
  bigLayerTarList: number;
}

export interface Measured {
  /** Median over the undisturbed runs (all runs when none was). */
  seconds: number;
  runLoads: number[];
  summary: string;
  /** Cores busy with other people's work while it ran (median over the runs). */
  otherCores: number;
  runs: number[];
  maxRssKiB: number | null;
  stdout: string;
  command: string;
}

export async function repeat(
  ws: Workspace,
  gate: QuietGate,
  log: (s: string) => void,
  command: string,
  runs: number,
): Promise<Measured> {
  const m = await measureRuns(
    gate,
    runs,
    command,
    () => {
      const w = new CpuWatch();
      const t = timed(command, ws.work, { cwd: ws.repo });
      return { ...t, otherCores: w.stop().otherCores };
    },
    (t) => t.otherCores,
    log,
  );
  const rss = m.all.map((t) => t.maxRssKiB).filter((v): v is number => v !== null);
  return {
    seconds: median(m.used.map((t) => t.seconds)),
    otherCores: median(m.used.map((t) => t.otherCores)),
    runs: m.all.map((t) => t.seconds),
    runLoads: m.all.map((t) => t.otherCores),
    summary: m.summary,
    maxRssKiB: rss.length ? Math.max(...rss) : null,
    stdout: m.all[0]!.stdout,
    command,
  };
}

/** The per-run record of a measured command, with its figure computed from seconds. */
export function rec(m: Measured, value: (seconds: number) => number) {
  return {
    runs: m.runs.map(value),
    runLoads: m.runLoads,
    undisturbed: m.summary,
    otherCores: m.otherCores,
  };
}

function hashOf(stdout: string): string {
  return `sha256:${stdout.trim().split(/\s+/)[0]}`;
}

export async function runNative(
  ws: Workspace,
  inputs: Inputs,
  runs: number,
  gate: QuietGate,
  log: (s: string) => void,
): Promise<{ results: Result[]; figures: NativeFigures; commands: string[] }> {
  const results: Result[] = [];
  const commands: string[] = [];
  const r = (m: Measured) => {
    commands.push(m.command);
    return m;
  };
  const docker = inputs.dockerArchive.path;
  const big = inputs.bigLayer;

  // Every input comes from the page cache for both the tools and the browser.
  const xzPath = big.xzPath as string;
  const xzSize = big.xzSize as number;
  sh(
    `cat ${docker} ${inputs.ociArchive.path} ${inputs.zstdArchive?.path ?? ''} ${big.tarPath} ${big.zstdPath} ${xzPath} > /dev/null`,
    {
      cwd: ws.repo,
    },
  );

  log('sha256sum over the docker-archive …');
  const dockerSha = r(await repeat(ws, gate, log, `sha256sum ${docker}`, runs));
  const dockerMBs = inputs.dockerArchive.size / MB / dockerSha.seconds;
  results.push(
    result('native', 'sha256sum bench-docker.tar', dockerMBs, 'MB/s', {
      ...rec(dockerSha, (s) => inputs.dockerArchive.size / MB / s),
      note: `${dockerSha.seconds.toFixed(2)} s, max RSS ${dockerSha.maxRssKiB} KiB`,
    }),
  );

  log('Extracting the OCI archive (timed, not counted) …');
  const extractDir = path.join(ws.work, 'oci-extract');
  const ex = extractOci(ws, path.join(ws.repo, inputs.ociArchive.path), extractDir);
  commands.push(ex.command);
  results.push(
    result('native', 'tar -xf bench-oci.tar (prep, not counted)', ex.seconds, 's', {
      note: `${(inputs.ociArchive.size / MB / ex.seconds).toFixed(0)} MB/s`,
    }),
  );
  const layout = readOciLayout(extractDir);
  if (layout.layers.map((l) => l.digest).join() !== inputs.layers.map((l) => l.digest).join()) {
    throw new Error('the extracted OCI archive does not match test/bench/work/inputs.json: run with --fresh');
  }

  /** `tool -dc <blob> | sha256sum` of each layer, one after the other: MB/s of compressed input. */
  const perLayer = async (tool: 'gzip' | 'zstd', layers: LayerInfo[], archive: string) => {
    log(`${tool} -dc | sha256sum per layer of ${archive} …`);
    let totalIn = 0;
    let totalSeconds = 0;
    let first = 0;
    const loads: number[] = [];
    for (const [i, layer] of layers.entries()) {
      const m = r(await repeat(ws, gate, log, `${tool} -dc ${layer.blobPath} | sha256sum`, runs));
      const got = hashOf(m.stdout);
      if (got !== layer.diffId)
        throw new Error(`${tool} -dc ${layer.digest} | sha256sum = ${got}, expected ${layer.diffId}`);
      totalIn += layer.size;
      totalSeconds += m.seconds;
      loads.push(m.otherCores);
      const mbs = layer.size / MB / m.seconds;
      if (i === 0) first = mbs;
      results.push(
        result('native', `${tool} -dc | sha256sum, ${archive} layer ${i}: ${layer.label}`, mbs, 'MB/s in', {
          ...rec(m, (s) => layer.size / MB / s),
          note: `${(layer.size / MB).toFixed(1)} MB ${tool} in ${m.seconds.toFixed(2)} s; max RSS ${m.maxRssKiB} KiB`,
        }),
      );
    }
    const all = totalIn / MB / totalSeconds;
    results.push(
      result('native', `${tool} -dc | sha256sum, all layers of ${archive}`, all, 'MB/s in', {
        otherCores: Math.max(...loads),
        note: `${(totalIn / MB).toFixed(1)} MB of ${tool} in ${totalSeconds.toFixed(2)} s (layers one after the other)`,
      }),
    );
    return { all, first };
  };
  const gzipLayers = await perLayer('gzip', inputs.layers, 'bench-oci.tar');
  const ociMBs = gzipLayers.all;
  const bigPipeline = gzipLayers.first;
  const zstdLayers = inputs.zstdArchive
    ? await perLayer('zstd', inputs.zstdArchive.layers, 'bench-oci-zstd.tar')
    : { all: NaN };
  const ociSha = r(await repeat(ws, gate, log, `sha256sum ${inputs.ociArchive.path}`, runs));
  results.push(
    result('native', 'sha256sum bench-oci.tar (info)', inputs.ociArchive.size / MB / ociSha.seconds, 'MB/s', {
      ...rec(ociSha, (s) => inputs.ociArchive.size / MB / s),
    }),
  );

  log('zstd -dc | sha256sum on the zstd copy of the real-files layer …');
  const zs = r(await repeat(ws, gate, log, `zstd -dc ${big.zstdPath} | sha256sum`, runs));
  if (hashOf(zs.stdout) !== big.diffId) throw new Error('zstd -dc | sha256sum does not give the diff_id');
  const zstdSha = big.zstdSize / MB / zs.seconds;
  results.push(
    result('native', 'zstd -dc | sha256sum, real-files layer (zstd -3)', zstdSha, 'MB/s in', {
      ...rec(zs, (s) => big.zstdSize / MB / s),
      note: `${(big.zstdSize / MB).toFixed(1)} MB zstd → ${(big.tarSize / MB).toFixed(1)} MB; ${(big.tarSize / MB / zs.seconds).toFixed(0)} MB/s out`,
    }),
  );

  log('Baselines for the library comparisons …');
  const sha = r(await repeat(ws, gate, log, `sha256sum ${big.tarPath}`, runs));
  if (hashOf(sha.stdout) !== big.diffId) throw new Error('sha256sum of big-layer.tar is not the diff_id');
  const gz = r(await repeat(ws, gate, log, `gzip -dc ${big.gzipPath} > /dev/null`, runs));
  const zd = r(await repeat(ws, gate, log, `zstd -dc ${big.zstdPath} > /dev/null`, runs));
  const xd = r(await repeat(ws, gate, log, `xz -dc ${xzPath} > /dev/null`, runs));
  const tl = r(await repeat(ws, gate, log, `tar -tf ${big.tarPath} > /dev/null`, runs));
  const figures: NativeFigures = {
    dockerSha256: dockerMBs,
    ociGunzipSha256: ociMBs,
    ociUnzstdSha256: zstdLayers.all,
    bigLayerGunzipSha256: bigPipeline,
    bigLayerSha256: big.tarSize / MB / sha.seconds,
    bigLayerGunzip: big.gzipSize / MB / gz.seconds,
    bigLayerZstd: big.zstdSize / MB / zd.seconds,
    bigLayerZstdSha256: zstdSha,
    bigLayerUnxz: xzSize / MB / xd.seconds,
    bigLayerTarList: big.tarSize / MB / tl.seconds,
  };
  results.push(
    result('native', 'sha256sum big-layer.tar', figures.bigLayerSha256, 'MB/s', {
      otherCores: sha.otherCores,
    }),
    result('native', 'gzip -dc > /dev/null, real-files layer', figures.bigLayerGunzip, 'MB/s in', {
      ...rec(gz, (s) => big.gzipSize / MB / s),
    }),
    result('native', 'zstd -dc > /dev/null, real-files layer', figures.bigLayerZstd, 'MB/s in', {
      ...rec(zd, (s) => big.zstdSize / MB / s),
    }),
    result('native', 'xz -dc > /dev/null, real-files layer (xz -1)', figures.bigLayerUnxz, 'MB/s in', {
      ...rec(xd, (s) => xzSize / MB / s),
      note: `${(xzSize / MB).toFixed(1)} MB xz → ${(big.tarSize / MB).toFixed(1)} MB`,
    }),
    result('native', 'tar -tf big-layer.tar > /dev/null', figures.bigLayerTarList, 'MB/s', {
      ...rec(tl, (s) => big.tarSize / MB / s),
    }),
  );
  return { results, figures, commands };
}
