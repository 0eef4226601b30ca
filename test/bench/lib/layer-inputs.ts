/**
 * Inputs of the "layers" section, made at run time by real tools and reused between runs from
 * test/bench/work/layers/ (gitignored): a Debian root file system made by debootstrap (or, when
 * that fails, a copy of this machine's /usr, with the reason recorded), and a synthetic layer of
 * 200,000 small files; each packed as an OCI image with umoci and skopeo (gzip layers).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { blobPath, extractOci, readOciLayout, type Workspace } from './inputs';
import { sh } from './proc';

export const DEBIAN_MIRROR = 'http://deb.debian.org/debian';
export const SYNTH_DIRS = 200;
export const SYNTH_FILES_PER_DIR = 1000;
/** Where the synthetic files live in the image: /data/d000/f0000 … /data/d199/f0999. */
export const SYNTH_ROOT = 'data';

export interface LayerBlob {
  digest: string;
  diffId: string;
  /** Compressed (gzip) size. */
  size: number;
  /** Size of the uncompressed tar (gzip -dc | wc -c). */
  tarSize: number;
  /** Entries GNU tar lists (gzip -dc | tar -t | wc -l). */
  entries: number;
  /** Extracted blob, relative to the repo. */
  blobPath: string;
}

export interface LayerArchive {
  label: string;
  /** Relative to the repo. */
  path: string;
  size: number;
  layers: LayerBlob[];
  /** What the layer holds, in a sentence. */
  content: string;
}

export interface LayerInputs {
  createdAt: string;
  commands: string[];
  notes: string[];
  rootfs: LayerArchive;
  files: LayerArchive;
}

/** Removes a tree without crossing into other file systems (a failed debootstrap may leave /proc mounted). */
function removeTree(dir: string): void {
  if (!existsSync(dir)) return;
  for (const m of ['proc', 'sys', 'dev/pts', 'dev']) {
    sh(`mountpoint -q ${path.join(dir, m)} && umount -l ${path.join(dir, m)} || true`);
  }
  sh(`rm -rf --one-file-system ${dir}`);
}

/** skopeo keeps a blob-info cache under /var/lib/containers: a private mount keeps the machine's copy untouched. */
export function skopeoWrapper(ws: Workspace, notes: string[]): (cmd: string) => string {
  const shadow = path.join(ws.work, 'containers-shadow');
  mkdirSync(shadow, { recursive: true });
  try {
    sh(`unshare --mount --propagation private bash -c 'mount --bind ${shadow} /var/lib/containers && true'`);
    return (cmd) =>
      `unshare --mount --propagation private bash -c 'mount --bind ${ws.rel(shadow)} /var/lib/containers && ${cmd}'`;
  } catch {
    notes.push('skopeo ran without a private mount namespace (unshare unavailable).');
    return (cmd) => cmd;
  }
}

function describeLayers(ws: Workspace, archive: string, extractDir: string): LayerBlob[] {
  extractOci(ws, archive, extractDir);
  ws.commands.push(`tar -xf ${ws.rel(archive)} -C ${ws.rel(extractDir)}`);
  const { layers, diffIds } = readOciLayout(extractDir);
  return layers.map((l, i) => {
    const blob = ws.rel(blobPath(extractDir, l.digest));
    const entries = Number(sh(`gzip -dc ${blob} | tar -t | wc -l`, { cwd: ws.repo }).trim());
    const tarSize = Number(sh(`gzip -dc ${blob} | wc -c`, { cwd: ws.repo }).trim());
    ws.commands.push(`gzip -dc ${blob} | tar -t | wc -l  # ${entries}`);
    return { digest: l.digest, diffId: diffIds[i]!, size: l.size, tarSize, entries, blobPath: blob };
  });
}

/** Writes SYNTH_DIRS × SYNTH_FILES_PER_DIR files of 200–499 bytes (fixed content and mtime). */
function makeSmallFiles(dir: string): { files: number; bytes: number } {
  const fixed = new Date('2024-01-01T00:00:00Z');
  let files = 0;
  let bytes = 0;
  const filler = 'layerlens synthetic small file; the quick brown fox jumps over the lazy dog. '.repeat(8);
  for (let d = 0; d < SYNTH_DIRS; d++) {
    const sub = path.join(dir, `d${String(d).padStart(3, '0')}`);
    mkdirSync(sub, { recursive: true });
    for (let f = 0; f < SYNTH_FILES_PER_DIR; f++) {
      const n = d * SYNTH_FILES_PER_DIR + f;
      const size = 200 + ((n * 37) % 300);
      const head = `file ${n} of ${SYNTH_DIRS * SYNTH_FILES_PER_DIR}\n`;
      const body = (head + filler).slice(0, size - 1) + '\n';
      const file = path.join(sub, `f${String(f).padStart(4, '0')}`);
      writeFileSync(file, body);
      utimesSync(file, fixed, fixed);
      files++;
      bytes += body.length;
    }
    utimesSync(sub, fixed, fixed);
  }
  return { files, bytes };
}

export function loadOrCreateLayerInputs(
  ws: Workspace,
  fresh: boolean,
  log: (s: string) => void,
): LayerInputs {
  const dir = path.join(ws.work, 'layers');
  const manifestFile = path.join(dir, 'layer-inputs.json');
  if (!fresh && existsSync(manifestFile)) {
    const inputs = JSON.parse(readFileSync(manifestFile, 'utf8')) as LayerInputs;
    const ok = [inputs.rootfs, inputs.files].every(
      (a) =>
        existsSync(path.join(ws.repo, a.path)) &&
        statSync(path.join(ws.repo, a.path)).size === a.size &&
        a.layers.every((l) => existsSync(path.join(ws.repo, l.blobPath))),
    );
    if (ok) {
      log(`Reusing the layer inputs made at ${inputs.createdAt} (--fresh rebuilds them).`);
      return inputs;
    }
    log('The layer inputs in test/bench/work/layers are incomplete; rebuilding them.');
  }
  return createLayerInputs(ws, dir, log);
}

function createLayerInputs(ws: Workspace, dir: string, log: (s: string) => void): LayerInputs {
  const commandsBefore = ws.commands.length;
  const notes: string[] = [];
  mkdirSync(dir, { recursive: true });
  for (const p of [
    'oci-rootfs',
    'oci-files',
    'bundle-rootfs',
    'bundle-files',
    'extract-rootfs',
    'extract-files',
  ]) {
    removeTree(path.join(dir, p));
  }
  const wrap = skopeoWrapper(ws, notes);
  const D = ws.rel(dir);

  // (a) A real root file system: debootstrap, reused once it succeeded (marker file beside it).
  const rootfsDir = path.join(dir, 'debian-rootfs');
  const marker = `${rootfsDir}.ok`;
  const debootstrap = `debootstrap --variant=minbase stable ${ws.rel(rootfsDir)} ${DEBIAN_MIRROR}`;
  let rootfsSource = ws.rel(rootfsDir);
  let rootfsContent: string;
  if (existsSync(marker)) {
    log(`Reusing the debootstrap root file system in ${ws.rel(rootfsDir)}.`);
    ws.commands.push(`${debootstrap}  # made ${readFileSync(marker, 'utf8').trim()}, reused`);
    rootfsContent = `Debian stable minbase made by debootstrap (${readFileSync(marker, 'utf8').trim()})`;
  } else {
    removeTree(rootfsDir);
    if (!existsSync('/usr/sbin/debootstrap')) {
      try {
        ws.run('apt-get install -y -q debootstrap');
      } catch (e) {
        notes.push(`apt-get install debootstrap failed: ${String(e).split('\n')[0]}`);
      }
    }
    log(`${debootstrap} …`);
    const t = Date.now();
    try {
      ws.run(debootstrap);
      const version = sh(`cat ${rootfsDir}/etc/debian_version`).trim();
      writeFileSync(marker, `${new Date().toISOString()}, Debian ${version}\n`);
      log(`  debootstrap: ${((Date.now() - t) / 1000).toFixed(0)} s (Debian ${version})`);
      rootfsContent = `Debian stable (${version}) minbase made by debootstrap from ${DEBIAN_MIRROR}`;
    } catch (e) {
      const why = e instanceof Error ? e.message.split('\n').slice(0, 3).join(' ') : String(e);
      notes.push(
        `debootstrap failed (${why}); the real root file system layer is this machine's /usr instead.`,
      );
      log(`  debootstrap failed: ${why}; falling back to /usr`);
      removeTree(rootfsDir);
      rootfsSource = '/usr';
      rootfsContent = "a copy of this machine's /usr (debootstrap failed)";
    }
  }

  log('Packing the root file system with umoci (unpack, copy, repack) and skopeo …');
  const L1 = `${D}/oci-rootfs`;
  const B1 = `${D}/bundle-rootfs`;
  ws.run(`umoci init --layout ${L1}`);
  ws.run(`umoci new --image ${L1}:rootfs`);
  ws.run(`umoci config --image ${L1}:rootfs --author 'Layerlens bench' --config.cmd /bin/bash`);
  ws.run(`umoci unpack --image ${L1}:rootfs ${B1}`);
  if (rootfsSource === '/usr') ws.run(`mkdir -p ${B1}/rootfs/usr && cp -a /usr/. ${B1}/rootfs/usr/`);
  else ws.run(`cp -a ${rootfsSource}/. ${B1}/rootfs/`);
  ws.run(`umoci repack --image ${L1}:rootfs ${B1}`);
  removeTree(path.join(dir, 'bundle-rootfs'));
  const rootfsArchive = path.join(dir, 'rootfs-oci.tar');
  rmSync(rootfsArchive, { force: true });
  ws.run(wrap(`skopeo copy oci:${L1}:rootfs oci-archive:${ws.rel(rootfsArchive)}:bench/rootfs:1`));
  removeTree(path.join(dir, 'oci-rootfs'));

  // (b) 200,000 small files.
  log(`Writing ${SYNTH_DIRS * SYNTH_FILES_PER_DIR} small files and packing them with umoci …`);
  const L2 = `${D}/oci-files`;
  const B2 = `${D}/bundle-files`;
  ws.run(`umoci init --layout ${L2}`);
  ws.run(`umoci new --image ${L2}:files`);
  ws.run(`umoci config --image ${L2}:files --author 'Layerlens bench' --config.cmd /bin/sh`);
  ws.run(`umoci unpack --image ${L2}:files ${B2}`);
  let t = Date.now();
  const small = makeSmallFiles(path.join(ws.repo, B2, 'rootfs', SYNTH_ROOT));
  ws.commands.push(
    `# node (test/bench/lib/layer-inputs.ts makeSmallFiles): ${small.files} files of 200–499 bytes ` +
      `(${small.bytes} bytes) in ${B2}/rootfs/${SYNTH_ROOT}/d000 … d${SYNTH_DIRS - 1}, mtime 2024-01-01`,
  );
  log(`  wrote ${small.files} files in ${((Date.now() - t) / 1000).toFixed(0)} s`);
  t = Date.now();
  ws.run(`umoci repack --image ${L2}:files ${B2}`);
  log(`  umoci repack: ${((Date.now() - t) / 1000).toFixed(0)} s`);
  removeTree(path.join(dir, 'bundle-files'));
  const filesArchive = path.join(dir, 'files-oci.tar');
  rmSync(filesArchive, { force: true });
  ws.run(wrap(`skopeo copy oci:${L2}:files oci-archive:${ws.rel(filesArchive)}:bench/files:1`));
  removeTree(path.join(dir, 'oci-files'));
  rmSync(path.join(ws.work, 'containers-shadow'), { recursive: true, force: true });

  log('Extracting the layer blobs and counting their entries (GNU tar) …');
  const rootfsLayers = describeLayers(ws, rootfsArchive, path.join(dir, 'extract-rootfs'));
  const filesLayers = describeLayers(ws, filesArchive, path.join(dir, 'extract-files'));

  const inputs: LayerInputs = {
    createdAt: new Date().toISOString(),
    commands: ws.commands.slice(commandsBefore),
    notes: [
      ...notes,
      'umoci `insert` writes layers without the tar end-of-archive blocks (see inputs.ts), so the layers are made with umoci unpack + repack.',
    ],
    rootfs: {
      label: 'rootfs (debootstrap)',
      path: ws.rel(rootfsArchive),
      size: statSync(rootfsArchive).size,
      layers: rootfsLayers,
      content: rootfsContent,
    },
    files: {
      label: '200k small files',
      path: ws.rel(filesArchive),
      size: statSync(filesArchive).size,
      layers: filesLayers,
      content: `${small.files} files of 200–499 bytes in ${SYNTH_DIRS} directories under /${SYNTH_ROOT}`,
    },
  };
  if (rootfsSource === '/usr') inputs.rootfs.label = 'rootfs (/usr fallback)';
  writeFileSync(path.join(dir, 'layer-inputs.json'), `${JSON.stringify(inputs, null, 2)}\n`);
  return inputs;
}

/**
 * The bench's large OCI archive as a layer archive (entries and tar sizes counted by GNU tar once,
 * cached in test/bench/work/layers/big-oci-counts.json by layer digest): the third memory point.
 */
export function describeBenchOci(
  ws: Workspace,
  oci: { path: string; size: number },
  layers: { digest: string; diffId: string; size: number; blobPath: string }[],
): LayerArchive {
  const cacheFile = path.join(ws.work, 'layers', 'big-oci-counts.json');
  let cache: Record<string, { entries: number; tarSize: number }> = {};
  try {
    cache = JSON.parse(readFileSync(cacheFile, 'utf8')) as typeof cache;
  } catch {
    cache = {};
  }
  const out: LayerBlob[] = layers.map((l) => {
    let c = cache[l.digest];
    if (!c) {
      c = {
        entries: Number(sh(`gzip -dc ${l.blobPath} | tar -t | wc -l`, { cwd: ws.repo }).trim()),
        tarSize: Number(sh(`gzip -dc ${l.blobPath} | wc -c`, { cwd: ws.repo }).trim()),
      };
      cache[l.digest] = c;
    }
    return { ...l, ...c };
  });
  mkdirSync(path.dirname(cacheFile), { recursive: true });
  writeFileSync(cacheFile, `${JSON.stringify(cache, null, 2)}\n`);
  return {
    label: 'bench oci-archive',
    path: oci.path,
    size: oci.size,
    layers: out,
    content: 'the bench OCI archive (/usr/share copy + 256 MiB synthetic)',
  };
}
