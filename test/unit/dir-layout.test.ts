/**
 * containers/image's `dir:` transport: folders written by `skopeo copy … dir:<path>`, given as a
 * folder, as a tar of it and as a gzip-compressed tar, checked against what skopeo itself says of
 * the same folder (`skopeo inspect --raw`, `--config --raw`) and `sha256sum`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeArchive, analyzeFolder } from '../../src/core/archive/analyze';
import type { Analysis } from '../../src/core/model';
import { buildReport } from '../../src/core/report';
import { parseReport } from '../../src/core/permalink/report-schema';
import { analysisFromReport } from '../../src/core/permalink/summary-analysis';
import type { Report } from '../../src/core/report';
import { DATA, SHARED, blobOf, folderOf, sh, sha256sum, tempDir } from './helpers/tools';
import { analyseMutations } from './helpers/mutations';

const expected = JSON.parse(readFileSync(join(DATA, 'expected.json'), 'utf8')) as Record<
  string,
  { images: { layers: { digest: string; diffId: string }[] }[] }
>;

const work = tempDir('layerlens-dir-');
let made = 0;

/** `skopeo copy <source> dir:<new folder>`; returns the folder. */
function skopeoDir(source: string, ...extra: string[]): string {
  const dir = join(work, `dir-${made++}`);
  sh('skopeo', ['--insecure-policy', 'copy', '--quiet', ...extra, source, `dir:${dir}`]);
  return dir;
}

function inspect(dir: string, config = false): Record<string, unknown> {
  return JSON.parse(
    sh('skopeo', ['inspect', '--raw', ...(config ? ['--config'] : []), `dir:${dir}`]),
  ) as Record<string, unknown>;
}

async function fromFolder(dir: string): Promise<{ analysis: Analysis; report: Report }> {
  const analysis = await analyzeFolder(await folderOf(dir), { name: 'image', listings: true });
  return { analysis, report: buildReport(analysis) };
}

async function fromTar(dir: string, gzip = false): Promise<Report> {
  const path = `${dir}${gzip ? '.tar.gz' : '.tar'}`;
  sh('tar', ['-C', dir, gzip ? '-czf' : '-cf', path, '.']);
  return buildReport(await analyzeArchive(await blobOf(path), { name: 'image.tar', listings: true }));
}

interface Descriptor {
  digest: string;
  size: number;
  mediaType: string;
}

describe("skopeo's dir: folders", () => {
  it.each([
    ['oci-archive', 'oci-archive.tar'],
    ['oci-archive', 'oci-archive-zstd.tar'],
    ['docker-archive', 'docker-archive.tar'],
  ])('%s:%s copied to dir: reads as skopeo inspect says, every check verified', async (transport, name) => {
    const dir = skopeoDir(`${transport}:${join(DATA, name)}`);
    const manifest = inspect(dir) as { config: Descriptor; layers: Descriptor[] };
    const config = inspect(dir, true) as { rootfs: { diff_ids: string[] } };
    const { analysis, report } = await fromFolder(dir);
    expect(report.source).toMatchObject({
      kind: 'dir',
      layout: 'containers/image dir: layout (skopeo, podman docker-dir), version 1.1',
      folder: true,
    });
    expect(report.problems).toEqual([]);
    expect(report.complete).toBe(true);
    expect(report.images).toHaveLength(1);
    const image = report.images[0]!;
    // manifest.json holds the manifest's bytes: its digest is the manifest digest.
    expect(image.manifestDigest).toBe(sha256sum(join(dir, 'manifest.json')));
    expect(image.configDigest).toBe(manifest.config.digest);
    expect(image.layers.map((l) => [l.digest, l.size, l.mediaType, l.diffId])).toEqual(
      manifest.layers.map((l, i) => [l.digest, l.size, l.mediaType, config.rootfs.diff_ids[i]]),
    );
    for (const l of image.layers) expect(l.verified).toEqual({ size: true, digest: true, diffId: true });
    // Each blob is the file skopeo named by its digest, and hashes to it.
    for (const d of [manifest.config, ...manifest.layers]) {
      const blob = analysis.blobs[d.digest]!;
      expect(blob.path).toBe(d.digest.slice(7));
      expect(sha256sum(join(dir, blob.path!))).toBe(d.digest);
    }
    // manifest.json is named by no descriptor: its digest is computed, not checked.
    const top = analysis.blobs[image.manifestDigest!]!;
    expect(top.path).toBe('manifest.json');
    expect(top.digestCheck).toEqual({ state: 'unchecked', reason: 'nothing claims a digest for this blob' });
    expect(analysis.nodes.find((n) => n.id === image.manifestDigest)?.kind).toBe('manifest');
    // Every layer was listed, as for any other input.
    expect(report.images[0]!.filesystem?.entries).toBeGreaterThan(0);

    // The same folder as a tar, and as a tar compressed as a whole (read in one stream).
    for (const gzip of [false, true]) {
      const tarred = await fromTar(dir, gzip);
      expect(tarred.source.kind).toBe('dir');
      expect(tarred.problems).toEqual([]);
      expect(tarred.images).toEqual(report.images);
    }
  });

  it('podman save --format docker-dir writes the same layout: read as skopeo inspect says', async () => {
    // podman's own store for this test: nothing of the machine's is read or changed.
    const store = join(work, 'podman');
    const podman = (...args: string[]) =>
      sh('podman', [
        '--root',
        join(store, 'root'),
        '--runroot',
        join(store, 'run'),
        '--storage-driver',
        'vfs',
        '--events-backend',
        'none',
        ...args,
      ]);
    podman('load', '--quiet', '--input', join(DATA, 'oci-archive.tar'));
    const dir = join(work, 'podman-docker-dir');
    podman('save', '--quiet', '--format', 'docker-dir', '--output', dir, 'localhost/app:1');
    const manifest = inspect(dir) as { mediaType: string; config: Descriptor; layers: Descriptor[] };
    expect(manifest.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    const { report } = await fromFolder(dir);
    expect(report.source.kind).toBe('dir');
    expect(report.problems).toEqual([]);
    expect(report.images.map((i) => [i.manifestDigest, i.configDigest])).toEqual([
      [sha256sum(join(dir, 'manifest.json')), manifest.config.digest],
    ]);
    expect(report.images[0]!.layers.map((l) => [l.digest, l.verified])).toEqual(
      manifest.layers.map((l) => [l.digest, { size: true, digest: true, diffId: true }]),
    );
  });

  it('an index copied with --multi-arch all: every platform, its manifest from <encoded>.manifest.json', async () => {
    const dir = skopeoDir(`oci:${join(SHARED, 'regclient/testdata/testrepo')}:v3`, '--multi-arch', 'all');
    const index = inspect(dir) as { manifests: (Descriptor & { platform?: { architecture: string } })[] };
    const { analysis, report } = await fromFolder(dir);
    expect(report.problems.filter((p) => p.severity !== 'info')).toEqual([]);
    expect(report.images.map((i) => i.manifestDigest).sort()).toEqual(
      index.manifests.map((m) => m.digest).sort(),
    );
    for (const image of report.images) {
      const blob = analysis.blobs[image.manifestDigest!]!;
      expect(blob.path).toBe(`${image.manifestDigest!.slice(7)}.manifest.json`);
      expect(blob.digestCheck.state).toBe('verified');
      expect(image.layers.length).toBeGreaterThan(0);
      for (const l of image.layers) expect(l.verified).toEqual({ size: true, digest: true, diffId: true });
    }
    // The index is the root of the graph, each platform's manifest drawn under it.
    const root = sha256sum(join(dir, 'manifest.json'));
    expect(analysis.nodes.find((n) => n.id === root)?.kind).toBe('index');
    expect(
      analysis.edges
        .filter((e) => e.from === root)
        .map((e) => e.to)
        .sort(),
    ).toEqual(index.manifests.map((m) => m.digest).sort());
  });

  it('an index copied with --multi-arch index-only: its platforms are absent, not errors', async () => {
    const dir = skopeoDir(
      `oci:${join(SHARED, 'regclient/testdata/testrepo')}:v3`,
      '--multi-arch',
      'index-only',
    );
    expect(readdirSync(dir).sort()).toEqual(['manifest.json', 'version']);
    const { report } = await fromFolder(dir);
    expect(report.problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(report.images.length).toBeGreaterThan(1);
    expect(report.images.every((i) => !i.present)).toBe(true);
    expect(report.problems.filter((p) => p.code === 'absent-image')).toHaveLength(report.images.length);
    expect(report.problems[0]!.message).toMatch(/is listed but not included in the folder$/);
  });

  it('a layer changed in the folder is a mismatch naming its file', async () => {
    const dir = skopeoDir(`oci-archive:${join(DATA, 'oci-archive.tar')}`);
    const layer = (inspect(dir) as { layers: Descriptor[] }).layers[0]!;
    const path = join(dir, layer.digest.slice(7));
    const bytes = readFileSync(path);
    bytes[bytes.length - 1]! ^= 1;
    writeFileSync(path, bytes);
    const { report } = await fromFolder(dir);
    const bad = report.problems.find((p) => p.code === 'digest-mismatch');
    expect(bad?.where).toContain(layer.digest.slice(7));
    expect(bad?.message).toContain(`named ${layer.digest}`);
  });

  it('a blob missing from the folder is said to be, by its digest and file name', async () => {
    const dir = skopeoDir(`oci-archive:${join(DATA, 'oci-archive.tar')}`);
    const manifest = inspect(dir) as { config: Descriptor };
    rmSync(join(dir, manifest.config.digest.slice(7)));
    const { report } = await fromFolder(dir);
    expect(report.problems.filter((p) => p.code === 'missing-blob')).toEqual([
      {
        code: 'missing-blob',
        message: `config ${manifest.config.digest} is missing from the folder`,
        where: manifest.config.digest.slice(7),
        severity: 'error',
      },
    ]);
  });

  it('without its version file, a manifest.json that is a manifest still reads, with a warning', async () => {
    const dir = skopeoDir(`oci-archive:${join(DATA, 'oci-archive.tar')}`);
    rmSync(join(dir, 'version'));
    const { report } = await fromFolder(dir);
    expect(report.source.kind).toBe('dir');
    expect(report.images).toHaveLength(1);
    expect(report.images[0]!.layers.every((l) => l.verified.diffId === true)).toBe(true);
    expect(report.problems.map((p) => [p.code, p.severity, p.where])).toEqual([
      ['invalid-document', 'info', 'version'],
    ]);
  });

  it.each([
    // Schema 2 whose config is typed application/octet-stream, as early writers typed it: an image
    // all the same (a Docker schema 2 manifest describes one), not an artifact.
    ['uncompressed-image-s2', 'sha256:86ce150e65c72b30f885c261449d18b7c6832596916e7f654e08377b5a67b4ff'],
    ['uncompressed-image-s1', null],
  ])(
    "skopeo's own fixture %s (a dir: layout from before the version file) reads as skopeo inspect says",
    async (name, config) => {
      const dir = join(SHARED, 'skopeo/integration/fixtures', name);
      const skopeo = JSON.parse(sh('skopeo', ['inspect', `dir:${dir}`])) as {
        Digest: string;
        Layers: string[];
      };
      const { report } = await fromFolder(dir);
      expect(report.source.kind).toBe('dir');
      expect(report.problems.map((p) => [p.code, p.severity])).toEqual([['invalid-document', 'info']]);
      expect(report.images.map((i) => [i.manifestDigest, i.configDigest])).toEqual([[skopeo.Digest, config]]);
      const image = report.images[0]!;
      expect(image.layers.map((l) => l.digest)).toEqual(skopeo.Layers);
      // The layer is an uncompressed tar under a gzip media type: its bytes decide.
      expect(image.layers[0]!.verified).toEqual({
        size: config ? true : null,
        digest: true,
        diffId: config ? true : null,
      });
      expect(image.filesystem?.entries).toBeGreaterThan(0);
    },
  );

  it('a Docker schema 1 manifest (skopeo --format v2s1): its digest and layers as skopeo inspect gives them', async () => {
    const dir = skopeoDir(`oci-archive:${join(DATA, 'oci-archive.tar')}`, '--format', 'v2s1');
    expect((inspect(dir) as { schemaVersion: number }).schemaVersion).toBe(1);
    const skopeo = JSON.parse(sh('skopeo', ['inspect', `dir:${dir}`])) as {
      Digest: string;
      Layers: string[];
      Architecture: string;
      Created: string;
    };
    const { analysis, report } = await fromFolder(dir);
    expect(report.source.kind).toBe('dir');
    expect(report.problems).toEqual([]);
    expect(report.images).toHaveLength(1);
    const image = report.images[0]!;
    // The digest of a signed schema 1 manifest covers it without its signatures: not manifest.json's SHA-256.
    expect(image.manifestDigest).toBe(skopeo.Digest);
    expect(image.manifestDigest).not.toBe(sha256sum(join(dir, 'manifest.json')));
    expect(analysis.blobs[image.manifestDigest!]).toMatchObject({
      path: 'manifest.json',
      actualDigest: skopeo.Digest,
      digestCheck: { state: 'unchecked', reason: 'nothing claims a digest for this blob' },
    });
    expect(image.platform).toMatchObject({ os: 'linux', architecture: skopeo.Architecture });
    expect(image.config?.created).toBe(skopeo.Created);
    // skopeo lists an empty layer for each history entry that made none; the image's layers are
    // the archive's own, oldest first, their contents those the archive's config names.
    const source = expected['oci-archive.tar']!.images[0]!;
    expect(image.layers.map((l) => l.digest)).toEqual(source.layers.map((l) => l.digest));
    expect(skopeo.Layers).toEqual(expect.arrayContaining(source.layers.map((l) => l.digest)));
    expect(image.layers.map((l) => analysis.blobs[l.digest!]!.actualDiffId)).toEqual(
      source.layers.map((l) => l.diffId),
    );
    for (const l of image.layers) expect(l.verified.digest).toBe(true);
    expect(image.filesystem?.entries).toBeGreaterThan(0);
  });

  it.each([
    ['dir-img-mixed', ['signature (simple signing, OpenPGP)', 'signature (simple signing, OpenPGP)']],
    ['dir-img-cosign-mixed', ['signature (sigstore-json)', 'signature (sigstore-json)']],
  ])(
    "containers/image's %s: its signature files are drawn under the manifest they sign",
    async (name, labels) => {
      const dir = join(SHARED, 'containers-image/signature/fixtures', name);
      // Listed backwards, as a browser may list a folder: drawn in their own order all the same.
      const analysis = await analyzeFolder((await folderOf(dir)).reverse(), { name });
      const manifest = sha256sum(join(dir, 'manifest.json'));
      const signatures = analysis.nodes.filter((n) => n.id.startsWith('signature:'));
      expect(signatures.map((n) => [n.id, n.kind, n.label, n.size])).toEqual(
        ['signature-1', 'signature-2'].map((f, i) => [
          `signature:${f}`,
          'artifact',
          labels[i],
          readFileSync(join(dir, f)).length,
        ]),
      );
      expect(analysis.edges.filter((e) => e.to.startsWith('signature:'))).toEqual([
        { from: manifest, to: 'signature:signature-1', label: 'signature 1' },
        { from: manifest, to: 'signature:signature-2', label: 'signature 2' },
      ]);
      // A sigstore signature is JSON, shown as such; an OpenPGP one is binary, not shown.
      for (const n of signatures)
        if (n.label.includes('sigstore')) {
          expect(n.mediaType).toBe('application/vnd.dev.cosign.simplesigning.v1+json');
          expect(JSON.parse(n.raw!)).toHaveProperty('payload');
        } else expect(n.raw).toBeNull();
    },
  );

  it.each([
    [
      'an index with its platforms',
      ['--multi-arch', 'all'],
      `oci:${join(SHARED, 'regclient/testdata/testrepo')}:v3`,
    ],
    ['a schema 1 manifest', ['--format', 'v2s1'], `oci-archive:${join(DATA, 'oci-archive.tar')}`],
  ])(
    'a tar of a dir: layout holding %s, with random bytes changed: never a throw',
    async (_what, extra, source) => {
      const dir = skopeoDir(source, ...extra);
      sh('tar', ['-C', dir, '-cf', `${dir}.tar`, '.']);
      const original = new Uint8Array(readFileSync(`${dir}.tar`));
      const { errors, refused } = await analyseMutations(original, 'dir.tar', 4242, 60);
      expect(errors + refused).toBeGreaterThan(30);
    },
  );

  it("a dir: folder's report comes back from a link's summary as a dir:, with its images", async () => {
    const dir = skopeoDir(`oci-archive:${join(DATA, 'oci-archive.tar')}`);
    const { report } = await fromFolder(dir);
    const parsed = parseReport(JSON.parse(JSON.stringify(report)));
    const again = buildReport(analysisFromReport(parsed, { kind: 'link', omitted: [] }));
    expect(again.source).toEqual(report.source);
    expect(again.source.kind).toBe('dir');
    expect(
      again.images.map((i) => [i.manifestDigest, i.configDigest, i.layers.map((l) => l.verified)]),
    ).toEqual(report.images.map((i) => [i.manifestDigest, i.configDigest, i.layers.map((l) => l.verified)]));
  });

  it("a docker save's manifest.json (an array) is still a docker-archive", async () => {
    const dir = join(work, 'docker-save');
    sh('mkdir', [dir]);
    sh('tar', ['-xf', join(DATA, 'docker-archive.tar'), '-C', dir]);
    writeFileSync(join(dir, 'version'), 'Directory Transport Version: 1.1\n');
    // A version file beside a docker save's manifest.json does not make it a dir: folder.
    const { report } = await fromFolder(dir);
    expect(
      execFileSync('jq', ['-r', 'type', join(dir, 'manifest.json')])
        .toString()
        .trim(),
    ).toBe('array');
    expect(report.source.kind).toBe('docker-archive');
    expect(report.problems.filter((p) => p.severity === 'error')).toEqual([]);
  });
});
