/**
 * Accessibility of every view, in the light and the dark theme: axe-core (Deque's rules for WCAG
 * 2.x A and AA, and its best practices) run on the page as a person reaches each state, from the
 * empty page to a registry image's index with attestations. Any violation fails the test, with
 * the rule and the elements it names.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AxeBuilder } from '@axe-core/playwright';
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dataDir = path.join(root, 'test/fixtures/data');
const registryHost = () =>
  (JSON.parse(readFileSync(path.join(root, 'test-results', 'e2e-registry.json'), 'utf8')) as { host: string })
    .host;

/** What axe finds on the page as it is, one line per rule and element. */
async function violations(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).analyze();
  return result.violations.flatMap((v) =>
    v.nodes.map((n) => `${v.impact ?? ''} ${v.id}: ${n.target.join(' ')} (${v.help})`),
  );
}

async function expectAccessible(page: Page, state: string): Promise<void> {
  expect(await violations(page), state).toEqual([]);
}

async function waitForDone(page: Page): Promise<void> {
  await expect(page.locator('.status-word')).toHaveAttribute('data-status', 'done', { timeout: 60_000 });
}

for (const colorScheme of ['light', 'dark'] as const) {
  test.describe(`${colorScheme} theme`, () => {
    test.use({ colorScheme });
    // A dozen scans of a second or two each, more on a loaded machine.
    test.describe.configure({ timeout: 120_000 });

    test('the empty page, an archive in every tab, the file viewer, limits and an error', async ({
      page,
    }) => {
      await page.goto('/');
      await expectAccessible(page, 'empty page');

      await page.getByTestId('open-file-input').setInputFiles(path.join(dataDir, 'oci-layout-multi.tar'));
      await waitForDone(page);
      for (const tab of ['graph', 'summary', 'history', 'layers', 'files', 'problems']) {
        await page.getByTestId(`tab-${tab}`).click();
        await expect(page.getByTestId(`tab-${tab}`)).toHaveAttribute('aria-selected', 'true');
        await expectAccessible(page, `${tab} tab`);
      }
      await page.getByTestId('tab-graph').click();
      await page.locator('[data-testid="graph-node"][data-kind="index"]').first().click();
      await expect(page.getByTestId('node-details')).toBeVisible();
      await expectAccessible(page, 'graph node details');

      await page.getByTestId('tab-files').click();
      await page.locator('[data-testid="file-layer"][data-index="0"]').getByRole('button').click();
      await page.getByTestId('file-search').fill('os-release');
      await page.locator('[data-testid="file-row"][data-path="etc/os-release"]').dblclick();
      await expect(page.getByTestId('file-content')).toBeVisible();
      await page.getByRole('button', { name: 'Limits…' }).click();
      await expectAccessible(page, 'file viewer and limits');
      await page.keyboard.press('Escape');

      // A tampered layer: mismatch badges and problems.
      await page.getByTestId('open-file-input').setInputFiles(path.join(dataDir, 'tampered-layer.tar'));
      await waitForDone(page);
      for (const tab of ['graph', 'layers', 'problems']) {
        await page.getByTestId(`tab-${tab}`).click();
        await expectAccessible(page, `tampered archive, ${tab} tab`);
      }

      // A file that is not an archive: the error banner over the analysis kept.
      await page.getByTestId('open-file-input').setInputFiles(path.join(dataDir, 'not-an-archive.bin'));
      await expect(page.getByTestId('error-banner')).toBeVisible();
      await expectAccessible(page, 'error banner');
    });

    test('at phone width, where tables and the graph scroll sideways', async ({ page }) => {
      await page.setViewportSize({ width: 390, height: 844 });
      await page.goto('/');
      await page.getByTestId('open-file-input').setInputFiles(path.join(dataDir, 'oci-layout-multi.tar'));
      await waitForDone(page);
      for (const tab of ['graph', 'summary', 'history', 'layers', 'files']) {
        await page.getByTestId(`tab-${tab}`).click();
        await expect(page.getByTestId(`tab-${tab}`)).toHaveAttribute('aria-selected', 'true');
        await expectAccessible(page, `${tab} tab at phone width`);
      }
    });

    test('a registry index with buildkit attestations, credentials open, and its link opened elsewhere', async ({
      page,
      browser,
    }) => {
      await page.goto('/');
      await page.getByLabel('Image reference').fill(`${registryHost()}/test/index:v1`);
      await page.getByLabel('Image reference').press('Enter');
      await waitForDone(page);
      // Attestation payloads are not fetched: their badges say so.
      await expect(page.locator('[data-testid="graph-node"][data-kind="artifact"]').first()).toBeVisible();
      await page.locator('summary', { hasText: 'Credentials' }).click();
      await page.getByTestId('cache-panel').locator('summary').click();
      await expectAccessible(page, 'registry image');

      // An archive's link opened in a browser without the archive: the summary and the prompt.
      await page.getByTestId('open-file-input').setInputFiles(path.join(dataDir, 'docker-archive.tar'));
      await waitForDone(page);
      await expect(page.getByTestId('copy-link')).toBeEnabled();
      const link = await page.getByTestId('link-url').inputValue();
      // axe runs its frames through a context of its own making (browser.newContext).
      const context = await browser.newContext({ colorScheme });
      const other = await context.newPage();
      await other.goto(link);
      await expect(other.getByTestId('drop-prompt')).toBeVisible();
      await expectAccessible(other, 'link opened elsewhere');
      await context.close();
    });
  });
}

test("closing a panel gives the keyboard back to what opened it, Escape closes it too, and the file tree's columns scroll from the keyboard", async ({
  page,
}) => {
  await page.goto('/');
  await page.getByTestId('open-file-input').setInputFiles(path.join(dataDir, 'docker-archive.tar'));
  await waitForDone(page);
  const activeTestId = () =>
    page.evaluate(
      () => document.activeElement?.getAttribute('data-testid') ?? document.activeElement?.tagName,
    );
  const activeDigest = () => page.evaluate(() => document.activeElement?.getAttribute('data-digest'));

  // A layer's details, opened from the keyboard: the selected node keeps its contrast (WCAG AA).
  const layer = page.locator('[data-testid="graph-node"][data-kind="layer"]').first();
  const digest = await layer.getAttribute('data-digest');
  await layer.focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('node-details')).toBeVisible();
  await expectAccessible(page, 'a layer node selected');
  await page.getByRole('button', { name: 'Close details' }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('node-details')).toHaveCount(0);
  expect(await activeDigest()).toBe(digest);
  // Escape, from inside the details.
  await page.keyboard.press('Enter');
  await page.getByRole('button', { name: 'Close details' }).focus();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('node-details')).toHaveCount(0);
  expect(await activeDigest()).toBe(digest);

  // A file opened from the tree: closing it puts the keyboard back in the tree.
  await page.getByTestId('tab-files').click();
  await page.getByTestId('mode-merged').click();
  await page.getByTestId('expand-all').click();
  await page.locator('[data-testid="file-row"][data-kind="file"]').first().click();
  await page.getByTestId('file-tree').focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('file-viewer')).toBeVisible();
  await page.getByRole('button', { name: 'Close the file' }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('file-viewer')).toHaveCount(0);
  expect(await activeTestId()).toBe('file-tree');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('file-viewer')).toBeVisible();
  await page.getByRole('button', { name: 'Close the file' }).focus();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('file-viewer')).toHaveCount(0);
  expect(await activeTestId()).toBe('file-tree');

  // Where the tree is wider than the window, its columns scroll sideways from the keyboard.
  await page.setViewportSize({ width: 900, height: 800 });
  const wrap = page.getByTestId('file-tree-wrap');
  expect(await wrap.evaluate((e) => e.scrollWidth > e.clientWidth)).toBe(true);
  await wrap.focus();
  for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowRight');
  expect(await wrap.evaluate((e) => e.scrollLeft)).toBeGreaterThan(0);
  await expectAccessible(page, 'the file tree, narrower than its columns');

  // The error banner: the keyboard goes to the selected tab, not to the top of the page.
  await page.getByTestId('open-file-input').setInputFiles(path.join(dataDir, 'not-an-archive.bin'));
  await page.getByRole('button', { name: 'Dismiss error' }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('error-banner')).toHaveCount(0);
  expect(await page.evaluate(() => document.activeElement?.id)).toBe('main-tab-files');
});
