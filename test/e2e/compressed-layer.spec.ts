/**
 * A gzip layer large enough (≥ 4 MiB) to be verified as two jobs on the two digest workers, joined
 * by a pipe: one reads, hashes and decompresses it, the other hashes and lists the uncompressed
 * bytes it is sent (24 MiB of files: more than the pipe's 16 MiB window). Made at test time by
 * umoci (unpack, 24 MiB of random files, repack), never committed; checked against sha256sum of
 * the blob and of its gunzipped tar, and against tar's listing. What the halves return is checked
 * here, through the real digest workers; that the analysis makes two jobs of it is checked by the
 * unit tests (layers.test.ts), which count them. The same files as a zstd layer (skopeo
 * recompresses them), decoded in WebAssembly and copied into the pipe's returning buffers; and as
 * a docker-archive gzipped whole, whose layer the analysis worker pipes to a digest worker. Then
 * Cancel in the middle of a piped layer: a cancelled run, not a read error, and both workers free
 * for the next run, whose layer (mostly zeros) is listed by the decompressing half. Last, a
 * layer's files browsed while the layer above it (1 GiB of zeros) is still being read.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { fileLayer, openFiles, selectLayer } from './files-tab';

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { maxBuffer: 1 << 28 }).toString('utf8');

type Files = [string, (file: string) => void][];

/**
 * An OCI image layout tar of gzip layers, one per group of `files` written under /data, made by
 * umoci (unpack, write, repack: each repack adds a layer, which umoci compresses); returns the
 * archive and the layout it came from.
 */
function makeGzipArchive(dir: string, ...layers: Files[]): { archive: string; layout: string } {
  const layout = path.join(dir, 'layout');
  const bundle = path.join(dir, 'bundle');
  sh('umoci', ['init', '--layout', layout]);
  sh('umoci', ['new', '--image', `${layout}:big`]);
  layers.forEach((files, i) => {
    sh('umoci', ['unpack', '--image', `${layout}:big`, bundle]);
    if (i === 0) mkdirSync(path.join(bundle, 'rootfs', 'data'));
    for (const [name, write] of files) write(path.join(bundle, 'rootfs', 'data', name));
    sh('umoci', ['repack', '--image', `${layout}:big`, bundle]);
    rmSync(bundle, { recursive: true, force: true });
  });
  const archive = path.join(dir, 'big-oci.tar');
  sh('tar', ['-C', layout, '-cf', archive, '.']);
  return { archive, layout };
}

/** Twelve files of 2 MiB of random bytes (24 MiB: more than the pipe's window), and a note. */
function randomFilesAndNote(note: string): Files {
  return [
    ...Array.from({ length: 12 }, (_, i): Files[number] => [
      `r${i}`,
      (f) => writeFileSync(f, randomBytes(2 << 20)),
    ]),
    ['zz-notes.txt', (f) => writeFileSync(f, note)],
  ];
}

/**
 * Opens `archive` and checks its one layer (`digest`) verified, its twelve random files listed
 * and its note read back: the layer decoded again from its start, stopped once the file is read.
 */
async function expectLayerVerifiedAndRead(page: Page, archive: string, digest: string, note: string) {
  await page.goto('/');
  await page.getByTestId('open-file-input').setInputFiles(archive);
  await expect(page.getByTestId('status')).toContainText(/\bdone\b/, { timeout: 60_000 });
  await expect(page.getByTestId('status')).toContainText('1 of 1 diff_ids verified');
  await page.getByTestId('tab-layers').click();
  const row = page.locator(`[data-testid="layer-row"][data-digest="${digest}"]`);
  await expect(row).toHaveAttribute('data-digest-state', 'verified');
  await expect(row).toHaveAttribute('data-diffid-state', 'verified');
  await openFiles(page);
  await page.getByTestId('file-tree').getByText('data', { exact: true }).click();
  await expect(page.locator('[data-testid="file-row"][data-path^="data/r"]')).toHaveCount(12);
  await page.locator('[data-testid="file-row"][data-path="data/zz-notes.txt"]').dblclick();
  await expect(page.getByTestId('file-content')).toHaveText(note);
}

test('a large gzip layer verifies, digest and diff_id as sha256sum gives them, and lists as tar does', async ({
  page,
  workDir: dir,
}) => {
  test.setTimeout(120_000);
  const { archive, layout } = makeGzipArchive(
    dir,
    Array.from({ length: 12 }, (_, i) => [`r${i}`, (f: string) => writeFileSync(f, randomBytes(2 << 20))]),
  );

  const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')) as {
    manifests: { digest: string }[];
  };
  const blob = (d: string) => path.join(layout, 'blobs', 'sha256', d.slice('sha256:'.length));
  const manifest = JSON.parse(readFileSync(blob(index.manifests[0]!.digest), 'utf8')) as {
    layers: { digest: string; size: number }[];
  };
  const layer = manifest.layers[0]!;
  expect(layer.size).toBeGreaterThan(16 << 20); // piped (from 4 MiB), through several windows
  const stored = `sha256:${sh('sha256sum', [blob(layer.digest)]).split(' ')[0]}`;
  const diffId = `sha256:${sh('sh', ['-c', 'gzip -dc "$1" | sha256sum', 'sh', blob(layer.digest)]).split(' ')[0]}`;
  const files = sh('sh', ['-c', 'gzip -dc "$1" | tar -t', 'sh', blob(layer.digest)])
    .split('\n')
    .filter((l) => l.startsWith('data/r')).length;
  expect(files).toBe(12);

  await page.goto('/');
  await page.getByTestId('open-file-input').setInputFiles(archive);
  await expect(page.getByTestId('status')).toContainText(/\bdone\b/, { timeout: 60_000 });
  await expect(page.getByTestId('status')).toContainText('1 of 1 diff_ids verified');
  await page.getByTestId('tab-layers').click();
  const row = page.locator(`[data-testid="layer-row"][data-digest="${stored}"]`);
  await expect(row).toHaveAttribute('data-digest-state', 'verified');
  await expect(row).toHaveAttribute('data-diffid-state', 'verified');
  // The row shows the diff_id short; verified means it equals the config's, which umoci wrote.
  await expect(row).toContainText(diffId.slice('sha256:'.length, 'sha256:'.length + 12));
  await openFiles(page);
  await page.getByTestId('file-tree').getByText('data', { exact: true }).click();
  await expect(page.locator('[data-testid="file-row"][data-path^="data/r"]')).toHaveCount(12);
});

test('a large zstd layer verifies across the two digest workers, its bytes copied into buffers that come back', async ({
  page,
  workDir: dir,
}) => {
  test.setTimeout(120_000);
  // 24 MiB of random files (umoci, gzip), recompressed as zstd by skopeo: decoded in WebAssembly,
  // whose output views are copied into the pipe's returning buffers, through several windows.
  const note = 'read back from the zstd layer\n';
  const { layout } = makeGzipArchive(dir, randomFilesAndNote(note));
  const zstdLayout = path.join(dir, 'zstd-layout');
  sh('skopeo', [
    '--insecure-policy',
    'copy',
    '-q',
    '--dest-compress-format',
    'zstd',
    `oci:${layout}:big`,
    `oci:${zstdLayout}:big`,
  ]);
  const archive = path.join(dir, 'zstd-oci.tar');
  sh('tar', ['-C', zstdLayout, '-cf', archive, '.']);
  const manifest = JSON.parse(sh('skopeo', ['inspect', '--raw', `oci:${zstdLayout}:big`])) as {
    layers: { digest: string; size: number; mediaType: string }[];
  };
  const layer = manifest.layers[0]!;
  expect(layer.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
  expect(layer.size).toBeGreaterThan(16 << 20);
  const blob = path.join(zstdLayout, 'blobs', 'sha256', layer.digest.slice('sha256:'.length));
  const diffId = `sha256:${sh('sh', ['-c', 'zstd -dc "$1" | sha256sum', 'sh', blob]).split(' ')[0]}`;

  await expectLayerVerifiedAndRead(page, archive, layer.digest, note);
  // Verified means equal to the config's diff_id, which is zstd's output hashed.
  await page.getByTestId('tab-layers').click();
  await expect(page.locator(`[data-testid="layer-row"][data-digest="${layer.digest}"]`)).toContainText(
    diffId.slice('sha256:'.length, 'sha256:'.length + 12),
  );
});

test('an archive compressed as a whole hands its large layer to a digest worker as it is decompressed', async ({
  page,
  workDir: dir,
}) => {
  test.setTimeout(120_000);
  // `docker save | gzip` of an image with a 24 MiB layer: skopeo writes the docker-archive
  // (uncompressed layer), gzip compresses it whole. The analysis worker inflates the archive and
  // pipes the layer's bytes to a digest worker, which hashes and lists them.
  const note = 'read back from the gzip archive\n';
  const { layout } = makeGzipArchive(dir, randomFilesAndNote(note));
  const docker = path.join(dir, 'docker.tar');
  sh('skopeo', ['--insecure-policy', 'copy', '-q', `oci:${layout}:big`, `docker-archive:${docker}:big:1`]);
  sh('gzip', ['-1', docker]);
  const manifest = JSON.parse(
    sh('sh', ['-c', 'gzip -dc "$1" | tar -xO manifest.json', 'sh', `${docker}.gz`]),
  ) as {
    Layers: string[];
  }[];
  const layerPath = manifest[0]!.Layers[0]!;
  const diffId = `sha256:${sh('sh', ['-c', 'gzip -dc "$1" | tar -xO "$2" | sha256sum', 'sh', `${docker}.gz`, layerPath]).split(' ')[0]}`;

  await expectLayerVerifiedAndRead(page, `${docker}.gz`, diffId, note);
  await expect(page.getByTestId('status')).toContainText('gzip');
});

test('Cancel during a piped layer frees both digest workers: the same archive then verifies', async ({
  page,
  workDir: dir,
}) => {
  test.setTimeout(120_000);
  // 6 MiB of random bytes and 512 MiB of zeros: ~7 MB of gzip (piped), seconds of hashing on the
  // receiving worker while the sender waits for room in the pipe.
  const { archive } = makeGzipArchive(dir, [
    ['random', (f) => writeFileSync(f, randomBytes(6 << 20))],
    ['zeros', (f) => sh('sh', ['-c', `head -c ${512 << 20} /dev/zero > "$1"`, 'sh', f])],
  ]);
  await page.goto('/');
  await page.getByTestId('open-file-input').setInputFiles(archive);
  await expect(page.getByTestId('progress')).toBeVisible();
  await page.getByTestId('cancel-button').click();
  await expect(page.getByTestId('status')).toContainText('cancelled');
  await page.getByTestId('tab-layers').click();
  await expect(page.getByTestId('layer-row')).toHaveAttribute('data-digest-state', /unchecked|pending/);
  // Cancelled, not a failure: neither half's stop is reported as a read error.
  await page.getByTestId('tab-problems').click();
  await expect(page.getByTestId('problems')).toContainText(/cancel/i);
  await expect(page.getByTestId('problems')).not.toContainText('could not read');
  // Were either half still waiting on the other, this run would never finish.
  await page.getByTestId('open-file-input').setInputFiles(archive);
  await expect(page.getByTestId('status')).toContainText(/\bdone\b/, { timeout: 60_000 });
  await expect(page.getByTestId('status')).toContainText('1 of 1 diff_ids verified');
  await page.getByTestId('tab-layers').click();
  await expect(page.getByTestId('layer-row')).toHaveAttribute('data-digest-state', 'verified');
  // This layer declares ~80 times its size uncompressed, so the decompressing worker listed it
  // (the first test's random bytes are listed by the hashing one): the same files either way.
  await openFiles(page);
  await page.getByTestId('file-tree').getByText('data', { exact: true }).click();
  await expect(page.locator('[data-testid="file-row"][data-path^="data/"]')).toHaveCount(2);
  await expect(page.locator('[data-testid="file-row"][data-path="data/zeros"]')).toHaveAttribute(
    'data-size',
    String(512 << 20),
  );
  await expect(page.locator('[data-testid="file-row"][data-path="data/random"]')).toHaveAttribute(
    'data-size',
    String(6 << 20),
  );
});

test('a layer’s files can be browsed as soon as it is listed, while a later layer is still read', async ({
  page,
  workDir: dir,
}) => {
  test.setTimeout(120_000);
  // Layer 0: three small files. Layer 1: 1 GiB of zeros, about a MB of gzip but seconds of
  // decompressing and hashing.
  const { archive } = makeGzipArchive(
    dir,
    ['a', 'b', 'c'].map((n): Files[number] => [n, (f) => writeFileSync(f, `${n}\n`)]),
    [['zeros', (f) => sh('sh', ['-c', `head -c ${1 << 30} /dev/zero > "$1"`, 'sh', f])]],
  );
  await page.goto('/');
  await page.getByTestId('open-file-input').setInputFiles(archive);
  await openFiles(page);
  const layer = (i: number) => fileLayer(page, i);
  await expect(layer(0)).toHaveAttribute('data-state', 'listed');
  await selectLayer(page, 0);
  await page.getByTestId('file-tree').getByText('data', { exact: true }).click();
  await expect(page.locator('[data-testid="file-row"][data-path^="data/"]')).toHaveCount(3);
  await expect(page.locator('[data-testid="file-row"][data-path="data/a"]')).toHaveAttribute(
    'data-change',
    'added',
  );
  // All of that while layer 1 was still being read (or waiting for a digest worker).
  expect(['reading', 'waiting']).toContain(await layer(1).getAttribute('data-state'));
  expect(await page.getByTestId('status').textContent()).not.toMatch(/\bdone\b/);
  // Then it is listed too, and its tree shows what it added.
  await expect(page.getByTestId('status')).toContainText(/\bdone\b/, { timeout: 60_000 });
  await expect(layer(1)).toHaveAttribute('data-state', 'listed');
  await selectLayer(page, 1);
  await expect(page.locator('[data-testid="file-row"][data-path="data/zeros"]')).toHaveAttribute(
    'data-size',
    String(1 << 30),
  );
});
