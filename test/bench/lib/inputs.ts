/**
 * Benchmark inputs, made at run time by the real tools (umoci, skopeo, gzip, zstd) and reused
 * between runs from test/bench/work/ (gitignored) unless --fresh is given.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { sh, timed } from './proc';

export const REAL_TREE = '/usr/share';
const SYNTH_TARGET = '/opt/synthetic';
const SYNTH_FILE = 4 << 20;
const SYNTH_MIN = 256 << 20;
/** The docker-archive must reach this (decimal MB, as the brief counts them). */
const DOCKER_MIN_BYTES = 500e6;

export interface LayerInfo {
  /** What the layer holds. */
  label: string;
  /** Blob digest in the OCI archive (gzip). */
  digest: string;
  /** Compressed size in the OCI archive. */
  size: number;
  mediaType: string;
  diffId: string;
  /** Path of the extracted gzip blob (relative to the repo). */
  blobPath: string;
}

export interface Inputs {
  createdAt: string;
  /** Every command that shaped an input, as executed from the repo root, in order. */
  commands: string[];
  notes: string[];
  realTree: { path: string; files: number; apparentBytes: number };
  synthetic: { bytes: number; files: number; mix: string };
  dockerArchive: { path: string; size: number };
  ociArchive: { path: string; size: number };
  /** Uncompressed copy of the real-files layer and its zstd re-compression. */
  bigLayer: {
    tarPath: string;
    tarSize: number;
    tarEntries: number;
    gzipPath: string;
    gzipSize: number;
    zstdPath: string;
    zstdSize: number;
    zstdDigest: string;
    /** Its xz re-compression (`docker save | xz` reads the same way), made when first needed. */
    xzPath?: string;
    xzSize?: number;
    diffId: string;
    gzipDigest: string;
  };
  layers: LayerInfo[];
  /** The OCI archive with its layers recompressed as zstd by skopeo, made when first needed. */
  zstdArchive?: { path: string; size: number; layers: LayerInfo[] };
  /** Layer digests in the docker-archive (uncompressed: equal to the diff_ids). */
  dockerLayerDigests: string[];
}

export class Workspace {
  readonly commands: string[] = [];
  constructor(
    readonly repo: string,
    readonly work: string,
  ) {}

  /** Path relative to the repo, as it appears in logged commands. */
  rel(p: string): string {
    return path.relative(this.repo, p) || '.';
  }

  /** Runs a command from the repo root and records it. */
  run(command: string): string {
    this.commands.push(command);
    return sh(command, { cwd: this.repo });
  }
}

// xorshift128: deterministic synthetic content, fast enough (~1 ns per word).
class Rng {
  private s = new Uint32Array([0x9e3779b9, 0x243f6a88, 0xb7e15162, 0x7f4a7c15]);
  next(): number {
    const s = this.s;
    let t = s[3]!;
    t ^= t << 11;
    t ^= t >>> 8;
    s[3] = s[2]!;
    s[2] = s[1]!;
    s[1] = s[0]!;
    t ^= s[0]! ^ (s[0]! >>> 19);
    s[0] = t;
    return t >>> 0;
  }
  fill(buf: Uint8Array): void {
    const words = new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength >>> 2);
    for (let i = 0; i < words.length; i++) words[i] = this.next();
  }
}

const WORDS =
  'request response worker cache layer image digest manifest config blob index tar gzip zstd verify stream chunk reader writer buffer registry proxy tag pull push mount overlay rootfs history user group'.split(
    ' ',
  );
const LEVELS = ['INFO', 'INFO', 'INFO', 'DEBUG', 'WARN', 'ERROR'];

/** A quarter of log-like text (gzip ~4-5×), a quarter of structured records (~10×), half random. */
function synthFile(rng: Rng, kind: number, size: number): Buffer {
  const buf = Buffer.alloc(size);
  if (kind === 0 || kind === 1) {
    rng.fill(buf);
    return buf;
  }
  if (kind === 2) {
    let pos = 0;
    let ts = 1_704_067_200_000 + rng.next();
    while (pos < size) {
      ts += rng.next() % 50;
      const words = Array.from({ length: 3 + (rng.next() % 6) }, () => WORDS[rng.next() % WORDS.length]);
      const line =
        `${new Date(ts).toISOString()} ${LEVELS[rng.next() % LEVELS.length]} worker-${rng.next() % 32} ` +
        `id=${rng.next().toString(16)} path=/v2/${words.slice(0, 2).join('/')}/${rng.next() % 100000} ` +
        `status=${[200, 200, 200, 201, 304, 404, 500][rng.next() % 7]} bytes=${rng.next() % 1e6} msg="${words.join(' ')}"\n`;
      pos += buf.write(line, pos);
    }
    return buf;
  }
  // Fixed-width records with counters, small fields and a little noise.
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let off = 0, n = 0; off + 64 <= size; off += 64, n++) {
    view.setUint32(off, 0x4c4c5242, true); // magic
    view.setUint32(off + 4, n, true);
    view.setUint32(off + 8, n * 7, true);
    view.setUint16(off + 12, rng.next() % 16, true);
    view.setUint16(off + 14, (n >>> 10) & 0xffff, true);
    if (n % 8 === 0) view.setUint32(off + 16, rng.next(), true);
    buf.write('layerlens-record', off + 32, 'latin1');
  }
  return buf;
}

function makeSynthetic(dir: string, total: number): { bytes: number; files: number } {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const rng = new Rng();
  const files = Math.ceil(total / SYNTH_FILE);
  const fixed = new Date('2024-01-01T00:00:00Z');
  for (let i = 0; i < files; i++) {
    const kind = i % 4;
    const name = ['random', 'random', 'log', 'records'][kind]!;
    const sub = path.join(dir, `part-${String(Math.floor(i / 16)).padStart(2, '0')}`);
    mkdirSync(sub, { recursive: true });
    const file = path.join(sub, `${String(i).padStart(3, '0')}-${name}.bin`);
    writeFileSync(file, synthFile(rng, kind, SYNTH_FILE));
    utimesSync(file, fixed, fixed);
  }
  return { bytes: files * SYNTH_FILE, files };
}

function sha256Hex(output: string): string {
  return `sha256:${output.trim().split(/\s+/)[0]}`;
}

interface OciDescriptor {
  mediaType: string;
  digest: string;
  size: number;
}

export function blobPath(layoutDir: string, digest: string): string {
  const [alg, hex] = digest.split(':');
  return path.join(layoutDir, 'blobs', alg!, hex!);
}

/** Reads the (single) image of an extracted OCI layout. */
export function readOciLayout(dir: string): { layers: OciDescriptor[]; diffIds: string[] } {
  const index = JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')) as {
    manifests: OciDescriptor[];
  };
  const manifestDesc = index.manifests[0];
  if (!manifestDesc) throw new Error(`${dir}/index.json lists no manifest`);
  const manifest = JSON.parse(readFileSync(blobPath(dir, manifestDesc.digest), 'utf8')) as {
    config: OciDescriptor;
    layers: OciDescriptor[];
  };
  const config = JSON.parse(readFileSync(blobPath(dir, manifest.config.digest), 'utf8')) as {
    rootfs: { diff_ids: string[] };
  };
  return { layers: manifest.layers, diffIds: config.rootfs.diff_ids };
}

/** Extracts the OCI archive (timed: reported but not counted in any throughput). */
export function extractOci(ws: Workspace, ociTar: string, dest: string) {
  rmSync(dest, { recursive: true, force: true });
  mkdirSync(dest, { recursive: true });
  const cmd = `tar -xf ${ws.rel(ociTar)} -C ${ws.rel(dest)}`;
  return timed(cmd, ws.work, { cwd: ws.repo });
}

export function loadOrCreateInputs(ws: Workspace, fresh: boolean, log: (s: string) => void): Inputs {
  const manifestFile = path.join(ws.work, 'inputs.json');
  if (!fresh && existsSync(manifestFile)) {
    const inputs = JSON.parse(readFileSync(manifestFile, 'utf8')) as Inputs;
    const needed = [
      inputs.dockerArchive.path,
      inputs.ociArchive.path,
      inputs.bigLayer.tarPath,
      inputs.bigLayer.gzipPath,
      inputs.bigLayer.zstdPath,
    ];
    const ok = needed.every((p) => existsSync(path.join(ws.repo, p)));
    if (ok && statSync(path.join(ws.repo, inputs.dockerArchive.path)).size === inputs.dockerArchive.size) {
      log(`Reusing the inputs made at ${inputs.createdAt} (pass --fresh to rebuild them).`);
      return withZstdArchive(ws, withXzCopy(ws, inputs, log), log);
    }
    log('The inputs in test/bench/work are incomplete; rebuilding them.');
  }
  return withZstdArchive(ws, withXzCopy(ws, createInputs(ws, log), log), log);
}

/** The xz copy of the real-files layer, made once (inputs made before it existed gain it too). */
function withXzCopy(ws: Workspace, inputs: Inputs, log: (s: string) => void): Inputs {
  const big = inputs.bigLayer;
  if (big.xzPath && existsSync(path.join(ws.repo, big.xzPath))) return inputs;
  log('xz copy of the real-files layer …');
  const xz = path.join(ws.work, 'big-layer.tar.xz');
  const command = `xz -1 -T2 -c ${big.tarPath} > ${ws.rel(xz)}`;
  ws.run(command);
  big.xzPath = ws.rel(xz);
  big.xzSize = statSync(xz).size;
  inputs.commands.push(command);
  writeFileSync(path.join(ws.work, 'inputs.json'), `${JSON.stringify(inputs, null, 2)}\n`);
  return inputs;
}

/**
 * The OCI archive with zstd layers, as `skopeo copy --dest-compress-format zstd` makes it from the
 * gzip one, and its blobs extracted for the native baseline; made once (inputs made before it
 * existed gain it too).
 */
function withZstdArchive(ws: Workspace, inputs: Inputs, log: (s: string) => void): Inputs {
  const have = inputs.zstdArchive;
  if (
    have &&
    [have.path, ...have.layers.map((l) => l.blobPath)].every((p) => existsSync(path.join(ws.repo, p)))
  )
    return inputs;
  log('skopeo copy → oci-archive with zstd layers …');
  const file = path.join(ws.work, 'bench-oci-zstd.tar');
  const extract = path.join(ws.work, 'oci-zstd-extract');
  const notes: string[] = [];
  const { wrap, done } = skopeoNamespace(ws, notes);
  const command = wrap(
    `skopeo copy --dest-compress-format zstd oci-archive:${inputs.ociArchive.path}:bench:1 oci-archive:${ws.rel(file)}:bench:1`,
  );
  ws.run(command);
  done();
  const ex = extractOci(ws, file, extract);
  const { layers, diffIds } = readOciLayout(extract);
  if (diffIds.join() !== inputs.layers.map((l) => l.diffId).join())
    throw new Error('skopeo’s zstd copy has other diff_ids than the gzip archive');
  inputs.zstdArchive = {
    path: ws.rel(file),
    size: statSync(file).size,
    layers: layers.map((l, i) => ({
      label: inputs.layers[i]?.label ?? `layer ${i}`,
      digest: l.digest,
      size: l.size,
      mediaType: l.mediaType,
      diffId: diffIds[i]!,
      blobPath: ws.rel(blobPath(extract, l.digest)),
    })),
  };
  inputs.commands.push(command, ex.command);
  inputs.notes.push(...notes);
  ws.commands.length = 0;
  writeFileSync(path.join(ws.work, 'inputs.json'), `${JSON.stringify(inputs, null, 2)}\n`);
  return inputs;
}

/**
 * skopeo writes a blob-info cache under /var/lib/containers/cache; a private mount namespace
 * with a scratch directory over /var/lib/containers keeps the machine's copy untouched. `wrap`
 * puts a command in it; `done` removes the scratch directory.
 */
function skopeoNamespace(
  ws: Workspace,
  notes: string[],
): { wrap: (cmd: string) => string; done: () => void } {
  const shadow = path.join(ws.work, 'containers-shadow');
  mkdirSync(shadow, { recursive: true });
  const done = () => rmSync(shadow, { recursive: true, force: true });
  try {
    sh(`unshare --mount --propagation private bash -c 'mount --bind ${shadow} /var/lib/containers && true'`);
    return {
      wrap: (cmd) =>
        `unshare --mount --propagation private bash -c 'mount --bind ${ws.rel(shadow)} /var/lib/containers && ${cmd}'`,
      done,
    };
  } catch {
    notes.push(
      'skopeo ran without a private mount namespace (unshare unavailable): its blob-info cache is the machine one.',
    );
    return { wrap: (cmd) => cmd, done };
  }
}

function createInputs(ws: Workspace, log: (s: string) => void): Inputs {
  const W = ws.work;
  for (const p of [
    'oci-layout',
    'bundle',
    'bench-docker.tar',
    'bench-oci.tar',
    'bench-oci-zstd.tar',
    'oci-extract',
    'oci-zstd-extract',
    'big-layer.tar',
    'big-layer.tar.zst',
    'big-layer.tar.xz',
    'inputs.json',
    'containers-shadow',
  ]) {
    rmSync(path.join(W, p), { recursive: true, force: true });
  }
  mkdirSync(W, { recursive: true });
  const notes: string[] = [];
  const layout = path.join(W, 'oci-layout');
  const L = ws.rel(layout);

  const realFiles = Number(sh(`find ${REAL_TREE} -xdev | wc -l`).trim());
  const realBytes = Number(sh(`du -sb --apparent-size ${REAL_TREE}`).split(/\s+/)[0]);
  notes.push(
    `Real-files layer: a copy of this machine's ${REAL_TREE} (${realFiles} entries, ${(realBytes / 1e6).toFixed(0)} MB apparent), ` +
      'copied into the bundle and packed with umoci repack: one real layer of 500 MB or more, which a debootstrap minbase (~210 MB) is not; the layers section measures a debootstrap root file system.',
  );
  const synthTotal = Math.max(
    SYNTH_MIN,
    Math.ceil((DOCKER_MIN_BYTES * 1.05 - realBytes) / SYNTH_FILE) * SYNTH_FILE,
  );
  const mix =
    '4 MiB files cycling random, random, log-like text, fixed-width records (xorshift128, fixed seed, mtime 2024-01-01): half incompressible';

  // umoci 0.4.7's `insert` writes layers whose tar stream stops right after the last file's data
  // (no padding, no end-of-archive blocks: GNU tar says "Unexpected EOF"), so the layers are
  // made with unpack + repack, which write complete tars.
  notes.push(
    'umoci 0.4.7 `insert` was tried first: its layers lack the tar end-of-archive blocks (GNU tar: "Unexpected EOF in archive"), so the image is built with umoci unpack/repack.',
  );
  log('Building the OCI image with umoci (unpack, copy, repack) …');
  const bundle = path.join(W, 'bundle');
  const B = ws.rel(bundle);
  ws.run(`umoci init --layout ${L}`);
  ws.run(`umoci new --image ${L}:bench`);
  ws.run(`umoci config --image ${L}:bench --author 'Layerlens bench' --config.cmd /bin/sh`);
  ws.run(`umoci unpack --image ${L}:bench ${B}`);
  let t = Date.now();
  ws.run(`mkdir -p ${B}/rootfs/usr && cp -a ${REAL_TREE} ${B}/rootfs${REAL_TREE}`);
  log(`  cp -a ${REAL_TREE}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  t = Date.now();
  ws.run(`umoci repack --refresh-bundle --image ${L}:bench ${B}`);
  log(`  umoci repack (real files): ${((Date.now() - t) / 1000).toFixed(1)} s`);
  const synthDir = path.join(bundle, 'rootfs', SYNTH_TARGET.slice(1));
  log(`Generating ${(synthTotal / 2 ** 20).toFixed(0)} MiB of synthetic data in ${ws.rel(synthDir)} …`);
  const synth = makeSynthetic(synthDir, synthTotal);
  ws.commands.push(
    `# node (test/bench/lib/inputs.ts makeSynthetic): ${synth.files} files × 4 MiB into ${ws.rel(synthDir)}; ${mix}`,
  );
  t = Date.now();
  ws.run(`umoci repack --image ${L}:bench ${B}`);
  log(`  umoci repack (synthetic): ${((Date.now() - t) / 1000).toFixed(1)} s`);
  rmSync(bundle, { recursive: true, force: true });

  const { wrap, done } = skopeoNamespace(ws, notes);
  const docker = path.join(W, 'bench-docker.tar');
  const oci = path.join(W, 'bench-oci.tar');
  log('skopeo copy → docker-archive and oci-archive …');
  t = Date.now();
  ws.run(wrap(`skopeo copy oci:${L}:bench docker-archive:${ws.rel(docker)}:bench:1`));
  log(`  docker-archive: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  t = Date.now();
  ws.run(wrap(`skopeo copy oci:${L}:bench oci-archive:${ws.rel(oci)}:bench:1`));
  log(`  oci-archive: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  rmSync(layout, { recursive: true, force: true });
  done();

  const dockerSize = statSync(docker).size;
  if (dockerSize < DOCKER_MIN_BYTES)
    notes.push(`WARNING: the docker-archive is only ${dockerSize} bytes (< 500 MB).`);

  // The blobs of the OCI archive, for the per-layer baselines and the library page.
  const extract = path.join(W, 'oci-extract');
  extractOci(ws, oci, extract);
  ws.commands.push(`tar -xf ${ws.rel(oci)} -C ${ws.rel(extract)}`);
  const { layers, diffIds } = readOciLayout(extract);
  const labels = [`real files (${REAL_TREE})`, `synthetic (${SYNTH_TARGET})`];
  const layerInfos: LayerInfo[] = layers.map((l, i) => ({
    label: labels[i] ?? `layer ${i}`,
    digest: l.digest,
    size: l.size,
    mediaType: l.mediaType,
    diffId: diffIds[i]!,
    blobPath: ws.rel(blobPath(extract, l.digest)),
  }));
  const big = layerInfos[0]!;

  log('Uncompressed and zstd copies of the real-files layer …');
  const bigTar = path.join(W, 'big-layer.tar');
  const bigZst = path.join(W, 'big-layer.tar.zst');
  ws.run(`gzip -dc ${big.blobPath} > ${ws.rel(bigTar)}`);
  ws.run(`zstd -3 -q -f ${ws.rel(bigTar)} -o ${ws.rel(bigZst)}`);
  const tarSha = sha256Hex(sh(`sha256sum ${bigTar}`));
  if (tarSha !== big.diffId)
    throw new Error(`gzip -dc of ${big.digest} gives ${tarSha}, config says ${big.diffId}`);
  const tarEntries = Number(sh(`tar -tf ${bigTar} | wc -l`).trim());
  const zstdDigest = sha256Hex(sh(`sha256sum ${bigZst}`));

  const dockerManifest = JSON.parse(sh(`tar -xOf ${docker} manifest.json`)) as { Layers: string[] }[];
  const dockerLayerDigests = (dockerManifest[0]?.Layers ?? []).map(
    (p) =>
      `sha256:${path
        .basename(p)
        .replace(/\.tar$/, '')
        .replace(/^sha256[:/]?/, '')}`,
  );

  const inputs: Inputs = {
    createdAt: new Date().toISOString(),
    commands: [...ws.commands],
    notes,
    realTree: { path: REAL_TREE, files: realFiles, apparentBytes: realBytes },
    synthetic: { bytes: synth.bytes, files: synth.files, mix },
    dockerArchive: { path: ws.rel(docker), size: dockerSize },
    ociArchive: { path: ws.rel(oci), size: statSync(oci).size },
    bigLayer: {
      tarPath: ws.rel(bigTar),
      tarSize: statSync(bigTar).size,
      tarEntries,
      gzipPath: big.blobPath,
      gzipSize: big.size,
      zstdPath: ws.rel(bigZst),
      zstdSize: statSync(bigZst).size,
      zstdDigest,
      diffId: big.diffId,
      gzipDigest: big.digest,
    },
    layers: layerInfos,
    dockerLayerDigests,
  };
  writeFileSync(path.join(W, 'inputs.json'), `${JSON.stringify(inputs, null, 2)}\n`);
  ws.commands.length = 0;
  return inputs;
}
