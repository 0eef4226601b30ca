/**
 * `HOST=0.0.0.0 npm start`, opened from another machine: the page is plain http from a host that
 * is not localhost, so it is not a secure context and WebCrypto (`crypto.subtle`) is missing. The
 * analysis must still verify everything. The host name below resolves to the test server on
 * 127.0.0.1 but, unlike 127.0.0.1 itself, is not a potentially trustworthy origin.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../chromium';
import { expect, test } from './fixtures';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const sample = (
  JSON.parse(readFileSync(path.join(root, 'test/fixtures/data/expected-sample.json'), 'utf8')) as Record<
    string,
    { images: { configDigest: string; layers: { digest: string }[] }[] }
  >
)['sample.tar'];

test.use({
  launchOptions: {
    executablePath: CHROMIUM_PATH,
    args: [...CHROMIUM_ARGS, '--host-resolver-rules=MAP layerlens.test 127.0.0.1'],
  },
});

test('served over plain http from another host (no WebCrypto), the sample still verifies', async ({
  page,
  baseURL,
}) => {
  if (!sample) throw new Error('expected-sample.json has no sample.tar entry');
  const url = new URL(baseURL ?? 'http://127.0.0.1/');
  url.hostname = 'layerlens.test';
  await page.goto(url.href);
  expect(await page.evaluate(() => ({ secure: isSecureContext, subtle: typeof crypto.subtle }))).toEqual({
    secure: false,
    subtle: 'undefined',
  });

  await page.getByTestId('sample-button').click();
  const layers = new Set(sample.images.flatMap((i) => i.layers.map((l) => l.digest)));
  const configs = new Set(sample.images.map((i) => i.configDigest));
  const digests = layers.size + configs.size;
  await expect(page.getByTestId('status')).toContainText(/\bdone\b/, { timeout: 60_000 });
  await expect(page.getByTestId('status')).toContainText(`${digests} of ${digests} digests verified`);
  await expect(page.getByTestId('status')).toContainText(
    `${layers.size} of ${layers.size} diff_ids verified`,
  );
  await page.getByTestId('tab-layers').click();
  const rows = await page
    .getByTestId('layer-row')
    .evaluateAll((els) =>
      els.map((r) => [(r as HTMLElement).dataset.digestState, (r as HTMLElement).dataset.diffidState]),
    );
  expect(rows).toHaveLength(layers.size);
  for (const row of rows) expect(row).toEqual(['verified', 'verified']);
});
