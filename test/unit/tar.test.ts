/**
 * The tar readers against GNU tar: archives written by `tar` in each format, listed by
 * both the random-access index and the streaming parser, compared with what `find` says
 * about the tree that was archived.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checksumMatches, normalizePath } from '../../src/core/tar/header';
import type { TarEntry } from '../../src/core/tar/header';
import { blobRandomAccess } from '../../src/core/tar/random-access';
import { SparsePlacer } from '../../src/core/tar/sparse';
import { indexTar } from '../../src/core/tar/tar-index';
import { TarStreamParser } from '../../src/core/tar/tar-stream';
import { sh, tempDir } from './helpers/tools';

const dir = tempDir();
const tree = join(dir, 'tree');
const longDir = 'd'.repeat(90) + '/' + 'e'.repeat(90);
const longName = `${longDir}/${'f'.repeat(120)}.txt`;

beforeAll(() => {
  mkdirSync(join(tree, longDir), { recursive: true });
  mkdirSync(join(tree, 'etc'), { recursive: true });
  writeFileSync(join(tree, 'etc/hostname'), 'layerlens\n');
  writeFileSync(join(tree, longName), 'long\n');
  writeFileSync(join(tree, 'résumé ünïcode.txt'), 'x'.repeat(1000));
  writeFileSync(join(tree, 'big.bin'), Buffer.alloc(70_000, 7));
  symlinkSync('etc/hostname', join(tree, 'link-to-hostname'));
  symlinkSync('x'.repeat(150), join(tree, 'long-symlink'));
  linkSync(join(tree, 'etc/hostname'), join(tree, 'hardlink'));
  execFileSync('mkfifo', [join(tree, 'fifo')]);
  // Before the epoch: PAX writes a negative mtime, GNU a base-256 one.
  utimesSync(join(tree, 'etc/hostname'), new Date('1960-01-01T00:00:00Z'), new Date('1960-01-01T00:00:00Z'));
});

interface Listed {
  path: string;
  type: string;
  size: number;
  link: string;
}

/** What `find` says about the tree: the oracle for both readers. */
function findListing(): Listed[] {
  const out = sh('find', ['.', '-mindepth', '1', '-printf', '%y\\t%s\\t%P\\t%l\\n'], { cwd: tree });
  const types: Record<string, string> = { f: 'file', d: 'directory', l: 'symlink', p: 'fifo' };
  return out
    .trim()
    .split('\n')
    .map((line) => {
      const [y, s, p, l] = line.split('\t') as [string, string, string, string];
      return { path: p, type: types[y] ?? y, size: y === 'f' ? Number(s) : 0, link: l ?? '' };
    })
    .sort((a, b) => a.path.localeCompare(b.path));
}

/** Readers see a hard link where tar stored the second name; fold it to compare with find. */
function fold(entries: TarEntry[]): Listed[] {
  const files = new Map(entries.filter((e) => e.type === 'file').map((e) => [normalizePath(e.path), e.size]));
  return entries
    .map((e) => {
      const path = normalizePath(e.path);
      if (e.type === 'hardlink')
        return { path, type: 'file', size: files.get(normalizePath(e.linkname)) ?? -1, link: '' };
      return { path, type: e.type, size: e.size, link: e.type === 'symlink' ? e.linkname : '' };
    })
    .filter((e) => e.path !== '')
    .sort((a, b) => a.path.localeCompare(b.path));
}

async function streamEntries(
  bytes: Uint8Array,
  chunk: number,
): Promise<{ entries: TarEntry[]; data: Map<string, string> }> {
  const entries: TarEntry[] = [];
  const data = new Map<string, string>();
  const parser = new TarStreamParser({
    entry(e) {
      entries.push(e);
      const parts: Buffer[] = [];
      return {
        data: (c) => void parts.push(Buffer.from(c)),
        end: () => void data.set(normalizePath(e.path), Buffer.concat(parts).toString('utf8')),
      };
    },
  });
  for (let i = 0; i < bytes.length; i += chunk) await parser.push(bytes.subarray(i, i + chunk));
  parser.finish();
  expect(parser.ended).toBe(true);
  return { entries, data };
}

describe.each(['gnu', 'pax', 'oldgnu'])('GNU tar --format=%s', (format) => {
  const file = () => join(dir, `${format}.tar`);
  beforeAll(() => {
    sh('tar', ['-C', tree, `--format=${format}`, '-cf', file(), '.']);
  });

  it('indexes every entry by random access as find lists them', async () => {
    const bytes = readFileSync(file());
    const index = await indexTar(blobRandomAccess(new Blob([bytes])));
    expect(index.problems).toEqual([]);
    expect(fold(index.entries)).toEqual(findListing());
    // Data offsets point at the file contents.
    const host = index.entries.find((e) => normalizePath(e.path) === 'etc/hostname')!;
    expect(Buffer.from(bytes.subarray(host.dataOffset, host.dataOffset + host.size)).toString()).toBe(
      'layerlens\n',
    );
  });

  it('streams the same entries and data whatever the chunk size', async () => {
    const bytes = new Uint8Array(readFileSync(file()));
    const index = await indexTar(blobRandomAccess(new Blob([bytes])));
    for (const chunk of [1, 511, 513, 4096, 65_536]) {
      const { entries, data } = await streamEntries(bytes, chunk);
      expect(entries.map((e) => [e.path, e.type, e.size, e.linkname])).toEqual(
        index.entries.map((e) => [e.path, e.type, e.size, e.linkname]),
      );
      expect(data.get(longName)).toBe('long\n');
      expect(data.get('big.bin')?.length).toBe(70_000);
    }
  });

  it('reads times before the epoch', async () => {
    const index = await indexTar(blobRandomAccess(new Blob([readFileSync(file())])));
    const host = index.entries.find((e) => normalizePath(e.path) === 'etc/hostname')!;
    expect(host.mtime).toBe(-315619200);
  });
});

describe('POSIX ustar', () => {
  it('joins the prefix field and the name field', async () => {
    const u = join(dir, 'ustar-tree');
    const path = `${'p'.repeat(120)}/${'n'.repeat(60)}`;
    mkdirSync(join(u, 'p'.repeat(120)), { recursive: true });
    writeFileSync(join(u, path), 'prefixed\n');
    const f = join(dir, 'ustar.tar');
    sh('tar', ['-C', u, '--format=ustar', '-cf', f, path]);
    const bytes = readFileSync(f);
    expect(bytes.subarray(345, 345 + 120).toString()).toBe('p'.repeat(120)); // really in the prefix field
    const index = await indexTar(blobRandomAccess(new Blob([bytes])));
    expect(index.entries.map((e) => e.path)).toEqual([path]);
    const { data } = await streamEntries(new Uint8Array(bytes), 100);
    expect(data.get(path)).toBe('prefixed\n');
  });
});

describe('PAX records', () => {
  it('reads xattrs and the path GNU tar stores in a PAX header', async () => {
    const f = join(dir, 'xattr.tar');
    // Write the PAX xattr record the way GNU tar would for a file carrying one: in the entry's own
    // header (`:=`; `=` would put it in a global header, which is not applied).
    sh('tar', [
      '-C',
      tree,
      '--format=pax',
      '--pax-option=SCHILY.xattr.user.layer:=lens',
      '-cf',
      f,
      'etc/hostname',
    ]);
    const index = await indexTar(blobRandomAccess(new Blob([readFileSync(f)])));
    const e = index.entries.find((x) => x.path === 'etc/hostname')!;
    expect(e.xattrs).toEqual({ 'user.layer': 'lens' });
  });

  it('reads the PAX xattr layer of moby’s test data', async () => {
    const { SHARED } = await import('./helpers/tools');
    const bytes = readFileSync(
      join(SHARED, 'moby/daemon/builder/remotecontext/internal/tarsum/testdata/xattr/layer.tar'),
    );
    const index = await indexTar(blobRandomAccess(new Blob([bytes])));
    expect(index.problems).toEqual([]);
    const withXattrs = index.entries.filter((e) => e.xattrs);
    expect(withXattrs.length).toBeGreaterThan(0);
    const listed = sh('tar', [
      '-tf',
      join(SHARED, 'moby/daemon/builder/remotecontext/internal/tarsum/testdata/xattr/layer.tar'),
    ])
      .trim()
      .split('\n');
    expect(index.entries.map((e) => e.path)).toEqual(listed);
  });
});

/** Whether a command is installed (bsdtar is optional: libarchive-tools). */
function has(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/**
 * A file carrying a binary and a text user xattr, made with setfattr (package `attr`):
 *   setfattr -n user.bin -v 0x00ff1080 f; setfattr -n user.text -v 'hello layer' f
 *   setfattr -n 'user.with space' -v 0x09 f (a tab: text); setfattr -n 'user.p%c=e' -v x f
 * in the test's temporary directory, or /dev/shm when that file system has no user xattrs.
 */
function xattrTree(): string {
  for (const base of [dir, '/dev/shm']) {
    const t = mkdtempSync(join(base, 'xattr-tree-'));
    writeFileSync(join(t, 'f'), 'attrs\n');
    try {
      sh('setfattr', ['-n', 'user.bin', '-v', '0x00ff1080', join(t, 'f')]);
    } catch {
      rmSync(t, { recursive: true, force: true });
      continue;
    }
    if (base !== dir) afterAll(() => rmSync(t, { recursive: true, force: true }));
    sh('setfattr', ['-n', 'user.text', '-v', 'hello layer', join(t, 'f')]);
    sh('setfattr', ['-n', 'user.with space', '-v', '0x09', join(t, 'f')]);
    sh('setfattr', ['-n', 'user.p%c=e', '-v', 'x', join(t, 'f')]);
    return t;
  }
  throw new Error('no file system here takes user xattrs (setfattr failed in the temp dir and /dev/shm)');
}

/** Both readers' xattrs of the single entry `f`. */
async function xattrsOf(tar: string): Promise<Record<string, string> | null> {
  const bytes = readFileSync(tar);
  const index = await indexTar(blobRandomAccess(new Blob([bytes])));
  expect(index.problems).toEqual([]);
  const { entries } = await streamEntries(new Uint8Array(bytes), 7);
  const fromIndex = index.entries.find((e) => e.path === 'f')!.xattrs;
  expect(entries.find((e) => e.path === 'f')!.xattrs).toEqual(fromIndex);
  return fromIndex;
}

describe('xattr values', () => {
  let xt = '';
  beforeAll(() => {
    xt = xattrTree();
  });

  it('a binary xattr is shown as getfattr -e hex shows it, a text one as its text (GNU tar --xattrs)', async () => {
    const f = join(dir, 'gnu-xattrs.tar');
    // GNU tar writes SCHILY.xattr.<name> records with the attribute's raw bytes.
    sh('tar', ['--xattrs', '--xattrs-include=user.*', '--format=pax', '-C', xt, '-cf', f, 'f']);
    expect(readFileSync(f).includes(Buffer.from('SCHILY.xattr.user.bin=\x00\xff\x10\x80\n', 'latin1'))).toBe(
      true,
    );
    const hex = sh('getfattr', ['--absolute-names', '-e', 'hex', '-n', 'user.bin', join(xt, 'f')]);
    expect(hex).toContain('user.bin=0x00ff1080');
    expect(await xattrsOf(f)).toEqual({
      'user.bin': '0x00ff1080',
      'user.text': 'hello layer',
      'user.with space': '\t',
      'user.p%c=e': 'x',
    });
  });

  it.skipIf(!has('bsdtar'))(
    'LIBARCHIVE.xattr values are base64 and names URL-encoded (bsdtar, libarchive-tools)',
    async () => {
      const b = join(dir, 'bsdtar-xattrs.tar');
      // bsdtar writes each xattr twice: LIBARCHIVE.xattr.<url-encoded name>=<base64, unpadded>
      // and SCHILY.xattr.<name>=<raw bytes>; both must read the same.
      sh('bsdtar', ['--xattrs', '--format=pax', '-C', xt, '-cf', b, 'f']);
      const raw = readFileSync(b).toString('latin1');
      expect(raw).toContain('LIBARCHIVE.xattr.user.with%20space=');
      expect(await xattrsOf(b)).toEqual({
        'user.bin': '0x00ff1080',
        'user.text': 'hello layer',
        'user.with space': '\t',
        'user.p%c=e': 'x',
      });
      // The LIBARCHIVE records alone, as bsdtar wrote them, put into a GNU tar archive (GNU
      // tar re-escapes a "%" in a --pax-option keyword, so the names holding one are left out).
      const all = [...raw.matchAll(/\d+ (LIBARCHIVE\.xattr\.[^=]+)=([A-Za-z0-9+/=]*)\n/g)];
      expect(all.map((m) => m[1])).toEqual(
        expect.arrayContaining(['LIBARCHIVE.xattr.user.bin', 'LIBARCHIVE.xattr.user.with%20space']),
      );
      const records = all.filter((m) => !m[1]!.includes('%'));
      const g = join(dir, 'libarchive-only.tar');
      writeFileSync(join(dir, 'f'), 'attrs\n');
      sh('tar', [
        '--format=pax',
        // In the entry's own header (`:=`).
        ...records.map((m) => `--pax-option=${m[1]}:=${m[2]}`),
        '-C',
        dir,
        '-cf',
        g,
        'f',
      ]);
      expect(readFileSync(g).toString('latin1')).not.toContain('SCHILY');
      expect(await xattrsOf(g)).toEqual({ 'user.bin': '0x00ff1080', 'user.text': 'hello layer' });
    },
  );
});

describe('header checksums', () => {
  it('match GNU tar’s, aligned or not in their buffer, with bytes over 127, signed sums too', () => {
    // v7 format: a name over 127 bytes of UTF-8 stays in the header (no PAX record).
    sh('tar', ['--format=v7', '-C', tree, '-cf', join(dir, 'v7.tar'), 'résumé ünïcode.txt']);
    const header = new Uint8Array(readFileSync(join(dir, 'v7.tar'))).slice(0, 512);
    expect(header.some((b) => b > 127)).toBe(true);
    const at = (offset: number, block: Uint8Array) => {
      const buf = new Uint8Array(512 + 8);
      buf.set(block, offset);
      return buf.subarray(offset, offset + 512);
    };
    for (const offset of [0, 1, 2, 3, 4])
      expect(checksumMatches(at(offset, header)), `offset ${offset}`).toBe(true);
    // One byte off anywhere but in the checksum field itself fails, aligned or not.
    for (const i of [0, 99, 147, 156, 300, 511]) {
      const bad = header.slice();
      bad[i] = (bad[i] as number) ^ 0x01;
      for (const offset of [0, 3]) expect(checksumMatches(at(offset, bad)), `byte ${i}`).toBe(false);
    }
    // Historic tars stored the sum of signed chars: accepted too.
    let signed = 8 * 0x20;
    header.forEach((b, i) => {
      if (i < 148 || i >= 156) signed += b > 127 ? b - 256 : b;
    });
    const old = header.slice();
    old.set(new TextEncoder().encode(`${signed.toString(8).padStart(6, '0')}\0 `), 148);
    for (const offset of [0, 1]) expect(checksumMatches(at(offset, old))).toBe(true);
  });

  it('hold for the largest sums: every byte 0xff, aligned or not', () => {
    // The word-at-a-time sum keeps byte sums in 16-bit lanes: the most they can hold is reached
    // when every byte is 255 (504 × 255 + 8 spaces = 128,776 = 0o373410).
    const block = new Uint8Array(512).fill(0xff);
    block.set(new TextEncoder().encode('373410\0 '), 148);
    const buf = new Uint8Array(512 + 8);
    for (const offset of [0, 4, 1, 2]) {
      buf.fill(0);
      buf.set(block, offset);
      expect(checksumMatches(buf.subarray(offset, offset + 512)), `offset ${offset}`).toBe(true);
      expect(checksumMatches(buf, offset), `at ${offset}`).toBe(true);
      buf[offset + 511] = 0xfe;
      expect(checksumMatches(buf, offset), `changed, at ${offset}`).toBe(false);
    }
  });
});

describe('damaged tars', () => {
  it('names the offset of a header whose checksum is wrong', async () => {
    const bytes = new Uint8Array(readFileSync(join(dir, 'gnu.tar')));
    const index = await indexTar(blobRandomAccess(new Blob([bytes])));
    const second = index.entries[1]!;
    const damaged = bytes.slice();
    damaged[second.headerOffset + 10] = (damaged[second.headerOffset + 10] ?? 0) ^ 0x55; // inside the name field
    const result = await indexTar(blobRandomAccess(new Blob([damaged])));
    expect(result.entries.length).toBe(1);
    expect(result.problems).toMatchObject([{ code: 'tar-checksum', offset: second.headerOffset }]);
    const parser = new TarStreamParser({ entry: () => null });
    await expect(parser.push(damaged)).rejects.toMatchObject({
      code: 'tar-checksum',
      offset: second.headerOffset,
    });
  });

  it('reports a tar cut inside an entry’s data, with the entry and offsets', async () => {
    const bytes = new Uint8Array(readFileSync(join(dir, 'gnu.tar')));
    const index = await indexTar(blobRandomAccess(new Blob([bytes])));
    const big = index.entries.find((e) => e.path.endsWith('big.bin'))!;
    const cut = bytes.slice(0, big.dataOffset + 1000);
    const result = await indexTar(blobRandomAccess(new Blob([cut])));
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]).toMatchObject({
      code: 'tar-truncated',
      path: big.path,
      offset: big.dataOffset,
    });
    expect(result.problems[0]!.message).toContain('70000 bytes');
    const parser = new TarStreamParser({ entry: () => null });
    await parser.push(cut);
    expect(() => parser.finish()).toThrow(/big\.bin/);
  });

  it('refuses PAX records beyond the size limit', async () => {
    const f = join(dir, 'huge-pax.tar');
    sh('tar', [
      '-C',
      tree,
      '--format=pax',
      `--pax-option=comment=${'c'.repeat(5000)}`,
      '-cf',
      f,
      'etc/hostname',
    ]);
    const index = await indexTar(blobRandomAccess(new Blob([readFileSync(f)])), { maxMetaBytes: 1024 });
    expect(index.problems[0]).toMatchObject({ code: 'tar-header' });
    expect(index.problems[0]!.message).toMatch(/exceeds the 1024-byte limit/);
  });
});

describe('sparse entries (GNU tar --sparse)', () => {
  const src = join(dir, 'sparse');
  const tars: Record<string, Uint8Array<ArrayBuffer>> = {};

  beforeAll(() => {
    mkdirSync(src, { recursive: true });
    // 60 runs of data 64 KiB apart: 15 type S extension blocks' worth of map, a 1.0 map of 3 blocks.
    execFileSync('python3', [
      '-c',
      `
import sys
with open(sys.argv[1], 'wb') as f:
    f.truncate(60 << 16)
    for i in range(60): f.seek(i << 16); f.write(bytes([48 + i % 10]) * 100)
`,
      join(src, 'runs'),
    ]);
    writeFileSync(join(src, 'next'), 'after\n');
    for (const [name, args] of [
      ['S', ['--format=gnu']],
      ['1.0', ['--format=posix', '--sparse-version=1.0']],
    ] as const) {
      const f = join(dir, `sparse-${name}.tar`);
      sh('tar', ['--sparse', ...args, '-C', src, '-cf', f, 'runs', 'next']);
      tars[name] = new Uint8Array(readFileSync(f));
    }
  });

  it('streams the same map and stored bytes whatever the chunk size, and the entry after in place', async () => {
    const file = readFileSync(join(src, 'runs'));
    for (const [name, bytes] of Object.entries(tars)) {
      for (const chunk of [1, 7, 511, 512, 513, 65_536]) {
        const placed = Buffer.alloc(file.length);
        const entries: TarEntry[] = [];
        let next = '';
        const parser = new TarStreamParser({
          entry(e) {
            entries.push(e);
            if (e.path === 'next') return { data: (c) => void (next += Buffer.from(c).toString()), end() {} };
            const placer = new SparsePlacer(e.sparse!.map, (at, b) => placed.set(b, at));
            return { data: (c) => placer.push(c), end() {} };
          },
        });
        for (let i = 0; i < bytes.length; i += chunk) await parser.push(bytes.subarray(i, i + chunk));
        parser.finish();
        const runs = entries[0]!;
        expect(runs.path, name).toBe('runs');
        expect(runs.sparse?.realSize).toBe(file.length);
        expect(runs.sparse?.error).toBeNull();
        // A segment per run (GNU tar's map ends with an empty one at the real size).
        expect(runs.sparse!.map.filter((n, i) => i % 2 === 1 && n > 0)).toHaveLength(60);
        expect(placed.equals(file), `${name} ${chunk}`).toBe(true);
        expect(entries.map((e) => e.path)).toEqual(['runs', 'next']);
        expect(next).toBe('after\n');
      }
    }
  });

  it('the index skips a type S header’s extension blocks and names the sparse file it does not read', async () => {
    for (const [name, bytes] of Object.entries(tars)) {
      const index = await indexTar(blobRandomAccess(new Blob([bytes])));
      expect(
        index.entries.map((e) => normalizePath(e.path)),
        name,
      ).toEqual(['next']);
      const next = index.entries[0]!;
      expect(Buffer.from(bytes.subarray(next.dataOffset, next.dataOffset + next.size)).toString()).toBe(
        'after\n',
      );
      // At its own header: after the PAX header and its records for 1.0.
      const at = name === 'S' ? 0 : 1024;
      expect(index.problems.map((p) => [p.code, p.path, p.offset])).toEqual([['tar-sparse', 'runs', at]]);
    }
  });

  it('a tar cut inside a sparse map is reported with the entry', async () => {
    for (const bytes of Object.values(tars)) {
      const parser = new TarStreamParser({ entry: () => null });
      await parser.push(bytes.subarray(0, 1536));
      expect(() => parser.finish()).toThrow(/inside entry "runs"/);
    }
  });
});

describe('old tars', () => {
  it('a type NUL entry whose name ends in a slash is a directory, as GNU tar and Go read it', async () => {
    // Before ustar's type '5', a directory was a type NUL entry named with a trailing slash.
    const f = join(dir, 'old-dirs.tar');
    execFileSync('python3', [
      '-c',
      `
import io, sys, tarfile
with tarfile.open(sys.argv[1], 'w', format=tarfile.USTAR_FORMAT) as t:
    for name, data in (('d/', b''), ('d/f', b'abc'), ('g', b'xy')):
        ti = tarfile.TarInfo(name); ti.type = tarfile.AREGTYPE; ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
`,
      f,
    ]);
    const bytes = new Uint8Array(readFileSync(f));
    expect(String.fromCharCode(bytes[156]!)).toBe('\0');
    // GNU tar lists the first as a directory, the others as files.
    const tv = sh('tar', ['-tvf', f]).split('\n').filter(Boolean);
    expect(tv.map((l) => l[0])).toEqual(['d', '-', '-']);
    const { entries } = await streamEntries(bytes, 512);
    const index = await indexTar(blobRandomAccess(new Blob([bytes])));
    for (const list of [entries, index.entries]) {
      expect(list.map((e) => [normalizePath(e.path), e.type, e.size])).toEqual([
        ['d', 'directory', 0],
        ['d/f', 'file', 3],
        ['g', 'file', 2],
      ]);
    }
  });
});

describe('the end of a tar', () => {
  it('a lone zero block followed by more entries ends the listing with an error, where GNU tar stops', async () => {
    // Two GNU tar archives of one file each; the first cut after its entry and one zero block, the
    // second put after it.
    const src = join(dir, 'lone');
    mkdirSync(src, { recursive: true });
    writeFileSync(join(src, 'a'), 'a\n');
    writeFileSync(join(src, 'b'), 'b\n');
    sh('tar', ['-C', src, '-cf', join(src, 'a.tar'), 'a']);
    sh('tar', ['-C', src, '-cf', join(src, 'b.tar'), 'b']);
    const a = readFileSync(join(src, 'a.tar'));
    const lone = Buffer.concat([a.subarray(0, 1024), Buffer.alloc(512), readFileSync(join(src, 'b.tar'))]);
    const f = join(src, 'lone.tar');
    writeFileSync(f, lone);
    // GNU tar lists a, warns, and stops there.
    const gnu = spawnSync('tar', ['-tf', f], { encoding: 'utf8' });
    expect(gnu.stdout).toBe('a\n');
    expect(gnu.stderr).toContain('A lone zero block at 3');
    const seen: string[] = [];
    const parser = new TarStreamParser({ entry: (e) => void seen.push(e.path) });
    await expect(parser.push(new Uint8Array(lone))).rejects.toMatchObject({
      code: 'tar-header',
      offset: 1024,
    });
    expect(seen).toEqual(['a']);
    // The same archive with its two zero blocks is whole, and a stream that ends after one is too.
    for (const whole of [a, a.subarray(0, 1536)]) {
      const p = new TarStreamParser({ entry: () => null });
      await p.push(new Uint8Array(whole));
      expect(() => p.finish()).not.toThrow();
    }
  });
});
