/**
 * A compressed layer's pass in two halves joined by a MessagePort (as two digest workers run it):
 * the same digests and listing as one pass, against sha256sum and tar; bounded memory in flight;
 * failures and cancellation reach the other half instead of leaving it waiting.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { digestBlob, digestPlain } from '../../src/core/digest/digest-blob';
import type { DigestBlobOptions } from '../../src/core/digest/digest-blob';
import { PlainSender, receivePlain } from '../../src/core/digest/plain-pipe';
import { CancelledError } from '../../src/core/digest/read-blob';
import { createDigestPool, placeJob } from '../../src/worker/digest-pool';
import { blobOf, sh, sha256sum, tempDir } from './helpers/tools';

const dir = tempDir();
const plain = join(dir, 'layer.tar');

beforeAll(() => {
  sh('tar', ['-C', '/usr/share', '-cf', plain, 'doc/bash', 'common-licenses']);
  sh('gzip', ['-k', '-6', plain]);
  sh('zstd', ['-q', '-3', '-f', plain, '-o', `${plain}.zst`]);
});

/**
 * Both halves at once, as analyzeArchive runs them on two workers, both asked for the listing;
 * with `listSent` the sending half lists, and tells the receiving one, which then only hashes.
 * `listing`: whichever half made it.
 */
async function piped(blob: Blob, options: Omit<DigestBlobOptions, 'plainTo' | 'diffId'> = {}) {
  const { port1, port2 } = new MessageChannel();
  const [stored, received] = await Promise.all([
    digestBlob(blob, { ...options, diffId: true, plainTo: port1 }),
    digestPlain(port2, options),
  ]);
  // Exactly one half lists, the one `listSent` names.
  expect([stored.listing, received.listing].filter(Boolean)).toHaveLength(options.listing ? 1 : 0);
  if (options.listing) expect((options.listSent ? stored : received).listing).toBeDefined();
  return { stored, received, listing: stored.listing ?? received.listing };
}

const tarNames = (path: string) => sh('tar', ['-tf', path]).trim().split('\n');

describe('a layer piped between two jobs', () => {
  it.each([
    ['.gz', false],
    ['.zst', false],
    ['.gz', true],
    ['.zst', true],
  ])(
    '%s, listed by the sender: %s: digest, diff_id and listing as sha256sum and tar give them',
    async (ext, listSent) => {
      const { stored, received, listing } = await piped(await blobOf(plain + ext), {
        listing: true,
        layer: 'l',
        listSent,
      });
      expect(stored.digest).toBe(sha256sum(plain + ext));
      expect(stored.size).toBe(readFileSync(plain + ext).length);
      expect(stored.diffId).toBeNull(); // the sender does not hash what it sends
      expect(stored.error).toBeNull();
      expect(received.diffId).toBe(sha256sum(plain));
      expect(received.uncompressedSize).toBe(readFileSync(plain).length);
      expect(listing?.entries.map((e) => e.path)).toEqual(tarNames(plain).map((p) => p.replace(/\/$/, '')));
      expect(listing?.stopped).toBeNull();

      const onePass = await digestBlob(await blobOf(plain + ext), {
        diffId: true,
        listing: true,
        layer: 'l',
      });
      expect(listing).toEqual(onePass.listing);
    },
  );

  it.each([false, true])(
    'a corrupt gzip layer (listed by the sender: %s): no diff_id, and the listing stops as in one pass',
    async (listSent) => {
      const bytes = readFileSync(`${plain}.gz`);
      const cut = join(dir, 'cut.gz');
      writeFileSync(cut, bytes.subarray(0, bytes.length >> 1));
      const { stored, received, listing } = await piped(await blobOf(cut), {
        listing: true,
        layer: 'l',
        listSent,
      });
      expect(stored.digest).toBe(sha256sum(cut));
      expect(stored.error?.code).toBe('gzip-error');
      expect(received.diffId).toBeNull();
      const onePass = await digestBlob(await blobOf(cut), { diffId: true, listing: true, layer: 'l' });
      expect(listing).toEqual(onePass.listing);
      expect(listing?.stopped).toBe('decompress-error');
    },
  );

  it.each([false, true])(
    'the byte limit stops the sender (listed by the sender: %s), reported as one pass does',
    async (listSent) => {
      const limits = { maxUncompressedBytes: 100_000 };
      const { stored, received, listing } = await piped(await blobOf(`${plain}.gz`), {
        listing: true,
        layer: 'l',
        limits,
        listSent,
      });
      expect(stored.error?.code).toBe('limit');
      expect(received.diffId).toBeNull();
      const onePass = await digestBlob(await blobOf(`${plain}.gz`), {
        diffId: true,
        listing: true,
        layer: 'l',
        limits,
      });
      expect(listing).toEqual(onePass.listing);
      expect(listing?.problems.some((p) => p.code === 'limit')).toBe(true);
    },
  );

  it('a read that fails fails the receiver with the same message, instead of leaving it waiting', async () => {
    const bytes = new Uint8Array(readFileSync(`${plain}.gz`));
    const failing = {
      size: bytes.length,
      slice: () => failing,
      stream: () =>
        new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(bytes.slice(0, 300_000));
          },
          pull(c) {
            c.error(new Error('disk went away'));
          },
        }),
    } as unknown as Blob;
    const { port1, port2 } = new MessageChannel();
    const results = await Promise.allSettled([
      digestBlob(failing, { diffId: true, plainTo: port1 }),
      digestPlain(port2, { listing: true }),
    ]);
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'fulfilled'))).toEqual(
      ['disk went away', 'disk went away'],
    );
  });
});

describe('PlainSender and receivePlain', () => {
  const chunkOf = (n: number, fill: number) => new Uint8Array(n).fill(fill);

  it('keeps at most its window in flight while the receiver is slow, and delivers every byte in order', async () => {
    const { port1, port2 } = new MessageChannel();
    const window = 256 << 10;
    const batch = 64 << 10;
    const sender = new PlainSender(port1, { window, batch });
    let sent = 0;
    let consumed = 0;
    let maxInFlight = 0;
    const got: number[] = [];
    const receiving = receivePlain(port2, {
      chunk: async (c) => {
        await new Promise((r) => setTimeout(r, 1));
        consumed += c.length;
        got.push(c[0] as number, c.length);
      },
    });
    for (let i = 0; i < 64; i++) {
      await sender.send(chunkOf(32 << 10, i & 0xff), true);
      sent += 32 << 10;
      maxInFlight = Math.max(maxInFlight, sent - consumed);
    }
    await sender.end(null);
    expect(await receiving).toBeNull();
    expect(consumed).toBe(64 * (32 << 10));
    // In flight: the window, plus the batch that overdrew it, plus the chunk being queued.
    expect(maxInFlight).toBeLessThanOrEqual(window + batch + (32 << 10));
    expect(maxInFlight).toBeGreaterThan(batch); // the receiver really was behind
    expect(got.filter((_, i) => i % 2 === 0)).toEqual(Array.from({ length: 64 }, (_, i) => i));
  });

  it('transfers a fresh whole buffer and copies a view', async () => {
    const { port1, port2 } = new MessageChannel();
    const sender = new PlainSender(port1, { window: 1 << 20, batch: 1 });
    // What each chunk held when handed over: a copy's buffer goes back to the sender afterwards.
    const received: [number, number | undefined][] = [];
    const receiving = receivePlain(port2, { chunk: (c) => void received.push([c.length, c[0]]) });
    const fresh = chunkOf(1000, 7);
    const backing = chunkOf(2000, 9);
    const view = backing.subarray(500, 1500);
    const notFresh = chunkOf(1000, 5);
    await sender.send(fresh, true);
    await sender.send(view, true);
    await sender.send(notFresh, false);
    await sender.end(null);
    await receiving;
    expect(fresh.byteLength).toBe(0); // detached: transferred, not copied
    expect(backing.byteLength).toBe(2000); // the decoder's buffer is left alone
    expect(notFresh.byteLength).toBe(1000);
    expect(received).toEqual([
      [1000, 7],
      [1000, 9],
      [1000, 5],
    ]);
  });

  it('copies into buffers the receiver sends back: a window’s worth, however much is sent', async () => {
    const { port1, port2 } = new MessageChannel();
    const window = 4 << 20;
    const sender = new PlainSender(port1, { window });
    const hash = createHash('sha256');
    const expected = createHash('sha256');
    const receiving = receivePlain(port2, { chunk: (c) => void hash.update(c) });
    // 64 MiB as views of one reused 256 KiB buffer, as the zstd decoder hands them on.
    const decoderBuffer = new Uint8Array(256 << 10);
    for (let i = 0; i < 256; i++) {
      decoderBuffer.fill(i & 0xff, 0, 1000).fill(~i & 0xff, 1000);
      expected.update(decoderBuffer);
      await sender.send(decoderBuffer, false);
    }
    await sender.end(null);
    expect(await receiving).toBeNull();
    expect(hash.digest('hex')).toBe(expected.digest('hex'));
    expect(decoderBuffer.byteLength).toBe(256 << 10); // never transferred
    // 1 MiB buffers: the window, the batch that overdrew it, the one being filled.
    expect(sender.copyBuffersMade).toBeGreaterThan(1);
    expect(sender.copyBuffersMade).toBeLessThanOrEqual((window >> 20) + 2);
  });

  it('a sender waiting for credit gives up when the receiver is cancelled', async () => {
    const { port1, port2 } = new MessageChannel();
    const sender = new PlainSender(port1, { window: 64 << 10, batch: 16 << 10 });
    const controller = new AbortController();
    const receiving = receivePlain(port2, { chunk: () => new Promise(() => {}) }, controller.signal); // never consumes
    const sending = (async () => {
      for (let i = 0; ; i++) await sender.send(chunkOf(16 << 10, i), true);
    })();
    await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    await expect(receiving).rejects.toBeInstanceOf(CancelledError);
    await expect(sending).rejects.toBeInstanceOf(CancelledError);
  });
});

describe('placing the halves of piped layers on two workers (placeJob)', () => {
  interface Fake {
    name: string;
    busy: boolean;
    pending: Set<string>;
  }
  it('two layers: each sender on its own worker, each receiver on the other, receivers never busy', () => {
    const workers: Fake[] = [];
    const start = (job: string, plain: boolean) => {
      const w = placeJob(workers, 2, plain, () => {
        const made = { name: `W${workers.length + 1}`, busy: false, pending: new Set<string>() };
        workers.push(made);
        return made;
      });
      w.pending.add(job);
      return w.name;
    };
    // The order the analysis starts them in: a runner's sender, then its receiver, then the next.
    expect([start('S0', false), start('R0', true), start('S1', false), start('R1', true)]).toEqual([
      'W1',
      'W2',
      'W2',
      'W1',
    ]);
    // Only the senders hold their workers (a receiver never keeps the next sender off).
    expect(workers.map((w) => w.busy)).toEqual([true, true]);
    expect(workers.map((w) => [...w.pending].sort())).toEqual([
      ['R1', 'S0'],
      ['R0', 'S1'],
    ]);
    // One worker alone (hardwareConcurrency 1) takes everything.
    const one: Fake[] = [];
    const make = () => {
      const made = { name: 'only', busy: false, pending: new Set<string>() };
      one.push(made);
      return made;
    };
    expect(placeJob(one, 1, false, make).name).toBe('only');
    expect(placeJob(one, 1, true, make).name).toBe('only');
    expect(placeJob(one, 1, false, make).name).toBe('only');
    expect(one).toHaveLength(1);
  });
});

describe('the digest pool (a stand-in for Worker, as Node has none)', () => {
  /** Each stand-in takes the next behaviour: 'dead' fails as a module that cannot load does. */
  const behaviours: ('dead' | 'ok')[] = [];
  const made: FakeWorker[] = [];
  class FakeWorker {
    onmessage: ((e: { data: unknown }) => void) | null = null;
    onerror: ((e: { message: string; preventDefault(): void }) => void) | null = null;
    terminated = false;
    readonly jobs: { type: string; id: number }[] = [];
    readonly behaviour = behaviours.shift() ?? 'ok';
    constructor() {
      made.push(this);
      if (this.behaviour === 'dead')
        setTimeout(() => this.onerror?.({ message: 'the module could not load', preventDefault() {} }), 0);
    }
    postMessage(job: { type: string; id: number }): void {
      this.jobs.push(job);
      if (this.behaviour === 'ok' && job.type === 'digest')
        setTimeout(
          () => this.onmessage?.({ data: { type: 'result', id: job.id, result: { digest: 'sha256:ok' } } }),
          0,
        );
    }
    terminate(): void {
      this.terminated = true;
    }
  }
  const tick = () => new Promise((r) => setTimeout(r, 5));
  const job = (pool: ReturnType<typeof createDigestPool>) =>
    pool.verifier(new Blob(['x']), { diffId: false, onProgress: () => {} });
  afterEach(() => {
    vi.unstubAllGlobals();
    behaviours.length = 0;
    made.length = 0;
  });

  it('starts its workers at once, before any job', () => {
    vi.stubGlobal('Worker', FakeWorker);
    createDigestPool(2);
    expect(made).toHaveLength(2);
    expect(made.every((w) => w.jobs.length === 0)).toBe(true);
  });

  it('drops a worker that failed before its first job: the job goes to a new one', async () => {
    vi.stubGlobal('Worker', FakeWorker);
    behaviours.push('dead', 'dead', 'ok');
    const pool = createDigestPool(2);
    await tick(); // both have failed while idle
    expect(made.map((w) => w.terminated)).toEqual([true, true]);
    // The job is not posted to a dead worker (it would wait for ever): a new one answers it.
    await expect(job(pool)).resolves.toMatchObject({ digest: 'sha256:ok' });
    expect(made).toHaveLength(3);
    expect(made[2]!.jobs.map((j) => j.type)).toEqual(['digest']);
  });

  it('a module that never loads fails each job with the reason, instead of leaving it waiting', async () => {
    vi.stubGlobal('Worker', FakeWorker);
    behaviours.push('dead', 'dead', 'dead', 'dead');
    const pool = createDigestPool(2);
    const first = job(pool); // posted before the failure is known
    await expect(first).rejects.toThrow('digest worker failed: the module could not load');
    await tick();
    const later = [job(pool), job(pool)];
    for (const p of later) await expect(p).rejects.toThrow('digest worker failed: the module could not load');
    expect(made).toHaveLength(4);
    expect(made.every((w) => w.terminated)).toBe(true);
  });
});
