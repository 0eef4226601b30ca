/**
 * Symbolic links followed as the container sees them: `MergedTree.resolve` against `readlink -f`
 * run by the kernel in a chroot of `umoci unpack`'s root file system, and the Files tab's reader
 * (`LayerStore.readFile`) opening what a link leads to.
 */
import { linkSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ImageFilesystem } from '../../src/core/layers/filesystem';
import type { LayerListing } from '../../src/core/layers/layer-listing';
import type { Analysis, ImageInfo } from '../../src/core/model';
import type { LayerStore } from '../../src/worker/layer-store';
import { kernelLinks, linksOf } from './helpers/links';
import { archiveOf, opened, wholeFile } from './helpers/opened';
import { sh, tempDir } from './helpers/tools';

const dir = tempDir('layerlens-links-');

const isRoot = process.getuid?.() === 0;

describe('symbolic links', () => {
  let work: string;
  let analysis: Analysis;
  let image: ImageInfo;
  let fs: ImageFilesystem;
  let store: LayerStore;

  // Two layers made by umoci from links made by ln: relative and absolute targets, a chain through
  // /etc/alternatives, a directory link on the way, `..` past the root, a loop, a dangling link, a
  // link through a regular file, a link to a hard link. The second layer removes a link's target
  // and a link, and adds a link to a link of the first.
  beforeAll(async () => {
    work = join(dir, 'img');
    const layout = join(work, 'layout');
    const bundle = join(work, 'bundle');
    sh('umoci', ['init', '--layout', layout]);
    sh('umoci', ['new', '--image', `${layout}:two`]);
    sh('umoci', ['unpack', '--image', `${layout}:two`, bundle]);
    const r = join(bundle, 'rootfs');
    for (const d of ['usr/bin', 'usr/lib', 'etc/alternatives', 'a/b'])
      mkdirSync(join(r, d), { recursive: true });
    writeFileSync(join(r, 'usr/bin/greet'), '#!/bin/sh\necho hello\n');
    writeFileSync(join(r, 'usr/lib/os-release'), 'NAME="links"\n');
    linkSync(join(r, 'usr/bin/greet'), join(r, 'usr/bin/greet-hard'));
    const ln = (target: string, path: string) => symlinkSync(target, join(r, path));
    ln('usr/bin', 'bin');
    ln('greet', 'usr/bin/hello');
    ln('../usr/lib/os-release', 'etc/os-release');
    ln('/usr/bin/greet', 'etc/alternatives/pager');
    ln('/etc/alternatives/pager', 'usr/bin/pager');
    ln('../../../../../etc/os-release', 'a/b/up');
    ln('/bin/hello', 'a/via-dir-link');
    ln('./usr/./bin//greet', 'dots');
    ln('loop-2', 'loop-1');
    ln('loop-1', 'loop-2');
    ln('nowhere', 'dangling');
    ln('missing/file', 'dangling-dir');
    ln('usr/bin/greet/x', 'through-file');
    ln('greet-hard', 'usr/bin/to-hard');
    ln('a/b', 'to-dir');
    sh('umoci', ['repack', '--refresh-bundle', '--image', `${layout}:one`, bundle]);
    rmSync(join(r, 'usr/lib/os-release'));
    rmSync(join(r, 'dots'));
    ln('pager', 'usr/bin/more');
    sh('umoci', ['repack', '--image', `${layout}:two`, bundle]);
    const archive = join(work, 'links.tar');
    sh('tar', ['-C', layout, '-cf', archive, '.']);
    const got = await opened(archive);
    ({ analysis, store } = got);
    const listings = got.listings;
    image = analysis.images.find((i) => i.layers.length === 2) as ImageInfo;
    fs = ImageFilesystem.build(image.layers.map((l) => listings.get(l.blob) as LayerListing));
    // The root file system after each layer, as umoci extracts it.
    sh('umoci', ['unpack', '--image', `${layout}:one`, join(work, 'after-0')]);
    sh('umoci', ['unpack', '--image', `${layout}:two`, join(work, 'after-1')]);
  });

  it.skipIf(!isRoot)('resolve as readlink -f in a chroot of the unpacked image (chroot needs root)', () => {
    for (const layer of [0, 1]) {
      const ours = linksOf(fs.at(layer));
      expect(ours.map((l) => l.path)).toContain(layer === 0 ? 'usr/bin/pager' : 'usr/bin/more');
      const rootfs = join(work, `after-${layer}`, 'rootfs');
      expect(ours, `after layer ${layer}`).toEqual(
        kernelLinks(
          rootfs,
          ours.map((l) => l.path),
        ),
      );
    }
  });

  it('lead where a person reading them would say (checked by hand)', () => {
    const at = (layer: number, path: string) => {
      const r = fs.at(layer).resolve(path);
      return r.broken ? [r.broken, r.path] : [r.path, r.node === null ? 'missing' : r.node.type];
    };
    expect(at(0, 'usr/bin/hello')).toEqual(['usr/bin/greet', 'file']);
    expect(at(0, 'usr/bin/pager')).toEqual(['usr/bin/greet', 'file']);
    expect(at(0, 'a/b/up')).toEqual(['usr/lib/os-release', 'file']);
    expect(at(0, 'a/via-dir-link')).toEqual(['usr/bin/greet', 'file']);
    expect(at(0, 'dots')).toEqual(['usr/bin/greet', 'file']);
    expect(at(0, 'usr/bin/to-hard')).toEqual(['usr/bin/greet-hard', 'hardlink']);
    expect(at(0, 'to-dir')).toEqual(['a/b', 'directory']);
    expect(at(0, 'bin/hello')).toEqual(['usr/bin/greet', 'file']);
    expect(at(0, 'dangling')).toEqual(['nowhere', 'missing']);
    // Where each stops: the missing directory, the file taken for one, the link that loops.
    expect(at(0, 'dangling-dir')).toEqual(['missing', 'missing']);
    expect(at(0, 'through-file')).toEqual(['not-directory', 'usr/bin/greet']);
    expect(at(0, 'loop-1')[0]).toBe('loop');
    // The second layer removed os-release: the same link now dangles.
    expect(at(0, 'etc/os-release')).toEqual(['usr/lib/os-release', 'file']);
    expect(at(1, 'etc/os-release')).toEqual(['usr/lib/os-release', 'missing']);
    expect(at(1, 'usr/bin/more')).toEqual(['usr/bin/greet', 'file']);
  });

  it('open in the Files tab as the file they lead to, or say why they cannot', async () => {
    const greet = readFileSync(join(work, 'bundle/rootfs/usr/bin/greet'));
    const read = (layer: number, path: string, within = layer) =>
      wholeFile(store, image.id, layer, path, within);
    for (const [layer, path] of [
      [0, 'usr/bin/pager'],
      [1, 'usr/bin/more'],
      [0, 'usr/bin/to-hard'],
    ] as const) {
      const r = await read(layer, path);
      expect(Buffer.from(r.bytes)).toEqual(greet);
      expect(r.size).toBe(greet.length);
      expect(r.target?.path).toBe(path === 'usr/bin/to-hard' ? 'usr/bin/greet-hard' : 'usr/bin/greet');
      expect(r.target?.layer).toBe(0);
    }
    // A link of the first layer, seen after the second: followed in the file system on screen.
    expect(Buffer.from((await read(0, 'etc/os-release', 0)).bytes).toString()).toBe('NAME="links"\n');
    await expect(read(0, 'etc/os-release', 1)).rejects.toThrow(
      '"etc/os-release" is a symbolic link to "../usr/lib/os-release", and "usr/lib/os-release" is not in the image (a dangling link)',
    );
    await expect(read(0, 'to-dir')).rejects.toThrow('which is the directory "a/b"');
    await expect(read(0, 'loop-1')).rejects.toThrow('its links loop');
    await expect(read(0, 'dangling-dir')).rejects.toThrow(
      '"dangling-dir" is a symbolic link to "missing/file", and the directory "missing" is not in the image',
    );
    await expect(read(0, 'through-file')).rejects.toThrow('and "usr/bin/greet" is not a directory');
    // A link the view shows as removed (the second layer removed it) leads where it led in its own
    // layer: the row shows what was there.
    expect(fs.at(1).get('dots')).toBeNull();
    const removed = await read(0, 'dots', 1);
    expect(Buffer.from(removed.bytes)).toEqual(greet);
    expect(removed.target).toEqual({ path: 'usr/bin/greet', layer: 0, kind: 'symlink' });
    // A hard link names the regular file whose content it shares (umoci packed greet first).
    const hard = await read(0, 'usr/bin/greet-hard');
    expect(Buffer.from(hard.bytes)).toEqual(greet);
    expect(hard.target).toEqual({ path: 'usr/bin/greet', layer: 0, kind: 'hardlink' });
    expect((await read(0, 'usr/bin/to-hard')).target?.kind).toBe('symlink');
    // A regular file reads as before, with no target.
    expect((await read(0, 'usr/bin/greet')).target).toBeNull();
  });
});

describe('entries written through a symbolic link', () => {
  it('are listed where they landed, and read by their own name', async () => {
    // GNU tar packs bin -> usr/bin in the base and bin/b on its own in the next layer; a third layer
    // has x -> /usr/bin/b and h, a hard link to bin/b (packed with a bin/b deleted from the tar
    // after); umoci adds the three.
    const work = join(dir, 'through');
    const base = join(work, 'base');
    const top = join(work, 'top');
    const third = join(work, 'third');
    mkdirSync(join(base, 'usr/bin'), { recursive: true });
    writeFileSync(join(base, 'usr/bin/a'), 'a\n');
    symlinkSync('usr/bin', join(base, 'bin'));
    mkdirSync(join(top, 'bin'), { recursive: true });
    writeFileSync(join(top, 'bin/b'), 'bb\n');
    mkdirSync(join(third, 'bin'), { recursive: true });
    symlinkSync('/usr/bin/b', join(third, 'x'));
    writeFileSync(join(third, 'bin/b'), 'bb\n');
    linkSync(join(third, 'bin/b'), join(third, 'h'));
    sh('tar', ['-C', base, '-cf', `${base}.tar`, 'usr', 'bin']);
    sh('tar', ['-C', top, '-cf', `${top}.tar`, 'bin/b']);
    sh('tar', ['-C', third, '-cf', `${third}.tar`, 'x', 'bin/b', 'h']);
    sh('tar', ['--delete', '-f', `${third}.tar`, 'bin/b']);
    const tars = [`${base}.tar`, `${top}.tar`, `${third}.tar`];
    const { analysis, store } = await opened(archiveOf(work, tars));
    const image = analysis.images[0] as ImageInfo;
    // Once per layer: bin/b written through bin, and h linked through it.
    expect(analysis.problems.filter((p) => p.code === 'symlink-path').map((p) => p.severity)).toEqual([
      'info',
      'info',
    ]);
    const rows = store.rows({
      imageId: image.id,
      layer: 1,
      mode: 'merged',
      filters: { added: true, modified: true, removed: true, unmodified: true },
      search: '',
      sort: 'name',
      expanded: 'all',
    });
    expect(rows.paths).toContain('usr/bin/b');
    expect(rows.paths).not.toContain('bin/b');
    const r = await wholeFile(store, image.id, 1, 'usr/bin/b', 1);
    expect(Buffer.from(r.bytes).toString()).toBe('bb\n');
    expect(r.target).toBeNull();
    // A symbolic link and a hard link to it, in the layer above: each opens it where it is shown.
    const viaLink = await wholeFile(store, image.id, 2, 'x', 2);
    expect(Buffer.from(viaLink.bytes).toString()).toBe('bb\n');
    expect(viaLink.target).toEqual({ path: 'usr/bin/b', layer: 1, kind: 'symlink' });
    const viaHard = await wholeFile(store, image.id, 2, 'h', 2);
    expect(Buffer.from(viaHard.bytes).toString()).toBe('bb\n');
    expect(viaHard.target).toEqual({ path: 'usr/bin/b', layer: 1, kind: 'hardlink' });
  });

  it('a hard link opens the file it shares: named through a symbolic link, or many layers above it', async () => {
    // GNU tar packs lib -> usr/lib and usr/lib/bar in the base; eight layers of one file each
    // follow; the top layer has `hard` -> lib/bar and `hard2` -> usr/lib/bar, packed with a file
    // of that name that is then deleted from the tar, so that the links name the base's file.
    const work = join(dir, 'hard');
    const base = join(work, 'base');
    const top = join(work, 'top');
    mkdirSync(join(base, 'usr/lib'), { recursive: true });
    writeFileSync(join(base, 'usr/lib/bar'), 'bar\n');
    symlinkSync('usr/lib', join(base, 'lib'));
    sh('tar', ['-C', base, '-cf', `${base}.tar`, 'usr', 'lib']);
    const tars = [`${base}.tar`];
    for (let i = 1; i <= 8; i++) {
      const d = join(work, `l${i}`);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, `f${i}`), `${i}\n`);
      sh('tar', ['-C', d, '-cf', `${d}.tar`, `f${i}`]);
      tars.push(`${d}.tar`);
    }
    mkdirSync(join(top, 'lib'), { recursive: true });
    mkdirSync(join(top, 'usr/lib'), { recursive: true });
    writeFileSync(join(top, 'lib/bar'), 'bar\n');
    linkSync(join(top, 'lib/bar'), join(top, 'hard'));
    writeFileSync(join(top, 'usr/lib/bar'), 'bar\n');
    linkSync(join(top, 'usr/lib/bar'), join(top, 'hard2'));
    sh('tar', ['-C', top, '-cf', `${top}.tar`, 'lib/bar', 'hard', 'usr/lib/bar', 'hard2']);
    sh('tar', ['--delete', '-f', `${top}.tar`, 'lib/bar', 'usr/lib/bar']);
    expect(
      sh('tar', ['-tf', `${top}.tar`])
        .split('\n')
        .filter(Boolean),
    ).toEqual(['hard', 'hard2']);
    tars.push(`${top}.tar`);
    const { analysis, store } = await opened(archiveOf(work, tars));
    const image = analysis.images[0] as ImageInfo;
    expect(image.layers).toHaveLength(10);
    expect(analysis.problems.filter((p) => p.code === 'hardlink-target')).toEqual([]);
    for (const path of ['hard', 'hard2']) {
      const r = await wholeFile(store, image.id, 9, path, 9);
      expect(Buffer.from(r.bytes).toString(), path).toBe('bar\n');
      expect(r.target, path).toEqual({ path: 'usr/lib/bar', layer: 0, kind: 'hardlink' });
    }
  });
});
