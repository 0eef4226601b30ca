/**
 * The blob cache under a real storage quota: Chromium's own IndexedDB, with the origin's quota
 * lowered through the DevTools protocol (Storage.overrideQuotaForOrigin), filled from the real
 * registry of global-setup.ts. Blob sizes come from `skopeo inspect`; quotas are set from the
 * usage Chromium reports plus or minus those sizes, never from byte counts written here.
 *
 * Chromium does not re-read the quota for every write: an IndexedDB bucket keeps the space it
 * was last told was free and hands it out, decaying, for 30 s (BucketContext::
 * kBucketSpaceCacheTimeLimit); only a write larger than that allotment makes it ask again. So
 * each test first sets a ceiling before the page touches IndexedDB (which bounds the allotment),
 * and after lowering the quota writes one probe Blob larger than that ceiling: it is refused,
 * and Chromium now works from the lowered quota.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { CDPSession, Page } from '@playwright/test';
import { counted, formatBytes } from '../../src/app/format';
import { expect, test } from './fixtures';

const run = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const host = () =>
  (
    JSON.parse(readFileSync(path.join(root, 'test-results', 'e2e-registry.json'), 'utf8')) as {
      host: string;
    }
  ).host;

/**
 * Far above anything these tests store (a few images of a few KB), yet small enough that a
 * probe Blob of this size is cheap to build in the page.
 */
const CEILING = 8 << 20;

/** The earlier image, and the newer one: they share their config and no layer. */
const EARLIER = 'test/app:1';
const NEWER = 'test/zstd:1';

/** Every blob of an image (config and layers) with its size, as the registry lists them. */
async function blobsOf(image: string): Promise<Map<string, number>> {
  const { stdout } = await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${image}`]);
  const m = JSON.parse(stdout) as {
    config: { digest: string; size: number };
    layers: Array<{ digest: string; size: number }>;
  };
  return new Map([m.config, ...m.layers].map((d) => [d.digest, d.size]));
}

async function usage(page: Page): Promise<number> {
  return page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
}

async function setQuota(page: Page, cdp: CDPSession, quotaSize: number): Promise<void> {
  await cdp.send('Storage.overrideQuotaForOrigin', { origin: new URL(page.url()).origin, quotaSize });
}

/**
 * Writes a Blob of `size` bytes into the cache's own database (so no new database adds to the
 * usage) and says how it ended: 'stored', or the error's name.
 */
async function probe(page: Page, size: number): Promise<string> {
  return page.evaluate(
    (size) =>
      new Promise<string>((resolve) => {
        const open = indexedDB.open('layerlens-blobs');
        open.onerror = () => resolve(`open failed: ${open.error?.name}`);
        open.onsuccess = () => {
          const db = open.result;
          const tx = db.transaction('blobs', 'readwrite');
          tx.objectStore('blobs').put(new Blob([new Uint8Array(size)]), 'quota-probe');
          tx.oncomplete = () => (db.close(), resolve('stored'));
          tx.onabort = () => (db.close(), resolve(tx.error?.name ?? 'aborted'));
        };
      }),
    size,
  );
}

/** The keys of the cache's blob store itself (not its records of them). */
async function storedBlobKeys(page: Page): Promise<string[]> {
  return page.evaluate(
    () =>
      new Promise<string[]>((resolve, reject) => {
        const open = indexedDB.open('layerlens-blobs');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const keys = db.transaction('blobs').objectStore('blobs').getAllKeys();
          keys.onsuccess = () => (db.close(), resolve(keys.result.map(String)));
          keys.onerror = () => (db.close(), reject(keys.error));
        };
      }),
  );
}

/** Lowers the quota and makes Chromium use it now, checking that a Blob value is refused. */
async function lowerQuota(page: Page, cdp: CDPSession, quotaSize: number): Promise<void> {
  const before = await usage(page);
  await setQuota(page, cdp, quotaSize);
  expect(await probe(page, CEILING)).toBe('QuotaExceededError');
  expect(await usage(page)).toBe(before);
}

async function open(page: Page, reference: string): Promise<void> {
  const input = page.getByLabel('Image reference');
  await input.fill(reference);
  await input.press('Enter');
  await expect(page.getByTestId('status')).toContainText(/\bdone\b/, { timeout: 30_000 });
}

/** The digests the cache panel lists, after asking it to read the cache again. */
async function cachedDigests(page: Page): Promise<string[]> {
  const panel = page.getByTestId('cache-panel');
  if (!(await panel.evaluate((d) => (d as HTMLDetailsElement).open))) await panel.locator('summary').click();
  await panel.getByRole('button', { name: 'Refresh' }).click();
  await expect(page.getByTestId('cache-total')).toBeVisible();
  // The listing is replaced as a whole; wait until its rows match its own count.
  await expect
    .poll(async () => {
      const total = (await page.getByTestId('cache-total').textContent()) ?? '';
      const rows = await panel.locator('tbody tr').count();
      return total.startsWith(`${counted(rows, 'blob')},`);
    })
    .toBe(true);
  return panel.locator('tbody td.mono').evaluateAll((tds) => tds.map((td) => td.getAttribute('title') ?? ''));
}

async function layerStates(page: Page): Promise<string[][]> {
  await page.getByTestId('tab-layers').click();
  return page
    .getByTestId('layer-row')
    .evaluateAll((rows) =>
      rows.map((r) => [
        (r as HTMLElement).dataset.digestState ?? '',
        (r as HTMLElement).dataset.diffidState ?? '',
      ]),
    );
}

test.describe.configure({ mode: 'parallel' });

test('over quota, least-recently-used blobs of an earlier image make room for a new one', async ({
  page,
}) => {
  const earlier = await blobsOf(`${host()}/${EARLIER}`);
  const newer = await blobsOf(`${host()}/${NEWER}`);
  const earlierOnly = [...earlier.keys()].filter((d) => !newer.has(d));
  const added = [...newer.keys()].filter((d) => !earlier.has(d));
  // Room for the newer image exists only once some of the earlier one's blobs are gone.
  expect(earlierOnly.reduce((n, d) => n + (earlier.get(d) as number), 0)).toBeGreaterThan(
    added.reduce((n, d) => n + (newer.get(d) as number), 0),
  );

  await page.goto('/');
  const cdp = await page.context().newCDPSession(page);
  await setQuota(page, cdp, CEILING);
  await open(page, `${host()}/${EARLIER}`);
  expect((await cachedDigests(page)).sort()).toEqual([...earlier.keys()].sort());

  // Room for all but one byte of the newer image's largest new blob: Chromium checks each
  // write against quota minus usage (and reuses freed pages without growing usage), so only a
  // single blob larger than the room left is sure to need an eviction.
  const largest = Math.max(...added.map((d) => newer.get(d) as number));
  const quota = (await usage(page)) + largest - 1;
  await lowerQuota(page, cdp, quota);
  expect(await probe(page, largest)).toBe('QuotaExceededError');

  await open(page, `${host()}/${NEWER}`);
  await page.getByTestId('tab-problems').click();
  await expect(page.getByTestId('problems')).toContainText('No problems found.');
  expect(new Set((await layerStates(page)).flat())).toEqual(new Set(['verified']));

  const listed = await cachedDigests(page);
  // Every blob new with the newer image is cached, and room was made by evicting the earlier
  // image's blobs only.
  expect(listed).toEqual(expect.arrayContaining(added));
  const evicted = [...earlier.keys()].filter((d) => !listed.includes(d));
  expect(evicted.length).toBeGreaterThan(0);
  // Least recently used first: the config both images share was read for the newer image, so
  // it goes only after every blob that only the earlier image uses. (Chromium counts usage in
  // whole pages, so evicting those sometimes frees too little and it goes too.)
  if (evicted.some((d) => newer.has(d))) expect(evicted).toEqual(expect.arrayContaining(earlierOnly));
  expect(listed.every((d) => earlier.has(d) || newer.has(d))).toBe(true);
  const bytes = listed.reduce((n, d) => n + ((newer.get(d) ?? earlier.get(d)) as number), 0);
  await expect(page.getByTestId('cache-total')).toHaveText(
    `${counted(listed.length, 'blob')}, ${formatBytes(bytes)}`,
  );
  // An eviction removes the bytes, not only their record: the blob store holds exactly what the
  // panel lists. (Chromium's usage is no measure here: it counts IndexedDB's LevelDB files, whose
  // log grows with every delete and put until a compaction, so it can end a few KB above a quota
  // that every blob write was checked against: 7 KB over in a CI run, for 15 s.)
  expect((await storedBlobKeys(page)).sort()).toEqual([...listed].sort());
});

test('a blob that cannot fit even after evicting everything older is said in the page', async ({ page }) => {
  const earlier = await blobsOf(`${host()}/${EARLIER}`);
  const newer = await blobsOf(`${host()}/${NEWER}`);
  const added = [...newer.keys()].filter((d) => !earlier.has(d));
  const largest = Math.max(...added.map((d) => newer.get(d) as number));

  await page.goto('/');
  const cdp = await page.context().newCDPSession(page);
  await setQuota(page, cdp, CEILING);
  await open(page, `${host()}/${EARLIER}`);
  // What the cache's databases use when they hold nothing.
  const panel = page.getByTestId('cache-panel');
  await panel.locator('summary').click();
  await page.getByTestId('cache-clear').click();
  await expect(page.getByTestId('cache-total')).toHaveText(/^0 blobs/);
  const empty = await usage(page);
  // The earlier image again, so that there are older blobs to evict.
  await open(page, `${host()}/${EARLIER}`);
  expect((await cachedDigests(page)).sort()).toEqual([...earlier.keys()].sort());

  // Even with every older blob evicted, the newer image's largest blob does not fit.
  const quota = empty + largest - 1;
  await lowerQuota(page, cdp, quota);
  expect(await probe(page, largest)).toBe('QuotaExceededError');

  await open(page, `${host()}/${NEWER}`);
  expect(new Set((await layerStates(page)).flat())).toEqual(new Set(['verified']));
  await page.getByTestId('tab-problems').click();
  const full = page.locator('[data-testid="problem"][data-code="cache-full"]');
  await expect(full).toHaveCount(1);
  await expect(full).toHaveAttribute('data-severity', 'warning');
  await expect(full.locator('.message')).toHaveText(
    /^a verified blob could not be cached: the cache is full/,
  );
  await expect(full).toBeVisible();
  const listed = await cachedDigests(page);
  const biggest = added.find((d) => newer.get(d) === largest) as string;
  expect(listed).not.toContain(biggest);
  // Every older blob was evicted trying to make room, and the refused one was not kept.
  expect((await storedBlobKeys(page)).sort()).toEqual([...listed].sort());
  expect(listed.every((d) => newer.has(d))).toBe(true);
});
