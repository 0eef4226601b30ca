/**
 * The `test` every browser spec uses: it fails on any uncaught error in the page, whatever
 * else the test checks, since bad input must never end as a console-only error.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test as base, expect } from '@playwright/test';

/**
 * `workDir`: a fresh temporary directory for the archives a test makes with real tools, removed
 * after the test whatever its outcome (some are hundreds of MB).
 */
export const test = base.extend<{ pageErrors: string[]; workDir: string }>({
  workDir: async ({}, use) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'layerlens-e2e-'));
    try {
      await use(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
  pageErrors: [
    async ({ page }, use) => {
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(`${e.name}: ${e.message}`));
      await use(errors);
      expect(errors, 'uncaught errors in the page').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
