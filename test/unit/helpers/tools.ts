/** Helpers for tests that compare against real tools (GNU tar, gzip, zstd, sha256sum). */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, openAsBlob, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { afterAll } from 'vitest';
import type { FolderFile } from '../../../src/core/archive/archive-files';

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

/** The files of a folder as a browser gives them: symbolic links followed, paths inside it. */
export async function folderOf(dir: string): Promise<FolderFile[]> {
  const out: FolderFile[] = [];
  const walk = async (sub: string) => {
    for (const name of readdirSync(join(dir, sub)).sort()) {
      const rel = sub ? `${sub}/${name}` : name;
      if (statSync(join(dir, rel)).isDirectory()) await walk(rel);
      else out.push({ path: rel, blob: await blobOf(join(dir, rel)) });
    }
  };
  await walk('');
  return out;
}

/**
 * `readlink -f` of each path as the kernel resolves it inside `rootfs` used as `/` (chroot): the
 * container's view of its symbolic links. This machine's own readlink, its libraries and loader are
 * copied into a scratch directory of the root file system for the run (the loader is started by
 * path, so nothing has to sit where the binary expects it), and removed after. A path whose
 * directories do not all resolve gives null (readlink fails).
 */
export function readlinkInRoot(rootfs: string, paths: string[]): (string | null)[] {
  const readlink = execFileSync('sh', ['-c', 'command -v readlink']).toString().trim();
  const libs = execFileSync('ldd', [readlink])
    .toString()
    .split('\n')
    .flatMap((l) => /(\/\S+) \(0x/.exec(l)?.slice(1, 2) ?? []);
  const loader = libs.find((l) => /\/ld-linux|\/ld-musl|\/ld\.so/.test(l));
  if (!loader) throw new Error(`no loader in ldd ${readlink}`);
  const tools = mkdtempSync(join(rootfs, '.readlink-'));
  try {
    for (const f of [readlink, ...libs]) copyFileSync(f, join(tools, basename(f)));
    const t = `/${basename(tools)}`;
    return paths.map((p) => {
      const r = spawnSync('chroot', [
        rootfs,
        `${t}/${basename(loader)}`,
        '--library-path',
        t,
        `${t}/${basename(readlink)}`,
        '-f',
        '--',
        `/${p}`,
      ]);
      if (r.error) throw r.error;
      return r.status === 0 ? r.stdout.toString('utf8').replace(/\n$/, '').replace(/^\//, '') : null;
    });
  } finally {
    rmSync(tools, { recursive: true, force: true });
  }
}
