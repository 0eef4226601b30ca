/** Symbolic links of a merged tree against what the kernel says of them in an unpacked root file system. */
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { MergedTree } from '../../../src/core/layers/filesystem';
import { readlinkInRoot } from './tools';

export interface LinkEnd {
  path: string;
  /** The canonical path it leads to; null when it leads nowhere (a missing directory, a loop). */
  to: string | null;
  /** Something is at `to`. */
  exists: boolean;
}

/** Every symbolic link of a merged tree, and where `resolve` says it leads, in path order. */
export function linksOf(tree: MergedTree): LinkEnd[] {
  const out: LinkEnd[] = [];
  for (const node of tree.walk()) {
    if (node.type !== 'symlink') continue;
    const r = tree.resolve(node.path);
    out.push({ path: node.path, to: r.broken ? null : r.path, exists: r.node !== null });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

/** The same links as the kernel resolves them with `rootfs` as `/` (`readlink -f` in a chroot). */
export function kernelLinks(rootfs: string, paths: string[]): LinkEnd[] {
  const to = readlinkInRoot(rootfs, paths);
  return paths.map((path, i) => {
    const t = to[i] ?? null;
    let exists = false;
    // A canonical path holds no links: looked up from outside the root, it is the same file.
    if (t !== null) {
      try {
        lstatSync(join(rootfs, t));
        exists = true;
      } catch {
        exists = false;
      }
    }
    return { path, to: t, exists };
  });
}
