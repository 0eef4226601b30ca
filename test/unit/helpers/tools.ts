/** Helpers for tests that compare against real tools (GNU tar, gzip, zstd, sha256sum). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, openAsBlob, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll } from 'vitest';

export const ROOT = resolve(import.meta.dirname, '../../..');
export const SHARED = resolve(ROOT, '../shared/fixtures');
export const DATA = resolve(ROOT, 'test/fixtures/data');

export function sh(cmd: string, args: string[], opts: { cwd?: string; input?: Buffer } = {}): string {
  return execFileSync(cmd, args, { cwd: opts.cwd, input: opts.input, maxBuffer: 1 << 30 }).toString('utf8');
}

export function sha256sum(path: string): string {
  return `sha256:${sh('sha256sum', [path]).split(' ')[0]}`;
}

/** A temporary directory removed after the test file's tests. */
export function tempDir(prefix = 'layerlens-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function blobOf(path: string): Promise<Blob> {
  return openAsBlob(path);
}
