/**
 * Layer listings and merged file systems against the tools that make and unpack images:
 * per-layer listings against `tar -tvf` (the fixtures' listings/<diff_id>.txt, and GNU tar
 * at test time), merged file systems against `umoci unpack` (listings/app-1-rootfs.txt, and
 * umoci at test time on layers made with GNU tar or taken from other projects' test data),
 * and hostile layers written with python's tarfile.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { analyzeArchive } from '../../src/core/archive/analyze';
import type { AnalyzeOptions, BlobVerifier, PlainVerifier } from '../../src/core/archive/analyze';
import { BlobDigester } from '../../src/core/digest/blob-digester';
import { digestBlob, digestPlain } from '../../src/core/digest/digest-blob';
import { CancelledError } from '../../src/core/digest/read-blob';
import { ImageFilesystem } from '../../src/core/layers/filesystem';
import type { MergedTree } from '../../src/core/layers/filesystem';
import { DEFAULT_LAYER_LIMITS, uncompressedLimit } from '../../src/core/layers/layer-listing';
import { packListing, packedBuffers, unpackListing } from '../../src/core/layers/listing-transfer';
import type { LayerLimits, LayerListing, ListingEntry } from '../../src/core/layers/layer-listing';
import type { Analysis, ImageInfo } from '../../src/core/model';
import { buildReport } from '../../src/core/report';
import { escapeHidden, hasHidden } from '../../src/core/text';
import { ROW_DIR, ROW_EMPTY, ROW_OPEN } from '../../src/messages';
import type { TreeRequest, TreeRows } from '../../src/messages';
import { LayerStore } from '../../src/worker/layer-store';
import { kernelLinks, linksOf } from './helpers/links';
import { archiveOf, opened, wholeFile } from './helpers/opened';
import { DATA, ROOT, SHARED, blobOf, sh, sha256sum, tempDir } from './helpers/tools';

const dir = tempDir();
const LISTINGS = join(DATA, 'listings');
const MUTATE = join(SHARED, 'go-containerregistry/pkg/v1/mutate/testdata');
const REGCLIENT = join(SHARED, 'regclient/testdata');
const COLLISION = join(SHARED, 'moby/daemon/builder/remotecontext/internal/tarsum/testdata/collision');

// ---------------------------------------------------------------------------------------------
// Helpers

async function analyze(
  path: string,
  options: Partial<AnalyzeOptions> = {},
): Promise<{
  analysis: Analysis;
  listings: Map<string, LayerListing>;
  layersOf: (i: ImageInfo) => LayerListing[];
}> {
  const listings = new Map<string, LayerListing>();
  const analysis = await analyzeArchive(await blobOf(path), {
    name: path.split('/').pop() as string,
    listings: true,
    onListing: (key, listing) => listings.set(key, listing),
    ...options,
  });
  const layersOf = (image: ImageInfo) => image.layers.map((l) => listings.get(l.blob) as LayerListing);
  return { analysis, listings, layersOf };
}

/** List a layer tar file (any compression) the way the analysis does. */
async function listFile(path: string, limits?: Partial<LayerLimits>): Promise<LayerListing> {
  const r = await digestBlob(await blobOf(path), { diffId: true, listing: true, limits, layer: 'test' });
  return r.listing as LayerListing;
}

/** `LC_ALL=C sort`: byte order. */
const cSort = (lines: string[]) => lines.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

/** A tar member name as `tar -tvf` prints it, normalised as listings normalise it. */
const norm = (p: string) =>
  p
    .split('/')
    .filter((c) => c !== '' && c !== '.')
    .join('/');

interface TvEntry {
  type: string;
  perms: string;
  owner: string;
  /** Bytes; `major,minor` for character and block devices, as tar -tv shows them. */
  size: number | string;
  date: string;
  path: string;
  link: string;
}

/** Parse `TZ=UTC tar -tvf` output (GNU tar's long listing). */
function parseTv(text: string): TvEntry[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const m = /^(.)(.{9}) (\S+) +(\d+|\d+,\d+) (\d{4}-\d\d-\d\d \d\d:\d\d) (.*)$/.exec(line);
      if (!m) throw new Error(`unexpected tar -tv line: ${line}`);
      const [, type, perms, owner, size, date, rest] = m as unknown as string[];
      let name = rest as string;
      let link = '';
      const sep = type === 'l' ? ' -> ' : type === 'h' ? ' link to ' : null;
      if (sep) [name, link] = [name.slice(0, name.indexOf(sep)), name.slice(name.indexOf(sep) + sep.length)];
      return {
        type: type as string,
        perms: perms as string,
        owner: owner as string,
        size: size?.includes(',') ? size : Number(size),
        date: date as string,
        path: norm(name),
        link: type === 'h' ? norm(link) : link,
      };
    });
}

const TYPE_CHAR: Record<string, string> = {
  file: '-',
  directory: 'd',
  symlink: 'l',
  hardlink: 'h',
  char: 'c',
  block: 'b',
  fifo: 'p',
};

function perms(mode: number): string {
  const s = [...'rwxrwxrwx'].map((c, i) => (mode & (1 << (8 - i)) ? c : '-'));
  if (mode & 0o4000) s[2] = s[2] === 'x' ? 's' : 'S';
  if (mode & 0o2000) s[5] = s[5] === 'x' ? 's' : 'S';
  if (mode & 0o1000) s[8] = s[8] === 'x' ? 't' : 'T';
  return s.join('');
}

/** A listing entry in the fields `tar -tvf` shows (numeric owners). */
function asTv(e: ListingEntry): TvEntry {
  return {
    type: TYPE_CHAR[e.type] ?? '?',
    perms: perms(e.mode),
    owner: `${e.uid}/${e.gid}`,
    size: e.device ? `${e.device.major},${e.device.minor}` : e.size,
    date: new Date(Math.floor(e.mtime) * 1000).toISOString().slice(0, 16).replace('T', ' '),
    path: e.path,
    link: e.linkname,
  };
}

/** A merged tree in the fixtures' rootfs format: `find -printf '%y %s %P %l'`, directories as size 0. */
function rootfsLines(tree: MergedTree): string[] {
  const y: Record<string, string> = {
    hardlink: 'f',
    file: 'f',
    directory: 'd',
    symlink: 'l',
    fifo: 'p',
    char: 'c',
    block: 'b',
  };
  const lines: string[] = [];
  for (const n of tree.walk()) {
    const link = n.type === 'symlink' ? (n.entry as ListingEntry).linkname : '';
    const size = n.type === 'directory' ? 0 : n.type === 'symlink' ? Buffer.byteLength(link) : n.size;
    lines.push(`${y[n.type] ?? n.type} ${size} ${n.path} ${link}`);
  }
  return cSort(lines);
}

/** Build an OCI image from uncompressed layer tars with umoci and unpack it: its rootfs in rootfsLines' format. */
function umociRootfs(layers: string[]): string[] {
  const work = mkdtempSync(join(dir, 'umoci-'));
  sh('umoci', ['init', '--layout', `${work}/img`]);
  sh('umoci', ['new', '--image', `${work}/img:t`]);
  for (const l of layers) sh('umoci', ['raw', 'add-layer', '--image', `${work}/img:t`, l]);
  sh('umoci', ['unpack', '--image', `${work}/img:t`, `${work}/bundle`]);
  const lines = findLines(`${work}/bundle/rootfs`);
  rmSync(work, { recursive: true, force: true });
  return lines;
}

/** A directory tree in rootfsLines' format (`find -printf`), byte-sorted. */
function findLines(root: string): string[] {
  const out = sh(
    'find',
    [
      '.',
      '-mindepth',
      '1',
      '(',
      '-type',
      'd',
      '-printf',
      '%y 0 %P %l\\n',
      ')',
      '-o',
      '-printf',
      '%y %s %P %l\\n',
    ],
    { cwd: root },
  );
  return cSort(out.split('\n').filter(Boolean));
}

/** Unmount whatever a failed debootstrap left mounted under `root` (/proc, /sys), so it can be removed. */
function unmountUnder(root: string): void {
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m.startsWith(`${root}/`))
    .sort()
    .reverse();
  for (const m of mounts) execFileSync('umount', ['-l', m]);
}

/** `tar -tvf` in UTC with numeric owners, as the fixtures' listings were made. */
function tarTv(path: string): string {
  return execFileSync('tar', ['--numeric-owner', '-tvf', path], {
    env: { ...process.env, TZ: 'UTC', LC_ALL: 'C.UTF-8' },
  }).toString('utf8');
}

const T = ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '--format=posix'];

function python(script: string, args: string[] = []): void {
  execFileSync('python3', ['-c', script, ...args]);
}

// ---------------------------------------------------------------------------------------------

describe('layer listings against tar -tvf', () => {
  it('every layer of every fixture archive lists as GNU tar lists it (listings/<diff_id>.txt)', async () => {
    const byDiffId = new Map<string, LayerListing>();
    const expected = JSON.parse(readFileSync(join(DATA, 'expected.json'), 'utf8')) as Record<
      string,
      { images?: unknown }
    >;
    const archives = [
      ...Object.keys(expected)
        .filter((n) => Array.isArray(expected[n]?.images) && existsSync(join(DATA, n)))
        .map((n) => join(DATA, n)),
      join(ROOT, 'public/sample/sample.tar'),
    ];
    for (const path of archives) {
      const { analysis, listings } = await analyze(path);
      for (const [key, listing] of listings) {
        const diffId = analysis.blobs[key]?.actualDiffId;
        if (diffId) byDiffId.set(diffId, listing);
      }
    }
    const files = readdirSync(LISTINGS).filter((f) => /^[0-9a-f]{64}\.txt$/.test(f));
    expect(files.length).toBeGreaterThanOrEqual(10);
    for (const f of files) {
      const listing = byDiffId.get(`sha256:${f.slice(0, 64)}`);
      expect(listing, f).toBeDefined();
      const want = parseTv(readFileSync(join(LISTINGS, f), 'utf8'));
      expect(listing!.entries.map(asTv), f).toEqual(want);
      expect(listing!.tarEntries).toBe(want.length);
      expect(listing!.problems, f).toEqual([]);
      expect(listing!.stopped).toBeNull();
    }
  });

  it('whiteouts are recognised with their targets; ".wh..name" is a whiteout of a dot file', async () => {
    const { analysis, layersOf } = await analyze(join(ROOT, 'public/sample/sample.tar'));
    const cleanup = layersOf(analysis.images[0]!).at(-1)!;
    expect(cleanup.entries.map((e) => [e.path, e.whiteout, e.target])).toEqual([
      ['app', null, null],
      ['app/.wh..cache', 'file', 'app/.cache'],
      ['app/.wh..npmrc', 'file', 'app/.npmrc'],
    ]);
    const { analysis: b, layersOf: lb } = await analyze(join(DATA, 'buildah-oci-archive.tar'));
    const top = lb(b.images[0]!)[1]!;
    expect(top.entries.filter((e) => e.whiteout).map((e) => [e.path, e.whiteout, e.target])).toEqual([
      ['etc/.wh.motd', 'file', 'etc/motd'],
      ['srv/www/assets/.wh..wh..opq', 'opaque', 'srv/www/assets'],
    ]);
  });

  it('PAX xattrs are kept (moby’s xattr layer, as GNU tar --xattrs shows them)', async () => {
    const tar = join(SHARED, 'moby/daemon/builder/remotecontext/internal/tarsum/testdata/xattr/layer.tar');
    const listing = await listFile(tar);
    const shown = sh('tar', ['--xattrs', '--xattrs-include=*', '-tvvvf', tar]);
    const names = [...shown.matchAll(/^ {2}x: \d+ (.*)$/gm)].map((m) => m[1]);
    expect(names).toEqual(['security.capability']);
    expect(Object.keys(listing.entries[0]!.xattrs ?? {})).toEqual(names);
  });

  it('gzip and zstd layers list as their uncompressed tar does', async () => {
    const plain = join(dir, 'tree.tar');
    sh('tar', [...T, '-C', '/usr/share', '-cf', plain, 'doc/bash', 'common-licenses']);
    sh('bash', ['-c', `gzip -c -6 ${plain} > ${plain}.gz && zstd -q -3 -f ${plain} -o ${plain}.zst`]);
    const want = parseTv(tarTv(plain));
    for (const path of [plain, `${plain}.gz`, `${plain}.zst`]) {
      const listing = await listFile(path);
      expect(listing.entries.map(asTv)).toEqual(want);
    }
  });
});

describe('merged file systems against umoci unpack', () => {
  it('app:1 (oci-archive.tar, 3 layers with whiteouts) merges to what umoci unpacked (listings/app-1-rootfs.txt)', async () => {
    const { analysis, layersOf } = await analyze(join(DATA, 'oci-archive.tar'));
    const image = analysis.images.find((i) => i.refs.includes('app:1'))!;
    const fs = ImageFilesystem.build(layersOf(image));
    const want = readFileSync(join(LISTINGS, 'app-1-rootfs.txt'), 'utf8').split('\n').filter(Boolean);
    expect(rootfsLines(fs.tree)).toEqual(cSort(want));
    expect(fs.figures.entries).toBe(want.length);
    // Regular files, usr/bin/hello-world (a hard link to hello) not counted again:
    // 15 + 28 + 32 + 35 + 36 + 48 + 50 + 92 + 96.
    expect(fs.figures.bytes).toBe(432);
    expect(fs.tree.get('usr')!.size).toBe(50 + 92 + 32);
    expect(fs.tree.get('usr/bin/hello-world')!.ino).toBe(fs.tree.get('usr/bin/hello')!.ino);
    // Layer 0 adds its 34 tar entries but the root; layer 1 adds etc/app.conf, opt/app/bin,
    // run.sh and c.cache, and re-lists etc, etc/os-release, opt/app and var/lib/app/cache;
    // layer 2 adds fresh.txt, replaces etc/app.conf and re-lists 4 directories, and its
    // whiteouts remove seed.txt, copyright, and var/lib/app/cache with its 3 files.
    expect(fs.layers.map((l) => [l.entries, l.changes])).toEqual([
      [34, { added: 33, modified: 0, removed: 0 }],
      [8, { added: 4, modified: 4, removed: 0 }],
      [9, { added: 1, modified: 5, removed: 6 }],
    ]);
    expect(fs.layers[2]!.paths.removed.sort()).toEqual([
      'opt/app/data/seed.txt',
      'usr/share/doc/hello/copyright',
      'var/lib/app/cache',
      'var/lib/app/cache/a.cache',
      'var/lib/app/cache/b.cache',
      'var/lib/app/cache/c.cache',
    ]);
    // After layer 0 alone the file system is exactly that layer's tar.
    const layer0 = parseTv(
      readFileSync(
        join(LISTINGS, 'f6aa3402debfeeba05c1358a00c3e7934514340e4b8fdb9b2c36dab64e2bb457.txt'),
        'utf8',
      ),
    );
    expect([...fs.at(0).walk()].map((n) => n.path).sort()).toEqual(
      layer0
        .map((e) => e.path)
        .filter(Boolean)
        .sort(),
    );
    expect(fs.at(2)).toBe(fs.tree);
  });

  it('app:1 efficiency and wasted bytes, computed by hand as dive computes them', async () => {
    // Occurrences per path (leaf entries of each layer; whiteouts sized as dive sizes them):
    //   etc/os-release 86, 96             → min 86, sum 182 (wasted)
    //   etc/app.conf 48, 48               → min 48, sum 96 (wasted)
    //   opt/app/data/seed.txt 8, 0 (.wh.) → min 0, sum 8 (wasted)
    //   usr/share/doc/hello/copyright 57, 0 (.wh.) → min 0, sum 57 (wasted)
    //   var/lib/app/cache: .wh. of a directory = its files 14 + 14 + 14 → 42, once
    //   a.cache, b.cache, c.cache 14 each; hostname 15, long name 36, hello 50, README 92,
    //   notes-ü 32, run.sh 35, fresh.txt 28: once each; links, tmp, var/log/app: 0.
    // Σmin = 86 + 48 + 42 + 42 + 288 = 506; Σsum = 182 + 96 + 8 + 57 + 42 + 42 + 288 = 715.
    const { analysis } = await analyze(join(DATA, 'oci-archive.tar'));
    const report = buildReport(analysis);
    const image = report.images.find((i) => i.refs.includes('app:1'))!;
    expect(image.filesystem).toEqual({ entries: 32, bytes: 432, wastedBytes: 343, efficiency: 506 / 715 });
    expect(image.layers.map((l) => [l.entries, l.changes])).toEqual([
      [34, { added: 33, modified: 0, removed: 0 }],
      [8, { added: 4, modified: 4, removed: 0 }],
      [9, { added: 1, modified: 5, removed: 6 }],
    ]);
    const fs = analysis.filesystems![analysis.images.find((i) => i.refs.includes('app:1'))!.id]!;
    expect(fs.wasted.map((w) => [w.path, w.bytes, w.layers])).toEqual([
      ['etc/os-release', 182, [0, 1]],
      ['etc/app.conf', 96, [1, 2]],
      ['usr/share/doc/hello/copyright', 57, [0, 2]],
      ['opt/app/data/seed.txt', 8, [0, 2]],
    ]);
    expect(report.problems).toEqual([]);
  });

  it('a small case made with GNU tar: efficiency by hand, merged tree as umoci unpacks it', async () => {
    const src = join(dir, 'eff');
    const files: Record<string, number> = {
      'l1/a/big': 1000,
      'l1/a/small': 10,
      'l1/keep': 100,
      'l1/d/x': 300,
      'l1/d/y': 200,
      'l1/o/p': 50,
      'l1/o/q': 70,
      'l2/a/big': 1500,
      'l2/.wh.keep': 0,
      'l3/.wh.d': 0,
      'l3/o/.wh..wh..opq': 0,
      'l3/o/r': 5,
    };
    for (const [p, size] of Object.entries(files)) {
      mkdirSync(join(src, p, '..'), { recursive: true });
      writeFileSync(join(src, p), Buffer.alloc(size, 0x61));
    }
    const tars = ['l1', 'l2', 'l3'].map((l) => join(src, `${l}.tar`));
    sh('tar', [...T, '-C', join(src, 'l1'), '-cf', tars[0]!, '.']);
    sh('tar', [...T, '-C', join(src, 'l2'), '-cf', tars[1]!, 'a/big', '.wh.keep']); // no a/ entry
    sh('tar', [...T, '-C', join(src, 'l3'), '-cf', tars[2]!, '.wh.d', 'o']);
    const fs = ImageFilesystem.build(await Promise.all(tars.map((t) => listFile(t))));
    // By hand, per path (dive: leaf entries; a whiteout of a file counts 0, of a directory
    // its lower files; the opaque whiteout counts as a whiteout of o/p and of o/q):
    //   a/big   1000 (l1), 1500 (l2)  → min 1000, sum 2500, wasted
    //   a/small 10                    → 10, 10
    //   keep    100 (l1), 0 (.wh.keep) → min 0, sum 100, wasted
    //   d/x 300, d/y 200              → once each (d is not a leaf in l1)
    //   d       500 (.wh.d: 300 + 200) → once
    //   o/p     50, 0 (opaque)         → min 0, sum 50, wasted
    //   o/q     70, 0 (opaque)         → min 0, sum 70, wasted
    //   o/r     5                      → once
    // Σmin = 1000 + 10 + 0 + 300 + 200 + 500 + 0 + 0 + 5 = 2015
    // Σsum = 2500 + 10 + 100 + 300 + 200 + 500 + 50 + 70 + 5 = 3735
    // wasted = 2500 + 100 + 50 + 70 = 2720
    expect(fs.figures.efficiency).toBe(2015 / 3735);
    expect(fs.figures.wastedBytes).toBe(2720);
    expect(fs.wasted.map((w) => [w.path, w.bytes, w.layers])).toEqual([
      ['a/big', 2500, [0, 1]],
      ['keep', 100, [0, 1]],
      ['o/q', 70, [0, 2]],
      ['o/p', 50, [0, 2]],
    ]);
    // Merged: a, a/big (1500), a/small, o, o/r.
    expect(fs.figures.entries).toBe(5);
    expect(fs.figures.bytes).toBe(1515);
    expect(fs.layers.map((l) => l.changes)).toEqual([
      { added: 10, modified: 0, removed: 0 },
      { added: 0, modified: 1, removed: 1 }, // a/big replaced; keep removed
      { added: 1, modified: 1, removed: 5 }, // o/r added; o re-listed; d, d/x, d/y, o/p, o/q removed
    ]);
    expect(rootfsLines(fs.tree)).toEqual(umociRootfs(tars));
    expect(rootfsLines(fs.at(1))).toEqual(umociRootfs(tars.slice(0, 2)));
  });
});

describe('a Debian root file system (debootstrap)', () => {
  const isRoot = process.getuid?.() === 0;
  // debootstrap needs root (it makes device nodes and chroots) and Debian's mirror, which every
  // machine that runs these tests reaches to install its tools.
  it.skipIf(!isRoot)(
    'two layers made by umoci repack (the second removes directories) merge as umoci unpacks them; each layer lists as tar -tvf does',
    async () => {
      const work = mkdtempSync(join(dir, 'debian-'));
      const rootfs = join(work, 'debootstrap');
      try {
        sh('debootstrap', ['--variant=minbase', 'stable', rootfs, 'http://deb.debian.org/debian']);
        const img = `${work}/layout:debian`;
        sh('umoci', ['init', '--layout', `${work}/layout`]);
        sh('umoci', ['new', '--image', img]);
        sh('umoci', ['unpack', '--image', img, `${work}/bundle`]);
        sh('cp', ['-a', `${rootfs}/.`, `${work}/bundle/rootfs/`]);
        // --refresh-bundle: the next repack stacks on this layer instead of replacing it.
        sh('umoci', ['repack', '--refresh-bundle', '--image', img, `${work}/bundle`]);
        // Layer 2: whiteouts of two whole directories and of a file, a changed file, a new one.
        sh('rm', ['-rf', `${work}/bundle/rootfs/usr/share/doc`, `${work}/bundle/rootfs/usr/share/man`]);
        sh('rm', ['-f', `${work}/bundle/rootfs/etc/issue.net`]);
        writeFileSync(`${work}/bundle/rootfs/etc/motd`, 'layerlens\n');
        writeFileSync(`${work}/bundle/rootfs/etc/layerlens`, 'new\n');
        sh('umoci', ['repack', '--image', img, `${work}/bundle`]);
        sh('umoci', ['unpack', '--image', img, `${work}/unpacked`]);
        const archive = join(work, 'debian.tar');
        sh('tar', ['-C', `${work}/layout`, '-cf', archive, '.']);

        const { analysis, layersOf } = await analyze(archive);
        const report = buildReport(analysis);
        expect(report.problems).toEqual([]);
        expect(report.complete).toBe(true);
        const image = analysis.images[0]!;
        const layers = layersOf(image);
        expect(layers).toHaveLength(2);
        const fs = ImageFilesystem.build(layers);
        const want = findLines(`${work}/unpacked/rootfs`);
        expect(want.length).toBeGreaterThan(3000);
        expect(rootfsLines(fs.tree)).toEqual(want);
        expect(report.images[0]!.filesystem?.entries).toBe(want.length);
        // Every symbolic link leads where the kernel says, in a chroot of the unpacked image: merged
        // /usr (bin -> usr/bin), /etc/alternatives chains of absolute links, ../ links.
        const links = linksOf(fs.tree);
        expect(links.length).toBeGreaterThan(100);
        expect(links.find((l) => l.path === 'usr/bin/awk')?.to).toBe('usr/bin/mawk');
        expect(links).toEqual(
          kernelLinks(
            `${work}/unpacked/rootfs`,
            links.map((l) => l.path),
          ),
        );
        // What the second layer removed: both directories with everything under them, and the file.
        const removed = fs.layers[1]!.paths.removed;
        expect(removed).toContain('usr/share/doc');
        expect(removed).toContain('usr/share/man');
        expect(removed).toContain('etc/issue.net');
        const under = (d: string) => findLines(`${rootfs}/${d}`).length + 1;
        expect(fs.layers[1]!.changes.removed).toBe(under('usr/share/doc') + under('usr/share/man') + 1);
        // Each layer blob (gzip, as umoci writes it) lists as GNU tar lists it.
        for (const [i, layer] of image.layers.entries()) {
          const blobPath = join(work, 'layout', 'blobs', ...layer.blob.split(':'));
          const tv = parseTv(tarTv(blobPath)).filter((e) => e.path !== '');
          expect(layers[i]!.entries.map(asTv).filter((e) => e.path !== '')).toEqual(tv);
        }
      } finally {
        unmountUnder(work);
        rmSync(work, { recursive: true, force: true });
      }
    },
    300_000,
  );
});

describe('layers from other projects’ test data', () => {
  /** Unpack an archive's layers (docker save: <id>/layer.tar or <hex>.tar.gz) in manifest order. */
  function layerTars(archive: string): string[] {
    const out = mkdtempSync(join(dir, 'x-'));
    sh('tar', ['-xf', archive, '-C', out]);
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { Layers: string[] }[];
    return manifest[0]!.Layers.map((l, i) => {
      const path = join(out, l);
      if (!l.endsWith('.gz')) return path;
      const plain = join(out, `layer-${i}.tar`);
      sh('bash', ['-c', `gzip -dc '${path}' > '${plain}'`]);
      return plain;
    });
  }

  it.each([
    // [archive, entries, bytes, changes per layer, wastedBytes, efficiency]
    // whiteout_image: bar.txt and foo.txt (4 bytes each), then .wh.foo.txt, then an empty layer.
    // foo.txt: 4 then 0 (whiteout of a file) → Σmin 4 (bar) / Σsum 8.
    [
      'whiteout_image.tar',
      1,
      4,
      [
        { added: 2, modified: 0, removed: 0 },
        { added: 0, modified: 0, removed: 1 },
        { added: 0, modified: 0, removed: 0 },
      ],
      4,
      0.5,
    ],
    // whiteout_dir: a/foo; b/bar; .wh.a removes a and a/foo; a/baz brings a back: all empty files.
    [
      'whiteout_dir.tar',
      4,
      0,
      [
        { added: 2, modified: 0, removed: 0 },
        { added: 2, modified: 0, removed: 0 },
        { added: 0, modified: 0, removed: 2 },
        { added: 2, modified: 0, removed: 0 },
      ],
      0,
      1,
    ],
    // overwritten_file: foo.txt (4 bytes), then bar.txt and foo.txt -> bar.txt (a symlink), then
    // an empty layer. foo.txt: 4 then 0 → Σmin 4 / Σsum 8.
    [
      'overwritten_file.tar',
      2,
      4,
      [
        { added: 1, modified: 0, removed: 0 },
        { added: 1, modified: 1, removed: 0 },
        { added: 0, modified: 0, removed: 0 },
      ],
      4,
      0.5,
    ],
  ])('go-containerregistry %s', async (name, entries, bytes, changes, wastedBytes, efficiency) => {
    const archive = join(MUTATE, name);
    const { analysis, layersOf } = await analyze(archive);
    const report = buildReport(analysis);
    expect(report.images[0]!.filesystem).toEqual({ entries, bytes, wastedBytes, efficiency });
    expect(report.images[0]!.layers.map((l) => l.changes)).toEqual(changes);
    const fs = ImageFilesystem.build(layersOf(analysis.images[0]!));
    const tars = layerTars(archive);
    expect(rootfsLines(fs.tree)).toEqual(umociRootfs(tars));
    // Per-layer entry counts as GNU tar counts them.
    expect(report.images[0]!.layers.map((l) => l.entries)).toEqual(
      tars.map((t) => sh('tar', ['-tf', t]).split('\n').filter(Boolean).length),
    );
  });

  it('regclient layer-wh.tar (a whiteout and an opaque directory) over layer.tar', async () => {
    const lower = await listFile(join(REGCLIENT, 'layer.tar'));
    const upper = await listFile(join(REGCLIENT, 'layer-wh.tar'));
    expect(upper.entries.map((e) => [e.path, e.whiteout, e.target])).toEqual([
      ['layer1.txt', null, null],
      ['.wh.layer2.txt', 'file', 'layer2.txt'],
      ['layer3.txt', null, null],
      ['exdir', null, null],
      ['exdir/.wh..wh..opq', 'opaque', 'exdir'],
    ]);
    expect(upper.entries.map(asTv)).toEqual(parseTv(tarTv(join(REGCLIENT, 'layer-wh.tar'))));
    const fs = ImageFilesystem.build([lower, upper]);
    expect(fs.layers[1]!.changes).toEqual({ added: 1, modified: 2, removed: 1 });
    expect(rootfsLines(fs.tree)).toEqual(
      umociRootfs([join(REGCLIENT, 'layer.tar'), join(REGCLIENT, 'layer-wh.tar')]),
    );
  });

  it('moby’s tarsum collision tars: a duplicate entry is reported, and the last one wins as in GNU tar', async () => {
    for (const n of [0, 1, 2, 3]) {
      const tar = join(COLLISION, `collision-${n}.tar`);
      const listing = await listFile(tar);
      const count = sh('tar', ['-tf', tar]).split('\n').filter(Boolean).length;
      expect(listing.tarEntries).toBe(count);
      expect(listing.problems.map((p) => p.code)).toEqual(count > 1 ? ['duplicate-entry'] : []);
      if (count > 1) expect(listing.problems[0]!.where).toBe('file (layer test)');
      const out = mkdtempSync(join(dir, 'c-'));
      sh('tar', ['-xf', tar, '-C', out]);
      const fs = ImageFilesystem.build([listing]);
      expect(fs.figures.entries).toBe(1);
      expect(fs.tree.get('file')!.entry!.mtime).toBe(statSync(join(out, 'file')).mtimeMs / 1000);
    }
  });
});

describe('entry names normalised as GNU tar extracts them', () => {
  it('drops "." and empty components and leading and trailing slashes, keeps names that only start with dots', async () => {
    const names = join(dir, 'names.tar');
    python(
      `
import io, sys, tarfile
with tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT) as t:
    for name in ['./a', 'b//c', 'd/./e', 'f/', '/abs', 'g/..h', '..i', 'j/.k', '.l', 'm/n', './', '.']:
        ti = tarfile.TarInfo(name); t.addfile(ti, io.BytesIO(b''))
`,
      [names],
    );
    const listing = await listFile(names);
    expect(listing.entries.map((e) => e.path)).toEqual([
      'a',
      'b/c',
      'd/e',
      'f',
      'abs',
      'g/..h',
      '..i',
      'j/.k',
      '.l',
      'm/n',
      '',
      '',
    ]);
    expect(listing.problems.map((p) => p.code)).toEqual(['absolute-path', 'duplicate-entry']);
  });
});

describe('hostile and broken layers', () => {
  const hostile = join(dir, 'hostile.tar');

  beforeAll(() => {
    python(
      `
import io, sys, tarfile
def add(t, name, data=b'', **kw):
    ti = tarfile.TarInfo(name)
    for k, v in kw.items(): setattr(ti, k, v)
    ti.size = len(data)
    t.addfile(ti, io.BytesIO(data))
with tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT) as t:
    add(t, 'ok.txt', b'fine')
    add(t, '../evil', b'escape')
    add(t, 'a/../../etc/passwd', b'escape')
    add(t, '/abs/file', b'abs')
    add(t, 'hl-missing', type=tarfile.LNKTYPE, linkname='missing')
    add(t, 'hl-early', type=tarfile.LNKTYPE, linkname='late.txt')
    add(t, 'late.txt', b'late')
    add(t, 'hl-escape', type=tarfile.LNKTYPE, linkname='../../etc/shadow')
    ti = tarfile.TarInfo('nul'); ti.pax_headers = {'path': 'a\\x00b'}; t.addfile(ti)
    add(t, '.wh..wh.plnk', type=tarfile.DIRTYPE)
    add(t, 'dir/.wh..wh.aufs')
    add(t, 'dup', b'1')
    add(t, 'dup', b'22')
    add(t, 'hl-self', type=tarfile.LNKTYPE, linkname='hl-self')
`,
      [hostile],
    );
  });

  it('each hostile entry gives a problem naming it, and listing and merging go on', async () => {
    const listing = await listFile(hostile);
    const problems = listing.problems.map((p) => [p.code, p.where]);
    expect(problems).toEqual([
      ['unsafe-path', '../evil (layer test)'],
      ['unsafe-path', 'a/../../etc/passwd (layer test)'],
      ['absolute-path', '/abs/file (layer test)'],
      ['unsafe-path', 'hl-escape (layer test)'],
      ['nul-in-name', 'a\\0b (layer test)'],
      ['bad-whiteout', '.wh..wh.plnk (layer test)'],
      ['bad-whiteout', 'dir/.wh..wh.aufs (layer test)'],
      ['duplicate-entry', 'dup (layer test)'],
      ['hardlink-target', 'hl-early (layer test)'],
      ['hardlink-target', 'hl-self (layer test)'],
    ]);
    expect(listing.problems.find((p) => p.where.startsWith('hl-early'))!.message).toContain('later');
    expect(listing.problems.find((p) => p.where.startsWith('hl-self'))!.message).toContain('itself');
    expect(listing.tarEntries).toBe(14);
    expect(listing.stopped).toBeNull();
    const fs = ImageFilesystem.build([listing]);
    // A target missing from the layer may be in a lower one: only the merge reports it.
    expect(fs.problems.map(({ layer, problem: p }) => [layer, p.code, p.where, p.severity])).toEqual([
      [0, 'hardlink-target', 'hl-missing (layer test)', 'warning'],
    ]);
    // GNU tar agrees on what lands in the root: it skips ".." members and strips the "/".
    const out = mkdtempSync(join(dir, 'h-'));
    const root = join(out, 'root');
    mkdirSync(root);
    try {
      execFileSync('tar', ['-xf', hostile, '-C', root], { stdio: 'pipe' });
    } catch {
      // GNU tar exits non-zero for the hard links it cannot make; what it extracted stays.
    }
    expect(existsSync(join(out, 'evil'))).toBe(false);
    expect(fs.tree.get('abs/file')!.size).toBe(statSync(join(root, 'abs/file')).size);
    expect(fs.tree.get('dup')!.size).toBe(statSync(join(root, 'dup')).size);
    expect(fs.tree.get('evil')).toBeNull();
    expect(fs.tree.get('etc')).toBeNull();
    expect(fs.tree.get('.wh..wh.plnk')).toBeNull();
    expect(fs.tree.get('hl-missing')!.size).toBe(0);
  });

  it('entry types image tools refuse (GNU D and V, an undefined one) are named, and listed as GNU tar extracts them', async () => {
    const work = mkdtempSync(join(dir, 'types-'));
    const src = join(work, 'src');
    mkdirSync(join(src, 'sub/deeper'), { recursive: true });
    writeFileSync(join(src, 'sub/deeper/f'), 'in an incremental dump\n');
    const tars = { D: join(work, 'incremental.tar'), V: join(work, 'labelled.tar'), Z: join(work, 'z.tar') };
    // GNU tar writes directories as type D (their data: the dump's list of names) when incremental,
    // and a type V entry first when given a label.
    sh('tar', ['--listed-incremental', join(work, 'snapshot'), '-C', src, '-cf', tars.D, 'sub']);
    sh('tar', ['-V', 'backup of sub', '-C', src, '-cf', tars.V, 'sub']);
    python(
      `
import io, sys, tarfile
with tarfile.open(sys.argv[1], 'w', format=tarfile.GNU_FORMAT) as t:
    ti = tarfile.TarInfo('odd'); ti.type = b'Z'; ti.size = 5; t.addfile(ti, io.BytesIO(b'zzzzz'))
    ti = tarfile.TarInfo('after'); ti.size = 3; t.addfile(ti, io.BytesIO(b'ok\\n'))
`,
      [tars.Z],
    );
    expect(tarTv(tars.D)).toMatch(/^d.* sub\/$/m);
    const listed: Record<string, LayerListing> = {};
    for (const [flag, tar] of Object.entries(tars)) {
      listed[flag] = await listFile(tar);
      // What GNU tar extracts from the same tar.
      const out = join(work, `x-${flag}`);
      mkdirSync(out);
      try {
        execFileSync('tar', ['-xf', tar, '-C', out], { stdio: 'pipe' });
      } catch {
        // It warns (exit 2) for the type it does not know, and extracts the entry as a file.
      }
      expect(rootfsLines(ImageFilesystem.build([listed[flag]]).tree), flag).toEqual(findLines(out));
      // umoci (Go's archive/tar) fails the whole unpack on each.
      expect(() => umociRootfs([tar]), flag).toThrow(/unknown typeflag/);
    }
    const problems = (flag: string) => listed[flag]!.problems.map((p) => [p.code, p.where, p.severity]);
    expect(problems('D')).toEqual([
      ['tar-type', 'sub (layer test)', 'warning'],
      ['tar-type', 'sub/deeper (layer test)', 'warning'],
    ]);
    expect(listed.D!.problems[0]!.message).toContain('listed as the directory GNU tar extracts');
    expect(problems('V')).toEqual([['tar-type', 'backup of sub (layer test)', 'warning']]);
    expect(listed.V!.problems[0]!.message).toContain('volume label (type V, tar -V)');
    expect(listed.V!.entries.map((e) => e.path)).not.toContain('backup of sub');
    expect(problems('Z')).toEqual([['tar-type', 'odd (layer test)', 'warning']]);
    expect(listed.Z!.problems[0]!.message).toContain("tar type 'Z'");
    expect(listed.Z!.entries.map((e) => [e.path, e.type, e.size])).toEqual([
      ['odd', 'file', 5],
      ['after', 'file', 3],
    ]);
    rmSync(work, { recursive: true, force: true });
  });

  it('a PAX global header is named and not applied, as Docker, containerd and bsdtar read it', async () => {
    const work = mkdtempSync(join(dir, 'global-'));
    // git archive writes one, with the commit as its comment: a note.
    const repo = join(work, 'repo');
    mkdirSync(repo);
    writeFileSync(join(repo, 'README'), 'hello\n');
    const git = (...args: string[]) =>
      sh('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args]);
    git('init', '-q');
    git('add', 'README');
    git('commit', '-q', '-m', 'one');
    const archived = join(work, 'git.tar');
    git('archive', '--format=tar', '-o', archived, 'HEAD');
    const commit = git('rev-parse', 'HEAD').trim();
    const fromGit = await listFile(archived);
    expect(fromGit.entries.map((e) => e.path)).toEqual(parseTv(tarTv(archived)).map((e) => e.path));
    expect(fromGit.problems.map((p) => [p.code, p.where, p.severity])).toEqual([
      ['pax-global', 'offset 0 (layer test)', 'info'],
    ]);
    expect(fromGit.problems[0]!.message).toContain('sets "comment"');
    expect(sh('sh', ['-c', 'head -c 1024 "$1" | strings', 'sh', archived])).toContain(`comment=${commit}`);
    // One that renames every later entry and changes its time: GNU tar applies it, bsdtar does not.
    const renaming = join(work, 'renaming.tar');
    python(
      `
import io, sys, tarfile
with tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT, pax_headers={'path': 'evil', 'mtime': '1000000000'}) as t:
    for name in ('a', 'b'):
        ti = tarfile.TarInfo(name); ti.size = 3; ti.mtime = 1500000000; t.addfile(ti, io.BytesIO(b'abc'))
`,
      [renaming],
    );
    expect(parseTv(tarTv(renaming)).map((e) => e.path)).toEqual(['evil', 'evil']);
    const bsd = sh('bsdtar', ['-tf', renaming]).split('\n').filter(Boolean);
    expect(bsd).toEqual(['a', 'b']);
    const listing = await listFile(renaming);
    expect(listing.entries.map((e) => [e.path, e.mtime])).toEqual([
      ['a', 1500000000],
      ['b', 1500000000],
    ]);
    expect(listing.problems.map((p) => [p.code, p.severity])).toEqual([['pax-global', 'warning']]);
    expect(listing.problems[0]!.message).toContain('sets "path", "mtime"');
    // umoci refuses both layers outright.
    for (const t of [archived, renaming]) expect(() => umociRootfs([t])).toThrow(/unknown typeflag/);
    rmSync(work, { recursive: true, force: true });
  });

  it('entries under a symbolic link land where it leads, as umoci unpacks them, with a problem naming the link', async () => {
    // Real links and files, packed by GNU tar: the base has bin -> usr/bin (relative) and
    // abs -> /usr/lib (absolute, to a directory no layer has); the next layer writes bin/b and
    // abs/x, as a tool that packs a directory tree without looking at the image below does.
    const work = mkdtempSync(join(dir, 'through-'));
    const base = join(work, 'base');
    const top = join(work, 'top');
    mkdirSync(join(base, 'usr/bin'), { recursive: true });
    writeFileSync(join(base, 'usr/bin/a'), 'a\n');
    sh('ln', ['-s', 'usr/bin', join(base, 'bin')]);
    sh('ln', ['-s', '/usr/lib', join(base, 'abs')]);
    mkdirSync(join(top, 'bin'), { recursive: true });
    mkdirSync(join(top, 'abs'), { recursive: true });
    writeFileSync(join(top, 'bin/b'), 'bb\n');
    writeFileSync(join(top, 'abs/x'), 'xxx\n');
    const tars = [`${base}.tar`, `${top}.tar`];
    sh('tar', ['-C', base, '-cf', tars[0]!, 'usr', 'bin', 'abs']);
    // The files only, not their directories: as GNU tar lists them, the entries are bin/b and abs/x.
    sh('tar', ['-C', top, '-cf', tars[1]!, 'bin/b', 'abs/x']);
    expect(parseTv(tarTv(tars[1]!)).map((e) => e.path)).toEqual(['bin/b', 'abs/x']);
    const layers = await Promise.all(tars.map((t) => listFile(t)));
    const fs = ImageFilesystem.build(layers);
    // The links stay links; the files are in usr/bin and in usr/lib, made on the way.
    expect(rootfsLines(fs.tree)).toEqual(umociRootfs(tars));
    expect(fs.tree.get('bin')?.type).toBe('symlink');
    expect(fs.tree.get('usr/bin/b')?.size).toBe(3);
    expect(fs.tree.get('usr/lib/x')?.size).toBe(4);
    expect(fs.layers[1]!.paths.added.sort()).toEqual(['usr/lib', 'usr/lib/x', 'usr/bin/b'].sort());
    // Once per link: a note for the relative link; a warning for the absolute one, which an
    // extractor that follows links as they are takes out of the root (GNU tar, extracting the
    // layers one after the other into a directory, writes abs/x to the machine's own /usr/lib).
    expect(fs.problems.map(({ layer, problem: p }) => [layer, p.code, p.where, p.severity])).toEqual([
      [1, 'symlink-path', 'bin (layer test)', 'info'],
      [1, 'symlink-path', 'abs (layer test)', 'warning'],
    ]);
    expect(fs.problems[1]!.problem.message).toContain('"abs" → "/usr/lib": they are shown in "/usr/lib"');
    rmSync(work, { recursive: true, force: true });
  });

  it('whiteouts and hard links that name a path through a symbolic link apply where it leads, as umoci unpacks them', async () => {
    // Real files and links, packed by GNU tar. The base has lib -> usr/lib (relative) and
    // keep -> /usr/lib/keep (absolute). The next layer names them as a tool that packs a tree without
    // looking at the image below does: lib/.wh.foo, lib/dir/.wh..wh..opq, keep/.wh..wh..opq, and
    // hard, a hard link to lib/bar (packed with lib/bar, which is then deleted from the tar).
    const work = mkdtempSync(join(dir, 'wh-through-'));
    const base = join(work, 'base');
    const top = join(work, 'top');
    for (const d of ['usr/lib/dir', 'usr/lib/keep']) mkdirSync(join(base, d), { recursive: true });
    for (const [f, text] of [
      ['usr/lib/foo', 'foo\n'],
      ['usr/lib/bar', 'bar\n'],
      ['usr/lib/dir/x', 'x\n'],
      ['usr/lib/keep/k', 'k\n'],
      ['usr/lib/stays', 'stays\n'],
    ] as const)
      writeFileSync(join(base, f), text);
    sh('ln', ['-s', 'usr/lib', join(base, 'lib')]);
    sh('ln', ['-s', '/usr/lib/keep', join(base, 'keep')]);
    for (const d of ['lib/dir', 'keep']) mkdirSync(join(top, d), { recursive: true });
    for (const f of ['lib/.wh.foo', 'lib/dir/.wh..wh..opq', 'keep/.wh..wh..opq'])
      writeFileSync(join(top, f), '');
    writeFileSync(join(top, 'lib/bar'), 'bar\n');
    sh('ln', [join(top, 'lib/bar'), join(top, 'hard')]);
    const tars = [`${base}.tar`, `${top}.tar`];
    sh('tar', ['-C', base, '-cf', tars[0]!, 'usr', 'lib', 'keep']);
    sh('tar', [
      '-C',
      top,
      '-cf',
      tars[1]!,
      'lib/.wh.foo',
      'lib/dir/.wh..wh..opq',
      'keep/.wh..wh..opq',
      'lib/bar',
      'hard',
    ]);
    sh('tar', ['--delete', '-f', tars[1]!, 'lib/bar']);
    expect(parseTv(tarTv(tars[1]!)).map((e) => [e.path, e.type])).toEqual([
      ['lib/.wh.foo', '-'],
      ['lib/dir/.wh..wh..opq', '-'],
      ['keep/.wh..wh..opq', '-'],
      ['hard', 'h'],
    ]);
    const layers = await Promise.all(tars.map((t) => listFile(t)));
    const fs = ImageFilesystem.build(layers);
    expect(rootfsLines(fs.tree)).toEqual(umociRootfs(tars));
    expect(fs.tree.get('usr/lib/foo')).toBeNull();
    expect(fs.tree.get('usr/lib/dir')?.children?.size).toBe(0);
    expect(fs.tree.get('usr/lib/keep')?.children?.size).toBe(0);
    expect(fs.tree.get('hard')?.size).toBe(4);
    expect(fs.layers[1]!.paths.removed.sort()).toEqual(['usr/lib/dir/x', 'usr/lib/foo', 'usr/lib/keep/k']);
    // The hard link's target is found, so no hardlink-target problem; each link is named once.
    expect(fs.problems.map(({ layer, problem: p }) => [layer, p.code, p.where, p.severity])).toEqual([
      [1, 'symlink-path', 'lib (layer test)', 'info'],
      [1, 'symlink-path', 'keep (layer test)', 'warning'],
    ]);
    rmSync(work, { recursive: true, force: true });
  });

  it('whiteouts of "." and ".." are skipped with a problem; umoci fails the unpack on them', async () => {
    // Real files of those names, packed by GNU tar: ok/sub/.wh.. and ok/.wh... under a base layer.
    const work = mkdtempSync(join(dir, 'wh-dots-'));
    const base = join(work, 'base');
    const top = join(work, 'top');
    mkdirSync(join(base, 'ok/sub'), { recursive: true });
    writeFileSync(join(base, 'ok/keep.txt'), 'keep\n');
    writeFileSync(join(base, 'ok/sub/x'), 'x\n');
    writeFileSync(join(base, 'top.txt'), 'top\n');
    mkdirSync(join(top, 'ok/sub'), { recursive: true });
    writeFileSync(join(top, 'ok/sub/.wh..'), '');
    writeFileSync(join(top, 'ok/.wh...'), '');
    sh('tar', ['-C', base, '-cf', `${base}.tar`, 'ok', 'top.txt']);
    sh('tar', ['-C', top, '-cf', `${top}.tar`, 'ok']);
    const lower = await listFile(`${base}.tar`);
    const upper = await listFile(`${top}.tar`);
    expect(upper.problems.map((p) => [p.code, p.where, p.severity])).toEqual([
      ['bad-whiteout', 'ok/sub/.wh.. (layer test)', 'warning'],
      ['unsafe-path', 'ok/.wh... (layer test)', 'error'],
    ]);
    expect(upper.problems[1]!.message).toContain('the parent of its directory');
    expect(upper.entries.map((e) => e.path)).toEqual(['ok', 'ok/sub']);
    // Nothing below is removed: the base layer's files are all in the merged tree.
    const fs = ImageFilesystem.build([lower, upper]);
    for (const p of ['ok/keep.txt', 'ok/sub/x', 'top.txt']) expect(fs.tree.get(p)?.type, p).toBe('file');
    expect(fs.layers[1]!.changes.removed).toBe(0);
    // umoci applies ".wh..." to the directory above and then fails the whole unpack.
    const layout = join(work, 'img');
    sh('umoci', ['init', '--layout', layout]);
    sh('umoci', ['new', '--image', `${layout}:t`]);
    for (const l of [`${base}.tar`, `${top}.tar`])
      sh('umoci', ['raw', 'add-layer', '--image', `${layout}:t`, l]);
    expect(() =>
      execFileSync('umoci', ['unpack', '--image', `${layout}:t`, join(work, 'bundle')], { stdio: 'pipe' }),
    ).toThrow(/\.wh\.\.\./);
  });

  it('names with control or bidirectional characters are spelled out in messages', async () => {
    // Files of those names, packed by GNU tar: "a<RLO>gnp.exe" prints as "aexe.png" (Trojan Source),
    // and a newline splits a name in two where it is printed.
    const work = mkdtempSync(join(dir, 'names-'));
    const spoof = 'a\u202egnp.exe';
    const split = 'two\nlines';
    writeFileSync(join(work, spoof), 'x');
    writeFileSync(join(work, split), 'y');
    const tar = join(work, 'odd.tar');
    // Each name twice: the duplicate-entry problem quotes it.
    sh('tar', ['-C', work, '-cf', tar, spoof, split, spoof, split]);
    const listing = await listFile(tar);
    expect(listing.entries.map((e) => e.path)).toEqual([spoof, split, spoof, split]);
    // The spoof is flagged where it occurs; the duplicates quote both names spelled out.
    expect(listing.problems.map((p) => [p.code, p.where])).toEqual([
      ['bidi-in-name', 'a\\u202Egnp.exe (layer test)'],
      ['bidi-in-name', 'a\\u202Egnp.exe (layer test)'],
      ['duplicate-entry', 'a\\u202Egnp.exe (layer test)'],
      ['duplicate-entry', 'two\\nlines (layer test)'],
    ]);
    for (const p of listing.problems) expect(hasHidden(p.message)).toBe(false);
    expect(escapeHidden('tab\there\u0000nul\u2066iso\u061c')).toBe('tab\\there\\0nul\\u2066iso\\u061C');
    expect(escapeHidden('plain/ü/名前 with spaces')).toBe('plain/ü/名前 with spaces');
  });

  it('a truncated layer and a damaged header stop the listing with the tar problem', async () => {
    const bytes = readFileSync(join(REGCLIENT, 'layer.tar'));
    const cut = join(dir, 'cut.tar');
    writeFileSync(cut, bytes.subarray(0, 512 + 1));
    const truncated = await listFile(cut);
    expect(truncated.stopped).toBe('tar-error');
    expect(truncated.problems.map((p) => p.code)).toEqual(['tar-truncated']);
    expect(truncated.entries.map((e) => e.path)).toEqual(['layer1.txt']);
    const damaged = Buffer.from(bytes);
    damaged.writeUInt8((damaged.readUInt8(1024 + 10) ^ 0xff) & 0xff, 1024 + 10); // inside the second header’s name
    const bad = join(dir, 'bad.tar');
    writeFileSync(bad, damaged);
    const listing = await listFile(bad);
    expect(listing.stopped).toBe('tar-error');
    expect(listing.problems[0]).toMatchObject({
      code: 'tar-checksum',
      where: 'offset 1024 of the uncompressed tar (layer test)',
    });
    expect(() => execFileSync('tar', ['-tf', bad], { stdio: 'pipe' })).toThrow();
  });

  it('the entry limit stops a layer with a problem; the archive goes on and names the layer', async () => {
    const small = await listFile(join(REGCLIENT, 'layer.tar'), { maxEntries: 2 });
    expect(small.stopped).toBe('entry-limit');
    expect(small.entries).toHaveLength(2);
    expect(small.problems.map((p) => p.code)).toEqual(['limit']);

    const { analysis } = await analyze(join(DATA, 'oci-archive.tar'), { limits: { maxEntries: 20 } });
    const report = buildReport(analysis);
    expect(report.complete).toBe(true);
    const limits = report.problems.filter((p) => p.code === 'limit');
    expect(limits).toHaveLength(1);
    expect(limits[0]!.where).toContain(
      'sha256:47a36ba19a35244c556a82be6d8d0b00dcdb5d3662b89e2903192d673a9c6e49',
    );
    const image = report.images[0]!;
    expect(image.filesystem).toBeUndefined();
    expect(image.layers.map((l) => l.changes)).toEqual([undefined, undefined, undefined]);
    expect(image.layers.map((l) => l.entries)).toEqual([20, 8, 9]);
    // The limit stops the listing, not the verification.
    expect(image.layers.every((l) => l.verified.diffId === true)).toBe(true);
  });

  it('a gzip bomb (head -c 200M /dev/zero | gzip) stops decompressing at the limit', async () => {
    const bomb = join(dir, 'bomb.gz');
    sh('bash', ['-c', `head -c 200M /dev/zero | gzip > ${bomb}`]);
    const size = statSync(bomb).size;
    const limit = uncompressedLimit(size, { ...DEFAULT_LAYER_LIMITS });
    expect(limit).toBeLessThan(200 * 1024 * 1024);
    const started = performance.now();
    const r = await digestBlob(await blobOf(bomb), { diffId: true, listing: true });
    console.log(
      `gzip bomb: ${size} bytes → stopped at ${limit} of 209715200 in ${Math.round(performance.now() - started)} ms`,
    );
    expect(r.digest).toBe(sha256sum(bomb)); // the stored bytes are still verified
    expect(r.error?.code).toBe('limit');
    expect(r.diffId).toBeNull();
    expect(r.listing!.stopped).toBe('byte-limit');
    expect(r.listing!.bytesRead).toBe(limit);
    expect(r.listing!.problems.map((p) => p.code)).toEqual(['limit']);

    // A tar inside the bomb, with a tighter limit set from outside.
    const tarBomb = join(dir, 'bomb.tar.gz');
    sh('bash', [
      '-c',
      `cd ${dir} && head -c 200M /dev/zero > zeros && tar -cf - zeros | gzip > ${tarBomb} && rm zeros`,
    ]);
    const t = await digestBlob(await blobOf(tarBomb), {
      diffId: true,
      listing: true,
      limits: { minUncompressedBytes: 1 << 20, maxExpansion: 1 },
    });
    expect(t.listing!.stopped).toBe('byte-limit');
    expect(t.listing!.bytesRead).toBe(1 << 20);
    expect(t.listing!.entries.map((e) => [e.path, e.size])).toEqual([['zeros', 200 * 1024 * 1024]]);
  });

  it.each([
    ['zstd', 'zstd -q -3 -c', 64 << 10],
    ['gzip', 'gzip -c', 1100 << 10],
  ])(
    'a %s bomb (1 GiB of zeros) is decoded a buffer at a time and stops at the limit',
    async (codec, tool, most) => {
      const bomb = join(dir, `bomb.${codec}`);
      sh('bash', ['-c', `head -c 1G /dev/zero | ${tool} > ${bomb}`]);
      const bytes = new Uint8Array(readFileSync(bomb));
      expect(bytes.length).toBeLessThan(most);
      const limit = uncompressedLimit(bytes.length, { ...DEFAULT_LAYER_LIMITS });
      let largest = 0;
      let handed = 0;
      const before = process.memoryUsage().arrayBuffers;
      let held = 0;
      const d = await BlobDigester.create({
        diffId: true,
        maxUncompressed: limit,
        onUncompressed: (chunk) => {
          largest = Math.max(largest, chunk.length);
          handed += chunk.length;
          held = Math.max(held, process.memoryUsage().arrayBuffers - before);
        },
      });
      // All of it in one write: a decoder that decodes whole input chunks (fzstd, which the zstd
      // decoder replaced; DecompressionStream) holds the whole GiB before the handler sees a byte.
      await d.write(bytes);
      const r = await d.finish();
      expect(r.digest).toBe(sha256sum(bomb));
      expect(r.error?.code).toBe('limit');
      // Its output comes a 256 KiB buffer at a time, and stops with the handler at the limit.
      expect(largest).toBeLessThanOrEqual(256 << 10);
      expect(handed).toBe(limit);
      expect(held).toBeLessThan(32 << 20);
    },
  );
});

describe('listings packed for postMessage', () => {
  it('come back equal after a structured clone with their buffers transferred, whatever their entries', async () => {
    const odd = join(dir, 'odd.tar');
    // What the packing has to carry exactly: every entry type, sizes over 4 GiB (PAX), negative
    // and fractional mtimes, uids over 2^32, non-ASCII and long names, xattrs, whiteouts, a sparse file.
    python(
      `
import io, sys, tarfile
with tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT) as t:
    for name, kind, kw in [
        ('d', tarfile.DIRTYPE, {}),
        ('d/f\u00e9\u4e2d', tarfile.REGTYPE, {'mtime': -86400.5, 'uid': 5000000000, 'gid': 2**40}),
        ('d/' + 'x' * 300, tarfile.REGTYPE, {'mtime': 1.25}),
        ('d/ln', tarfile.SYMTYPE, {'linkname': '../\u00e9'}),
        ('d/hl', tarfile.LNKTYPE, {'linkname': 'd/f\u00e9\u4e2d'}),
        ('d/c', tarfile.CHRTYPE, {'devmajor': 5, 'devminor': 1}),
        ('d/b', tarfile.BLKTYPE, {'devmajor': 259, 'devminor': 3}), ('d/p', tarfile.FIFOTYPE, {}),
        ('d/.wh.gone', tarfile.REGTYPE, {}), ('e/.wh..wh..opq', tarfile.REGTYPE, {}),
        ('d/sparse', tarfile.REGTYPE, {}), ('z/huge', tarfile.REGTYPE, {}),
    ]:
        ti = tarfile.TarInfo(name); ti.type = kind
        for k, v in kw.items(): setattr(ti, k, v)
        if name.endswith('\u4e2d'): ti.pax_headers = {'SCHILY.xattr.user.k': 'v'}
        # A sparse file all hole: 100 bytes, none stored, no segment (GNU sparse 0.1, as Go reads it).
        if name == 'd/sparse': ti.pax_headers = {'GNU.sparse.size': '100', 'GNU.sparse.numblocks': '0', 'GNU.sparse.map': ''}
        # Last: a size it does not hold, so the listing ends there, stopped.
        if name == 'z/huge': ti.pax_headers = {'size': str(5 * 2**30)}
        t.addfile(ti)
`,
      [odd],
    );
    const listings = [
      // Truncated by the 5 GiB size it claims: the packing also carries a stopped listing.
      await listFile(odd),
      await listFile(
        join(SHARED, 'moby/daemon/builder/remotecontext/internal/tarsum/testdata/xattr/layer.tar'),
      ),
      ...(await analyze(join(DATA, 'buildah-oci-archive.tar'))).listings.values(),
      ...(await analyze(join(ROOT, 'public/sample/sample.tar'))).listings.values(),
    ];
    const first = listings[0]!.entries;
    expect(first.some((e) => e.uid > 2 ** 32 && e.gid === 2 ** 40 && e.mtime === -86400.5 && e.xattrs)).toBe(
      true,
    );
    expect(first.at(-1)?.size).toBe(5 * 2 ** 30);
    expect(first.filter((e) => e.device).map((e) => [e.path, e.device])).toEqual([
      ['d/c', { major: 5, minor: 1 }],
      ['d/b', { major: 259, minor: 3 }],
    ]);
    expect(first.filter((e) => e.stored !== undefined).map((e) => [e.path, e.size, e.stored])).toEqual([
      ['d/sparse', 100, 0],
    ]);
    expect(listings[0]!.problems.filter((p) => p.code === 'sparse-map')).toEqual([]);
    expect(listings[0]!.stopped).not.toBeNull();
    expect(new Set(listings.flatMap((l) => l.entries.map((e) => e.type)))).toEqual(
      new Set(['directory', 'file', 'symlink', 'hardlink', 'char', 'block', 'fifo']),
    );
    for (const listing of listings) {
      const packed = packListing(listing);
      const moved = structuredClone(packed, { transfer: packedBuffers(packed) });
      expect(packed.numbers.byteLength).toBe(0); // transferred, not copied
      expect(unpackListing(moved)).toEqual(listing);
      // Only the entries that have a link name or a whiteout target carry one.
      expect(moved.links?.length).toBe(listing.entries.filter((e) => e.linkname).length);
      expect(moved.whiteoutTargets?.length).toBe(listing.entries.filter((e) => e.target !== null).length);
      // A listing cached before that (IndexedDB) has every entry's link name and target.
      const { links: _l, whiteoutTargets: _t, ...older } = packListing(listing);
      expect(
        unpackListing({
          ...older,
          linknames: listing.entries.map((e) => e.linkname),
          targets: listing.entries.map((e) => e.target),
        }),
      ).toEqual(listing);
    }
  });
});

describe('hard links across layers', () => {
  const tree = join(dir, 'links');
  const lower = join(dir, 'links-lower.tar');
  const upper = join(dir, 'links-upper.tar');
  const dangling = join(dir, 'links-dangling.tar');
  const later = join(dir, 'links-later.tar');
  const toDir = join(dir, 'links-to-dir.tar');

  beforeAll(() => {
    mkdirSync(join(tree, 'a'), { recursive: true });
    writeFileSync(join(tree, 'a/file'), 'shared bytes\n');
    // Layer 1: tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=posix -C links -cf links-lower.tar a
    sh('tar', [...T, '-C', tree, '-cf', lower, 'a']);
    // The other layers hold a hard link whose target they lack. GNU tar cannot write one (it
    // stores a link to a file outside the archive as a regular file), so python's tarfile
    // writes them: python3 -c '<script below>' <tar> <link target> [<entry after the link>]
    //   with tarfile.open(tar, 'w', format=tarfile.PAX_FORMAT) as t:
    //     b/ (DIRTYPE); b/link (LNKTYPE, linkname=<target>); then <entry> as a regular file
    const links = (tar: string, target: string, after = '') =>
      python(
        `
import io, sys, tarfile
with tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT) as t:
    d = tarfile.TarInfo('b'); d.type = tarfile.DIRTYPE; d.mode = 0o755; t.addfile(d)
    l = tarfile.TarInfo('b/link'); l.type = tarfile.LNKTYPE; l.linkname = sys.argv[2]; t.addfile(l)
    if len(sys.argv) > 3:
        f = tarfile.TarInfo(sys.argv[3]); data = b'late\\n'; f.size = len(data); t.addfile(f, io.BytesIO(data))
`,
        after ? [tar, target, after] : [tar, target],
      );
    links(upper, 'a/file');
    links(dangling, 'a/missing');
    links(later, 'b/late', 'b/late');
    links(toDir, 'a');
  });

  /** GNU tar extracting the layers in order into one directory: does it make every link? */
  function extracts(...tars: string[]): boolean {
    const out = mkdtempSync(join(dir, 'x-'));
    try {
      for (const t of tars) execFileSync('tar', ['-xf', t, '-C', out], { stdio: 'pipe' });
      return true;
    } catch {
      return false;
    }
  }

  it('a hard link to a file a lower layer provides is no problem, and shares its bytes', async () => {
    const [l1, l2] = [await listFile(lower), await listFile(upper)];
    expect(extracts(lower, upper)).toBe(true);
    expect(l2.problems).toEqual([]);
    const fs = ImageFilesystem.build([l1, l2]);
    expect(fs.problems).toEqual([]);
    expect(fs.tree.get('b/link')!.ino).toBe(fs.tree.get('a/file')!.ino);
    expect(fs.tree.get('b/link')!.size).toBe(statSync(join(tree, 'a/file')).size);
    expect(fs.figures.bytes).toBe(statSync(join(tree, 'a/file')).size); // counted once
  });

  it('a hard link whose target no layer has is a warning of the merge, not of the listing', async () => {
    const [l1, l2] = [await listFile(lower), await listFile(dangling)];
    expect(extracts(lower, dangling)).toBe(false);
    expect(l2.problems).toEqual([]);
    const fs = ImageFilesystem.build([l1, l2]);
    expect(fs.problems).toEqual([
      {
        layer: 1,
        problem: {
          code: 'hardlink-target',
          message:
            'hard link "b/link" points to "a/missing", which is neither in the layer nor in the layers below it',
          where: 'b/link (layer test)',
          severity: 'warning',
        },
      },
    ]);
    // The same link with nothing below: the lower layer's file does not count when it is absent.
    expect(extracts(upper)).toBe(false);
    expect(ImageFilesystem.build([await listFile(upper)]).problems.map((p) => p.problem.where)).toEqual([
      'b/link (layer test)',
    ]);
  });

  it('a hard link to a directory of a lower layer is a warning', async () => {
    const fs = ImageFilesystem.build([await listFile(lower), await listFile(toDir)]);
    expect(extracts(lower, toDir)).toBe(false);
    expect(fs.problems.map(({ problem: p }) => [p.code, p.where, p.severity])).toEqual([
      ['hardlink-target', 'b/link (layer test)', 'warning'],
    ]);
    expect(fs.problems[0]!.problem.message).toContain('which is a directory');
  });

  it('a hard link to a later entry of its layer is the listing’s error, reported once', async () => {
    const [l1, l2] = [await listFile(lower), await listFile(later)];
    expect(extracts(lower, later)).toBe(false);
    expect(l2.problems.map((p) => [p.code, p.where, p.severity])).toEqual([
      ['hardlink-target', 'b/link (layer test)', 'error'],
    ]);
    expect(l2.problems[0]!.message).toContain('comes later in the layer');
    expect(ImageFilesystem.build([l1, l2]).problems).toEqual([]);
  });

  it('the analysis reports a merge problem once for two images sharing the layer, with its digest', async () => {
    // umoci init --layout img; then per tag: umoci new --image img:<tag>;
    // umoci raw add-layer --image img:<tag> <tar> for each layer; tar -C img -cf links.tar .
    const work = mkdtempSync(join(dir, 'links-oci-'));
    sh('umoci', ['init', '--layout', `${work}/img`]);
    const images: Record<string, string[]> = {
      a: [lower, dangling],
      b: [lower, dangling],
      ok: [lower, upper],
    };
    for (const [tag, tars] of Object.entries(images)) {
      sh('umoci', ['new', '--image', `${work}/img:${tag}`]);
      for (const t of tars) sh('umoci', ['raw', 'add-layer', '--image', `${work}/img:${tag}`, t]);
    }
    const archive = join(work, 'links.tar');
    sh('tar', ['-C', `${work}/img`, '-cf', archive, '.']);
    const { analysis } = await analyze(archive);
    expect(analysis.images.filter((i) => i.present)).toHaveLength(3);
    const problems = analysis.problems.filter((p) => p.code === 'hardlink-target');
    // The layer's digest as umoci recorded it (it stores layers gzip-compressed): tag a's manifest.
    const blob = (d: string) => JSON.parse(readFileSync(`${work}/img/blobs/sha256/${d.slice(7)}`, 'utf8'));
    const index = JSON.parse(readFileSync(`${work}/img/index.json`, 'utf8')) as {
      manifests: { digest: string; annotations: Record<string, string> }[];
    };
    const a = index.manifests.find((m) => m.annotations['org.opencontainers.image.ref.name'] === 'a')!;
    const digest = (blob(a.digest) as { layers: { digest: string }[] }).layers[1]!.digest;
    expect(problems.map((p) => [p.where, p.severity])).toEqual([[`b/link (layer ${digest})`, 'warning']]);
  });
});

describe('the analysis with listings', () => {
  it('a gzip-compressed archive, listed in its one streamed pass, reports the same as the archive', async () => {
    for (const base of ['docker-archive.tar', 'oci-archive.tar']) {
      const plain = buildReport((await analyze(join(DATA, base))).analysis);
      const gz = buildReport((await analyze(join(DATA, `${base}.gz`))).analysis);
      expect(plain.images[0]!.filesystem).toBeDefined();
      expect(gz.images).toEqual(plain.images);
      expect(gz.problems).toEqual(plain.problems);
    }
  });

  it('app:2 shares two layers with app:1; its own layer replaces a hard-linked file and removes one', async () => {
    const { analysis, layersOf } = await analyze(join(DATA, 'oci-layout-multi.tar'));
    const app2 = analysis.images.find((i) => i.refs.includes('app:2'))!;
    const fs = ImageFilesystem.build(layersOf(app2));
    expect(fs.tree.get('etc/app.conf')).toBeNull();
    const hello = fs.tree.get('usr/bin/hello')!;
    const link = fs.tree.get('usr/bin/hello-world')!;
    expect([hello.size, hello.layer, link.type, link.ino]).toEqual([52, 2, 'hardlink', hello.ino]);
    // etc and opt/app re-listed, hello replaced and hello-world re-linked to it; VERSION added;
    // etc/app.conf whited out.
    expect(fs.layers[2]!.changes).toEqual({ added: 1, modified: 4, removed: 1 });
    // hostname 15, os-release 96, VERSION 6, run.sh 35, seed.txt 8, the long name 36, hello 52
    // (and its hard link), README 92, copyright 57, notes-ü 32, three caches of 14.
    expect(fs.figures.bytes).toBe(15 + 96 + 6 + 35 + 8 + 36 + 52 + 92 + 57 + 32 + 3 * 14);
  });

  it("hands each fully listed image's merge to the Files tab, which shows it without merging again", async () => {
    const merged = new Map<string, ImageFilesystem>();
    const { analysis, listings } = await analyze(join(DATA, 'oci-layout-multi.tar'), {
      onFilesystem: (id, fs) => merged.set(id, fs),
    });
    const images = analysis.images.filter((i) => i.present && i.layers.length > 0);
    expect(images.length).toBeGreaterThan(1);
    expect([...merged.keys()].sort()).toEqual(images.map((i) => i.id).sort());
    for (const i of images) expect(merged.get(i.id)!.figures).toEqual(analysis.filesystems![i.id]!.figures);
    const store = (adopt: boolean) => {
      const s = new LayerStore();
      s.analysis = analysis;
      for (const [key, listing] of listings) s.listings.set(key, listing);
      if (adopt) for (const [id, fs] of merged) s.adopt(id, fs);
      return s;
    };
    const request = (imageId: string, layer: number, mode: 'layer' | 'merged'): TreeRequest => ({
      imageId,
      layer,
      mode,
      filters: { added: true, modified: true, removed: true, unmodified: true },
      search: '',
      sort: 'name',
      expanded: 'all',
    });
    const build = vi.spyOn(ImageFilesystem, 'build');
    try {
      const requests = images.flatMap((i) => {
        const last = i.layers.length - 1;
        return [request(i.id, last, 'merged'), request(i.id, last, 'layer'), request(i.id, 0, 'layer')];
      });
      const adopted = store(true);
      const shown = requests.map((r) => adopted.rows(r));
      expect(build).not.toHaveBeenCalled();
      for (const rows of shown) expect(rows.count).toBeGreaterThan(0);
      // The counts the tab's summary gives: the merged tree's own paths are the report's
      // entries (removed paths shown in place aside), and a layer's changes are the report's.
      for (const [k, r] of requests.entries()) {
        const summary = analysis.filesystems![r.imageId]!;
        const { added, modified, removed, unmodified } = shown[k]!.changes;
        if (r.mode === 'merged') expect(added + modified + unmodified).toBe(summary.figures!.entries);
        else expect({ added, modified, removed }).toEqual(summary.layers[r.layer]);
      }
      // A store given nothing merges each image itself, once per image, and shows the same rows.
      const own = store(false);
      expect(requests.map((r) => own.rows(r))).toEqual(shown);
      expect(build).toHaveBeenCalledTimes(images.length);
    } finally {
      build.mockRestore();
    }
  });

  it('a directory with nothing under it in the view is a leaf: no twisty to open, open or closed', async () => {
    const { analysis, listings } = await analyze(join(ROOT, 'public/sample/sample.tar'));
    const store = new LayerStore();
    store.analysis = analysis;
    for (const [key, listing] of listings) store.listings.set(key, listing);
    const image = analysis.images[0]!;
    const all = { added: true, modified: true, removed: true, unmodified: true };
    const request = (over: Partial<TreeRequest>): TreeRequest => ({
      imageId: image.id,
      layer: image.layers.length - 1,
      mode: 'merged',
      filters: all,
      search: '',
      sort: 'name',
      expanded: 'all',
      ...over,
    });
    const dirs = (rows: TreeRows) =>
      rows.paths.flatMap((p, r) => ((rows.flags[r]! & ROW_DIR) !== 0 ? [[p, rows.flags[r]!] as const] : []));
    const emptyOf = (rows: TreeRows) =>
      dirs(rows)
        .filter(([, f]) => (f & ROW_EMPTY) !== 0)
        .map(([p]) => p);
    // Everything open: a directory is empty exactly when no deeper row follows it.
    const views = [
      request({}),
      request({ mode: 'layer', layer: 0 }),
      request({ filters: { ...all, unmodified: false } }),
      request({ mode: 'layer', layer: 1, filters: { ...all, added: false } }),
    ];
    for (const req of views) {
      const rows = store.rows(req);
      expect(rows.count).toBeGreaterThan(0);
      for (let r = 0; r < rows.count; r++) {
        if ((rows.flags[r]! & ROW_DIR) === 0) continue;
        const leaf = r + 1 >= rows.count || rows.depth[r + 1]! <= rows.depth[r]!;
        expect((rows.flags[r]! & ROW_EMPTY) !== 0, `${req.mode} ${req.layer} ${rows.paths[r]}`).toBe(leaf);
        expect((rows.flags[r]! & ROW_OPEN) !== 0).toBe(!leaf);
      }
    }
    // The sample's empty directories, as its rootfs tar has them (root, tmp, var/log).
    const merged = store.rows(request({}));
    expect(emptyOf(merged)).toEqual(['root', 'tmp', 'var/log']);
    // Closed, the same directories are leaves and the others still offer to open.
    const closed = store.rows(request({ expanded: [] }));
    const top = dirs(closed);
    expect(top.map(([p]) => p)).toEqual(
      dirs(merged)
        .filter(([p]) => !p.includes('/'))
        .map(([p]) => p),
    );
    for (const [p, f] of top) {
      expect(f & ROW_OPEN).toBe(0);
      expect((f & ROW_EMPTY) !== 0, p).toBe(emptyOf(merged).includes(p));
    }
  });

  it('an image whose top layer stopped listing is not handed on: the Files tab merges what there is', async () => {
    const path = join(DATA, 'oci-layout-multi.tar');
    const first = await analyze(path);
    const app1 = first.analysis.images.find((i) => i.refs.includes('app:1'))!;
    const app2 = first.analysis.images.find((i) => i.refs.includes('app:2'))!;
    // Only app:1's top layer (its own) hits the entry limit; app:2 shares the two below it.
    const top = first.analysis.blobs[app1.layers.at(-1)!.blob]!.expectedDigest!;
    const merged: string[] = [];
    const { analysis, listings } = await analyze(path, {
      verifier: (blob, o) => digestBlob(blob, o.layer === top ? { ...o, limits: { maxEntries: 3 } } : o),
      onFilesystem: (id) => merged.push(id),
    });
    expect(analysis.layers![app1.layers.at(-1)!.blob]!.stopped).toBe('entry-limit');
    expect(merged).toEqual([app2.id]);
    // The store merges app:1's listings itself and says the tree is incomplete.
    const store = new LayerStore();
    store.analysis = analysis;
    for (const [key, listing] of listings) store.listings.set(key, listing);
    const build = vi.spyOn(ImageFilesystem, 'build');
    try {
      const rows = store.rows({
        imageId: app1.id,
        layer: app1.layers.length - 1,
        mode: 'merged',
        filters: { added: true, modified: true, removed: true, unmodified: true },
        search: '',
        sort: 'name',
        expanded: 'all',
      });
      expect(build).toHaveBeenCalledTimes(1);
      expect(rows.incomplete).toBe(true);
      expect(rows.count).toBeGreaterThan(0);
    } finally {
      build.mockRestore();
    }
  });

  it('without the option nothing changes: no listings, no new report fields', async () => {
    const analysis = await analyzeArchive(await blobOf(join(DATA, 'oci-archive.tar')), {
      name: 'oci-archive.tar',
    });
    expect(analysis.layers).toBeUndefined();
    expect(analysis.filesystems).toBeUndefined();
    const report = buildReport(analysis);
    expect(report.images[0]!.filesystem).toBeUndefined();
    expect(Object.keys(report.images[0]!.layers[0]!)).not.toContain('entries');
  });
});

describe('large compressed layers: decompression and listing as two jobs joined by a pipe', () => {
  const outcome = async (path: string, options: Partial<AnalyzeOptions>) => {
    const { analysis, listings } = await analyze(path, options);
    return {
      report: buildReport(analysis),
      listings: [...listings].sort().map(([k, l]) => [k, l.entries, l.problems]),
    };
  };

  it.each([
    ['oci-archive.tar', 2, undefined],
    ['oci-archive.tar', 2, Infinity],
    ['oci-archive.tar', 1, undefined],
    ['oci-archive-zstd.tar', 2, undefined],
    ['oci-archive-zstd.tar', 2, Infinity],
    ['oci-layout-multi.tar', 2, undefined],
    ['docker-archive.tar', 2, undefined],
  ])(
    '%s (concurrency %d, listed by the sender from %s× on): the same report and listings as one pass',
    async (name, concurrency, listSentRatio) => {
      const path = join(DATA, name);
      // Which half listed is read from what each returned, not from what it was asked.
      const jobs: { job: string; digest: string | undefined; lists?: boolean }[] = [];
      const verifier: BlobVerifier = async (blob, o) => {
        const job = { job: o.plainTo ? 'decompress' : 'whole', digest: o.layer, lists: false };
        jobs.push(job);
        const r = await digestBlob(blob, o);
        job.lists = r.listing !== undefined;
        return r;
      };
      const plainVerifier: PlainVerifier = async (port, o) => {
        const job = { job: 'receive', digest: o.layer, lists: false };
        jobs.push(job);
        const r = await digestPlain(port, o);
        job.lists = r.listing !== undefined;
        return r;
      };
      const split = await outcome(path, { splitMin: 1, listSentRatio, verifier, plainVerifier, concurrency });
      const onePass = await outcome(path, { splitMin: Infinity, concurrency });
      expect(split).toEqual(onePass);
      expect(split.report.complete).toBe(true);
      // With two runners each compressed layer is two jobs, one reading and decompressing it, one
      // hashing what it sends; an uncompressed layer (docker-archive) is one job: its digest is its
      // diff_id. With one runner nothing is piped (both halves must run at once).
      const layers = new Map(split.report.images.flatMap((i) => i.layers.map((l) => [l.digest, l])));
      const compressed = [...layers.values()].filter((l) => !l.mediaType.endsWith('tar'));
      const piped = concurrency > 1 ? compressed.length : 0;
      const of = (job: string) => jobs.filter((j) => j.job === job);
      expect(of('decompress')).toHaveLength(piped);
      expect(of('receive')).toHaveLength(piped);
      expect(of('whole')).toHaveLength(layers.size - piped);
      // Exactly one half lists: the decompressing one when the layer expands 8 times or more
      // (these small layers declare their true size: gzip's ISIZE, zstd's content size).
      // The halves of a layer start one after the other, so the i-th of each belong together.
      of('decompress').forEach(({ digest, lists }, i) => {
        const l = layers.get(digest as string);
        const expands = (l?.uncompressedSize as number) / (l?.size as number);
        expect(lists).toBe(expands >= (listSentRatio ?? 8));
        expect(of('receive')[i]?.lists).toBe(!lists);
      });
      if (piped > 0 && listSentRatio === undefined) expect(of('decompress').some((j) => j.lists)).toBe(true);
    },
  );

  it('two piped layers are decompressed at once, their receiving halves beside the runners', async () => {
    let senders = 0;
    let maxSenders = 0;
    let maxJobs = 0;
    let jobs = 0;
    const track = async <T>(sender: boolean, run: () => Promise<T>): Promise<T> => {
      jobs++;
      if (sender) senders++;
      maxSenders = Math.max(maxSenders, senders);
      maxJobs = Math.max(maxJobs, jobs);
      try {
        return await run();
      } finally {
        jobs--;
        if (sender) senders--;
      }
    };
    const verifier: BlobVerifier = (blob, o) => track(o.plainTo !== undefined, () => digestBlob(blob, o));
    const plainVerifier: PlainVerifier = (port, o) => track(false, () => digestPlain(port, o));
    const path = join(DATA, 'oci-archive.tar');
    const { analysis } = await analyze(path, { splitMin: 1, verifier, plainVerifier, concurrency: 2 });
    const compressed = buildReport(analysis).images[0]!.layers.filter((l) => !l.mediaType.endsWith('tar'));
    expect(compressed.length).toBeGreaterThanOrEqual(2);
    // Two runners: two senders at once (a receiving half never holds a runner), four jobs at most.
    expect(maxSenders).toBe(2);
    expect(maxJobs).toBe(4);
    expect(buildReport(analysis)).toEqual(
      buildReport((await analyze(path, { splitMin: Infinity, concurrency: 2 })).analysis),
    );
  });

  it('a half that fails cancels the other, which would otherwise wait for ever', async () => {
    // The receiving half is lost at once (as when its worker dies); the sending half stands for one
    // blocked on the pipe's window, which only its signal can end.
    const plainVerifier: PlainVerifier = async () => {
      throw new Error('digest worker failed: out of memory');
    };
    const verifier: BlobVerifier = (blob, o) =>
      o.plainTo
        ? new Promise((_, reject) => o.signal?.addEventListener('abort', () => reject(new CancelledError())))
        : digestBlob(blob, o);
    const { analysis } = await analyze(join(DATA, 'oci-archive.tar'), {
      splitMin: 1,
      verifier,
      plainVerifier,
      concurrency: 2,
    });
    const report = buildReport(analysis);
    expect(report.complete).toBe(true);
    const problems = report.problems.filter((p) => p.code === 'read-error');
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.every((p) => p.message.includes('digest worker failed: out of memory'))).toBe(true);
    // Its manifest and config are still verified.
    expect(
      Object.values(analysis.blobs).some((b) => b.role !== 'layer' && b.digestCheck.state === 'verified'),
    ).toBe(true);
  });

  it('a tampered compressed layer is still a digest mismatch when split', async () => {
    const report = buildReport((await analyze(join(DATA, 'tampered-layer.tar'), { splitMin: 1 })).analysis);
    const onePass = buildReport(
      (await analyze(join(DATA, 'tampered-layer.tar'), { splitMin: Infinity })).analysis,
    );
    expect(report).toEqual(onePass);
    expect(report.problems.some((p) => p.code === 'digest-mismatch' || p.code === 'diffid-mismatch')).toBe(
      true,
    );
  });
});

describe('scale', () => {
  it('lists and merges a 200,000-entry layer (python tarfile) and a layer over it', async () => {
    const big = join(dir, 'big.tar');
    const top = join(dir, 'top.tar');
    // 2,000 directories of 99 files (every tenth holds a byte): 200,000 entries. Over it:
    // 100 directories whited out, 100 made opaque with one new file, 1,800 files replaced.
    python(
      `
import io, sys, tarfile
def add(t, name, data=b'', kind=tarfile.REGTYPE):
    ti = tarfile.TarInfo(name); ti.type = kind; ti.size = len(data); ti.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    t.addfile(ti, io.BytesIO(data) if data else None)
with tarfile.open(sys.argv[1], 'w', format=tarfile.GNU_FORMAT) as t:
    for d in range(2000):
        add(t, f'usr/lib/pkg{d:04}', kind=tarfile.DIRTYPE)
        for f in range(99):
            add(t, f'usr/lib/pkg{d:04}/file{f:02}.so', b'x' if f % 10 == 0 else b'')
with tarfile.open(sys.argv[2], 'w', format=tarfile.GNU_FORMAT) as t:
    for d in range(100):
        add(t, f'usr/lib/.wh.pkg{d:04}')
    for d in range(100, 200):
        add(t, f'usr/lib/pkg{d:04}/.wh..wh..opq')
        add(t, f'usr/lib/pkg{d:04}/new.so', b'n')
    for d in range(200, 2000):
        add(t, f'usr/lib/pkg{d:04}/file00.so', b'yy')
`,
      [big, top],
    );
    const heap0 = process.memoryUsage().heapUsed;
    let t0 = performance.now();
    const lower = await listFile(big);
    const upper = await listFile(top);
    const parseMs = performance.now() - t0;
    const heap1 = process.memoryUsage().heapUsed;
    t0 = performance.now();
    const fs = ImageFilesystem.build([lower, upper]);
    const mergeMs = performance.now() - t0;
    const heap2 = process.memoryUsage().heapUsed;
    t0 = performance.now();
    const at0 = fs.at(0);
    const at0Ms = performance.now() - t0;
    console.log(
      `200,000 entries (${statSync(big).size} tar bytes): listed in ${Math.round(parseMs)} ms, ` +
        `merged with a 2,100-entry layer in ${Math.round(mergeMs)} ms (merged after layer 0 alone: ${Math.round(at0Ms)} ms); ` +
        `heap ≈ +${Math.round((heap1 - heap0) / 2 ** 20)} MB for listings, +${Math.round((heap2 - heap1) / 2 ** 20)} MB for the merge`,
    );
    expect(lower.tarEntries).toBe(200_000);
    expect(upper.tarEntries).toBe(2_100);
    expect(at0.entries).toBe(200_002); // + usr and usr/lib, implied
    expect(fs.layers[0]!.changes.added).toBe(200_002);
    // Whiteouts remove 100 × (directory + 99 files); opaque directories lose 99 files each.
    expect(fs.layers[1]!.changes).toEqual({ added: 100, modified: 1_800, removed: 100 * 100 + 100 * 99 });
    expect(fs.figures.entries).toBe(200_002 - 10_000 - 9_900 + 100);
    // 1,800 directories with 9 one-byte files and file00.so at 2 bytes, 100 with new.so.
    expect(fs.figures.bytes).toBe(1_800 * (9 + 2) + 100);
    expect(mergeMs).toBeLessThan(30_000); // generous: the printed time is the measure
  });
});

/**
 * Sparse files as GNU tar (`--sparse`, each of its formats) and bsdtar (by default, for any file with
 * holes) store them: listed as `tar -tvf` lists them, merged as umoci unpacks them, and read back by
 * the Files tab byte for byte.
 */
describe('sparse files', () => {
  const src = join(dir, 'sparse-src');
  /** name → the tar of the four files; `S` is GNU's old format. */
  const tars: Record<string, string> = {};
  const FILES = ['holes', 'many', 'hollow', 'plain'];

  beforeAll(() => {
    mkdirSync(src, { recursive: true });
    // holes: 40 MiB with three runs of data, one across 16 MiB (where a download's Blob starts a
    // part); many: 100 runs, 64 KiB apart (more map entries than a
    // type S header holds, and a 1.0 map of several blocks); hollow: 1 MiB of hole only.
    python(
      `
import os, sys
d = sys.argv[1]
def sparse(name, size, runs):
    with open(os.path.join(d, name), 'wb') as f:
        f.truncate(size)
        for at, data in runs:
            f.seek(at); f.write(data)
sparse('holes', 40 << 20, [(4096, b'hello'), (8 << 20, b'tail'), ((16 << 20) - 4096, b'across' * 2000)])
sparse('many', 100 << 16, [(i << 16, bytes([65 + i % 26]) * (i + 1)) for i in range(100)])
sparse('hollow', 1 << 20, [])
with open(os.path.join(d, 'plain'), 'wb') as f: f.write(b'after the sparse files\\n')
`,
      [src],
    );
    // The file system must keep holes for the tools to find them (tmpfs and ext4 do).
    expect(statSync(join(src, 'holes')).blocks * 512).toBeLessThan(1 << 20);
    const tar = (name: string, args: string[]) => {
      tars[name] = join(dir, `sparse-${name}.tar`);
      sh('tar', [...args, '-C', src, '-cf', tars[name], ...FILES]);
    };
    tar('S', ['--sparse', '--format=gnu']);
    for (const v of ['0.0', '0.1', '1.0']) tar(v, ['--sparse', '--format=posix', `--sparse-version=${v}`]);
    tars.bsdtar = join(dir, 'sparse-bsdtar.tar');
    sh('bsdtar', ['-C', src, '-cf', tars.bsdtar, ...FILES]);
  });

  it('every format lists as tar -tvf lists it: real names and sizes, the entries after them in place', async () => {
    for (const [name, tar] of Object.entries(tars)) {
      const listing = await listFile(tar);
      expect(listing.entries.map(asTv), name).toEqual(parseTv(tarTv(tar)));
      expect(
        listing.entries.map((e) => [e.path, e.size]),
        name,
      ).toEqual([
        ['holes', 40 << 20],
        ['many', 100 << 16],
        ['hollow', 1 << 20],
        ['plain', 23],
      ]);
      expect(listing.stopped, name).toBeNull();
      // Only the old GNU format is one the image tools refuse.
      expect(
        listing.problems.map((p) => [p.code, p.where]),
        name,
      ).toEqual(
        name === 'S' ? ['holes', 'many', 'hollow'].map((f) => ['sparse-type-s', `${f} (layer test)`]) : [],
      );
    }
  });

  it('a PAX-format sparse file merges as umoci unpacks it; umoci refuses type S, as the warning says', async () => {
    for (const name of ['0.0', '0.1', '1.0', 'bsdtar']) {
      const fs = ImageFilesystem.build([await listFile(tars[name]!)]);
      expect(rootfsLines(fs.tree), name).toEqual(umociRootfs([tars[name]!]));
      expect(fs.figures.bytes).toBe((40 << 20) + (100 << 16) + (1 << 20) + 23);
    }
    expect(() => umociRootfs([tars.S!])).toThrow(/unknown typeflag/);
  });

  it('the Files tab reads a sparse file back with its holes, whole or up to a limit', async () => {
    for (const [name, tar] of Object.entries(tars)) {
      const { analysis, store } = await opened(archiveOf(mkdtempSync(join(dir, 'sparse-img-')), [tar]));
      const image = analysis.images[0]!;
      for (const f of FILES) {
        const r = await wholeFile(store, image.id, 0, f);
        expect(Buffer.from(r.bytes).equals(readFileSync(join(src, f))), `${name} ${f}`).toBe(true);
      }
      // The bound on a sparse file written out is the analysis's limit on what a layer may expand
      // to: at 1 MiB, the 40 MiB file is refused and the 1 MiB one still written.
      store.maxExpanded = 1 << 20;
      await expect(wholeFile(store, image.id, 0, 'holes')).rejects.toThrow(/more than the 1048576 bytes/);
      expect((await wholeFile(store, image.id, 0, 'hollow')).bytes.length).toBe(1 << 20);
      const head = await store.readFile(image.id, 0, 'many', 200_000);
      expect(head.truncated).toBe(true);
      expect(Buffer.from(head.bytes!).equals(readFileSync(join(src, 'many')).subarray(0, 200_000))).toBe(
        true,
      );
    }
  });

  it('a malformed sparse map is a problem naming the file, and the entries after it are listed', async () => {
    const bad = join(dir, 'sparse-bad.tar');
    python(
      `
import io, sys, tarfile
def add(t, name, data=b'', pax=None):
    ti = tarfile.TarInfo(name); ti.size = len(data)
    if pax: ti.pax_headers = pax
    t.addfile(ti, io.BytesIO(data))
with tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT) as t:
    sp = {'GNU.sparse.major': '0', 'GNU.sparse.minor': '1', 'GNU.sparse.size': '100', 'GNU.sparse.numblocks': '2'}
    add(t, 'overlap', b'x' * 20, dict(sp, **{'GNU.sparse.map': '50,10,40,10'}))
    add(t, 'past-end', b'x' * 20, dict(sp, **{'GNU.sparse.map': '0,10,95,10'}))
    add(t, 'short', b'x' * 15, dict(sp, **{'GNU.sparse.map': '0,10,20,10'}))
    one = {'GNU.sparse.major': '1', 'GNU.sparse.minor': '0', 'GNU.sparse.realsize': '100', 'GNU.sparse.name': 'v1'}
    add(t, 'GNUSparseFile.0/v1', b'1\\n0\\nten\\n'.ljust(512, b'\\0') + b'x' * 10, one)
    add(t, 'after', b'still listed')
`,
      [bad],
    );
    const listing = await listFile(bad);
    expect(listing.entries.map((e) => [e.path, e.size])).toEqual([
      ['overlap', 100],
      ['past-end', 100],
      ['short', 100],
      ['v1', 100],
      ['after', 12],
    ]);
    expect(listing.problems.map((p) => [p.code, p.where, p.severity])).toEqual(
      ['overlap', 'past-end', 'short', 'v1'].map((f) => ['sparse-map', `${f} (layer test)`, 'error']),
    );
    const [overlap, pastEnd, short, v1] = listing.problems.map((p) => p.message);
    expect(overlap).toContain('overlaps');
    expect(pastEnd).toContain('ends past the file');
    expect(short).toContain('hold 20 bytes, but the entry stores 15');
    expect(v1).toContain('byte 0x74');
    const { analysis, store } = await opened(archiveOf(mkdtempSync(join(dir, 'sparse-img-')), [bad]));
    await expect(wholeFile(store, analysis.images[0]!.id, 0, 'overlap')).rejects.toThrow(
      /"overlap" is a sparse file whose map cannot be used/,
    );
    const after = await wholeFile(store, analysis.images[0]!.id, 0, 'after');
    expect(Buffer.from(after.bytes).toString()).toBe('still listed');
  });

  it('a sparse file of a petabyte opens in the viewer, and is not written out whole', async () => {
    const huge = join(dir, 'sparse-huge.tar');
    python(
      `
import io, sys, tarfile
with tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT) as t:
    ti = tarfile.TarInfo('lastlog'); ti.size = 5
    ti.pax_headers = {'GNU.sparse.major': '0', 'GNU.sparse.minor': '1', 'GNU.sparse.size': str(2 ** 50),
                      'GNU.sparse.numblocks': '1', 'GNU.sparse.map': '4096,5'}
    t.addfile(ti, io.BytesIO(b'hello'))
`,
      [huge],
    );
    const listing = await listFile(huge);
    expect(listing.entries.map((e) => [e.path, e.size])).toEqual([['lastlog', 2 ** 50]]);
    expect(listing.problems).toEqual([]);
    const { analysis, store } = await opened(archiveOf(mkdtempSync(join(dir, 'sparse-img-')), [huge]));
    const id = analysis.images[0]!.id;
    const head = await store.readFile(id, 0, 'lastlog', 8192);
    expect(head.truncated).toBe(true);
    expect(Buffer.from(head.bytes!).toString('latin1')).toBe('\0'.repeat(4096) + 'hello' + '\0'.repeat(4091));
    await expect(wholeFile(store, id, 0, 'lastlog')).rejects.toThrow(
      /"lastlog" is a sparse file of 1125899906842624 bytes with its holes, more than the 34359738368 bytes/,
    );
  });

  it('a sparse file of the archive itself (bsdtar of a layout) is named, not read as its blob', async () => {
    const work = mkdtempSync(join(dir, 'sparse-outer-'));
    // A layer holding 1 MiB of zeros (not stored sparse), whose blob is then given holes there, as a
    // file system may leave them.
    const zeros = join(work, 'zeros.tar');
    sh('tar', ['-C', src, '-cf', zeros, 'hollow', 'plain']);
    const archive = archiveOf(work, [zeros]);
    // skopeo's docker-archive keeps the layer uncompressed, as <diff_id>.tar.
    const unpacked = join(work, 'docker-archive');
    mkdirSync(unpacked);
    sh('skopeo', ['copy', '-q', `oci-archive:${archive}:x`, `docker-archive:${unpacked}.tar:x:1`]);
    sh('tar', ['-C', unpacked, '-xf', `${unpacked}.tar`]);
    const layer = readdirSync(unpacked).find((n) => /^[0-9a-f]{64}\.tar$/.test(n))!;
    sh('cp', ['--sparse=always', join(unpacked, layer), join(work, 'sparse')]);
    sh('mv', [join(work, 'sparse'), join(unpacked, layer)]);
    const outer = join(work, 'bsdtar-docker-archive.tar');
    sh('bsdtar', ['-C', unpacked, '-cf', outer, '.']);
    sh('gzip', ['-k', outer]);
    for (const file of [outer, `${outer}.gz`]) {
      const { analysis } = await analyze(file);
      const sparse = analysis.problems.filter((p) => p.code === 'tar-sparse');
      // Named as the archive names it (bsdtar writes ./).
      expect(
        sparse.map((p) => p.where.split(',')[0]),
        file,
      ).toEqual([`./${layer}`]);
      expect(sparse[0]!.message).toContain('--no-read-sparse');
      expect(
        analysis.problems.some((p) => p.code === 'missing-blob'),
        file,
      ).toBe(true);
    }
  });
});
