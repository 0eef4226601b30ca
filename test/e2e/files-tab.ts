/** The Files tab as the browser tests drive it: open it, find a layer in its list, select one. */
import type { Locator, Page } from '@playwright/test';
import { expect } from './fixtures';

export async function openFiles(page: Page): Promise<void> {
  await page.getByTestId('tab-files').click();
  await expect(page.getByTestId('files')).toBeVisible();
}

/** Layer `index` (0-based) of the Files tab's layer list. */
export function fileLayer(page: Page, index: number): Locator {
  return page.locator(`[data-testid="file-layer"][data-index="${index}"]`);
}

export async function selectLayer(page: Page, index: number): Promise<void> {
  await fileLayer(page, index).getByRole('button').click();
  await expect(fileLayer(page, index)).toHaveClass(/current/);
}

/** A layer whose listing stopped at a limit: its reason, and the note the list shows for it. */
export async function expectStopped(layer: Locator, reason: string, note: string): Promise<void> {
  await expect(layer).toHaveAttribute('data-stopped', reason);
  await expect(layer.getByTestId('layer-stopped')).toHaveText(note);
}
