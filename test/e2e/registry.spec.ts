/**
 * Inspecting images in a registry: a real docker-registry on 127.0.0.1 (started and filled by
 * test/e2e/global-setup.ts), reached through the app's own proxy (the web server runs with
 * ALLOW_LOCAL_REGISTRIES=1). Expected digests come from `skopeo inspect`, never from Layerlens.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Page } from '@playwright/test';
import { decodeLink } from '../../src/core/permalink/link';
import { expect, test } from './fixtures';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const info = () =>
  JSON.parse(readFileSync(path.join(root, 'test-results', 'e2e-registry.json'), 'utf8')) as {
    host: string;
    tokenHost: string;
    digests: Record<string, string>;
  };

async function skopeoRaw(image: string, config = false): Promise<string> {
  const { stdout } = await run(
    'skopeo',
    ['inspect', '--tls-verify=false', '--raw', ...(config ? ['--config'] : []), `docker://${image}`],
    { maxBuffer: 64 << 20 },
  );
  return stdout;
}

async function inspect(page: Page, reference: string): Promise<void> {
  await page.goto('/');
  const input = page.getByLabel('Image reference');
  await input.fill(reference);
  await input.press('Enter');
  await expect(page.getByTestId('graph-node').first()).toBeVisible({ timeout: 30_000 });
  await expect(page.getByTestId('status')).toContainText(/\bdone\b/, { timeout: 60_000 });
}

/** A layer node's Download: the SHA-256 of the file saved, once its name is checked. */
async function downloadLayer(page: Page, digest: string): Promise<string> {
  await page.locator(`[data-testid="graph-node"][data-kind="layer"][data-digest="${digest}"]`).click();
  // A registry's blob has no path: it is fetched by digest.
  await expect(page.getByTestId('node-details')).not.toContainText('path');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('download-blob').click(),
  ]);
  expect(download.suggestedFilename()).toMatch(new RegExp(`^${digest.slice(7)}\\.tar(\\.gz|\\.zst)?$`));
  const bytes = readFileSync(await download.path());
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

async function nodeDigests(page: Page, kind: string): Promise<string[]> {
  return page
    .locator(`[data-testid="graph-node"][data-kind="${kind}"]`)
    .evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.digest ?? ''));
}

test('paste a reference, see the graph and verified layers, as skopeo inspect reports them', async ({
  page,
}) => {
  const { host, digests } = info();
  const ref = `${host}/test/app:1`;
  await inspect(page, ref);
  const manifestRaw = await skopeoRaw(ref);
  const manifest = JSON.parse(manifestRaw) as {
    config: { digest: string };
    layers: Array<{ digest: string }>;
  };
  expect(await nodeDigests(page, 'manifest')).toEqual([digests['test/app:1']]);
  expect(await nodeDigests(page, 'config')).toEqual([manifest.config.digest]);
  expect((await nodeDigests(page, 'layer')).sort()).toEqual(manifest.layers.map((l) => l.digest).sort());
  await expect(page.getByTestId('resolved')).toHaveText(`${host}/test/app@${digests['test/app:1']}`);
  await expect(page.getByTestId('rate-limit')).toHaveText('Rate limit: 99;w=21600 left of 100;w=21600');
  await expect(page.getByTestId('tag-switcher')).toHaveValue('1');
  // The status line names the kind once and gives no file size (a registry image has no file).
  const status = await page.getByTestId('status').innerText();
  expect(status).toContain('registry · OCI distribution API');
  expect(status).not.toMatch(/\b0 B\b/);

  await page.getByTestId('tab-layers').click();
  const rows = await page.getByTestId('layer-row').evaluateAll((els) =>
    els.map((r) => {
      const d = (r as HTMLElement).dataset;
      return [d.digest ?? '', d.digestState ?? '', d.diffidState ?? ''];
    }),
  );
  expect(rows).toEqual(manifest.layers.map((l) => [l.digest, 'verified', 'verified']));

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('download-report').click(),
  ]);
  const report = JSON.parse(readFileSync(await download.path(), 'utf8')) as {
    complete: boolean;
    source: { kind: string; reference: string; resolved: string };
    images: Array<{ refs: string[]; configDigest: string }>;
  };
  expect(report.complete).toBe(true);
  expect(report.source).toMatchObject({
    kind: 'registry',
    reference: ref,
    resolved: `${host}/test/app@${digests['test/app:1']}`,
  });
  expect(report.images[0]?.refs).toEqual([ref]);
  expect(report.images[0]?.configDigest).toBe(manifest.config.digest);

  // Verified blobs went to the cache; reopening reads them from it.
  await page.getByTestId('cache-panel').locator('summary').click();
  await expect(page.getByTestId('cache-total')).not.toHaveText(/^0 blobs/);
  const input = page.getByLabel('Image reference');
  await input.fill(ref);
  await input.press('Enter');
  await expect(page.getByTestId('registry-controls')).toContainText('read from the cache', {
    timeout: 30_000,
  });
  await expect(page.getByTestId('status')).toContainText(/\bdone\b/, { timeout: 60_000 });
  // And in a new page of this browser (a new worker): the cache is still there.
  await page.reload();
  await page.getByLabel('Image reference').fill(ref);
  await page.getByLabel('Image reference').press('Enter');
  await expect(page.getByTestId('status')).toContainText(/\bdone\b/, { timeout: 60_000 });
  await expect(page.getByTestId('registry-controls')).toContainText('read from the cache');
  await page.getByTestId('tab-layers').click();
  await expect(page.getByTestId('layer-row').first()).toHaveAttribute('data-diffid-state', 'verified');
  await page.getByTestId('cache-panel').locator('summary').click();
  await page.getByTestId('cache-clear').click();
  await expect(page.getByTestId('cache-total')).toHaveText(/^0 blobs/);
});

test('a multi-platform index shows every platform and analyses the one picked', async ({ page }) => {
  const { host, digests } = info();
  test.skip(!digests['test/index:v1'], 'regclient testdata not available');
  const ref = `${host}/test/index:v1`;
  await inspect(page, ref);
  const index = JSON.parse(await skopeoRaw(ref)) as {
    manifests: Array<{ digest: string; platform?: { os: string; architecture: string } }>;
  };
  const shown = [...(await nodeDigests(page, 'manifest')), ...(await nodeDigests(page, 'artifact'))].sort();
  expect(shown).toEqual(index.manifests.map((m) => m.digest).sort());
  const picker = page.getByTestId('platform-picker');
  await expect(picker).toHaveValue('linux/amd64');
  await picker.selectOption('linux/arm64');
  await expect(page.getByTestId('status')).toContainText(/\bdone\b/, { timeout: 60_000 });
  await expect(page.getByTestId('platform-picker')).toHaveValue('linux/arm64');
});

test('layers of the other platforms are fetched on request', async ({ page }) => {
  const { host } = info();
  const ref = `${host}/test/mixed:1`;
  await inspect(page, ref);
  await expect(page.getByTestId('platform-picker')).toHaveValue('linux/amd64');
  await page.getByTestId('tab-layers').click();
  const states = async () =>
    page
      .getByTestId('layer-row')
      .evaluateAll((els) => els.map((r) => (r as HTMLElement).dataset.digestState ?? ''));
  const select = page.getByTestId('image-select');
  await select.selectOption({ label: `${ref} (linux/amd64)` });
  expect(new Set(await states())).toEqual(new Set(['verified']));
  await select.selectOption({ label: `${ref} (linux/arm64)` });
  expect(new Set(await states())).toEqual(new Set(['unchecked']));
  // A layer not fetched downloads all the same: fetched through the proxy then, and verified.
  const arm64Layer = await page.getByTestId('layer-row').first().getAttribute('data-digest');
  await page.getByTestId('tab-graph').click();
  expect(await downloadLayer(page, arm64Layer!)).toBe(arm64Layer);
  // Its summary says the unpacked size is not known, rather than that it is on its way.
  await page.getByTestId('tab-summary').click();
  await expect(page.getByTestId('summary-size')).toHaveAttribute('data-unpacked', '');
  await expect(page.getByTestId('summary-size')).toContainText(
    'the unpacked size is not known: some layer was not read',
  );
  await page.getByTestId('all-platforms').click();
  await expect(page.getByTestId('status')).toContainText(/\bdone\b/, { timeout: 60_000 });
  await page.getByTestId('tab-layers').click();
  for (const label of ['linux/amd64', 'linux/arm64']) {
    await page.getByTestId('image-select').selectOption({ label: `${ref} (${label})` });
    expect(new Set(await states())).toEqual(new Set(['verified']));
  }
  // Fetched now: the layer downloads from the blob cache, as the registry stores it.
  await page.getByTestId('tab-graph').click();
  expect(await downloadLayer(page, arm64Layer!)).toBe(arm64Layer);
});

test('credentials typed into the page open a private repository', async ({ page }) => {
  const { tokenHost, digests } = info();
  const ref = `${tokenHost}/test/app:1`;
  await page.goto('/');
  const input = page.getByLabel('Image reference');
  await input.fill(ref);
  await input.press('Enter');
  await expect(page.getByTestId('error-banner')).toContainText('needs credentials');
  await page.locator('summary', { hasText: 'Credentials' }).click();
  await page.getByLabel('User').fill('alice');
  await page.getByLabel('Password or token').fill('wonderland');
  await page.getByRole('button', { name: 'Use' }).click();
  await input.fill(ref);
  await input.press('Enter');
  await expect(page.getByTestId('status')).toContainText(/\bdone\b/, { timeout: 60_000 });
  expect(await nodeDigests(page, 'manifest')).toEqual([digests['test/app:1']]);
});

test('credentials are stored only when Remember is ticked, and Forget removes them', async ({ page }) => {
  const { tokenHost, digests } = info();
  const ref = `${tokenHost}/test/app:1`;
  const stored = () => page.evaluate(() => JSON.stringify(localStorage));
  await page.goto('/');
  await page.locator('summary', { hasText: 'Credentials' }).click();
  await page.getByLabel('User').fill('alice');
  await page.getByLabel('Password or token').fill('wonderland');
  await page.getByRole('button', { name: 'Use' }).click();
  // Not asked to remember: nothing of them in the browser's storage.
  expect(await stored()).not.toContain('wonderland');
  await page.reload();
  await expect(page.locator('summary', { hasText: 'Credentials' })).toHaveText('Credentials');

  await page.locator('summary', { hasText: 'Credentials' }).click();
  await page.getByLabel('User').fill('alice');
  await page.getByLabel('Password or token').fill('wonderland');
  await page.getByLabel('Remember on this device').check();
  await page.getByRole('button', { name: 'Use' }).click();
  expect(await stored()).toContain('wonderland');
  await page.reload();
  await expect(page.locator('summary', { hasText: 'Credentials' })).toHaveText('Credentials (remembered)');
  const input = page.getByLabel('Image reference');
  await input.fill(ref);
  await input.press('Enter');
  await expect(page.getByTestId('status')).toContainText(/\bdone\b/, { timeout: 60_000 });
  expect(await nodeDigests(page, 'manifest')).toEqual([digests['test/app:1']]);

  await page.locator('summary', { hasText: 'Credentials' }).first().click();
  await page.getByRole('button', { name: 'Forget' }).first().click();
  expect(await stored()).not.toContain('wonderland');
});

test('the tag list switches to another tag of the repository', async ({ page }) => {
  const { host, digests } = info();
  await inspect(page, `${host}/test/multi:1`);
  expect(await nodeDigests(page, 'manifest')).toEqual([digests['test/multi:1']]);
  // The header's field holds the reference on screen, to be edited rather than typed again.
  const field = page.getByLabel('Image reference');
  await expect(field).toHaveValue(`${host}/test/multi:1`);
  await page.getByTestId('tag-switcher').selectOption('2');
  await expect(page.getByTestId('resolved')).toHaveText(`${host}/test/multi@${digests['test/multi:2']}`, {
    timeout: 30_000,
  });
  await expect(page.getByTestId('status')).toContainText(/\bdone\b/, { timeout: 60_000 });
  expect(await nodeDigests(page, 'manifest')).toEqual([digests['test/multi:2']]);
  await expect(field).toHaveValue(`${host}/test/multi:2`);
  // A reference that fails leaves the analysis on screen and what was typed, to be corrected.
  await field.fill(`${host}/test/multi:3`);
  await field.press('Enter');
  await expect(page.getByTestId('error-banner')).toContainText('not found (404)');
  await expect(field).toHaveValue(`${host}/test/multi:3`);
  expect(await nodeDigests(page, 'manifest')).toEqual([digests['test/multi:2']]);
});

test('an unknown repository gives a clear message', async ({ page }) => {
  const { host } = info();
  await page.goto('/');
  const input = page.getByLabel('Image reference');
  await input.fill(`${host}/test/nothing:1`);
  await input.press('Enter');
  await expect(page.getByTestId('error-banner')).toContainText('not found (404)');
  // A reference that does not parse is said under the field, and the earlier failure's banner goes.
  await input.fill(`${host}/Test/Nothing:1`);
  await input.press('Enter');
  await expect(page.getByRole('alert').filter({ hasText: 'must be lower-case' })).toBeVisible();
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
});

test('a registry image’s layers are listed as they are verified, and its files are read from the cache', async ({
  page,
}) => {
  const { host } = info();
  const ref = `${host}/test/app:1`;
  await inspect(page, ref);
  const manifest = JSON.parse(await skopeoRaw(ref)) as { layers: Array<{ digest: string }> };
  await page.getByTestId('tab-files').click();
  await expect(page.locator('[data-testid="file-layer"][data-state="listed"]')).toHaveCount(
    manifest.layers.length,
  );
  // The merged file system after the last layer.
  await page.locator(`[data-testid="file-layer"][data-index="${manifest.layers.length - 1}"] button`).click();
  await page.getByTestId('mode-merged').click();
  await page.getByTestId('file-search').fill('app.conf');
  await page.locator('[data-testid="file-row"][data-path="etc/app.conf"]').dblclick();
  await expect(page.getByTestId('file-viewer-path')).toHaveText('etc/app.conf');
  // The same bytes as the layer blob skopeo fetches, unpacked by GNU tar.
  const last = manifest.layers.at(-1)?.digest as string;
  const { stdout } = await run(
    'sh',
    [
      '-c',
      'd=$(mktemp -d) && skopeo copy -q --src-tls-verify=false "docker://$1" "dir:$d" >/dev/null && gzip -dc "$d/$2" | tar -xO etc/app.conf; rm -rf "$d"',
      'sh',
      ref,
      last.slice('sha256:'.length),
    ],
    { maxBuffer: 1 << 20 },
  );
  expect(stdout).toContain('listen');
  await expect(page.getByTestId('file-content')).toHaveText(stdout);

  // Its link says the file is open, and opened in a fresh browser it shows the file again, read
  // from the registry there.
  const linkState = async () => {
    const url = await page.getByTestId('link-url').inputValue();
    const decoded = decodeLink(new URL(url).hash);
    return decoded?.ok ? decoded.state.view.files : null;
  };
  await expect.poll(linkState).toMatchObject({ path: 'etc/app.conf', open: true });
  const link = await page.getByTestId('link-url').inputValue();
  const other = await (await page.context().browser()!.newContext()).newPage();
  await other.goto(link);
  await expect(other.getByTestId('file-viewer-path')).toHaveText('etc/app.conf', { timeout: 30_000 });
  await expect(other.getByTestId('file-content')).toHaveText(stdout);
  await other.context().close();

  // With the blob cache cleared, a file of a layer not read yet is read all the same: the layer is
  // fetched again and verified.
  await page.getByTestId('cache-panel').locator('summary').click();
  await page.getByTestId('cache-clear').click();
  await expect(page.getByTestId('cache-total')).toHaveText(/^0 blobs/);
  await page.locator('[data-testid="file-layer"][data-index="0"] button').click();
  await page.getByTestId('mode-layer').click();
  await page.getByTestId('file-search').fill('hostname');
  await page.locator('[data-testid="file-row"][data-path="etc/hostname"]').dblclick();
  await expect(page.getByTestId('file-viewer-path')).toHaveText('etc/hostname');
  await expect(page.getByTestId('file-content')).toHaveText('layerlens-test\n');
});
