/**
 * Permalinks end to end: copy the link of a dropped archive and of a registry image, open it in
 * a fresh browser context (no cache, no file), see the same summary and selection; drop the
 * matching file and see everything, a different one and see the mismatch; back and forward
 * move between views; exported analyses reopen; hostile fragments give a message, not markup.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateRawSync } from 'node:zlib';
import type { Browser, Page } from '@playwright/test';
import { expect as baseExpect, test } from './fixtures';

const expect = baseExpect.configure({ timeout: 30_000 });
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dataDir = path.join(root, 'test/fixtures/data');
const multi = path.join(dataDir, 'docker-archive-multi.tar');
const other = path.join(dataDir, 'oci-archive.tar');

async function openFile(page: Page, file: string): Promise<void> {
  await page.getByTestId('open-file-input').setInputFiles(file);
  await expect(page.getByTestId('status')).toContainText(/\bdone\b/, { timeout: 120_000 });
}

/** The link as "Copy link" puts it on the clipboard; it is also the address bar's URL. */
async function copyLink(page: Page): Promise<string> {
  await expect(page.getByTestId('link-url')).toBeVisible();
  await page.getByTestId('copy-link').click();
  const copied = await page.evaluate(() => navigator.clipboard.readText());
  expect(copied).toBe(await page.getByTestId('link-url').inputValue());
  expect(page.url()).toBe(copied);
  expect(new URL(copied).hash).toMatch(/^#v1\.[A-Za-z0-9_-]+$/);
  return copied;
}

/** A page in a new context: nothing cached, no file, like a colleague's browser. */
async function freshPage(browser: Browser): Promise<{ page: Page; close: () => Promise<void> }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`${e.name}: ${e.message}`));
  return {
    page,
    close: async () => {
      await context.close();
      expect(errors, 'uncaught errors in the fresh page').toEqual([]);
    },
  };
}

async function layerDigests(page: Page): Promise<string[]> {
  return page
    .getByTestId('layer-row')
    .evaluateAll((els) => els.map((e) => `${(e as HTMLElement).dataset.digest}`));
}

test.beforeEach(async ({ context }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
});

test('an archive link shows its summary anywhere; the matching file verifies it, another one is flagged', async ({
  page,
  browser,
}) => {
  test.setTimeout(180_000);
  await page.goto('/');
  await openFile(page, multi);
  // A view worth sharing: the second image's layers.
  await page.getByTestId('tab-layers').click();
  const select = page.getByTestId('image-select');
  const images = await select
    .locator('option')
    .evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  expect(images.length).toBeGreaterThan(1);
  await select.selectOption(images[1] as string);
  const imageName = await select.locator('option:checked').textContent();
  const digests = await layerDigests(page);
  const link = await copyLink(page);
  const length = Number((await page.getByTestId('link-length').textContent())?.replace(/\D/g, ''));
  expect(length).toBe(link.length);

  const fresh = await freshPage(browser);
  const p2 = fresh.page;
  await p2.goto(link);
  await expect(p2.getByTestId('origin-banner')).toHaveAttribute('data-origin', 'link');
  await expect(p2.getByTestId('origin-banner')).toContainText('not verified on this machine');
  await expect(p2.getByTestId('drop-prompt')).toContainText('docker-archive-multi.tar');
  await expect(p2.getByTestId('tab-layers')).toHaveAttribute('aria-selected', 'true');
  await expect(p2.getByTestId('image-select').locator('option:checked')).toHaveText(imageName as string);
  expect(await layerDigests(p2)).toEqual(digests);
  // The address bar keeps the link (the same view, the same summary).
  expect(new URL(p2.url()).hash).toBe(new URL(link).hash);
  // Files need the archive itself, and so do its blobs.
  await p2.getByTestId('tab-files').click();
  await expect(p2.getByTestId('files-need-archive')).toBeVisible();
  await p2.getByTestId('tab-graph').click();
  await p2.locator(`[data-testid="graph-node"][data-kind="layer"][data-digest="${digests[0]}"]`).click();
  await p2.getByTestId('download-blob').click();
  await expect(p2.getByTestId('download-state')).toHaveText(
    'Cannot download: this is a summary of the analysis: drop docker-archive-multi.tar here to download its blobs',
  );
  await p2.getByTestId('tab-layers').click();

  // The same file: its SHA-256 matches the link's, and the full view comes.
  await openFile(p2, multi);
  await expect(p2.getByTestId('archive-match')).toBeVisible();
  await expect(p2.getByTestId('origin-banner')).toHaveCount(0);
  await expect(p2.getByTestId('layer-row').first()).toHaveAttribute('data-digest-state', 'verified');
  await p2.getByTestId('tab-files').click();
  await expect(p2.getByTestId('file-tree')).toBeVisible();

  // Another file against the link: flagged, and the new file's own analysis is shown.
  // (In this tab the link now names what is on screen, so a new tab of the same browser.)
  const p3 = await p2.context().newPage();
  await p3.goto(link);
  await expect(p3.getByTestId('origin-banner')).toHaveAttribute('data-origin', 'cache');
  await openFile(p3, other);
  await expect(p3.getByTestId('archive-mismatch')).toContainText('not the archive the link describes');
  await expect(p3.getByTestId('status')).toContainText('oci-archive.tar');
  await fresh.close();
});

test('a link’s Files tab says its layers are not read here, and that the wasted paths need the archive', async ({
  page,
  browser,
}) => {
  // The sample stores two paths twice (155 bytes wasted): a summary keeps that figure, not the list.
  await page.goto('/');
  await page.getByTestId('sample-button').click();
  await expect(page.getByTestId('status')).toContainText(/\bdone\b/);
  await page.getByTestId('tab-files').click();
  await expect(page.getByTestId('wasted-row')).toHaveCount(2);
  const wasted = await page.getByTestId('wasted-bytes').getAttribute('data-value');
  const link = await copyLink(page);

  const fresh = await freshPage(browser);
  await fresh.page.goto(link);
  await expect(fresh.page.getByTestId('origin-banner')).toHaveAttribute('data-origin', 'link');
  await expect(fresh.page.getByTestId('files-need-archive')).toBeVisible();
  const layers = fresh.page.getByTestId('file-layer');
  await expect(layers).toHaveCount(4);
  // Said once, on the layer's status line.
  for (const layer of await layers.all()) {
    await expect(layer.getByTestId('layer-status')).toHaveText('not listed: not read on this machine');
    await expect(layer.getByText('not read on this machine')).toHaveCount(1);
  }
  await expect(fresh.page.getByTestId('wasted-bytes')).toHaveAttribute('data-value', wasted as string);
  await expect(fresh.page.getByTestId('wasted-row')).toHaveCount(0);
  await expect(fresh.page.getByTestId('wasted-not-listed')).toBeVisible();
  await fresh.close();
});

test('in the browser that made it, the link brings the analysis and its file trees back at once', async ({
  page,
  context,
}) => {
  test.setTimeout(120_000);
  await page.goto('/');
  await openFile(page, other);
  await page.getByTestId('tab-history').click();
  const link = await copyLink(page);
  const again = await context.newPage();
  await again.goto(link);
  // From this browser's analysis cache, not the link's summary.
  await expect(again.getByTestId('origin-banner')).toHaveAttribute('data-origin', 'cache');
  await expect(again.getByTestId('tab-history')).toHaveAttribute('aria-selected', 'true');
  await again.getByTestId('tab-graph').click();
  // The raw documents are there, as they are only in a full analysis.
  await again.locator('[data-testid="graph-node"][data-kind="config"]').first().click();
  await expect(again.getByTestId('raw-json')).toContainText('rootfs');
  // The layer trees come back too; file contents need the archive itself.
  await again.getByTestId('tab-files').click();
  await expect(again.locator('[data-testid="file-layer"][data-state="listed"]')).toHaveCount(3);
  await again.locator('[data-testid="file-layer"][data-index="2"] button').click();
  await again.getByTestId('mode-merged').click();
  await expect(again.getByTestId('tree-summary')).toContainText('merged tree');
  await again.getByTestId('file-search').fill('*.conf');
  await again.locator('[data-testid="file-row"][data-path="etc/app.conf"]').dblclick();
  await expect(again.getByTestId('file-viewer')).toContainText('drop oci-archive.tar to read them');
  // Dropping it: verified again, contents readable.
  await openFile(again, other);
  await expect(again.getByTestId('archive-match')).toBeVisible();
  // Clearing the cache forgets the analysis too: the link then shows its own summary.
  await again.getByTestId('cache-panel').locator('summary').click();
  await expect(again.getByTestId('cache-panel')).toContainText('archive analysis kept for permalinks');
  await again.getByTestId('cache-clear').click();
  await expect(again.getByTestId('cache-panel')).not.toContainText('kept for permalinks');
  const third = await context.newPage();
  await third.goto(link);
  await expect(third.getByTestId('origin-banner')).toHaveAttribute('data-origin', 'link');
  await third.close();
  await again.close();
});

test('back and forward move between views; a files view comes back with its layer, search and selection', async ({
  page,
}) => {
  test.setTimeout(120_000);
  await page.goto('/');
  await openFile(page, other);
  await expect(page.getByTestId('link-url')).toBeVisible();
  await page.getByTestId('tab-files').click();
  await expect(page.locator('[data-testid="file-layer"][data-state="listed"]')).toHaveCount(3);
  await page.locator('[data-testid="file-layer"][data-index="2"] button').click();
  await page.getByTestId('mode-merged').click();
  await page.getByTestId('file-search').fill('*.conf');
  await expect(page.getByTestId('tree-summary')).toContainText('"*.conf"');
  await page.locator('[data-testid="file-row"][data-path="etc/app.conf"]').click();
  await expect(page.locator('[data-testid="file-row"][aria-selected="true"]')).toHaveAttribute(
    'data-path',
    'etc/app.conf',
  );
  await expect.poll(() => new URL(page.url()).hash.length).toBeGreaterThan(10);
  const filesUrl = page.url();

  await page.getByTestId('tab-summary').click();
  await expect.poll(() => page.url()).not.toBe(filesUrl);
  const summaryUrl = page.url();

  await page.goBack();
  await expect(page.getByTestId('tab-files')).toHaveAttribute('aria-selected', 'true');
  await expect(page.locator('[data-testid="file-layer"][data-index="2"]')).toHaveClass(/current/);
  await expect(page.getByTestId('mode-merged')).toHaveAttribute('aria-pressed', 'true');
  await expect(page.getByTestId('file-search')).toHaveValue('*.conf');
  await expect(page.locator('[data-testid="file-row"][aria-selected="true"]')).toHaveAttribute(
    'data-path',
    'etc/app.conf',
  );
  expect(page.url()).toBe(filesUrl);

  await page.goForward();
  await expect(page.getByTestId('tab-summary')).toHaveAttribute('aria-selected', 'true');
  expect(page.url()).toBe(summaryUrl);
  // Back past the first view of the analysis: the start page.
  const startPage = page.locator('[data-testid="drop-zone"].hero');
  for (let i = 0; i < 8 && new URL(page.url()).hash !== ''; i++) await page.goBack();
  await expect(startPage).toBeVisible();
  await expect(page.getByTestId('status')).toContainText('idle');
  expect(new URL(page.url()).hash).toBe('');
});

test('a registry link pins the digest and reopens the same image and view in a fresh browser', async ({
  page,
  browser,
}) => {
  test.setTimeout(120_000);
  const { host, digests } = JSON.parse(
    readFileSync(path.join(root, 'test-results', 'e2e-registry.json'), 'utf8'),
  ) as {
    host: string;
    digests: Record<string, string>;
  };
  await page.goto('/');
  const input = page.getByLabel('Image reference');
  await input.fill(`${host}/test/app:1`);
  await input.press('Enter');
  await expect(page.getByTestId('status')).toContainText(/\bdone\b/, { timeout: 60_000 });
  const config = page.locator('[data-testid="graph-node"][data-kind="config"]').first();
  const configDigest = await config.getAttribute('data-digest');
  await config.click();
  await expect(page.getByTestId('node-details')).toBeVisible();
  const link = await copyLink(page);

  const fresh = await freshPage(browser);
  await fresh.page.goto(link);
  await expect(fresh.page.getByTestId('status')).toContainText(/\bdone\b/, { timeout: 60_000 });
  // Fetched again and verified again, by the digest in the link.
  await expect(fresh.page.getByTestId('resolved')).toContainText(digests['test/app:1'] as string);
  await expect(fresh.page.getByTestId('tab-graph')).toHaveAttribute('aria-selected', 'true');
  await expect(fresh.page.locator('[data-testid="graph-node"][aria-pressed="true"]')).toHaveAttribute(
    'data-digest',
    configDigest as string,
  );
  await expect(fresh.page.getByTestId('node-details')).toBeVisible();
  await fresh.page.getByTestId('tab-layers').click();
  await expect(fresh.page.getByTestId('layer-row').first()).toHaveAttribute('data-diffid-state', 'verified');
  await fresh.close();
});

test('an exported analysis dropped back reopens the same summary', async ({ page }) => {
  await page.goto('/');
  await openFile(page, other);
  await expect(page.getByTestId('link-url')).toBeVisible();
  const digests = await (async () => {
    await page.getByTestId('tab-layers').click();
    return layerDigests(page);
  })();
  const download = page.waitForEvent('download');
  await page.getByTestId('download-report').click();
  const file = await (await download).path();
  await page.getByTestId('open-file-input').setInputFiles({
    name: 'oci-archive.layerlens.json',
    mimeType: 'application/json',
    buffer: readFileSync(file),
  });
  await expect(page.getByTestId('origin-banner')).toHaveAttribute('data-origin', 'export');
  await page.getByTestId('tab-layers').click();
  expect(await layerDigests(page)).toEqual(digests);
  await expect(page.getByTestId('drop-prompt')).toContainText('oci-archive.tar');
  await page.getByTestId('tab-files').click();
  await expect(page.getByTestId('layer-status')).toHaveCount(digests.length);
  for (const layer of await page.getByTestId('layer-status').all()) {
    await expect(layer).toHaveText('not listed: an exported analysis holds no listings');
  }
  // An export dropped on a summary (here, one naming the archive "again.tar") is no archive to
  // compare: no verdict either way.
  const again = JSON.parse(readFileSync(file, 'utf8')) as { source: { name: string } };
  again.source.name = 'again.tar';
  await page.getByTestId('open-file-input').setInputFiles({
    name: 'again.layerlens.json',
    mimeType: 'application/json',
    buffer: Buffer.from(JSON.stringify(again)),
  });
  await expect(page.getByTestId('status')).toContainText('again.tar');
  await expect(page.getByTestId('origin-banner')).toHaveAttribute('data-origin', 'export');
  await expect(page.locator('[data-testid="archive-match"], [data-testid="archive-mismatch"]')).toHaveCount(
    0,
  );
  // The archive itself, dropped on that summary, is verified against it (by digest, not by name).
  await page.getByTestId('open-file-input').setInputFiles(other);
  await expect(page.getByTestId('archive-match')).toBeVisible({ timeout: 60_000 });
});

const hostile: [string, string, RegExp][] = [
  ['not a link', '#hello-there', /does not start with "v1\."/],
  ['a future version', '#v7.AAAA', /version 7 link/],
  ['truncated', '#v1.q1YqU7IyBAA', /cut short|damaged|not JSON/],
  ['not base64url', '#v1.<script>alert(1)</script>', /not valid base64url/],
  [
    'oversized',
    `#v1.${'A'.repeat(300_000)}`,
    /more than the 262144 characters a Layerlens link can be|more than the 262144/,
  ],
];

for (const [what, fragment, message] of hostile) {
  test(`a hostile link (${what}) gives a message and an empty page`, async ({ page }) => {
    await page.goto(`/${fragment}`);
    await expect(page.getByTestId('error-banner')).toContainText('This link cannot be opened');
    await expect(page.getByTestId('error-banner')).toContainText(message);
    await expect(page.locator('[data-testid="drop-zone"].hero')).toBeVisible();
    await expect(page.locator('script:not([src]), img')).toHaveCount(0);
  });
}

test('markup in a link is shown as text, never run', async ({ page }) => {
  const summary = {
    version: 1,
    complete: true,
    source: {
      kind: 'docker-archive',
      layout: 'x',
      name: '<img src=x onerror="window.pwned=1">',
      size: 10,
      compression: null,
    },
    images: [
      {
        refs: ['<script>window.pwned=2</script>'],
        manifestDigest: null,
        configDigest: `sha256:${'e'.repeat(64)}`,
        platform: { os: 'linux', architecture: 'amd64' },
        present: true,
        verified: { manifest: null, config: true },
        layers: [],
        config: { config: { Labels: { '<b>key</b>': '<iframe src="javascript:window.pwned=3">' } } },
      },
    ],
    problems: [
      { code: 'x', message: '<img src=y onerror="window.pwned=4">', where: '<u>w</u>', severity: 'warning' },
    ],
  };
  const state = {
    v: 1,
    source: {
      kind: 'archive',
      sha256: `sha256:${'f'.repeat(64)}`,
      name: '<svg onload="window.pwned=5">',
      size: 10,
      summary,
      omitted: ['history commands past 200 characters', '<b>problem messages</b>'],
    },
    view: { tab: 'summary' },
  };
  const fragment = `v1.${deflateRawSync(Buffer.from(JSON.stringify(state))).toString('base64url')}`;
  await page.goto(`/#${fragment}`);
  await expect(page.getByTestId('summary')).toContainText('<script>window.pwned=2</script>');
  await expect(page.getByTestId('summary')).toContainText('<iframe src="javascript:window.pwned=3">');
  await expect(page.getByTestId('drop-prompt')).toContainText('<svg onload="window.pwned=5">');
  await page.getByTestId('tab-problems').click();
  await expect(page.getByTestId('problems')).toContainText('<img src=y onerror="window.pwned=4">');
  await expect(page.locator('main img, main iframe, main svg[onload], main script')).toHaveCount(0);
  expect(await page.evaluate(() => (window as { pwned?: number }).pwned)).toBeUndefined();
  // What the link left out is said, on the page and next to the link it writes back.
  await expect(page.getByTestId('origin-omitted')).toContainText(
    'history commands past 200 characters; <b>problem messages</b>',
  );
  await page.getByTestId('link-omitted').locator('summary').click();
  await expect(page.getByTestId('link-omitted')).toContainText('<b>problem messages</b>');
});
