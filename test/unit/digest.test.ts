/**
 * One-pass digesting against the native tools: sha256sum of the stored bytes, and
 * `gzip -dc | sha256sum` / `zstd -dc | sha256sum` for the diff_id.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BlobDigester } from '../../src/core/digest/blob-digester';
import { createDecompressor } from '../../src/core/digest/decompress';
import { digestBlob } from '../../src/core/digest/digest-blob';
import { sha256OfBytes } from '../../src/core/digest/sha256';
import { SHARED, blobOf, sh, sha256sum, tempDir } from './helpers/tools';

const dir = tempDir();
const plain = join(dir, 'layer.tar');

beforeAll(() => {
  // A layer-like tar of a few MB of real files, so chunks cross many boundaries.
  sh('tar', ['-C', '/usr/share', '-cf', plain, 'doc/bash', 'common-licenses']);
  writeFileSync(`${plain}.gz`, sh('bash', ['-c', `gzip -c -6 ${plain} | base64 -w0`]), 'base64');
  sh('zstd', ['-q', '-3', '-f', plain, '-o', `${plain}.zst`]);
});

describe('BlobDigester', () => {
  it.each([
    ['none', ''],
    ['gzip', '.gz'],
    ['zstd', '.zst'],
  ])('digests a %s layer and its diff_id like sha256sum', async (compression, ext) => {
    const r = await digestBlob(await blobOf(plain + ext), { diffId: true });
    expect(r.compression).toBe(compression);
    expect(r.digest).toBe(sha256sum(plain + ext));
    expect(r.diffId).toBe(sha256sum(plain));
    expect(r.uncompressedSize).toBe(readFileSync(plain).length);
    expect(r.error).toBeNull();
  });

  it('gives the same digests for any chunking, down to a byte at a time at the start', async () => {
    const bytes = new Uint8Array(readFileSync(`${plain}.gz`));
    const d = await BlobDigester.create({ diffId: true });
    let i = 0;
    for (const size of [1, 1, 1, 2, 3, 7, 4096, 100_000]) {
      await d.write(bytes.subarray(i, i + size));
      i += size;
    }
    await d.write(bytes.subarray(i));
    const r = await d.finish();
    expect(r.digest).toBe(sha256sum(`${plain}.gz`));
    expect(r.diffId).toBe(sha256sum(plain));
  });

  it('reports a truncated gzip layer and still digests its stored bytes', async () => {
    const bytes = readFileSync(`${plain}.gz`);
    const cut = join(dir, 'cut.gz');
    writeFileSync(cut, bytes.subarray(0, bytes.length >> 1));
    const r = await digestBlob(await blobOf(cut), { diffId: true });
    expect(r.digest).toBe(sha256sum(cut));
    expect(r.diffId).toBeNull();
    expect(r.error?.code).toBe('gzip-error');
  });

  it('reports truncated zstd data', async () => {
    const bytes = new Uint8Array(readFileSync(`${plain}.zst`));
    const d = await BlobDigester.create({ diffId: true });
    await d.write(bytes.subarray(0, bytes.length - 5000));
    const r = await d.finish();
    expect(r.diffId).toBeNull();
    expect(r.error?.code).toBe('zstd-error');
  });

  it('gives a different diff_id for corrupt zstd data (fzstd does not check frame checksums)', async () => {
    const bytes = new Uint8Array(readFileSync(`${plain}.zst`));
    bytes.fill(0x41, 100, 4000);
    const d = await BlobDigester.create({ diffId: true });
    await d.write(bytes);
    const r = await d.finish();
    expect(r.diffId).not.toBe(sha256sum(plain));
  });

  it('decodes the zstd tar of go-containerregistry’s crane tests', async () => {
    const f = join(SHARED, 'go-containerregistry/pkg/crane/testdata/content.tar.zst');
    const r = await digestBlob(await blobOf(f), { diffId: true });
    expect(r.compression).toBe('zstd');
    expect(r.diffId).toBe(sha256sum(join(SHARED, 'go-containerregistry/pkg/crane/testdata/content.tar')));
  });

  it('skips decompression when no diff_id is wanted', async () => {
    const r = await digestBlob(await blobOf(`${plain}.gz`), { diffId: false });
    expect(r.digest).toBe(sha256sum(`${plain}.gz`));
    expect(r.diffId).toBeNull();
    expect(r.uncompressedSize).toBeNull();
  });
});

describe('gzip without DecompressionStream (pako)', () => {
  it('decompresses like gzip -dc', async () => {
    const saved = globalThis.DecompressionStream;
    // @ts-expect-error: simulate a browser without the Compression Streams API
    delete globalThis.DecompressionStream;
    try {
      const out: Uint8Array[] = [];
      const d = createDecompressor('gzip', (c) => void out.push(c.slice()));
      const bytes = new Uint8Array(readFileSync(`${plain}.gz`));
      for (let i = 0; i < bytes.length; i += 65_536) await d.write(bytes.subarray(i, i + 65_536));
      await d.close();
      const all = new Uint8Array(out.reduce((n, c) => n + c.length, 0));
      let o = 0;
      for (const c of out) {
        all.set(c, o);
        o += c.length;
      }
      expect(await sha256OfBytes(all)).toBe(sha256sum(plain));
    } finally {
      globalThis.DecompressionStream = saved;
    }
  });
});
