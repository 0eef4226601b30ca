/**
 * Whole-archive analysis against what the tools that wrote the archives say: the
 * fixtures' expected.json is assembled by test/fixtures/make-fixtures.sh from `skopeo
 * inspect --raw` and `sha256sum`, and peers' archives are checked against `sha256sum`
 * of their blobs, extracted with GNU tar at test time.
 */
import {
  existsSync,
  linkSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import {
  NotAnArchiveError,
  analyzeArchive,
  analyzeFolder,
  readCompressedArchiveEntry,
} from '../../src/core/archive/analyze';
import type { PipedVerifier } from '../../src/core/archive/analyze';
import { digestBlob, digestPiped } from '../../src/core/digest/digest-blob';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { CancelledError } from '../../src/core/digest/read-blob';
import type { Analysis } from '../../src/core/model';
import { buildReport } from '../../src/core/report';
import type { Report } from '../../src/core/report';
import { blobRandomAccess } from '../../src/core/tar/random-access';
import { indexTar } from '../../src/core/tar/tar-index';
import { DATA, SHARED, blobOf, folderOf, sh, sha256sum, tempDir } from './helpers/tools';
import { analyseMutations } from './helpers/mutations';
import { listed } from '../../src/core/text';

interface ExpectedImage {
  refs: string[];
  manifestDigest: string | null;
  configDigest: string;
  platform?: { os: string; architecture: string };
  layers: { digest: string; mediaType: string; size: number; diffId: string }[];
}
interface ExpectedArchive {
  kind?: string;
  compression?: string | null;
  images?: ExpectedImage[];
  sha256?: string;
  size?: number;
}

const expected = JSON.parse(readFileSync(join(DATA, 'expected.json'), 'utf8')) as Record<
  string,
  ExpectedArchive
>;
const wellFormed = Object.entries(expected).filter(([, e]) => Array.isArray(e.images));

async function analyze(path: string): Promise<{ analysis: Analysis; report: Report }> {
  const analysis = await analyzeArchive(await blobOf(path), { name: path.split('/').pop() as string });
  return { analysis, report: buildReport(analysis) };
}

async function analyzeBytes(bytes: Uint8Array<ArrayBuffer>): Promise<{ analysis: Analysis; report: Report }> {
  const analysis = await analyzeArchive(new Blob([bytes]), { name: 'cut.tar', listings: true });
  return { analysis, report: buildReport(analysis) };
}

const sortImages = <T extends { configDigest: string | null; refs: string[] }>(images: T[]) =>
  [...images].sort((a, b) =>
    `${a.configDigest}${a.refs.join()}`.localeCompare(`${b.configDigest}${b.refs.join()}`),
  );

describe('fixtures made by skopeo, podman, buildah and umoci', () => {
  it('has fixtures to check', () => {
    expect(wellFormed.length).toBeGreaterThanOrEqual(8);
  });

  it.each(wellFormed)('%s: report matches what the tools report', async (name, exp) => {
    const { report } = await analyze(join(DATA, name));
    expect(report.complete).toBe(true);
    expect(report.source.kind).toBe(exp.kind);
    expect(report.source.compression).toBe(exp.compression ?? null);
    expect(report.problems.filter((p) => p.severity === 'error')).toEqual([]);
    const got = sortImages(report.images.filter((i) => i.present));
    const want = sortImages(exp.images as ExpectedImage[]);
    expect(got.map((i) => i.configDigest)).toEqual(want.map((i) => i.configDigest));
    for (const [n, w] of want.entries()) {
      const g = got[n]!;
      expect(g.refs.sort()).toEqual([...w.refs].sort());
      expect(g.manifestDigest).toBe(w.manifestDigest);
      if (w.platform) expect(g.platform).toMatchObject(w.platform);
      expect(g.verified).toEqual({ manifest: w.manifestDigest ? true : null, config: true });
      expect(g.layers.map((l) => [l.digest, l.size, l.diffId])).toEqual(
        w.layers.map((l) => [l.digest, l.size, l.diffId]),
      );
      expect(g.layers.map((l) => l.mediaType)).toEqual(w.layers.map((l) => l.mediaType));
      for (const l of g.layers) {
        expect(l.verified.diffId).toBe(true);
        // docker-archive layers carry no claimed digest unless their file name is one.
        expect(
          l.verified.digest === true || (exp.kind === 'docker-archive' && l.verified.digest === null),
        ).toBe(true);
      }
    }
  });

  it('shares layers between images: one blob, one node, an edge from each image', async () => {
    const { analysis } = await analyze(join(DATA, 'docker-archive-multi.tar'));
    const [a, b] = analysis.images;
    const shared = a!.layers.filter((l) => b!.layers.some((m) => m.blob === l.blob));
    expect(shared.length).toBeGreaterThan(0);
    for (const l of shared) {
      expect(analysis.nodes.filter((n) => n.id === l.blob)).toHaveLength(1);
      expect(analysis.edges.filter((e) => e.to === l.blob).length).toBeGreaterThanOrEqual(2);
    }
  });

  it('a gzip-compressed archive gives the same report as the archive itself', async () => {
    for (const base of ['docker-archive.tar', 'oci-archive.tar']) {
      const plain = (await analyze(join(DATA, base))).report;
      const gz = (await analyze(join(DATA, `${base}.gz`))).report;
      expect(gz.source.compression).toBe('gzip');
      expect(gz.images).toEqual(plain.images);
    }
  });

  it('verifies nothing until beforeVerify resolves, and hands it the graph', async () => {
    let release: () => void = () => {};
    let seen: Analysis | null = null;
    let verified = 0;
    const running = analyzeArchive(await blobOf(join(DATA, 'docker-archive.tar')), {
      name: 'docker-archive.tar',
      verifier: (blob, o) => {
        verified++;
        return digestBlob(blob, o);
      },
      beforeVerify: (analysis) => {
        seen = analysis;
        return new Promise<void>((resolve) => (release = resolve));
      },
    });
    await vi.waitUntil(() => seen !== null);
    expect(seen!.nodes.length).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(verified).toBe(0);
    expect(Object.values(seen!.blobs).every((b) => b.digestCheck.state === 'pending')).toBe(true);
    release();
    const done = await running;
    expect(verified).toBeGreaterThan(0);
    expect(done.complete).toBe(true);
  });

  it('tampered layer: digest or diff_id mismatch naming the layer', async () => {
    const { report, analysis } = await analyze(join(DATA, 'tampered-layer.tar'));
    expect(report.complete).toBe(true);
    const bad = report.problems.filter((p) => p.code === 'digest-mismatch' || p.code === 'diffid-mismatch');
    expect(bad.length).toBeGreaterThan(0);
    const layer = Object.values(analysis.blobs).find((b) => b.diffIdCheck.state === 'mismatch');
    expect(layer).toBeDefined();
    expect(bad.some((p) => p.where.includes(layer!.path!))).toBe(true);
    expect(report.images[0]!.layers.some((l) => l.verified.diffId === false)).toBe(true);
  });

  it('truncated archive: a problem with entry and offset, the rest still analysed', async () => {
    const { report, analysis } = await analyze(join(DATA, 'truncated.tar'));
    const t = report.problems.find((p) => p.code === 'tar-truncated');
    expect(t).toBeDefined();
    expect(t!.where).toMatch(/offset \d+/);
    // skopeo writes manifest.json last, so the cut leaves no way to list the images: the
    // message says so and names what the archive held before the cut.
    const exp = expected['truncated.tar'] as unknown as {
      file: string;
      fileSize: number;
      fileDataOffset: number;
    };
    const layout = report.problems.find((p) => p.code === 'unknown-layout');
    expect(layout?.message).toMatch(/cut short before its index\.json, manifest\.json or repositories/);
    expect(layout?.message).toContain(`the one entry before the cut is: ${exp.file}`);
    expect(analysis.nodes).toEqual([]);
    expect(t!.message).toContain(
      `"${exp.file}" needs ${exp.fileSize} bytes from offset ${exp.fileDataOffset}`,
    );
  });

  it('an archive cut before its manifest.json is not passed off as a pre-1.10 docker save', async () => {
    const bytes = new Uint8Array(readFileSync(join(DATA, 'docker-archive.tar')));
    const index = await indexTar(blobRandomAccess(new Blob([bytes])));
    const manifest = index.entries.find((e) => e.path === 'manifest.json')!;
    // Cut on the block boundary where manifest.json's header starts: GNU tar lists the
    // rest without a complaint, so only the archive's other files tell it was cut.
    for (const [cut, severity] of [
      [manifest.headerOffset, 'warning'],
      [manifest.headerOffset - 100, 'error'],
    ] as const) {
      const { report } = await analyzeBytes(bytes.subarray(0, cut));
      expect(report.problems.find((p) => p.code === 'tar-truncated')).toMatchObject({
        severity,
        where: expect.stringContaining(`offset ${cut}`),
      });
      const missing = report.problems.find((p) => p.code === 'missing-manifest');
      expect(missing).toMatchObject({ severity: 'error', where: 'manifest.json' });
      expect(missing!.message).toMatch(
        severity === 'error' ? /cut short/ : /top-level config or layer files \(\w{64}\.(tar|json)/,
      );
    }
  });

  it('the same archive gzip-compressed and cut near its end says it was cut, and how far it got', async () => {
    const gz = readFileSync(join(DATA, 'docker-archive.tar.gz'));
    const whole = (await analyzeBytes(new Uint8Array(gz))).report;
    // The last bytes of gzip hold the end of the tar: manifest.json, repositories, zero blocks.
    // The decoder hands on every byte it could inflate before the cut, so the tar reaches as far
    // as the compressed bytes allow, the same every run.
    const cuts: [number, string[]][] = [
      [20, []], // only the zero blocks and the gzip trailer lost: the images are all there
      [80, ['tar-truncated', 'invalid-document']], // manifest.json itself cut short
      [200, ['missing-manifest']], // before manifest.json: the pre-1.10 chain, flagged as cut
      [400, ['unknown-layout']], // before the layer configs too
    ];
    for (const [k, after] of cuts) {
      const { report } = await analyzeBytes(new Uint8Array(gz.subarray(0, gz.length - k)));
      const [gzipError, ...rest] = report.problems;
      expect(gzipError?.code).toBe('gzip-error');
      expect(gzipError!.message).toMatch(
        new RegExp(
          `truncated at its end \\(${gz.length - k} compressed bytes\\), after \\d+ bytes of tar: gzip: the data ends too soon`,
        ),
      );
      expect(
        rest.map((p) => p.code),
        `cut ${k} bytes before the end`,
      ).toEqual(after);
      expect(rest.every((p) => p.severity === 'error')).toBe(true);
      if (k === 20) expect(report.images).toEqual(whole.images);
      if (k === 80) expect(rest[0]!.message).toBe('manifest.json is cut short by the end of the archive');
      if (k === 200) {
        expect(report.source.layout).toMatch(/pre-1\.10/);
        expect(rest[0]!.message).toMatch(/^manifest\.json is missing: the archive is cut short \(/);
      }
      if (k === 400)
        expect(rest[0]!.message).toMatch(/cut short before its index\.json, manifest\.json or repositories/);
    }
  });

  it.each(['docker-archive.tar', 'docker-archive-multi.tar', 'oci-archive.tar'])(
    '%s cut anywhere: an error naming where, or the same images, and never a throw',
    async (name) => {
      const bytes = new Uint8Array(readFileSync(join(DATA, name)));
      const whole = (await analyzeBytes(bytes)).report;
      const index = await indexTar(blobRandomAccess(new Blob([bytes])));
      const last = index.entries[index.entries.length - 1]!;
      const end = last.dataOffset + Math.ceil(last.size / 512) * 512;
      // Every entry boundary, a byte into every header and into every entry's data.
      const cuts = new Set<number>();
      for (const e of index.entries)
        for (const c of [e.headerOffset, e.headerOffset + 1, e.dataOffset + 1]) cuts.add(c);
      cuts.add(end - 1);
      let errors = 0;
      for (const cut of [...cuts].filter((c) => c > 512 && c < end)) {
        const { report } = await analyzeBytes(bytes.subarray(0, cut));
        const error = report.problems.find((p) => p.severity === 'error');
        if (error) {
          errors++;
          expect(error.where, `cut at ${cut}: ${error.message}`).not.toBe('');
        } else {
          // Only entries nothing depends on were lost (repositories, say): same images, and
          // the cut is still reported.
          expect(report.images, `cut at ${cut}`).toEqual(whole.images);
          expect(report.problems.map((p) => p.code)).toContain('tar-truncated');
        }
        expect(report.complete).toBe(true);
      }
      expect(errors).toBeGreaterThan(cuts.size / 2);
    },
  );

  it.each([
    [1, "manifest.json lists 2 layers but the config's rootfs.diff_ids has 3"],
    [2, "manifest.json lists 1 layer but the config's rootfs.diff_ids has 3"],
  ])('a manifest.json with %i layer(s) dropped by jq is a diffid-count problem', async (dropped, message) => {
    const dir = join(tempDir(), 'unpacked');
    mkdirSync(dir);
    sh('tar', ['-xf', join(DATA, 'docker-archive.tar'), '-C', dir]);
    const edited = execFileSync('jq', ['-c', `.[0].Layers |= .[:-${dropped}]`, join(dir, 'manifest.json')]);
    writeFileSync(join(dir, 'manifest.json'), edited);
    const tarPath = `${dir}.tar`;
    sh('tar', ['-C', dir, '-cf', tarPath, '.']);
    const { report } = await analyze(tarPath);
    const p = report.problems.find((q) => q.code === 'diffid-count');
    expect(p?.message).toBe(message);
  });

  it('names are listed up to three, with how many more there are (messages of folders and drops)', () => {
    expect(listed([])).toBe('');
    expect(listed(['index.json', 'oci-layout', 'blobs'])).toBe('index.json, oci-layout, blobs');
    expect(listed(['a.tar', 'b.tar', 'c.tar', 'd.tar', 'e.tar'])).toBe('a.tar, b.tar, c.tar and 2 more');
    expect(listed(['a', 'b', 'c'], 2)).toBe('a, b and 1 more');
  });

  it('a file that is not an archive is refused with what it looked like', async () => {
    const err = await analyzeArchive(await blobOf(join(DATA, 'not-an-archive.bin')), {
      name: 'not-an-archive.bin',
    }).catch((e) => e);
    expect(err).toBeInstanceOf(NotAnArchiveError);
    expect((err as NotAnArchiveError).problem.message).toMatch(
      /not an image archive: it looks like (a JSON document|a text file)/,
    );
    // An executable is neither of the archive kinds nor of the compressions read.
    const elf = await analyzeArchive(await blobOf('/usr/bin/true'), { name: 'true' }).catch((e) => e);
    expect(elf).toBeInstanceOf(NotAnArchiveError);
    expect((elf as NotAnArchiveError).problem.message).toContain(
      '"true" is not an image archive: it looks like binary data: neither a tar archive nor gzip, zstd or xz data.',
    );
  });

  it('reports progress and shows the graph before any layer is verified', async () => {
    const seen: { nodes: number; verified: number; done: number; total: number }[] = [];
    await analyzeArchive(await blobOf(join(DATA, 'docker-archive-multi.tar')), {
      name: 'multi',
      onUpdate: (a, p) =>
        seen.push({
          nodes: a.nodes.length,
          verified: Object.values(a.blobs).filter(
            (b) => b.role === 'layer' && b.diffIdCheck.state === 'verified',
          ).length,
          done: p.bytesDone,
          total: p.bytesTotal,
        }),
    });
    const first = seen[0]!;
    expect(first.nodes).toBeGreaterThan(3);
    expect(first.verified).toBe(0);
    const last = seen[seen.length - 1]!;
    expect(last.done).toBe(last.total);
    expect(last.total).toBeGreaterThan(0);
  });

  it('cancelling marks unfinished checks unchecked', async () => {
    const controller = new AbortController();
    const a = await analyzeArchive(await blobOf(join(DATA, 'docker-archive-multi.tar')), {
      name: 'multi',
      signal: controller.signal,
      onUpdate: () => controller.abort(),
    });
    expect(a.complete).toBe(false);
    expect(a.problems.some((p) => p.code === 'cancelled')).toBe(true);
    expect(
      Object.values(a.blobs).some(
        (b) => b.digestCheck.state === 'unchecked' && b.digestCheck.reason === 'cancelled',
      ),
    ).toBe(true);
  });
});

describe('peers’ archives (../shared/fixtures)', () => {
  const tarball = join(SHARED, 'go-containerregistry/pkg/v1/tarball/testdata');
  const dir = tempDir();

  /** sha256sum of each file extracted by GNU tar, keyed by path. */
  function extractedDigests(archive: string): Map<string, string> {
    const out = join(dir, `${archive.split('/').pop() as string}.d`);
    sh('mkdir', ['-p', out]);
    sh('tar', ['-xf', archive, '-C', out]);
    const map = new Map<string, string>();
    const walk = (d: string, prefix: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p, `${prefix}${e.name}/`);
        else if (e.isFile()) map.set(`${prefix}${e.name}`, sha256sum(p));
      }
    };
    walk(out, '');
    return map;
  }

  it('Docker 25+ docker save (hello-world-v25.tar): OCI layout plus manifest.json', async () => {
    const path = join(tarball, 'hello-world-v25.tar');
    const { report } = await analyze(path);
    const sums = extractedDigests(path);
    expect(report.source.kind).toBe('docker-archive');
    expect(report.source.layout).toMatch(/Docker 25/);
    const manifest = JSON.parse(sh('tar', ['-xOf', path, 'manifest.json']));
    expect(report.images).toHaveLength(1);
    const img = report.images[0]!;
    expect(`blobs/sha256/${img.configDigest!.slice(7)}`).toBe(manifest[0].Config);
    expect(sums.get(manifest[0].Config)).toBe(img.configDigest);
    expect(img.layers.map((l) => `blobs/sha256/${l.digest!.slice(7)}`)).toEqual(manifest[0].Layers);
    for (const l of img.layers) {
      expect(sums.get(`blobs/sha256/${l.digest!.slice(7)}`)).toBe(l.digest);
      expect(l.verified).toEqual({ size: true, digest: true, diffId: true });
    }
    expect(img.platform).toEqual({ os: 'linux', architecture: 'arm64' });
  });

  it('a bundle of two images (test_bundle.tar) lists both with their RepoTags', async () => {
    const path = join(tarball, 'test_bundle.tar');
    const { report } = await analyze(path);
    const manifest = JSON.parse(sh('tar', ['-xOf', path, 'manifest.json'])) as {
      RepoTags: string[];
      Config: string;
    }[];
    const sums = extractedDigests(path);
    expect(report.images.map((i) => i.refs).sort()).toEqual(manifest.map((m) => m.RepoTags).sort());
    for (const m of manifest) {
      const img = report.images.find((i) => i.refs.join() === m.RepoTags.join())!;
      expect(img.configDigest).toBe(sums.get(m.Config));
      for (const l of img.layers) expect(l.verified.diffId).toBe(true);
    }
  });

  it('a pre-1.10 archive without manifest.json (no_manifest.tar) rebuilds the chain from <id>/json', async () => {
    const path = join(tarball, 'no_manifest.tar');
    const { report } = await analyze(path);
    const repos = JSON.parse(sh('tar', ['-xOf', path, 'repositories'])) as Record<
      string,
      Record<string, string>
    >;
    const [repo, tags] = Object.entries(repos)[0]!;
    const [tag, id] = Object.entries(tags)[0]!;
    expect(report.source.layout).toMatch(/pre-1\.10/);
    // Its top-level <config>.json shows a manifest.json was written and then removed.
    expect(report.problems.find((p) => p.code === 'missing-manifest')?.message).toMatch(
      /top-level config or layer file \(47b20a5c\w+\.json\)/,
    );
    expect(report.images[0]!.refs).toEqual([`${repo}:${tag}`]);
    expect(report.images[0]!.layers[0]!.digest).toBe(extractedDigests(path).get(`${id}/layer.tar`));
  });

  it('moby’s emptyLayer.tar (pre-1.10, three-layer chain)', async () => {
    const path = join(SHARED, 'moby/integration-cli/testdata/emptyLayer.tar');
    const { report } = await analyze(path);
    expect(report.images).toHaveLength(1);
    expect(report.images[0]!.layers).toHaveLength(3);
    expect(report.complete).toBe(true);
    expect(report.problems.filter((p) => p.severity === 'error')).toEqual([]);
  });

  it('symlinked layer.tar entries (test_link.tar) resolve to their targets', async () => {
    const { report } = await analyze(join(tarball, 'test_link.tar'));
    expect(report.images.length).toBe(2);
    for (const i of report.images) for (const l of i.layers) expect(l.verified.diffId).toBe(true);
  });

  it('a null manifest.json (null_manifest.tar) is a clear problem, not a crash', async () => {
    const { report } = await analyze(join(tarball, 'null_manifest.tar'));
    expect(report.problems.map((p) => p.message)).toContain(
      'manifest.json must be a JSON array of images, but it is null',
    );
  });

  it('a tar that is not an image archive (content.tar) says what it holds', async () => {
    const { report } = await analyze(join(tarball, 'content.tar'));
    expect(report.problems[0]!.code).toBe('unknown-layout');
    expect(report.problems[0]!.message).toContain('bat');
  });

  it('an index whose manifests are all absent lists every platform as absent, not as errors', async () => {
    const src = join(SHARED, 'containers-image/oci/layout/fixtures/two_images_manifest');
    const tarPath = join(dir, 'two_images_manifest.tar');
    sh('tar', ['-C', src, '-cf', tarPath, '.']);
    const { report } = await analyze(tarPath);
    const index = JSON.parse(readFileSync(join(src, 'index.json'), 'utf8')) as {
      manifests: { digest: string; platform: object }[];
    };
    expect(report.images.map((i) => [i.manifestDigest, i.present, i.platform])).toEqual(
      index.manifests.map((m) => [m.digest, false, m.platform]),
    );
    expect(report.problems.filter((p) => p.severity === 'error').map((p) => p.code)).toEqual([]);
    expect(report.problems.filter((p) => p.code === 'absent-image')).toHaveLength(index.manifests.length);
  });

  it.each([
    ['go-containerregistry/pkg/v1/layout/testdata/test_index', 'nested index'],
    ['go-containerregistry/pkg/v1/layout/testdata/test_index_media_type', 'unknown media types'],
    ['containers-image/oci/layout/fixtures/delete_image_multiple_images', 'several images'],
    ['regclient/testdata/testrepo', 'buildx multi-platform and OCI 1.1 artifacts'],
  ])('OCI layout %s (%s), tarred at test time, verifies every blob it holds', async (layout) => {
    const src = join(SHARED, layout);
    if (!existsSync(join(src, 'index.json'))) throw new Error(`missing fixture ${src}`);
    const tarPath = join(dir, `${layout.replace(/\W+/g, '_')}.tar`);
    sh('tar', ['-C', src, '-cf', tarPath, '.']);
    const { analysis, report } = await analyze(tarPath);
    expect(report.source.kind).toBe('oci-archive');
    expect(report.complete).toBe(true);
    const sums = extractedDigests(tarPath);
    let checked = 0;
    for (const b of Object.values(analysis.blobs)) {
      if (!b.path) continue;
      // Whatever the walk reached, its digest is what sha256sum says of the extracted file.
      expect(b.actualDigest).toBe(sums.get(b.path));
      expect(b.digestCheck.state === 'verified').toBe(b.actualDigest === b.expectedDigest);
      checked++;
    }
    expect(checked).toBeGreaterThan(0);
    expect(analysis.nodes.filter((n) => n.kind === 'index').length).toBeGreaterThanOrEqual(1);
  });

  it('a layout of artifacts only (regclient external: SBOMs) is verified, with an info saying it holds no image', async () => {
    const src = join(SHARED, 'regclient/testdata/external');
    const tarPath = join(dir, 'external.tar');
    sh('tar', ['-C', src, '-cf', tarPath, '.']);
    const { analysis, report } = await analyze(tarPath);
    expect(report.images).toEqual([]);
    const artifacts = analysis.nodes.filter((n) => n.kind === 'artifact');
    expect(artifacts.length).toBeGreaterThan(0);
    expect(report.problems).toEqual([
      {
        code: 'artifacts-only',
        message: `the archive holds no image, only ${artifacts.length} artifacts (application/example.sbom)`,
        where: 'external.tar',
        severity: 'info',
      },
    ]);
    const sums = extractedDigests(tarPath);
    for (const b of Object.values(analysis.blobs)) {
      if (b.path)
        expect(b.digestCheck.state === 'verified', b.key).toBe(sums.get(b.path) === b.expectedDigest);
    }
    // With neither image nor artifact, it is an error.
    const empty = join(dir, 'gc-unknown.tar');
    sh('tar', [
      '-C',
      join(SHARED, 'go-containerregistry/pkg/v1/layout/testdata/test_gc_image_unknown_mediatype'),
      '-cf',
      empty,
      '.',
    ]);
    const none = (await analyze(empty)).report;
    expect(none.problems.find((p) => p.code === 'invalid-document')).toMatchObject({
      message: 'no image could be read from the archive',
      severity: 'error',
    });
  });

  /** Descriptors of buildkit attestation manifests in every index of a layout (by their annotations). */
  function buildkitDescriptors(layout: string): Map<string, { type: string; subject: string }> {
    const found = new Map<string, { type: string; subject: string }>();
    for (const name of readdirSync(join(layout, 'blobs/sha256'))) {
      let doc: { manifests?: { digest: string; annotations?: Record<string, string> }[] };
      try {
        doc = JSON.parse(readFileSync(join(layout, 'blobs/sha256', name), 'utf8')) as typeof doc;
      } catch {
        continue;
      }
      for (const m of doc.manifests ?? []) {
        const type = m.annotations?.['vnd.docker.reference.type'];
        const subject = m.annotations?.['vnd.docker.reference.digest'];
        if (type && subject) found.set(m.digest, { type, subject });
      }
    }
    return found;
  }

  it('buildkit attestation manifests (unknown/unknown, vnd.docker.reference.*) are artifacts, not images', async () => {
    const src = join(SHARED, 'regclient/testdata/testrepo');
    const attestations = buildkitDescriptors(src);
    expect(attestations.size).toBeGreaterThan(0);
    const tarPath = join(dir, 'testrepo-buildkit.tar');
    sh('tar', ['-C', src, '-cf', tarPath, '.']);
    const { analysis, report } = await analyze(tarPath);
    for (const [digest, { type }] of attestations) {
      const node = analysis.nodes.find((n) => n.id === digest);
      expect(node, digest).toMatchObject({ kind: 'artifact', label: `${type} (buildkit)`, present: true });
      expect(report.images.some((i) => i.manifestDigest === digest)).toBe(false);
      // Their payloads are blobs, not layers: neither listed as tars nor given a diff_id.
      const manifest = JSON.parse(readFileSync(join(src, 'blobs/sha256', digest.slice(7)), 'utf8')) as {
        layers: { digest: string }[];
      };
      for (const l of manifest.layers) {
        expect(analysis.blobs[l.digest]?.role).toBe('blob');
        expect(analysis.blobs[l.digest]?.digestCheck.state).toBe('verified');
        expect(report.problems.filter((p) => p.where.includes(l.digest))).toEqual([]);
      }
    }
    expect(report.problems).toEqual([]);
    for (const image of report.images) for (const l of image.layers) expect(l.verified.diffId).toBe(true);
  });

  it('an index copied without its instances (skopeo --multi-arch=index-only) shows its attestations as absent artifacts', async () => {
    const layout = join(dir, 'index-only');
    sh('skopeo', [
      'copy',
      '--multi-arch=index-only',
      `oci:${join(SHARED, 'regclient/testdata/testrepo')}:v1`,
      `oci:${layout}:v1`,
    ]);
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as {
      manifests: { digest: string }[];
    };
    const listed = JSON.parse(
      readFileSync(join(layout, 'blobs/sha256', (index.manifests[0]?.digest ?? '').slice(7)), 'utf8'),
    ) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
    const attestations = listed.manifests.filter((m) => m.annotations?.['vnd.docker.reference.type']);
    const platforms = listed.manifests.filter((m) => !m.annotations?.['vnd.docker.reference.type']);
    expect(attestations.length).toBeGreaterThan(0);
    const tarPath = join(dir, 'index-only.tar');
    sh('tar', ['-C', layout, '-cf', tarPath, '.']);
    const { analysis, report } = await analyze(tarPath);
    expect(report.images.map((i) => [i.manifestDigest, i.present])).toEqual(
      platforms.map((m) => [m.digest, false]),
    );
    for (const m of attestations) {
      expect(analysis.nodes.find((n) => n.id === m.digest)).toMatchObject({
        kind: 'artifact',
        present: false,
      });
      const p = report.problems.find((q) => q.where === m.digest);
      expect(p).toMatchObject({ code: 'absent-image', severity: 'info' });
      expect(p?.message).toContain(`of ${m.annotations?.['vnd.docker.reference.digest']}`);
    }
    expect(report.problems.filter((p) => p.severity !== 'info')).toEqual([]);
  });
});

describe('archives with random bytes changed', () => {
  it.each([
    'docker-archive.tar',
    'oci-archive.tar',
    'oci-archive-zstd.tar',
    'docker-archive-multi.tar',
    'oci-archive.tar.gz',
  ])(
    '%s with 1 to 4 bytes changed, 60 times: a report whose errors say where, or a refusal, never a throw',
    async (name) => {
      const original = new Uint8Array(readFileSync(join(DATA, name)));
      const { errors, refused } = await analyseMutations(original, name, name.length * 7919, 60);
      // Most changes land in bytes some check covers.
      expect(errors + refused).toBeGreaterThan(30);
    },
  );
});

describe('archives compressed as a whole', () => {
  const dir = tempDir();
  /**
   * A fixture compressed by the tool itself, as `docker save | zstd` or `| xz` gives it (docker
   * load reads both).
   */
  function compressed(name: string, tool: 'zstd' | 'xz'): string {
    const out = join(dir, `${name}.${tool === 'zstd' ? 'zst' : 'xz'}`);
    if (!existsSync(out)) {
      if (tool === 'zstd') sh('zstd', ['-q', '-19', '-o', out, join(DATA, name)]);
      else writeFileSync(out, execFileSync('xz', ['-6', '-c', join(DATA, name)], { maxBuffer: 1 << 28 }));
    }
    return out;
  }
  const CODECS = [
    ['zstd', 'zstd-error'],
    ['xz', 'decompress-error'],
  ] as const;

  describe.each(CODECS)('%s', (tool, errorCode) => {
    it.each(['docker-archive.tar', 'oci-archive.tar'])(
      `%s compressed with ${tool} gives the same report as the archive itself`,
      async (base) => {
        const plain = (await analyze(join(DATA, base))).report;
        const packed = (await analyze(compressed(base, tool))).report;
        expect(packed.source.compression).toBe(tool);
        expect(packed.source.kind).toBe(plain.source.kind);
        expect(packed.images).toEqual(plain.images);
        expect(packed.problems).toEqual(plain.problems);
      },
    );

    it(`a ${tool} archive cut short is a ${errorCode} naming how far it was read`, async () => {
      const whole = readFileSync(compressed('docker-archive.tar', tool));
      const { report } = await analyzeBytes(
        new Uint8Array(whole.subarray(0, Math.floor(whole.length * 0.6))),
      );
      const p = report.problems.find((q) => q.code === errorCode);
      expect(p?.message).toMatch(
        new RegExp(
          `^the ${tool} stream is corrupt or truncated (in its compressed bytes \\d+–\\d+|at its end \\(${Math.floor(whole.length * 0.6)} compressed bytes\\)), after \\d+ bytes of tar`,
        ),
      );
      if (tool === 'xz') expect(p?.message).toMatch(/: the data ends too soon$/);
      expect(p?.where).toMatch(/offset \d+/);
      // Nothing but the format's magic bytes (xz: 6, zstd: 4).
      const magicOnly = await analyzeBytes(new Uint8Array(whole.subarray(0, tool === 'xz' ? 6 : 4)));
      const q = magicOnly.report.problems.find((x) => x.code === errorCode);
      expect(q?.message).toMatch(
        new RegExp(
          `^the ${tool} stream is corrupt or truncated (in its compressed bytes 0–|at its end \\()${tool === 'xz' ? 6 : 4}`,
        ),
      );
      if (tool === 'xz') expect(q?.message).toMatch(/: the data ends too soon$/);
    });
  });

  it('layers an archive cut short never reached are said to lie perhaps past the cut, not to be missing', async () => {
    // docker-archive.tar packed again by GNU tar with manifest.json and the config first, then cut.
    const dir = tempDir();
    sh('tar', ['-xf', join(DATA, 'docker-archive.tar'), '-C', dir]);
    const names = readdirSync(dir);
    const first = names.filter((n) => n === 'manifest.json' || n.endsWith('.json'));
    const file = join(tempDir(), 'reordered.tar');
    sh('tar', ['-C', dir, '-cf', file, ...first, ...names.filter((n) => !first.includes(n)).sort()]);
    const cut = join(tempDir(), 'reordered-cut.tar');
    writeFileSync(cut, readFileSync(file).subarray(0, 20_000));
    const { report } = await analyze(cut);
    const truncated = report.problems.find((p) => p.code === 'tar-truncated');
    expect(truncated?.severity).toBe('error');
    const missing = report.problems.filter((p) => p.code === 'missing-blob');
    expect(missing.length).toBeGreaterThan(0);
    for (const p of missing)
      expect(p.message).toMatch(
        new RegExp(
          `is not in the archive, which is cut short \\(${truncated!.where.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\): it may have been past the cut$`,
        ),
      );
    // Whole, the same archive names nothing missing.
    expect((await analyze(file)).report.problems).toEqual([]);
  });

  it('a gzip archive with a byte changed names the compressed bytes the fault lies in, as gzip -t finds it', async () => {
    const whole = readFileSync(join(DATA, 'docker-archive.tar.gz'));
    const at = 800;
    const bytes = new Uint8Array(whole);
    bytes[at]! ^= 0x10;
    const file = join(tempDir(), 'flipped.tar.gz');
    writeFileSync(file, bytes);
    expect(() => execFileSync('gzip', ['-t', file], { stdio: 'pipe' })).toThrow(
      /crc error|invalid compressed data/,
    );
    const { report } = await analyze(file);
    const p = report.problems.find((q) => q.code === 'gzip-error');
    const [, from, to] = /in its compressed bytes (\d+)–(\d+)/.exec(p?.message ?? '') ?? [];
    expect(Number(from)).toBeLessThanOrEqual(at);
    expect(Number(to)).toBeGreaterThan(at);
    // Nothing of the tar came through: no list of entries that is empty.
    expect(report.problems.map((q) => q.message).join('\n')).not.toMatch(/start with: $/m);
  });

  it('bytes after the end of a gzipped tar are a warning, and the archive is read whole, as gzip -d reads it', async () => {
    const file = join(tempDir(), 'trailing.tar.gz');
    writeFileSync(
      file,
      Buffer.concat([readFileSync(join(DATA, 'oci-archive.tar.gz')), Buffer.from('garbage\n')]),
    );
    expect(
      execFileSync('sh', ['-c', `gzip -dc "$1" 2>&1 >/dev/null; true`, 'sh', file], { encoding: 'utf8' }),
    ).toMatch(/trailing garbage ignored/);
    const plain = (await analyze(join(DATA, 'oci-archive.tar.gz'))).report;
    const { report } = await analyze(file);
    expect(report.images).toEqual(plain.images);
    expect(report.problems.filter((q) => q.severity === 'error')).toEqual([]);
    const w = report.problems.find((q) => q.code === 'gzip-error');
    expect(w?.severity).toBe('warning');
    expect(w?.message).toMatch(/^after the end of the tar, the gzip stream holds bytes that do not decode/);
  });

  describe('blobs handed to another job as the archive is decompressed (pipedVerifier)', () => {
    // The job runs here, on the other end of a real MessageChannel, as a digest worker runs it.
    // splitMin 1 KiB: every layer of these small fixtures is piped; documents too, some of them.
    let piped = 0;
    const pipedVerifier: PipedVerifier = (port, o) => {
      piped++;
      return digestPiped(port, o);
    };
    const analyzePiped = async (bytes: Blob, name: string, signal?: AbortSignal) =>
      buildReport(
        await analyzeArchive(bytes, { name, listings: true, pipedVerifier, splitMin: 1024, signal }),
      );

    it.each([
      ['docker-archive.tar', 'gzip'],
      ['oci-archive.tar', 'gzip'],
      ['docker-archive.tar', 'zstd'],
      ['oci-archive.tar', 'xz'],
    ] as const)('%s (%s): the same report, listings included, as in one pass', async (base, codec) => {
      const file = codec === 'gzip' ? join(DATA, `${base}.gz`) : compressed(base, codec);
      const inline = buildReport(await analyzeArchive(await blobOf(file), { name: base, listings: true }));
      piped = 0;
      const report = await analyzePiped(await blobOf(file), base);
      expect(piped).toBeGreaterThan(0);
      expect(report.images).toEqual(inline.images);
      expect(report.problems).toEqual(inline.problems);
      expect(report.images[0]!.layers.every((l) => l.verified.diffId === true && l.entries! > 0)).toBe(true);
    });

    it('an archive cut inside a piped blob: the same problems as in one pass, no job left waiting', async () => {
      const whole = readFileSync(join(DATA, 'docker-archive.tar.gz'));
      for (const at of [0.3, 0.6, 0.9]) {
        const cut = new Blob([new Uint8Array(whole.subarray(0, Math.floor(whole.length * at)))]);
        const inline = buildReport(await analyzeArchive(cut, { name: 'cut.tar.gz', listings: true }));
        const report = await analyzePiped(cut, 'cut.tar.gz');
        expect(report.problems).toEqual(inline.problems);
        expect(report.images).toEqual(inline.images);
      }
    });

    it('a run cancelled while a blob is piped stops its job too, and the next run reads', async () => {
      // Cancelled from inside the first piped job, once it has begun: the archive's reading and
      // that job must both stop (the job waiting for bytes would otherwise hang the run).
      const controller = new AbortController();
      let jobs: Promise<unknown>[] = [];
      const cancelling: PipedVerifier = (port, o) => {
        const job = digestPiped(port, o);
        jobs.push(job.catch((e: unknown) => e));
        controller.abort();
        return job;
      };
      const file = await blobOf(join(DATA, 'oci-archive.tar.gz'));
      const err = await analyzeArchive(file, {
        name: 'oci-archive.tar.gz',
        listings: true,
        pipedVerifier: cancelling,
        splitMin: 1024,
        signal: controller.signal,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CancelledError);
      expect(jobs.length).toBe(1);
      expect(await jobs[0]).toBeInstanceOf(CancelledError);
      jobs = [];
      expect((await analyzePiped(file, 'oci-archive.tar.gz')).images[0]!.layers.length).toBeGreaterThan(0);
    });
  });

  it('a damaged xz archive says its data is corrupt, and the next one still reads', async () => {
    const bytes = new Uint8Array(readFileSync(compressed('oci-archive.tar', 'xz')));
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    const { report } = await analyzeBytes(bytes);
    expect(report.problems.find((q) => q.code === 'decompress-error')?.message).toMatch(
      /: the data is corrupt$|: the data ends too soon$/,
    );
    // The decoder serves one stream at a time: a failed one must have let go of it.
    const again = (await analyze(compressed('oci-archive.tar', 'xz'))).report;
    expect(again.problems.filter((q) => q.severity === 'error')).toEqual([]);
  });

  it('an xz archive whose reading is cancelled midway lets the next xz archive read', async () => {
    // 4 MiB of random bytes: several reads of the compressed file, so the cancel lands midway.
    const big = join(dir, 'random');
    sh('mkdir', ['-p', big]);
    sh('sh', ['-c', `head -c 4194304 /dev/urandom > ${big}/data`]);
    const bigXz = join(dir, 'random.tar.xz');
    writeFileSync(
      bigXz,
      execFileSync('sh', ['-c', `tar -C ${big} -cf - data | xz -0`], { maxBuffer: 1 << 28 }),
    );
    const controller = new AbortController();
    const cancelled = await analyzeArchive(await blobOf(bigXz), {
      name: 'random.tar.xz',
      signal: controller.signal,
      onUpdate: (_, progress) => {
        if (progress.bytesDone > 0) controller.abort();
      },
    }).catch((e: unknown) => e);
    expect(cancelled).toBeInstanceOf(CancelledError);
    // Hangs (the decoder still held by the abandoned stream) without the abort.
    const next = (await analyze(compressed('docker-archive.tar', 'xz'))).report;
    expect(next.source.compression).toBe('xz');
    expect(next.problems.filter((q) => q.severity === 'error')).toEqual([]);
  });

  it('skopeo’s docker-two-images.tar.xz reads as its manifest.json says', async () => {
    const xz = join(SHARED, 'skopeo/systemtest/testdata/docker-two-images.tar.xz');
    const { report } = await analyze(xz);
    expect(report.source.compression).toBe('xz');
    const tar = join(dir, 'docker-two-images.tar');
    writeFileSync(tar, execFileSync('xz', ['-dc', xz], { maxBuffer: 1 << 28 }));
    const manifest = JSON.parse(sh('tar', ['-xOf', tar, 'manifest.json'])) as { RepoTags: string[] }[];
    expect(report.images.map((i) => i.refs).sort()).toEqual(manifest.map((m) => m.RepoTags).sort());
    expect(report.images).toEqual((await analyze(tar)).report.images);
    expect(report.problems.filter((p) => p.severity === 'error')).toEqual([]);
  });

  it('zstd:chunked layers (skopeo): the same diff_ids and entries as the gzip layers they were made from', async () => {
    // zstd:chunked (containers/storage) ends each layer with its table of contents in skippable
    // frames (RFC 8878 §3.1.2), which the decoder steps over; the tar itself is unchanged.
    const layout = join(dir, 'chunked');
    sh('skopeo', [
      '--insecure-policy',
      'copy',
      '-q',
      '--dest-compress-format',
      'zstd:chunked',
      `oci-archive:${join(DATA, 'oci-archive.tar')}`,
      `oci:${layout}:app`,
    ]);
    const archive = join(dir, 'chunked.tar');
    sh('tar', ['-C', layout, '-cf', archive, '.']);
    const manifest = JSON.parse(sh('skopeo', ['inspect', '--raw', `oci:${layout}:app`])) as {
      layers: { mediaType: string; annotations?: Record<string, string> }[];
    };
    expect(
      manifest.layers.every((l) => l.annotations?.['io.containers.zstd-chunked.manifest-position']),
    ).toBe(true);
    const chunked = buildReport(
      await analyzeArchive(await blobOf(archive), { name: 'chunked.tar', listings: true }),
    );
    const gzip = buildReport(
      await analyzeArchive(await blobOf(join(DATA, 'oci-archive.tar')), {
        name: 'oci-archive.tar',
        listings: true,
      }),
    );
    expect(chunked.problems).toEqual([]);
    const layers = chunked.images[0]!.layers;
    expect(layers.map((l) => l.mediaType)).toEqual(
      layers.map(() => 'application/vnd.oci.image.layer.v1.tar+zstd'),
    );
    expect(layers.map((l) => l.verified)).toEqual(
      layers.map(() => ({ size: true, digest: true, diffId: true })),
    );
    expect(layers.map((l) => [l.diffId, l.entries])).toEqual(
      gzip.images[0]!.layers.map((l) => [l.diffId, l.entries]),
    );
  });

  it('a bzip2 archive is refused with the command that decompresses it', async () => {
    const bz = join(dir, 'docker-archive.tar.bz2');
    writeFileSync(
      bz,
      execFileSync('bzip2', ['-c', join(DATA, 'docker-archive.tar')], { maxBuffer: 1 << 28 }),
    );
    const err = await analyzeArchive(await blobOf(bz), { name: 'docker-archive.tar.bz2' }).catch((e) => e);
    expect(err).toBeInstanceOf(NotAnArchiveError);
    expect((err as NotAnArchiveError).problem.message).toMatch(
      /looks like bzip2-compressed data\..*`bzip2 -d`/,
    );
  });

  it('a cpio archive of an image’s files (bsdtar --format=cpio) is named as cpio, not as text', async () => {
    const files = join(dir, 'cpio-src');
    sh('mkdir', ['-p', files]);
    sh('tar', ['-xf', join(DATA, 'oci-archive.tar'), '-C', files]);
    const cpio = join(dir, 'oci.cpio');
    sh('bsdtar', ['--format=cpio', '-C', files, '-cf', cpio, '.']);
    const err = await analyzeArchive(await blobOf(cpio), { name: 'oci.cpio' }).catch((e) => e);
    expect(err).toBeInstanceOf(NotAnArchiveError);
    expect((err as NotAnArchiveError).problem.message).toContain('it looks like a cpio archive, not a tar');
  });

  it.each([
    ['docker-archive.tar.gz', () => join(DATA, 'docker-archive.tar.gz')],
    ['docker-archive.tar.zst', () => compressed('docker-archive.tar', 'zstd')],
    ['docker-archive.tar.xz', () => compressed('docker-archive.tar', 'xz')],
  ])(
    '%s: one entry given back by decompressing up to it, byte for byte as GNU tar extracts it',
    async (_, at) => {
      const file = at();
      const plain = join(DATA, 'docker-archive.tar');
      const names = sh('tar', ['-tf', plain])
        .split('\n')
        .filter((n) => /^[0-9a-f]{64}\.tar$/.test(n));
      expect(names.length).toBeGreaterThan(1);
      for (const name of names) {
        const got = await readCompressedArchiveEntry(await blobOf(file), name);
        // GNU tar detects the compression from the bytes when it reads.
        const want = execFileSync('tar', ['-xOf', file, name], { maxBuffer: 1 << 28 });
        expect(got?.size, name).toBe(want.length);
        expect(Buffer.compare(Buffer.from(await (got as Blob).arrayBuffer()), want), name).toBe(0);
      }
      expect(await readCompressedArchiveEntry(await blobOf(file), 'no/such/file')).toBeNull();
      expect(await readCompressedArchiveEntry(await blobOf(plain), names[0]!)).toBeNull();
    },
  );
});

describe('folders given instead of archives', () => {
  /** The archive unpacked by GNU tar: `skopeo copy … oci:<dir>` writes the same files. */
  function unpacked(name: string): string {
    const dir = join(tempDir('layerlens-folder-'), name);
    mkdirSync(dir);
    sh('tar', ['-xf', join(DATA, name), '-C', dir]);
    return dir;
  }

  async function analyzeDir(dir: string, name: string): Promise<{ analysis: Analysis; report: Report }> {
    const analysis = await analyzeFolder(await folderOf(dir), { name });
    return { analysis, report: buildReport(analysis) };
  }

  const tars = wellFormed.map(([name]) => name).filter((name) => name.endsWith('.tar'));

  it.each(tars)('%s unpacked: the same images, checks and kind as the archive', async (name) => {
    const archive = (await analyze(join(DATA, name))).report;
    const { report } = await analyzeDir(unpacked(name), name.replace(/\.tar$/, ''));
    expect(report.complete).toBe(true);
    expect(report.source.folder).toBe(true);
    expect(report.source.kind).toBe(archive.source.kind);
    expect(report.problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(report.images).toEqual(archive.images);
  });

  it.each([
    'go-containerregistry/pkg/v1/layout/testdata/test_index',
    'go-containerregistry/pkg/v1/layout/testdata/test_index_media_type',
    'containers-image/oci/layout/fixtures/delete_image_multiple_images',
    'containers-image/oci/layout/fixtures/two_images_manifest',
    'regclient/testdata/testrepo',
  ])('peers’ OCI layout %s, read as the folder it is, reports as its tar does', async (layout) => {
    const src = join(SHARED, layout);
    const tarPath = join(tempDir('layerlens-folder-'), 'layout.tar');
    sh('tar', ['-C', src, '-cf', tarPath, '.']);
    const archive = (await analyze(tarPath)).report;
    const { report } = await analyzeDir(src, 'layout');
    // test_index_media_type holds no image, only documents of unknown types, each a problem.
    expect(report.images.length + report.problems.length).toBeGreaterThan(0);
    expect(report.images).toEqual(archive.images);
    expect(report.problems.map((p) => p.code).sort()).toEqual(archive.problems.map((p) => p.code).sort());
  });

  it('manifest.json is read, parsed and reported once, though the kind is found from it first', async () => {
    const dir = unpacked('docker-archive.tar');
    let reads = 0;
    class Counted extends Blob {
      override arrayBuffer(): Promise<ArrayBuffer> {
        reads++;
        return super.arrayBuffer();
      }
    }
    const withManifest = async (text: string) =>
      analyzeFolder(
        (await folderOf(dir)).map((f) =>
          f.path === 'manifest.json' ? { path: f.path, blob: new Counted([text]) } : f,
        ),
        { name: 'docker-archive' },
      );
    const good = await withManifest(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(good.images).toHaveLength(1);
    expect(reads).toBe(1);
    const bad = await withManifest('[{"Config": ');
    expect(bad.problems.filter((p) => p.code === 'invalid-json').map((p) => p.where)).toEqual([
      'manifest.json',
    ]);
  });

  it('a tampered blob in a folder is a mismatch named by its path', async () => {
    const { report, analysis } = await analyzeDir(unpacked('tampered-layer.tar'), 'tampered-layer');
    const layer = Object.values(analysis.blobs).find((b) => b.diffIdCheck.state === 'mismatch');
    expect(layer?.path).toBeDefined();
    const bad = report.problems.filter((p) => p.code === 'diffid-mismatch');
    expect(bad.map((p) => p.where)).toContainEqual(expect.stringContaining(layer!.path!));
  });

  it('invalid JSON in a folder is named by its path, with no archive offset', async () => {
    const dir = unpacked('oci-archive.tar');
    const index = readFileSync(join(dir, 'index.json'), 'utf8');
    writeFileSync(join(dir, 'index.json'), index.slice(0, index.length / 2));
    const { report } = await analyzeDir(dir, 'oci-archive');
    const bad = report.problems.find((p) => p.code === 'invalid-json');
    expect(bad?.where).toBe('index.json');
  });

  it('a blob missing from a folder is said to be missing from the folder, not from an archive', async () => {
    const dir = unpacked('oci-archive.tar');
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as {
      manifests: { digest: string }[];
    };
    const manifest = JSON.parse(
      readFileSync(join(dir, 'blobs/sha256', index.manifests[0]!.digest.slice(7)), 'utf8'),
    ) as { config: { digest: string }; layers: { digest: string }[] };
    rmSync(join(dir, 'blobs/sha256', manifest.config.digest.slice(7)));
    rmSync(join(dir, 'blobs/sha256', manifest.layers[0]!.digest.slice(7)));
    const { analysis, report } = await analyzeDir(dir, 'oci-archive');
    const missing = report.problems.filter((p) => p.code === 'missing-blob').map((p) => p.message);
    expect(missing).toEqual([
      `config ${manifest.config.digest} is missing from the folder`,
      `layer 0 (${manifest.layers[0]!.digest}) is missing from the folder`,
    ]);
    // The blobs' own checks say so too.
    for (const d of [manifest.config.digest, manifest.layers[0]!.digest])
      expect(analysis.blobs[d]?.digestCheck, d).toEqual({
        state: 'unchecked',
        reason: 'the blob is not in the folder',
      });
  });

  it.each([
    ['oci-archive.tar', 'oci-archive'],
    ['docker-archive.tar', 'docker-archive'],
  ])(
    '%s packed with its folder (tar -cf x.tar img/), which skopeo refuses, is read inside the folder, plain or gzipped, and so is the folder above it',
    async (name, transport) => {
      const { report: whole } = await analyze(join(DATA, name));
      const parent = join(tempDir('layerlens-folder-'), 'parent');
      mkdirSync(join(parent, 'img'), { recursive: true });
      sh('tar', ['-xf', join(DATA, name), '-C', join(parent, 'img')]);
      const tarPath = `${parent}.tar`;
      sh('tar', ['-C', parent, '-cf', tarPath, 'img']);
      sh('sh', ['-c', `gzip -c ${tarPath} > ${tarPath}.gz`]);
      expect(() =>
        execFileSync('skopeo', ['inspect', '--raw', `${transport}:${tarPath}`], { stdio: 'pipe' }),
      ).toThrow();
      for (const path of [tarPath, `${tarPath}.gz`]) {
        const { analysis, report } = await analyze(path);
        expect(report.problems.filter((p) => p.severity !== 'info')).toEqual([]);
        expect(report.source).toMatchObject({ kind: whole.source.kind, root: 'img' });
        expect(report.source.layout).toBe(`${whole.source.layout}, in its folder img/`);
        expect(report.images).toEqual(whole.images);
        // Blobs are named by their own entries in the archive, which read them back.
        const layer = Object.values(analysis.blobs).find((b) => b.role === 'layer')!;
        expect(layer.path).toMatch(/^img\//);
        if (path.endsWith('.gz')) {
          const blob = await readCompressedArchiveEntry(await blobOf(path), layer.path!);
          const bytes = Buffer.from(await blob!.arrayBuffer());
          expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(layer.actualDigest);
        }
      }
      // The folder above the image's folder, dropped instead of it.
      const { report: folder } = await analyzeDir(parent, 'parent');
      expect(folder.source).toMatchObject({ kind: whole.source.kind, root: 'img', folder: true });
      expect(folder.images).toEqual(whole.images);
      // A file beside that folder, and it is not one image's folder any more: said, not guessed.
      writeFileSync(join(parent, 'notes.txt'), 'x');
      const { report: beside } = await analyzeDir(parent, 'parent');
      expect(beside.problems[0]!.message).toMatch(
        /\. Its folder img holds an image layout: open that folder$/,
      );
    },
  );

  it('an archive packed with its folder whose layers are hard links (GNU tar) finds them inside the folder', async () => {
    const parent = join(tempDir('layerlens-folder-'), 'parent');
    const img = join(parent, 'img');
    mkdirSync(img, { recursive: true });
    sh('tar', ['-xf', join(DATA, 'docker-archive.tar'), '-C', img]);
    // Each <id>/layer.tar symbolic link becomes a hard link of the layer file it names. GNU tar,
    // sorting by name, stores the later name of the two as a link to the earlier: manifest.json
    // names that one, so every layer is reached through a hard link entry (`img/…`, an archive path).
    const manifest = JSON.parse(readFileSync(join(img, 'manifest.json'), 'utf8')) as [{ Layers: string[] }];
    const named = new Map<string, string>();
    for (const id of readdirSync(img, { withFileTypes: true }).filter((e) => e.isDirectory())) {
      const link = join(img, id.name, 'layer.tar');
      const layer = readlinkSync(link).replace(/^\.\.\//, '');
      rmSync(link);
      linkSync(join(img, layer), link);
      named.set(layer, [`${id.name}/layer.tar`, layer].sort()[1]!);
    }
    manifest[0].Layers = manifest[0].Layers.map((l) => named.get(l) ?? l);
    writeFileSync(join(img, 'manifest.json'), JSON.stringify(manifest));
    const tarPath = `${parent}.tar`;
    sh('tar', ['-C', parent, '--sort=name', '-cf', tarPath, 'img']);
    const links = sh('tar', ['-tvf', tarPath])
      .split('\n')
      .filter((l) => l.startsWith('h'));
    expect(links).toHaveLength(manifest[0].Layers.length);
    const { analysis, report } = await analyze(tarPath);
    expect(report.source.root).toBe('img');
    expect(report.problems.filter((p) => p.severity === 'error')).toEqual([]);
    const layers = report.images[0]!.layers;
    expect(layers).toHaveLength(manifest[0].Layers.length);
    for (const l of layers) expect(l.verified.diffId).toBe(true);
    // Each read by its own entry, which is the file the link names.
    for (const l of analysis.images[0]!.layers) expect(analysis.blobs[l.blob]!.path).toMatch(/^img\//);
  });

  it('a folder of several layouts (as skopeo sync writes them) names them; a tar of them says how to pack one', async () => {
    const parent = join(tempDir('layerlens-folder-'), 'synced');
    mkdirSync(parent);
    for (const [transport, name, dest] of [
      ['oci-archive', 'oci-archive.tar', 'app:1'],
      ['docker-archive', 'docker-archive.tar', 'other:2'],
    ] as const)
      sh('skopeo', [
        '--insecure-policy',
        'copy',
        '--quiet',
        `${transport}:${join(DATA, name)}`,
        `dir:${join(parent, dest)}`,
      ]);
    writeFileSync(join(parent, 'README'), 'two images\n');
    const { report } = await analyzeDir(parent, 'synced');
    expect(report.problems.map((p) => p.code)).toEqual(['unknown-layout']);
    expect(report.problems[0]!.message).toMatch(
      /\. Its folders app:1, other:2 each hold an image layout: open one of them$/,
    );
    const tarPath = `${parent}.tar`;
    sh('tar', ['-C', parent, '-cf', tarPath, 'app:1', 'other:2']);
    const { report: tarred } = await analyze(tarPath);
    expect(tarred.problems[0]!.message).toMatch(
      /\. Its folders app:1, other:2 each hold an image layout: an image archive has one at its top; pack one with `tar -C app:1 -cf <archive> \.`$/,
    );
  });

  it('a folder that holds no image layout says what it holds', async () => {
    const dir = tempDir('layerlens-folder-');
    sh('tar', ['-xf', join(SHARED, 'go-containerregistry/pkg/v1/tarball/testdata/content.tar'), '-C', dir]);
    const { report } = await analyzeDir(dir, 'content');
    expect(report.problems[0]!.code).toBe('unknown-layout');
    expect(report.problems[0]!.message).toMatch(/^this folder is not an image layout: .*\(it holds: .*bat/);
  });
});
