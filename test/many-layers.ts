/**
 * A docker-archive of many small layers, made at test time by the tools that make real ones:
 * each layer a GNU tar of one file, added with `umoci raw add-layer`, the image saved by
 * `skopeo copy`. The unit and browser tests of the image graph's layout use it.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Writes `<dir>/many.tar` (tagged `many:1`) with `count` layers; layer i adds `opt/step-i`. */
export function makeManyLayerArchive(dir: string, count: number): string {
  const layout = path.join(dir, 'layout');
  execFileSync('umoci', ['init', '--layout', layout]);
  execFileSync('umoci', ['new', '--image', `${layout}:many`]);
  for (let i = 1; i <= count; i++) {
    const root = path.join(dir, `r${i}`);
    mkdirSync(path.join(root, 'opt'), { recursive: true });
    writeFileSync(path.join(root, 'opt', `step-${i}`), `${i}\n`);
    execFileSync('tar', ['-C', root, '-cf', `${root}.tar`, 'opt']);
    execFileSync('umoci', ['raw', 'add-layer', '--image', `${layout}:many`, `${root}.tar`]);
  }
  const archive = path.join(dir, 'many.tar');
  execFileSync('skopeo', ['copy', '-q', `oci:${layout}:many`, `docker-archive:${archive}:many:1`]);
  return archive;
}
