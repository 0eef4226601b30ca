/**
 * Progress and Cancel on an archive large enough to watch: a 768 MiB layer, made at test time by
 * umoci (insert) and skopeo (copy to docker-archive, which stores layers uncompressed), never
 * committed. The graph comes before the layer is read; bytes, throughput and time left move; Cancel
 * stops the run and leaves what was analysed on screen. A smaller one (256 MiB) keeps the page
 * still while it runs to the end.
 */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import { expect as baseExpect, test } from './fixtures';

const expect = baseExpect.configure({ timeout: 30_000 });

function makeBigArchive(dir: string, mib = 768): string {
  const layout = path.join(dir, 'oci');
  const data = path.join(dir, 'big.bin');
  const out = path.join(dir, 'big.tar');
  execFileSync('sh', ['-c', `head -c ${mib << 20} /dev/zero > "$1"`, 'sh', data]);
  execFileSync('umoci', ['init', '--layout', layout]);
  execFileSync('umoci', ['new', '--image', `${layout}:big`]);
  execFileSync('umoci', ['insert', '--image', `${layout}:big`, data, '/big.bin']);
  execFileSync('skopeo', ['copy', '-q', `oci:${layout}:big`, `docker-archive:${out}:big:1`]);
  return out;
}

test('a large archive shows progress, throughput and time left, and Cancel stops it with the graph kept', async ({
  page,
  workDir: dir,
}) => {
  test.setTimeout(180_000);
  const archive = makeBigArchive(dir);
  expect(statSync(archive).size).toBeGreaterThan(768 << 20);
  await page.goto('/');
  await page.getByTestId('open-file-input').setInputFiles(archive);
  // The graph comes from the headers and documents, before the layer is read.
  await expect(page.locator('[data-testid="graph-node"][data-kind="layer"]')).toHaveCount(1);
  const progress = page.getByTestId('progress');
  await expect(progress).toContainText(/MB\/s/);
  await expect(progress).toContainText(/left/);
  const bar = progress.getByRole('progressbar');
  await expect.poll(async () => Number(await bar.getAttribute('aria-valuenow'))).toBeGreaterThan(0);
  const now = Number(await bar.getAttribute('aria-valuenow'));
  expect(now).toBeLessThan(100);
  await page.getByTestId('cancel-button').click();
  await expect(page.getByTestId('status')).toContainText('cancelled');
  await expect(page.getByTestId('progress')).toHaveCount(0);
  // What was analysed stays: the graph and the documents' checks; the layer is not checked.
  await expect(page.locator('[data-testid="graph-node"][data-kind="config"]')).toHaveCount(1);
  await page.getByTestId('tab-layers').click();
  await expect(page.getByTestId('layer-row')).toHaveAttribute('data-digest-state', /unchecked|pending/);
  await page.getByTestId('tab-problems').click();
  await expect(page.getByTestId('problems')).toContainText(/cancel/i);
  // The Files tab says why the layer has no tree, not that it is still being read.
  await page.getByTestId('tab-files').click();
  await expect(page.getByTestId('tree-summary')).toHaveText(
    'this layer or one below it was not read: the verification was cancelled',
  );
  await expect(page.getByTestId('efficiency')).toContainText(
    'Not known: the verification was cancelled before every layer was read.',
  );
});

test('a file that is not an archive, opened while one is verified, leaves that one on screen with its checks marked cancelled', async ({
  page,
  workDir: dir,
}) => {
  test.setTimeout(180_000);
  const archive = makeBigArchive(dir);
  await page.goto('/');
  await page.getByTestId('open-file-input').setInputFiles(archive);
  const bar = page.getByTestId('progress').getByRole('progressbar');
  await expect.poll(async () => Number(await bar.getAttribute('aria-valuenow'))).toBeGreaterThan(0);
  // A new input cancels the run on screen; this one then turns out not to be an archive.
  await page.getByTestId('open-file-input').setInputFiles({
    name: 'notes.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from('not an image\n'.repeat(100)),
  });
  await expect(page.getByTestId('error-banner')).toContainText('notes.txt');
  await expect(page.getByTestId('status')).toContainText('cancelled');
  await expect(page.getByTestId('status')).toContainText('big.tar');
  // The checks that were running say they were cancelled, not that they still run.
  await page.getByTestId('tab-layers').click();
  await expect(page.getByTestId('layer-row')).toHaveAttribute('data-digest-state', 'unchecked');
  await page.getByTestId('tab-problems').click();
  await expect(page.getByTestId('problems')).toContainText('verification was cancelled');
  await page.getByTestId('tab-files').click();
  await expect(page.getByTestId('tree-summary')).toHaveText(
    'this layer or one below it was not read: the verification was cancelled',
  );
});

test('the page does not jump when the analysis completes: the header keeps its height from graph to link', async ({
  page,
  workDir: dir,
}) => {
  test.setTimeout(120_000);
  const archive = makeBigArchive(dir, 256);
  // Widths where the link's arrival made the header wrap onto a second row, before.
  for (const width of [1280, 1400]) {
    await page.setViewportSize({ width, height: 900 });
    await page.goto('/');
    await page.getByTestId('open-file-input').setInputFiles(archive);
    await expect(page.locator('[data-testid="graph-node"][data-kind="layer"]')).toHaveCount(1);
    await expect(page.getByTestId('progress')).toBeVisible();
    const top = async () => (await page.getByTestId('status').boundingBox())?.y;
    const running = await top();
    // Done, then hashed for its link.
    await expect(page.getByTestId('link-url')).toBeVisible({ timeout: 60_000 });
    expect(await top(), `${width} px wide`).toBe(running);
  }
});
