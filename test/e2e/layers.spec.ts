/**
 * End-to-end checks of the Files tab: layer changes and merged trees against what GNU tar
 * and umoci say about the fixtures (test/fixtures/COMMANDS.md), file contents against
 * `tar -xO`, keyboard navigation, a 200,000-entry layer and the layer limits.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import { expect as baseExpect, test } from './fixtures';
import { expectStopped, fileLayer, openFiles, selectLayer } from './files-tab';

// The worker answers in milliseconds on an idle machine; leave room for a loaded one.
const expect = baseExpect.configure({ timeout: 30_000 });

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dataDir = path.join(root, 'test/fixtures/data');
const ociArchive = path.join(dataDir, 'oci-archive.tar');

interface ExpectedLayer {
  digest: string;
  diffId: string;
}
const expected = JSON.parse(readFileSync(path.join(dataDir, 'expected.json'), 'utf8')) as Record<
  string,
  { images: { layers: ExpectedLayer[] }[] }
>;
const appLayers = (expected['oci-archive.tar'] as { images: { layers: ExpectedLayer[] }[] }).images[0]
  ?.layers as ExpectedLayer[];
const hex = (digest: string) => digest.slice('sha256:'.length);

interface Row {
  path: string;
  change: string;
  kind: string;
  size: number;
  match: boolean;
  link: string;
  /** The layer that last wrote the path (the Layer column). */
  layer: number;
}

async function openAndWait(page: Page, file: string, goto = true): Promise<void> {
  if (goto) await page.goto('/');
  await page.getByTestId('open-file-input').setInputFiles(file);
  await expect(page.getByTestId('status')).toContainText(/\bdone\b/, { timeout: 120_000 });
}

/**
 * Every row of the (virtualized) tree, gathered by scrolling it from top to bottom. The tree
 * answers requests asynchronously, so a pass that raced a re-render (fewer rows than the tree
 * says it holds) is repeated. Rows are gathered only once the tree is not busy.
 */
async function allRows(page: Page): Promise<Row[]> {
  let rows: Row[] = [];
  let count = -1;
  for (let attempt = 0; attempt < 5 && rows.length !== count; attempt++) {
    ({ rows, count } = await gatherRows(page));
  }
  expect(rows.length).toBe(count);
  return rows;
}

async function gatherRows(page: Page): Promise<{ rows: Row[]; count: number }> {
  const tree = page.getByTestId('file-tree');
  await expect(tree).toBeVisible();
  // Rows of the previous request (another layer, mode or filter) stay on screen until the
  // answer to the latest one arrives.
  await expect(tree).toHaveAttribute('aria-busy', 'false');
  const count = Number(await tree.getAttribute('data-count'));
  const seen = new Map<string, Row>();
  await tree.evaluate((el) => (el.scrollTop = 0));
  for (let guard = 0; guard < 10_000; guard++) {
    const batch = await page.getByTestId('file-row').evaluateAll((els) =>
      els.map((e) => {
        const d = (e as HTMLElement).dataset;
        return {
          path: d.path ?? '',
          change: d.change ?? '',
          kind: d.kind ?? '',
          size: Number(d.size),
          match: d.match === 'true',
          link: (e.querySelector('.c-link')?.textContent ?? '').trim().replace(/^[→⇒] /, ''),
          layer: Number(d.layer),
        };
      }),
    );
    for (const r of batch) seen.set(r.path, r);
    // Half a viewport at a time, and two frames for the scroll event and the re-render.
    const done = await tree.evaluate(async (el) => {
      const atEnd = el.scrollTop + el.clientHeight >= el.scrollHeight - 1;
      el.scrollTop += Math.max(24, Math.floor(el.clientHeight / 2));
      await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
      return atEnd;
    });
    if (done) break;
  }
  return { rows: [...seen.values()], count };
}

/** Paths of a `tar -tvf` listing, whiteouts apart. */
function tarListing(file: string): { entries: string[]; removed: string[] } {
  const entries: string[] = [];
  const removed: string[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    // mode owner size date time path [-> target]
    const m = /^\S+\s+\S+\s+\d+\s+\S+\s+\S+\s(.*)$/.exec(line);
    if (!m) throw new Error(`unexpected listing line: ${line}`);
    let p = (m[1] as string).replace(/ -> .*$/, '').replace(/ link to .*$/, '');
    p = p.replace(/^\.\//, '').replace(/\/$/, '');
    if (p === '.' || p === '') continue;
    const base = p.slice(p.lastIndexOf('/') + 1);
    const dir = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '';
    if (base === '.wh..wh..opq') continue;
    if (base.startsWith('.wh.')) removed.push(dir ? `${dir}/${base.slice(4)}` : base.slice(4));
    else entries.push(p);
  }
  return { entries, removed };
}

/**
 * Set the per-layer entry limit in the Files tab's limits form (it applies to the next analysis),
 * open `file` with it, and come back to the Files tab.
 */
async function reopenWithEntryLimit(page: Page, file: string, entries: number): Promise<void> {
  await openFiles(page);
  await page.getByTestId('limits-button').click();
  await page.getByTestId('limit-entries').fill(String(entries));
  await page.getByTestId('limits-apply').click();
  await openAndWait(page, file, false);
  await openFiles(page);
}

async function expandAll(page: Page): Promise<void> {
  const button = page.getByTestId('expand-all');
  if ((await button.getAttribute('aria-pressed')) !== 'true') await button.click();
  await expect(button).toHaveAttribute('aria-pressed', 'true');
  await expect(page.getByTestId('tree-summary')).not.toContainText('updating');
}

test('layer changes and the merged tree match tar and umoci; files open as text, hex and download', async ({
  page,
}) => {
  test.setTimeout(180_000);
  await openAndWait(page, ociArchive);
  await openFiles(page);
  await expect(page.locator('[data-testid="file-layer"][data-state="listed"]')).toHaveCount(3);
  // Each layer not selected names its step on one line, as a Dockerfile would; the selected one
  // gives its created_by in full instead.
  await expect(fileLayer(page, 0).getByTestId('layer-command')).toHaveCount(0);
  await expect(fileLayer(page, 0).getByTestId('created-by')).toContainText('/bin/sh -c #(nop) ADD file:');
  await expect(fileLayer(page, 2).getByTestId('layer-command')).toHaveText(
    /^RUN rm -rf \/var\/lib\/app\/cache \/usr\/share\/doc\/hello\/copyright /,
  );

  // Each layer: what it adds or modifies is what its tar lists; what it removes, its whiteouts.
  await expandAll(page);
  for (let i = 0; i < appLayers.length; i++) {
    await selectLayer(page, i);
    const layer = appLayers[i] as ExpectedLayer;
    const listing = tarListing(path.join(dataDir, 'listings', `${hex(layer.diffId)}.txt`));
    await expect(page.getByTestId('created-by')).toContainText('/bin/sh -c');
    const rows = await allRows(page);
    const byPath = new Map(rows.map((r) => [r.path, r]));
    for (const p of listing.entries) {
      expect(['added', 'modified'], `layer ${i}: ${p}`).toContain(byPath.get(p)?.change);
    }
    for (const p of listing.removed) expect(byPath.get(p)?.change, `layer ${i}: ${p}`).toBe('removed');
    const count = (change: string) => rows.filter((r) => r.change === change).length;
    await expect(page.getByTestId('tree-summary')).toContainText(
      `the layer adds ${count('added')}, modifies ${count('modified')} and removes ${count('removed')} paths`,
    );
    // Nothing changed that the tar does not list (parents shown for context are unmodified).
    const listed = new Set(listing.entries);
    for (const r of rows) {
      if (r.change === 'added' || r.change === 'modified') {
        const impliedDir = r.kind === 'directory' && [...listed].some((p) => p.startsWith(`${r.path}/`));
        expect(listed.has(r.path) || impliedDir, `layer ${i}: ${r.path} ${r.change}`).toBe(true);
      }
    }
  }
  // The last layer's whiteouts, as COMMANDS.md made them.
  const last = new Map((await allRows(page)).map((r) => [r.path, r.change]));
  expect(last.get('var/lib/app/cache/a.cache')).toBe('removed');
  expect(last.get('usr/share/doc/hello/copyright')).toBe('removed');
  expect(last.get('opt/app/data/fresh.txt')).toBe('added');
  expect(last.get('etc/app.conf')).toBe('modified');
  await expect(page.getByTestId('created-by')).toContainText(
    'rm -rf /var/lib/app/cache /usr/share/doc/hello/copyright /opt/app/data/* && echo "recreated directory content" > /opt/app/data/fresh.txt && chmod 600 /etc/app.conf',
  );

  // The merged tree after the last layer is what umoci unpack extracts.
  await page.getByTestId('mode-merged').click();
  await expect(page.getByTestId('tree-summary')).toContainText('merged tree');
  const mergedRows = await allRows(page);
  const merged = mergedRows.filter((r) => r.change !== 'removed');
  const rootfs = readFileSync(path.join(dataDir, 'listings/app-1-rootfs.txt'), 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const [type, size, p, link] = l.split(' ');
      return { type: type as string, size: Number(size), path: p as string, link: link ?? '' };
    });
  // The removed paths shown in place are not counted in the merged tree (as the report counts it).
  await expect(page.getByTestId('tree-summary')).toContainText(
    `${rootfs.length} paths in the merged tree, ${mergedRows.length - merged.length} removed by this layer`,
  );
  expect(merged.map((r) => r.path).sort()).toEqual(rootfs.map((r) => r.path).sort());
  const mergedBy = new Map(merged.map((r) => [r.path, r]));
  for (const e of rootfs) {
    const r = mergedBy.get(e.path) as Row;
    if (e.type === 'd') expect(r.kind, e.path).toBe('directory');
    if (e.type === 'f') {
      expect(['file', 'hardlink'], e.path).toContain(r.kind);
      expect(r.size, e.path).toBe(e.size);
    }
    if (e.type === 'l') {
      expect(r.kind, e.path).toBe('symlink');
      expect(r.link, e.path).toBe(e.link);
    }
  }
  // The Layer column: the last layer whose tar lists the path (directories implied by deeper
  // paths are listed by none).
  const lastWriter = new Map<string, number>();
  appLayers.forEach((l, i) => {
    const listing = tarListing(path.join(dataDir, 'listings', `${hex(l.diffId)}.txt`));
    for (const p of listing.entries) lastWriter.set(p, i);
  });
  let checked = 0;
  for (const r of merged) {
    const want = lastWriter.get(r.path);
    if (want === undefined) continue;
    expect(r.layer, r.path).toBe(want);
    checked++;
  }
  expect(checked).toBeGreaterThan(20);
  expect(mergedBy.get('etc/app.conf')?.layer).toBe(2);
  expect(mergedBy.get('etc/hostname')?.layer).toBe(0);

  // dive's filters: without unmodified paths only the last layer's changes (and their parents) remain.
  const before = await page.getByTestId('file-tree').getAttribute('data-count');
  await page.getByTestId('filter-unmodified').uncheck();
  await expect(page.getByTestId('file-tree')).not.toHaveAttribute('data-count', before ?? '');
  const changedOnly = await allRows(page);
  for (const r of changedOnly) {
    if (r.change === 'unmodified') {
      expect(r.kind, r.path).toBe('directory');
      expect(changedOnly.some((c) => c.path.startsWith(`${r.path}/`) && c.change !== 'unmodified')).toBe(
        true,
      );
    }
  }
  expect(changedOnly.find((r) => r.path === 'etc/hostname')).toBeUndefined();
  expect(changedOnly.find((r) => r.path === 'opt/app/data/fresh.txt')?.change).toBe('added');
  await page.getByTestId('filter-unmodified').check();

  // Glob search.
  const search = page.getByTestId('file-search');
  await search.fill('usr/**/hello*');
  await expect(page.getByTestId('tree-summary')).toContainText('"usr/**/hello*"');
  const found = (await allRows(page)).filter((r) => r.match).map((r) => r.path);
  expect(found.sort()).toEqual(['usr/bin/hello', 'usr/bin/hello-world', 'usr/share/doc/hello']);
  await search.fill('*.conf');
  await expect(page.getByTestId('tree-summary')).toContainText('"*.conf"');
  expect((await allRows(page)).filter((r) => r.match).map((r) => r.path)).toEqual(['etc/app.conf']);

  // Open the file: text, hex, download, against tar -xO of its layer. Until one is open, the page
  // says how; the double click opens it without selecting a word of the row.
  await expect(page.getByTestId('open-hint')).toHaveText(
    'Double-click a file (double-tap on a touch screen), or press Enter on it, to read it here.',
  );
  await page.locator('[data-testid="file-row"][data-path="etc/app.conf"]').dblclick();
  await expect(page.getByTestId('file-viewer-path')).toHaveText('etc/app.conf');
  await expect(page.getByTestId('open-hint')).toHaveCount(0);
  expect(await page.evaluate(() => window.getSelection()?.toString())).toBe('');
  await expect(page.getByTestId('file-content')).toContainText('listen = 0.0.0.0:8080');
  // The viewer sits below the tree: opening a file brings it into view.
  await expect(page.getByTestId('file-content')).toBeInViewport();
  await page.getByTestId('view-hex').click();
  await expect(page.getByTestId('file-content')).toContainText('5b 73 65 72 76 65 72 5d');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('download-file').click(),
  ]);
  expect(download.suggestedFilename()).toBe('app.conf');
  const saved = readFileSync(await download.path());
  const layerBlob = (i: number) => `blobs/sha256/${hex((appLayers[i] as ExpectedLayer).digest)}`;
  const blob = layerBlob(2);
  const fromTar = execFileSync(
    'sh',
    ['-c', `tar -xOf "$1" "$2" | gzip -dc | tar -xO etc/app.conf`, 'sh', ociArchive, blob],
    { maxBuffer: 1 << 20 },
  );
  expect(Buffer.compare(saved, fromTar)).toBe(0);
  await page.getByTestId('view-text').click();

  // A symbolic link opens the file it leads to, as reading it in the container would.
  await search.fill('hello');
  await page.locator('[data-testid="file-row"][data-path="etc/hello-link"]').dblclick();
  await expect(page.getByTestId('file-viewer-path')).toHaveText('etc/hello-link');
  await expect(page.getByTestId('file-viewer-target')).toHaveText('→ usr/bin/hello');
  await expect(page.getByTestId('file-viewer')).toContainText('layer 0');
  const hello = execFileSync(
    'sh',
    ['-c', `tar -xOf "$1" "$2" | gzip -dc | tar -xO usr/bin/hello`, 'sh', ociArchive, layerBlob(0)],
    { maxBuffer: 1 << 20 },
  ).toString('utf8');
  expect(hello).toContain('hello from layerlens');
  await expect(page.getByTestId('file-content')).toHaveText(hello);
  // Download saves what it leads to under the link's own name, as cp would.
  const [linkDownload] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('download-file').click(),
  ]);
  expect(linkDownload.suggestedFilename()).toBe('hello-link');
  expect(readFileSync(await linkDownload.path(), 'utf8')).toBe(hello);
  await search.fill('usr/bin/hi');
  await page.locator('[data-testid="file-row"][data-path="usr/bin/hi"]').dblclick();
  await expect(page.getByTestId('file-viewer-path')).toHaveText('usr/bin/hi');
  await expect(page.getByTestId('file-viewer-target')).toHaveText('→ usr/bin/hello');
  await expect(page.getByTestId('file-content')).toHaveText(hello);
  // A hard link is the same file: the viewer names the path its content is read from.
  await search.fill('usr/bin/hello-world');
  await page.locator('[data-testid="file-row"][data-path="usr/bin/hello-world"]').dblclick();
  await expect(page.getByTestId('file-viewer-target')).toHaveText('⇒ usr/bin/hello');
  await expect(page.getByTestId('file-viewer-target')).toHaveAttribute('data-kind', 'hardlink');
  await expect(page.getByTestId('file-content')).toHaveText(hello);

  // Keyboard: Home, ArrowDown, ArrowRight (open, then into), Enter (open a file).
  await search.fill('');
  await page.getByTestId('expand-all').click();
  await expect(page.getByTestId('expand-all')).toHaveAttribute('aria-pressed', 'false');
  const tree = page.getByTestId('file-tree');
  // The collapsed tree is the worker's answer: keys pressed before it arrives act on the rows it
  // then replaces (focus stays on a row index).
  await expect(tree).toHaveAttribute('aria-busy', 'false');
  await expect(page.locator('[data-testid="file-row"][data-path="etc/app.conf"]')).toHaveCount(0);
  await tree.focus();
  await page.keyboard.press('Home');
  const focusedPath = async () => page.locator('[data-testid="file-row"].focused').getAttribute('data-path');
  await expect.poll(focusedPath).toBe('etc');
  await page.keyboard.press('ArrowRight');
  await expect(page.locator('[data-testid="file-row"][data-path="etc"]')).toHaveAttribute(
    'aria-expanded',
    'true',
  );
  await page.keyboard.press('ArrowRight');
  await expect.poll(focusedPath).toBe('etc/app.conf');
  await page.keyboard.press('ArrowDown');
  await expect.poll(focusedPath).toBe('etc/hello-link');
  await page.keyboard.press('ArrowDown');
  await expect.poll(focusedPath).toBe('etc/hostname');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('file-viewer-path')).toHaveText('etc/hostname');
  await expect(page.getByTestId('file-content')).toHaveText('layerlens-test\n');
  await page.keyboard.press('ArrowLeft');
  await expect.poll(focusedPath).toBe('etc');
  await page.keyboard.press('ArrowLeft');
  await expect(page.locator('[data-testid="file-row"][data-path="etc"]')).toHaveAttribute(
    'aria-expanded',
    'false',
  );
  await page.keyboard.press('End');
  await expect.poll(focusedPath).toBe('var');

  // Efficiency as the report has it.
  const score = Number(await page.getByTestId('efficiency-score').getAttribute('data-value'));
  const [reportDownload] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('download-report').click(),
  ]);
  const report = JSON.parse(readFileSync(await reportDownload.path(), 'utf8')) as {
    images: { filesystem?: { efficiency: number; wastedBytes: number }; layers: { entries?: number }[] }[];
  };
  const image = report.images[0];
  expect(image?.filesystem?.efficiency).toBe(score);
  expect(Number(await page.getByTestId('wasted-bytes').getAttribute('data-value'))).toBe(
    image?.filesystem?.wastedBytes,
  );
  expect(image?.layers.every((l) => typeof l.entries === 'number')).toBe(true);
});

test('a wasted path, clicked, is shown in the tree as each layer that has it changes it', async ({
  page,
}) => {
  await page.goto('/');
  await page.getByTestId('open-file-input').setInputFiles(path.join(dataDir, 'docker-archive.tar'));
  await expect(page.locator('.status-word')).toHaveAttribute('data-status', 'done');
  await openFiles(page);
  const rows = page.getByTestId('wasted-row');
  await expect(rows.first()).toBeVisible();
  const wasted = await rows.evaluateAll((trs) =>
    trs.map((tr) => ({
      path: (tr as HTMLElement).dataset.path ?? '',
      layers: [...tr.querySelectorAll('[data-testid="wasted-layer"]')].map((b) => Number(b.textContent)),
    })),
  );
  expect(wasted.length).toBeGreaterThan(1);
  // A search that hides everything first: revealing clears it.
  await page.getByTestId('file-search').fill('no-such-path');
  const selected = page.locator('[data-testid="file-row"][aria-selected="true"]');
  for (const w of wasted) {
    const row = page.locator(`[data-testid="wasted-row"][data-path="${w.path}"]`);
    // The path itself: the last layer that has it, which modifies or removes it.
    await row.getByRole('button', { name: w.path, exact: true }).click();
    const last = w.layers[w.layers.length - 1] as number;
    await expect(fileLayer(page, last)).toHaveClass(/current/);
    await expect(selected).toHaveAttribute('data-path', w.path);
    expect(['modified', 'removed']).toContain(await selected.getAttribute('data-change'));
    await expect(page.getByTestId('file-tree')).toBeFocused();
    await expect(page.getByTestId('file-search')).toHaveValue('');
    // Its first layer, which adds it.
    await row.getByRole('button', { name: `${w.path} in layer ${w.layers[0]}` }).click();
    await expect(fileLayer(page, w.layers[0] as number)).toHaveClass(/current/);
    await expect(selected).toHaveAttribute('data-path', w.path);
    await expect(selected).toHaveAttribute('data-change', 'added');
  }
});

test('History and Layers lead to the files of the layer chosen', async ({ page }) => {
  await page.goto('/');
  await page.getByTestId('open-file-input').setInputFiles(path.join(dataDir, 'docker-archive.tar'));
  await expect(page.locator('.status-word')).toHaveAttribute('data-status', 'done');

  // History: the entry that made the last layer, and its command in the Files tab's layer list.
  await page.getByTestId('tab-history').click();
  const links = page.getByTestId('history-layer-files');
  const count = await links.count();
  expect(count).toBeGreaterThan(1);
  const lastRow = page
    .getByTestId('history')
    .locator('tbody tr')
    .filter({ has: page.getByTestId('history-layer-files') })
    .last();
  const command = await lastRow.locator('.created-by code').innerText();
  const last = lastRow.getByTestId('history-layer-files');
  await expect(last).toHaveText(`#${count - 1}`);
  await last.click();
  await expect(page.getByTestId('tab-files')).toHaveAttribute('aria-selected', 'true');
  // The link clicked went with its tab: the keyboard goes on from the Files tab.
  await expect(page.getByTestId('tab-files')).toBeFocused();
  await expect(fileLayer(page, count - 1)).toHaveClass(/current/);
  await expect(page.getByTestId('mode-layer')).toHaveAttribute('aria-pressed', 'true');
  await expect(
    fileLayer(page, count - 1)
      .getByTestId('created-by')
      .locator('code'),
  ).toHaveText(command);

  // Layers: the first layer, from the merged view.
  await page.getByTestId('mode-merged').click();
  await page.getByTestId('tab-layers').click();
  await page.getByRole('button', { name: 'Files of layer 0' }).click();
  await expect(page.getByTestId('tab-files')).toHaveAttribute('aria-selected', 'true');
  await expect(fileLayer(page, 0)).toHaveClass(/current/);
  await expect(page.getByTestId('mode-layer')).toHaveAttribute('aria-pressed', 'true');
});

test('the sample report carries layer entries, changes and the file system; its empty directories are leaves', async ({
  page,
}) => {
  await page.goto('/');
  await page.getByTestId('sample-button').first().click();
  await expect(page.getByTestId('status')).toContainText(/\bdone\b/, { timeout: 60_000 });
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('download-report').click(),
  ]);
  const report = JSON.parse(readFileSync(await download.path(), 'utf8')) as {
    images: { filesystem?: { efficiency: number }; layers: { entries?: number; changes?: unknown }[] }[];
  };
  for (const image of report.images) {
    expect(image.filesystem?.efficiency).toBeGreaterThan(0);
    for (const l of image.layers) {
      expect(typeof l.entries).toBe('number');
      expect(l.changes).toBeTruthy();
    }
  }

  // Its base layer's empty directories (root, tmp, var/log) are leaves: nothing to open.
  await openFiles(page);
  await selectLayer(page, 0);
  await expandAll(page);
  const row = (p: string) => page.locator(`[data-testid="file-row"][data-path="${p}"]`);
  await expect(row('etc')).toHaveAttribute('aria-expanded', 'true');
  for (const p of ['root', 'tmp', 'var/log']) {
    await expect(row(p)).not.toHaveAttribute('aria-expanded');
    await expect(row(p).locator('.twisty')).toHaveText('');
  }
  await expect(row('var')).toHaveAttribute('aria-expanded', 'true');
  const count = await page.getByTestId('file-tree').getAttribute('data-count');
  await row('tmp').click();
  await expect(row('tmp')).toHaveClass(/focused/);
  await expect(page.getByTestId('expand-all')).toHaveAttribute('aria-pressed', 'true');
  expect(await page.getByTestId('file-tree').getAttribute('data-count')).toBe(count);

  // Its /bin is a link to a directory: opening it says where it leads instead of reading.
  await row('bin').dblclick();
  await expect(page.getByTestId('file-viewer')).toContainText(
    '"bin" is a symbolic link to "usr/bin", which is the directory "usr/bin"',
  );
  // usr/bin/hello, a link to greet beside it, opens greet.
  await row('usr/bin/hello').dblclick();
  await expect(page.getByTestId('file-viewer-target')).toHaveText('→ usr/bin/greet');
  await expect(page.getByTestId('file-content')).toContainText('Hello from the Layerlens sample image');
  // Where it led, shown in the merged tree after the layer on screen, focused.
  await page.getByTestId('file-viewer-target').click();
  await expect(page.getByTestId('mode-merged')).toHaveAttribute('aria-pressed', 'true');
  await expect(page.locator('[data-testid="file-row"].focused')).toHaveAttribute(
    'data-path',
    'usr/bin/greet',
  );
  await expect(page.getByTestId('file-tree')).toBeFocused();
  // Type-ahead: letters typed together go to the next row whose name starts with them, wrapping.
  const focusedRow = page.locator('[data-testid="file-row"].focused');
  await page.keyboard.type('tm');
  await expect(focusedRow).toHaveAttribute('data-path', 'tmp');
  await page.waitForTimeout(1100);
  await page.keyboard.press('e');
  await expect(focusedRow).toHaveAttribute('data-path', 'etc');
  // The copy key copies the focused row's path, and says so.
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.keyboard.press('ArrowRight');
  // The opened directory's rows are the worker's answer: wait for them before moving into it.
  await expect(row('etc')).toHaveAttribute('aria-expanded', 'true');
  await page.keyboard.press('ArrowRight');
  await expect(focusedRow).toHaveAttribute('data-path', 'etc/group');
  await page.keyboard.press('ControlOrMeta+c');
  await expect(page.getByTestId('path-copied')).toHaveText('Copied /etc/group');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('/etc/group');
});

/** An OCI layout archive of one image whose one layer is `layer` (a tar made by a real tool), added by umoci. */
function oneLayerImage(dir: string, layer: string): string {
  const layout = path.join(dir, 'layout');
  execFileSync('umoci', ['init', '--layout', layout]);
  execFileSync('umoci', ['new', '--image', `${layout}:x`]);
  execFileSync('umoci', ['raw', 'add-layer', '--image', `${layout}:x`, layer]);
  const archive = path.join(dir, 'image.tar');
  execFileSync('tar', ['-C', layout, '-cf', archive, '.']);
  return archive;
}

/** A docker-archive (manifest.json, config, layer blobs) made by Python's tarfile. */
function makeArchive(dir: string, script: string): string {
  const file = path.join(dir, 'image.tar');
  writeFileSync(path.join(dir, 'make.py'), script);
  execFileSync('python3', [path.join(dir, 'make.py'), file], {
    cwd: dir,
    stdio: 'inherit',
    timeout: 240_000,
  });
  return file;
}

const ARCHIVE_PY = String.raw`
import gzip, hashlib, io, json, sys, tarfile

def tar_bytes(add):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w', format=tarfile.PAX_FORMAT) as t:
        add(t)
    return buf.getvalue()

def write_archive(out, layers, tag):
    blobs, diff_ids, history = [], [], []
    for name, raw, created_by in layers:
        diff_ids.append('sha256:' + hashlib.sha256(raw).hexdigest())
        blobs.append((name, gzip.compress(raw, compresslevel=6)))
        history.append({'created': '2024-01-01T00:00:00Z', 'created_by': created_by})
    config = json.dumps({'architecture': 'amd64', 'os': 'linux', 'config': {},
        'rootfs': {'type': 'layers', 'diff_ids': diff_ids}, 'history': history}).encode()
    cfg = hashlib.sha256(config).hexdigest() + '.json'
    manifest = json.dumps([{'Config': cfg, 'RepoTags': [tag], 'Layers': [n for n, _ in blobs]}]).encode()
    with tarfile.open(out, 'w') as t:
        for name, data in [('manifest.json', manifest), (cfg, config)] + blobs:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1704067200
            t.addfile(info, io.BytesIO(data))

def file(t, name, data=b'', mode=0o644, xattrs=None):
    info = tarfile.TarInfo(name)
    if xattrs:
        info.pax_headers = {'SCHILY.xattr.' + k: v for k, v in xattrs.items()}
    info.size = len(data)
    info.mode = mode
    info.mtime = 1704067200
    t.addfile(info, io.BytesIO(data))

def directory(t, name):
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    info.mtime = 1704067200
    t.addfile(info)
`;

test('a layer of 200,000 files opens, scrolls to its end and filters while typing', async ({
  page,
  workDir: dir,
}) => {
  test.setTimeout(300_000);
  const t0 = Date.now();
  const archive = makeArchive(
    dir,
    `${ARCHIVE_PY}
def add(t):
  for d in range(200):
      directory(t, 'd%03d' % d)
      for f in range(1000):
          file(t, 'd%03d/f%04d' % (d, f), b'%d\\n' % (d * 1000 + f))
write_archive(sys.argv[1], [('big.tar.gz', tar_bytes(add), 'generate 200,000 files')], 'big:1')
`,
  );
  console.log(`generated the 200,000-file archive in ${Date.now() - t0} ms`);
  const t1 = Date.now();
  await openAndWait(page, archive);
  console.log(`analysed (digests, diff_id, listing) in ${Date.now() - t1} ms`);
  await openFiles(page);
  const t2 = Date.now();
  await expect(page.getByTestId('file-tree')).toHaveAttribute('data-count', '200');
  console.log(`tree (200 directories) shown in ${Date.now() - t2} ms`);
  await expect(page.getByTestId('tree-summary')).toContainText(
    'the layer adds 200,200, modifies 0 and removes 0 paths',
  );

  const t3 = Date.now();
  await page.getByTestId('expand-all').click();
  await expect(page.getByTestId('file-tree')).toHaveAttribute('data-count', '200200');
  console.log(`expanded to 200,200 rows in ${Date.now() - t3} ms`);
  expect(await page.getByTestId('file-row').count()).toBeLessThan(200);

  const t4 = Date.now();
  await page.getByTestId('file-tree').focus();
  await page.keyboard.press('End');
  await expect(page.locator('[data-testid="file-row"][data-path="d199/f0999"]')).toBeVisible();
  console.log(`scrolled to the last entry in ${Date.now() - t4} ms`);
  const t5 = Date.now();
  await page.getByTestId('file-tree').evaluate((el) => (el.scrollTop = el.scrollHeight / 2));
  await expect(page.locator('[data-testid="file-row"][data-path^="d099/"]').first()).toBeVisible();
  console.log(`scrolled to the middle in ${Date.now() - t5} ms`);

  const search = page.getByTestId('file-search');
  await search.click();
  const t6 = Date.now();
  await search.pressSequentially('f0999', { delay: 50 });
  await expect(page.getByTestId('file-tree')).toHaveAttribute('data-count', '400');
  console.log(`typed "f0999" and got 400 rows ${Date.now() - t6} ms after the first key`);
  const ms = await page.getByTestId('tree-summary').textContent();
  console.log(`worker time of the last filter: ${ms?.match(/(\d+) ms/)?.[1]} ms`);
  const t7 = Date.now();
  await search.fill('d123/*');
  await expect(page.getByTestId('file-tree')).toHaveAttribute('data-count', '1001');
  console.log(`glob d123/* answered in ${Date.now() - t7} ms`);
});

test('limits stop a layer with a clear message and the rest of the image is analysed', async ({
  page,
  workDir: dir,
}) => {
  test.setTimeout(180_000);
  // The entry limit, set in the page, on a fixture: the base layer has more than 5 entries.
  await openAndWait(page, ociArchive);
  await reopenWithEntryLimit(page, ociArchive, 5);
  const base = fileLayer(page, 0);
  await expectStopped(base, 'entry-limit', 'stopped at the entry limit');
  await expect(base.getByTestId('layer-problem')).toContainText('more than 5 entries');
  await expect(page.getByTestId('tree-incomplete')).toBeVisible();
  // Every layer stops at 5 entries (they have 34, 8 and 9), yet every blob is still verified.
  await page.getByTestId('tab-layers').click();
  await expect(page.locator('[data-testid="layer-row"][data-digest-state="verified"]')).toHaveCount(3);

  // Raised and applied to the archive on screen: read again, in the same view (layer 2 chosen).
  await openFiles(page);
  await selectLayer(page, 2);
  await page.getByTestId('limits-button').click();
  // Escape closes it unchanged, the keyboard back on its button.
  await page.getByTestId('limit-entries').press('Escape');
  await expect(page.getByTestId('limits-form')).toHaveCount(0);
  await expect(page.getByTestId('limits-button')).toBeFocused();
  await page.getByTestId('limits-button').click();
  await expect(page.getByTestId('limits-form')).toContainText('or to this one read again');
  await page.getByTestId('limit-entries').fill('1000');
  await page.getByTestId('limits-apply-again').click();
  await expect(page.getByTestId('status')).toContainText(/\bdone\b/, { timeout: 60_000 });
  for (const i of [0, 1, 2]) {
    await expect(fileLayer(page, i)).toHaveAttribute('data-state', 'listed');
    await expect(fileLayer(page, i)).toHaveAttribute('data-stopped', '');
  }
  await expect(fileLayer(page, 2)).toHaveClass(/current/);
  await expect(page.getByTestId('tree-incomplete')).toHaveCount(0);
  await expect(page.getByTestId('file-row').first()).toBeVisible();

  // A gzip bomb: 100 MiB of zeros in ~100 KB, far beyond 100× its size, next to a normal layer.
  const archive = makeArchive(
    dir,
    `${ARCHIVE_PY}
def bomb(t):
  file(t, 'zeros', bytes(100 * 1024 * 1024))
def normal(t):
  directory(t, 'etc')
  file(t, 'etc/motd', b'still here\\n', xattrs={'user.note': 'kept'})
write_archive(sys.argv[1], [('bomb.tar.gz', tar_bytes(bomb), 'write zeros'), ('normal.tar.gz', tar_bytes(normal), 'add motd')], 'bomb:1')
`,
  );
  await reopenWithEntryLimit(page, archive, 1_000_000);
  const bombLayer = fileLayer(page, 0);
  await expectStopped(bombLayer, 'byte-limit', 'stopped at the uncompressed-size limit');
  const normal = fileLayer(page, 1);
  await expect(normal).toHaveAttribute('data-state', 'listed');
  await expect(normal).toHaveAttribute('data-stopped', '');
  await selectLayer(page, 1);
  await expandAll(page);
  await expect(page.locator('[data-testid="file-row"][data-path="etc/motd"]')).toHaveAttribute(
    'data-change',
    'added',
  );
  const motd = page.locator('[data-testid="file-row"][data-path="etc/motd"]');
  await expect(motd.getByTestId('xattrs')).toHaveAttribute('title', 'user.note=kept');
  await expect(motd).toContainText('-rw-r--r--');
  await motd.dblclick();
  await expect(page.getByTestId('file-content')).toHaveText('still here\n');
});

for (const codec of ['gzip', 'zstd', 'xz'] as const) {
  test(`a file of an archive compressed as a whole (${codec}) is read by decompressing it again up to its layer`, async ({
    page,
    workDir,
  }) => {
    // The zstd and xz ones as `docker save | zstd` (or `| xz`) gives them, made from the same
    // archive at test time.
    const plain = path.join(dataDir, 'docker-archive.tar');
    const archive =
      codec === 'gzip'
        ? path.join(dataDir, 'docker-archive.tar.gz')
        : path.join(workDir, `docker-archive.tar.${codec === 'zstd' ? 'zst' : 'xz'}`);
    if (codec === 'zstd') execFileSync('zstd', ['-q', '-o', archive, plain]);
    if (codec === 'xz') writeFileSync(archive, execFileSync('xz', ['-c', plain], { maxBuffer: 1 << 28 }));
    await openAndWait(page, archive);
    await expect(page.getByTestId('status')).toContainText(codec);
    await openFiles(page);
    const last = appLayers.length - 1;
    await selectLayer(page, last);
    await page.getByTestId('mode-merged').click();
    await page.getByTestId('file-search').fill('*.conf');
    await expect(page.getByTestId('tree-summary')).toContainText('"*.conf"');
    await page.locator('[data-testid="file-row"][data-path="etc/app.conf"]').dblclick();
    await expect(page.getByTestId('file-viewer-path')).toHaveText('etc/app.conf');
    // What GNU tar extracts from the same layer of the plain archive.
    const layerTar = `${hex((appLayers[2] as ExpectedLayer).diffId)}.tar`;
    const fromTar = execFileSync(
      'sh',
      ['-c', 'tar -xOf "$1" "$2" | tar -xO etc/app.conf', 'sh', archive, layerTar],
      { maxBuffer: 1 << 20 },
    ).toString('utf8');
    expect(fromTar).toContain('listen');
    await expect(page.getByTestId('file-content')).toHaveText(fromTar);
  });
}

test('character and block devices show their device numbers, as ls -l does', async ({
  page,
  workDir: dir,
}) => {
  // mknod needs root, as debootstrap does for the same entries in the unit tests.
  test.skip(process.getuid?.() !== 0, 'mknod needs root');
  const rootfs = path.join(dir, 'rootfs');
  execFileSync('mkdir', ['-p', path.join(rootfs, 'dev')]);
  execFileSync('mknod', [path.join(rootfs, 'dev', 'null'), 'c', '1', '3']);
  execFileSync('mknod', [path.join(rootfs, 'dev', 'loop7'), 'b', '7', '7']);
  const layer = path.join(dir, 'layer.tar');
  execFileSync('tar', ['--format=posix', '-C', rootfs, '-cf', layer, 'dev']);
  const archive = oneLayerImage(dir, layer);
  // What GNU tar says about the same layer: "crw-r--r-- 0/0 1,3 … dev/null".
  const tv = execFileSync('tar', ['-tvf', layer]).toString('utf8');
  expect(tv).toMatch(/^c\S+ \S+ +1,3 .* dev\/null$/m);
  expect(tv).toMatch(/^b\S+ \S+ +7,7 .* dev\/loop7$/m);

  await openAndWait(page, archive);
  await openFiles(page);
  await page.getByTestId('file-search').fill('dev/*');
  const row = (p: string) => page.locator(`[data-testid="file-row"][data-path="${p}"]`);
  await expect(row('dev/null')).toHaveAttribute('data-kind', 'char');
  await expect(row('dev/null').getByTestId('device')).toHaveText('1, 3');
  await expect(row('dev/loop7')).toHaveAttribute('data-kind', 'block');
  await expect(row('dev/loop7').getByTestId('device')).toHaveText('7, 7');
});

test('a file name with a bidirectional override is shown spelled out, not as the name it spoofs', async ({
  page,
  workDir: dir,
}) => {
  // "a<RLO>gnp.exe" prints as "aexe.png" (Trojan Source); packed by GNU tar, added by umoci, saved by skopeo.
  const root = path.join(dir, 'root');
  const spoof = 'a\u202egnp.exe';
  mkdirSync(path.join(root, 'dl'), { recursive: true });
  // Its contents hide a part too: the viewer spells it out and counts it.
  writeFileSync(path.join(root, 'dl', spoof), 'MZ not a \u202epicture\n');
  execFileSync('tar', ['-C', root, '-cf', path.join(dir, 'layer.tar'), 'dl']);
  const layout = path.join(dir, 'layout');
  execFileSync('umoci', ['init', '--layout', layout]);
  execFileSync('umoci', ['new', '--image', `${layout}:x`]);
  execFileSync('umoci', ['raw', 'add-layer', '--image', `${layout}:x`, path.join(dir, 'layer.tar')]);
  const archive = path.join(dir, 'spoof.tar');
  execFileSync('skopeo', ['copy', '-q', `oci:${layout}:x`, `docker-archive:${archive}:spoof:1`]);

  await openAndWait(page, archive);
  await openFiles(page);
  await expandAll(page);
  const name = page.locator(`[data-testid="file-row"][data-path="dl/${spoof}"] .name`);
  await expect(name).toHaveText('a\\u202Egnp.exe');
  await expect(name).toHaveAttribute('title', /shown escaped/);
  await page.locator(`[data-testid="file-row"][data-path="dl/${spoof}"]`).dblclick();
  await expect(page.getByTestId('file-viewer-path')).toHaveText('dl/a\\u202Egnp.exe');
  await expect(page.getByTestId('file-content')).toHaveText('MZ not a \\u202Epicture\n');
  await expect(page.getByTestId('file-hidden-chars')).toContainText(
    '1 control or bidirectional character in this file is spelled out',
  );
  // And it is flagged, so that it can be found among thousands of names.
  await page.getByTestId('tab-problems').click();
  const problem = page.locator('[data-testid="problem"][data-code="bidi-in-name"]');
  await expect(problem).toHaveCount(1);
  await expect(problem).toContainText('dl/a\\u202Egnp.exe');
});

test('a binary file opens as hex, a text file after it as text; Text shows the binary one as text', async ({
  page,
  workDir: dir,
}) => {
  // This machine's /usr/bin/true and a script beside it, packed by GNU tar and added by umoci.
  const root = path.join(dir, 'root');
  mkdirSync(path.join(root, 'bin'), { recursive: true });
  const binary = readFileSync('/usr/bin/true');
  writeFileSync(path.join(root, 'bin', 'true'), binary);
  writeFileSync(path.join(root, 'bin', 'hi'), '#!/bin/sh\necho hi\n');
  execFileSync('tar', ['-C', root, '-cf', path.join(dir, 'layer.tar'), 'bin']);
  const archive = oneLayerImage(dir, path.join(dir, 'layer.tar'));

  await openAndWait(page, archive);
  await openFiles(page);
  await expandAll(page);
  const row = (p: string) => page.locator(`[data-testid="file-row"][data-path="${p}"]`);
  await row('bin/true').dblclick();
  await expect(page.getByTestId('file-binary')).toBeVisible();
  await expect(page.getByTestId('view-hex')).toHaveAttribute('aria-pressed', 'true');
  // The first line of the dump, from the file's own first 16 bytes.
  const first = [...binary.subarray(0, 16)].map((b) => b.toString(16).padStart(2, '0'));
  await expect(page.getByTestId('file-content')).toContainText(
    `00000000  ${first.slice(0, 8).join(' ')}  ${first.slice(8).join(' ')}`,
  );
  // The next file is text, and shows as text: the choice of hex was the binary file's, not the person's.
  await row('bin/hi').dblclick();
  await expect(page.getByTestId('view-text')).toHaveAttribute('aria-pressed', 'true');
  await expect(page.getByTestId('file-content')).toHaveText('#!/bin/sh\necho hi\n');
  // Text pressed on the binary file shows it as text, escapes counted.
  await row('bin/true').dblclick();
  await expect(page.getByTestId('view-hex')).toHaveAttribute('aria-pressed', 'true');
  await page.getByTestId('view-text').click();
  await expect(page.getByTestId('file-binary')).toHaveCount(0);
  await expect(page.getByTestId('file-hidden-chars')).toBeVisible();
  await expect(page.getByTestId('file-content')).toContainText('\\u007FELF');
});

test('a sparse file (bsdtar) opens with its holes as zeros, its hex view collapsed, and downloads whole', async ({
  page,
  workDir: dir,
}) => {
  // 40 MiB with three runs of data, the rest holes; bsdtar stores it sparse (PAX, GNU sparse 1.0)
  // without being asked, and umoci adds the layer.
  const root = path.join(dir, 'root');
  mkdirSync(path.join(root, 'img'), { recursive: true });
  const disk = path.join(root, 'img', 'disk.img');
  execFileSync('python3', [
    '-c',
    `import sys
with open(sys.argv[1], 'wb') as f:
    f.truncate(40 << 20)
    for at, data in ((4096, b'hello'), (8 << 20, b'tail'), ((16 << 20) - 100, b'across' * 50)):
        f.seek(at); f.write(data)`,
    disk,
  ]);
  execFileSync('bsdtar', ['-C', root, '-cf', path.join(dir, 'layer.tar'), 'img']);
  expect(execFileSync('strings', [path.join(dir, 'layer.tar')]).toString()).toContain('GNU.sparse.major=1');
  const archive = oneLayerImage(dir, path.join(dir, 'layer.tar'));

  await openAndWait(page, archive);
  await openFiles(page);
  await expandAll(page);
  const row = page.locator('[data-testid="file-row"][data-path="img/disk.img"]');
  await expect(row).toHaveAttribute('data-size', String(40 << 20));
  // Marked as sparse, with what its layer stores.
  await expect(row.getByTestId('sparse')).toHaveAttribute(
    'title',
    /^a sparse file: its layer stores [\d,]+ B; the rest of its 41,943,040 B are holes, which read as zeros$/,
  );
  await row.dblclick();
  await expect(page.getByTestId('file-truncated')).toHaveText(
    'Showing the first 1,048,576 B of 41,943,040 B; Download saves the whole file.',
  );
  // Zeros, then one * for the rest of the hole, as hexdump -C shows them; the data where it belongs.
  const content = page.getByTestId('file-content');
  await expect(content).toContainText(
    '00000000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n*\n' +
      '00001000  68 65 6c 6c 6f 00 00 00  00 00 00 00 00 00 00 00  |hello...........|',
  );
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('download-file').click(),
  ]);
  expect(download.suggestedFilename()).toBe('disk.img');
  const sha = (f: string) => execFileSync('sha256sum', [f]).toString().split(' ')[0];
  expect(sha(await download.path())).toBe(sha(disk));
});

test('the Problems tab counts problems by severity and shows one severity or code at a time', async ({
  page,
  workDir: dir,
}) => {
  // One layer packed by GNU tar: a name with a bidirectional override and an appended duplicate
  // (warnings), an absolute name (a warning: read as relative) and a "../" name kept by -P (an
  // error: skipped); added by umoci.
  const root = path.join(dir, 'root');
  mkdirSync(path.join(root, 'dl'), { recursive: true });
  mkdirSync(path.join(root, 'etc'), { recursive: true });
  writeFileSync(path.join(root, 'dl', 'a\u202egnp.exe'), 'x\n');
  writeFileSync(path.join(root, 'etc', 'motd'), 'hi\n');
  writeFileSync(path.join(dir, 'escape'), 'out\n');
  const layer = path.join(dir, 'layer.tar');
  execFileSync('tar', ['-C', root, '-cf', layer, 'dl', 'etc']);
  execFileSync('tar', ['-C', root, '-rf', layer, 'etc/motd']);
  execFileSync('tar', ['-P', '-C', root, '-rf', layer, '../escape', path.join(root, 'etc', 'motd')]);
  const archive = oneLayerImage(dir, layer);

  await openAndWait(page, archive);
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('download-report').click(),
  ]);
  const report = JSON.parse(readFileSync(await download.path(), 'utf8')) as {
    problems: { code: string; severity: string }[];
  };
  const count = (sev: string) => report.problems.filter((p) => p.severity === sev).length;
  expect(count('error')).toBe(1);
  expect(count('warning')).toBe(3);

  await page.getByTestId('tab-problems').click();
  const problems = page.getByTestId('problem');
  await expect(problems).toHaveCount(report.problems.length);
  await expect(page.getByTestId('problems').locator('label').filter({ hasText: 'error' })).toHaveText(
    '1 error',
  );
  await expect(page.getByTestId('problems').locator('label').filter({ hasText: 'warnings' })).toHaveText(
    '3 warnings',
  );
  await expect(page.getByTestId('problems-info')).toHaveCount(0);
  // Warnings set aside: the error alone.
  await page.getByTestId('problems-warning').uncheck();
  await expect(problems).toHaveCount(1);
  await expect(problems).toHaveAttribute('data-code', 'unsafe-path');
  await expect(page.getByTestId('problems-shown')).toHaveText(`1 of ${report.problems.length} shown`);
  // One code, whatever its severity.
  await page.getByTestId('problems-warning').check();
  await page.getByTestId('problems-code').selectOption('duplicate-entry');
  await expect(problems).toHaveCount(1);
  await expect(problems).toContainText('"etc/motd" appears more than once');
  await page.getByTestId('problems-code').selectOption('');
  await expect(problems).toHaveCount(report.problems.length);
});

test.describe('on a touch screen', () => {
  test.use({ hasTouch: true, isMobile: true, viewport: { width: 412, height: 839 } });

  test('a double tap opens a file, as a double click does; a single tap only focuses it', async ({
    page,
  }) => {
    await page.goto('/');
    await page.getByTestId('sample-button').first().click();
    await expect(page.getByTestId('status')).toContainText(/\bdone\b/);
    await openFiles(page);
    await page.getByTestId('mode-merged').tap();
    await page.locator('[data-testid="file-row"][data-path="etc"]').tap();
    const file = page.locator('[data-testid="file-row"][data-path="etc/os-release"]');
    await file.tap();
    await expect(file).toHaveClass(/focused/);
    await expect(page.getByTestId('file-viewer')).toHaveCount(0);
    const box = (await file.boundingBox()) as { x: number; y: number };
    await page.touchscreen.tap(box.x + 30, box.y + 10);
    await page.touchscreen.tap(box.x + 30, box.y + 10);
    await expect(page.getByTestId('file-viewer-path')).toHaveText('etc/os-release');
  });
});
