/**
 * The registry client and analyzeRegistry against Debian's docker-registry on 127.0.0.1, filled by
 * skopeo, through the real proxy started in-process; results compared with `skopeo inspect --raw`.
 */
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRegistryProxy } from '../../proxy/registry-proxy';
import type { Analysis, ImageInfo, LayerRef } from '../../src/core/model';
import { buildReport } from '../../src/core/report';
import { MAX_DOCUMENT_BYTES, PROXY_HEADER, PROXY_RELAYED } from '../../src/core/registry/proxy-protocol';
import {
  MANIFEST_ACCEPT,
  RegistryClient,
  RegistryError,
  fetchBlobAndDigest,
  parseLinkNext,
  parseWwwAuthenticate,
} from '../../src/core/registry/client';
import {
  RegistryAnalysisError,
  analyzeRegistry,
  fetchVerifiedBlob,
} from '../../src/core/registry/analyze-registry';
import type { BlobCache, CachedLayer } from '../../src/core/registry/analyze-registry';
import type { BlobRequest } from '../../src/core/registry/client';
import {
  fillRegistry,
  makeTempDir,
  makeTestKeys,
  removeDir,
  skopeoInspectRaw,
  startRegistry,
  startServer,
  startTokenAuthRegistry,
  type RunningRegistry,
  type TestServer,
  type TokenIssuer,
} from './helpers/registry';
import { DATA } from './helpers/tools';
import { LISTING_VERSION } from '../../src/core/layers/layer-listing';
import { packListing } from '../../src/core/layers/listing-transfer';
import { CacheFullError, IdbBlobCache } from '../../src/worker/blob-cache';
import type { KeyValueBackend } from '../../src/worker/key-value';
import { memoryBackend } from './helpers/key-value';

const TESTREPO = '/work/shared/fixtures/regclient/testdata/testrepo';
const SERVICE = 'layerlens-client-test';
const sha = (s: string | Uint8Array) => `sha256:${createHash('sha256').update(s).digest('hex')}`;

let work: string;
let registry: RunningRegistry;
let tokenRegistry: RunningRegistry;
let issuer: TokenIssuer;
let proxyBase: string;
let closeProxy: () => Promise<void>;
let digests: Record<string, string>;
const servers: TestServer[] = [];
const hasTestrepo = existsSync(join(TESTREPO, 'index.json'));

beforeAll(async () => {
  work = await makeTempDir('layerlens-client-');
  const storageDir = join(work, 'storage');
  registry = await startRegistry({ storageDir, configDir: work, schema1: true });
  ({ digests } = await fillRegistry(registry.host, work, DATA, {
    schema1: true,
    regclientTestrepo: hasTestrepo ? TESTREPO : undefined,
  }));
  const keys = await makeTestKeys(work, []);
  ({ registry: tokenRegistry, issuer } = await startTokenAuthRegistry({
    storageDir,
    configDir: work,
    keys,
    service: SERVICE,
    issuer: 'layerlens-client-issuer',
  }));
  const proxy = createRegistryProxy({ allowLocal: true });
  const server = http.createServer((req, res) => {
    if (!proxy(req, res)) {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxyBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  closeProxy = () =>
    new Promise<void>((resolve) => {
      proxy.close();
      server.closeAllConnections();
      server.close(() => resolve());
    });
}, 120_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await closeProxy?.();
  await Promise.all([registry?.stop(), tokenRegistry?.stop(), issuer?.close()]);
  if (work) await removeDir(work);
});

const client = (host = registry.host, extra: Partial<ConstructorParameters<typeof RegistryClient>[0]> = {}) =>
  new RegistryClient({ fetch: (u, i) => fetch(u, i), base: proxyBase, host, insecure: true, ...extra });

const analyze = (reference: string, extra: Partial<Parameters<typeof analyzeRegistry>[1]> = {}) =>
  analyzeRegistry(reference, { fetch: (u, i) => fetch(u, i), base: proxyBase, ...extra });

function allVerified(a: Analysis, digest: string): void {
  const blob = a.blobs[digest];
  expect(blob?.digestCheck.state, digest).toBe('verified');
  expect(blob?.sizeCheck.state, digest).toBe('verified');
}

describe('parsers', () => {
  it('parses WWW-Authenticate challenges', () => {
    expect(
      parseWwwAuthenticate('Bearer realm="/token/abc",service="reg, x",scope="repository:a/b:pull"'),
    ).toEqual([
      { scheme: 'bearer', params: { realm: '/token/abc', service: 'reg, x', scope: 'repository:a/b:pull' } },
    ]);
    expect(parseWwwAuthenticate('Basic realm="Registry Realm"')).toEqual([
      { scheme: 'basic', params: { realm: 'Registry Realm' } },
    ]);
  });
  it('parses Link rel=next', () => {
    expect(parseLinkNext('</v2/a/tags/list?last=b&n=1>; rel="next"')).toBe('/v2/a/tags/list?last=b&n=1');
    expect(parseLinkNext(null)).toBeNull();
  });
  it('lists every manifest type in one Accept header', () => {
    for (const t of [
      'oci.image.index',
      'oci.image.manifest',
      'manifest.list.v2',
      'manifest.v2+json',
      'v1+prettyjws',
    ])
      expect(MANIFEST_ACCEPT).toContain(t);
  });
});

describe('RegistryClient against docker-registry through the proxy', () => {
  it('fetches a manifest by tag with its digest computed from the bytes, as skopeo sees it', async () => {
    const c = client();
    const m = await c.manifest('test/app', '1');
    const raw = await skopeoInspectRaw(`${registry.host}/test/app:1`);
    expect(m.text).toBe(raw);
    expect(m.digest).toBe(sha(raw));
    expect(m.digest).toBe(digests['test/app:1']);
    const again = await c.manifest('test/app', m.digest);
    expect(again.digest).toBe(m.digest);
  });

  it('refuses a by-digest fetch that does not hash to the digest (a tampering registry)', async () => {
    const evil = await startServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' });
      res.end('{"schemaVersion":2}');
    });
    servers.push(evil);
    const c = client(`127.0.0.1:${evil.port}`);
    const wanted = `sha256:${'a'.repeat(64)}`;
    await expect(c.manifest('x/y', wanted)).rejects.toMatchObject({ problem: { code: 'digest-mismatch' } });
  });

  it('reads no more of an answer than it means to: a manifest over the document limit, a config longer than its descriptor, a huge error page', async () => {
    // A server that streams 32 times the document limit in 1 MiB writes (without Content-Length,
    // so only reading tells the length), and records how much it got to write before the client
    // stopped reading and the connection closed. 128 MiB is more than the client reads plus what
    // the kernel's socket buffers (up to 32 MiB here) take in before the writes stall. The client talks to it directly, as if through the
    // proxy: the proxy has a limit of its own for manifests, and the client must not rely on it.
    const written = new Map<string, number>();
    const total = MAX_DOCUMENT_BYTES * 32;
    const flood = await startServer((req, res) => {
      const key = (req.url ?? '').slice((req.url ?? '').indexOf('/v2/'));
      res.writeHead(key.endsWith('/broken') ? 500 : 200, {
        'Content-Type': 'application/json',
        [PROXY_HEADER]: PROXY_RELAYED,
      });
      const chunk = Buffer.alloc(1 << 20, 0x20);
      written.set(key, 0);
      const pump = () => {
        while ((written.get(key) as number) < total) {
          written.set(key, (written.get(key) as number) + chunk.length);
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => res.removeAllListeners('drain'));
      pump();
    });
    servers.push(flood);
    const c = new RegistryClient({ fetch: (u, i) => fetch(u, i), base: flood.origin, host: 'flood.test' });
    const big = (await c.manifest('x/y', 'big').catch((e: unknown) => e)) as RegistryError;
    expect(big.problem).toMatchObject({
      code: 'invalid-document',
      message: `the manifest is more than ${MAX_DOCUMENT_BYTES} bytes, the limit for a JSON document; it was not read further`,
    });
    const tags = (await c.tags('x/y').catch((e: unknown) => e)) as RegistryError;
    expect(tags.problem).toMatchObject({ code: 'invalid-document' });
    expect(tags.problem.message).toMatch(/^the tag list is more than/);
    const digest = `sha256:${'b'.repeat(64)}`;
    const config = (await c.blobBytes('x/y', digest, 1234).catch((e: unknown) => e)) as RegistryError;
    expect(config.problem).toMatchObject({
      code: 'size-mismatch',
      message: 'the blob is longer than the 1234 bytes its descriptor gives; it was not read further',
    });
    const broken = (await c.manifest('x/y', 'broken').catch((e: unknown) => e)) as RegistryError;
    expect(broken.problem.code).toBe('registry-server');
    expect(broken.problem.message).toBe('the registry failed (500)');
    // Each answer was dropped long before its end: the server never got to write it all.
    expect([...written.keys()].sort()).toEqual(
      [
        '/v2/x/y/manifests/big',
        '/v2/x/y/tags/list?n=1000',
        `/v2/x/y/blobs/${digest}`,
        '/v2/x/y/manifests/broken',
      ].sort(),
    );
    for (const [key, n] of written) expect(n, key).toBeLessThan(total);
  });

  it('a config the registry will not give whole is said so, and the image stays with its layers verified', async () => {
    // test/app:1's own manifest and blobs, from the real registry, served by a stand-in that gives
    // the config with bytes after it, or answers 404 for it as docker-registry does.
    const raw = await skopeoInspectRaw(`${registry.host}/test/app:1`);
    const m = JSON.parse(raw) as {
      mediaType?: string;
      config: { digest: string; size: number };
      layers: { digest: string }[];
    };
    const blobs = new Map<string, Buffer>();
    for (const d of [m.config.digest, ...m.layers.map((l) => l.digest)]) {
      const res = await fetch(`http://${registry.host}/v2/test/app/blobs/${d}`);
      blobs.set(d, Buffer.from(await res.arrayBuffer()));
    }
    for (const mode of ['longer', 'missing'] as const) {
      const stand = await startServer((req, res) => {
        const url = req.url ?? '';
        const relayed = { [PROXY_HEADER]: PROXY_RELAYED };
        if (url.endsWith('/manifests/1')) {
          res.writeHead(200, {
            ...relayed,
            'Content-Type': m.mediaType ?? 'application/vnd.oci.image.manifest.v1+json',
          });
          return void res.end(raw);
        }
        const digest = url.slice(url.lastIndexOf('/') + 1);
        const bytes = blobs.get(digest);
        if (!bytes || (digest === m.config.digest && mode === 'missing')) {
          res.writeHead(404, { ...relayed, 'Content-Type': 'application/json' });
          return void res.end('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}');
        }
        res.writeHead(200, relayed);
        res.end(digest === m.config.digest ? Buffer.concat([bytes, Buffer.alloc(64, 0x20)]) : bytes);
      });
      servers.push(stand);
      const a = await analyzeRegistry(`127.0.0.1:${stand.port}/test/app:1`, {
        fetch: (u, i) => fetch(u, i),
        base: stand.origin,
        insecure: true,
      });
      const about = a.problems.filter((p) => p.where.endsWith(m.config.digest));
      expect(
        about.map((p) => [p.code, p.severity]),
        mode,
      ).toEqual([[mode === 'longer' ? 'size-mismatch' : 'registry-not-found', 'error']]);
      // Not "missing from the archive": there is no archive.
      expect(a.problems.filter((p) => p.code === 'missing-blob')).toEqual([]);
      const config = a.blobs[m.config.digest];
      if (mode === 'longer') {
        expect(config?.sizeCheck).toEqual({
          state: 'mismatch',
          expected: String(m.config.size),
          actual: `more than ${m.config.size}`,
        });
      } else {
        expect(config?.sizeCheck).toMatchObject({ state: 'unchecked', reason: expect.stringMatching(/404/) });
      }
      const image = a.images[0] as ImageInfo;
      expect(image.layers.map((l) => l.digest)).toEqual(m.layers.map((l) => l.digest));
      for (const l of image.layers) expect(a.blobs[l.blob]?.digestCheck.state, l.blob).toBe('verified');
    }
  });

  it('a platform whose manifest the registry will not give is said so, not as one left out of an archive', async () => {
    // An index of two real manifests (test/app:1 and test/docker:1, from the real registry), served
    // by a stand-in that answers 404 for the second, as docker-registry does for an unknown manifest.
    const manifests = await Promise.all(
      ['test/app:1', 'test/docker:1'].map(async (ref) => {
        const raw = await skopeoInspectRaw(`${registry.host}/${ref}`);
        const m = JSON.parse(raw) as { mediaType?: string; config: { digest: string } };
        const mediaType = m.mediaType ?? 'application/vnd.oci.image.manifest.v1+json';
        return { ref, raw, digest: sha(raw), mediaType, config: m.config.digest };
      }),
    );
    const [present, gone] = manifests as [(typeof manifests)[0], (typeof manifests)[0]];
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        [present, 'amd64'],
        [gone, 'arm64'],
      ].map(([m, architecture]) => {
        const { mediaType, digest, raw } = m as (typeof manifests)[0];
        return { mediaType, digest, size: Buffer.byteLength(raw), platform: { os: 'linux', architecture } };
      }),
    });
    const config = Buffer.from(
      await (await fetch(`http://${registry.host}/v2/test/app/blobs/${present.config}`)).arrayBuffer(),
    );
    const stand = await startServer((req, res) => {
      const url = req.url ?? '';
      const relayed = { [PROXY_HEADER]: PROXY_RELAYED };
      if (url.endsWith('/manifests/1')) {
        res.writeHead(200, { ...relayed, 'Content-Type': 'application/vnd.oci.image.index.v1+json' });
        return void res.end(index);
      }
      if (url.endsWith(`/manifests/${present.digest}`)) {
        res.writeHead(200, { ...relayed, 'Content-Type': present.mediaType });
        return void res.end(present.raw);
      }
      if (url.endsWith(`/blobs/${present.config}`)) {
        res.writeHead(200, relayed);
        return void res.end(config);
      }
      res.writeHead(404, { ...relayed, 'Content-Type': 'application/json' });
      res.end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
    });
    servers.push(stand);
    const a = await analyzeRegistry(`127.0.0.1:${stand.port}/test/multi:1`, {
      fetch: (u, i) => fetch(u, i),
      base: stand.origin,
      insecure: true,
      layers: false,
    });
    expect(a.problems.filter((p) => p.where.endsWith(gone.digest)).map((p) => [p.code, p.severity])).toEqual([
      ['registry-not-found', 'warning'],
    ]);
    const absent = a.images.find((i) => i.id === gone.digest);
    expect(absent?.present).toBe(false);
    expect(absent?.absentReason).toMatch(
      /^The registry lists platform linux\/arm64, but its manifest could not be fetched: not found \(404\)/,
    );
    expect(a.blobs[gone.digest]?.digestCheck).toMatchObject({
      reason: expect.stringMatching(/^its manifest could not be fetched/),
    });
    expect(a.images.find((i) => i.id === present.digest)?.present).toBe(true);
  });

  it('maps 404, 429 with Retry-After, 5xx and network errors to clear problems, and captures rate limits', async () => {
    const c = client();
    await expect(c.manifest('test/nothing', '1')).rejects.toMatchObject({
      status: 404,
      problem: { code: 'registry-not-found' },
    });
    const limited = await startServer((req, res) => {
      if (req.url?.includes('/manifests/busy')) {
        res.writeHead(503, { 'Content-Type': 'application/json' });
        res.end('{"errors":[{"code":"UNAVAILABLE","message":"try later"}]}');
        return;
      }
      res.writeHead(429, {
        'Retry-After': '42',
        'RateLimit-Limit': '100;w=21600',
        'RateLimit-Remaining': '0;w=21600',
      });
      res.end('{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}');
    });
    servers.push(limited);
    const l = client(`127.0.0.1:${limited.port}`);
    const e = (await l.manifest('library/alpine', 'latest').catch((x: unknown) => x)) as RegistryError;
    expect(e).toBeInstanceOf(RegistryError);
    expect(e.problem.code).toBe('registry-rate-limit');
    expect(e.problem.message).toContain('42 s');
    expect(e.problem.message).toContain('slow down');
    expect(l.rateLimit).toEqual({ limit: '100;w=21600', remaining: '0;w=21600' });
    await expect(l.manifest('a/b', 'busy')).rejects.toMatchObject({
      status: 503,
      problem: { code: 'registry-server', message: 'the registry failed (503) (UNAVAILABLE: try later)' },
    });
    // Nothing listens there: the proxy's own 502 is not the registry's failure.
    const gone = await startServer((_req, res) => res.end());
    await gone.close();
    const closed = client(`127.0.0.1:${gone.port}`);
    const refused = (await closed.manifest('a/b', 'c').catch((x: unknown) => x)) as RegistryError;
    expect(refused).toBeInstanceOf(RegistryError);
    expect(refused.problem).toMatchObject({
      code: 'registry-network',
      message: `could not reach 127.0.0.1:${gone.port} (the proxy answered 502): The upstream server refused the connection.`,
    });
    const dead = new RegistryClient({
      fetch: () => Promise.reject(new TypeError('fetch failed')),
      base: proxyBase,
      host: registry.host,
    });
    await expect(dead.manifest('a/b', 'c')).rejects.toMatchObject({ problem: { code: 'registry-network' } });
  });

  it('says so when the page’s server answers itself, with no proxy to relay (a static host)', async () => {
    // A static host answers /registry/… with its own page (200, a single-page app's fallback) or
    // a 404 of its own: neither is the registry's answer.
    for (const status of [200, 404]) {
      const plain = await startServer((_req, res) => {
        res.writeHead(status, { 'Content-Type': 'text/html' });
        res.end('<!doctype html><title>Layerlens</title>');
      });
      servers.push(plain);
      const base = `http://127.0.0.1:${plain.port}`;
      const c = new RegistryClient({
        fetch: (u, i) => fetch(u, i),
        base,
        host: registry.host,
        insecure: true,
      });
      const e = (await c.manifest('test/image', '1').catch((x: unknown) => x)) as RegistryError;
      expect(e).toBeInstanceOf(RegistryError);
      expect(e.problem.code).toBe('registry-network');
      expect(e.problem.message).toContain(`${base} answered the request itself (HTTP ${status})`);
      expect(e.problem.message).toContain('runs no registry proxy');
      expect(plain.requests.map((r) => r.url)).toEqual([
        `/registry-insecure/${registry.host}/v2/test/image/manifests/1`,
      ]);
    }
    // Through the proxy, every answer carries the header, errors included.
    const res = await fetch(`${proxyBase}/registry-insecure/${registry.host}/v2/test/nothing/manifests/1`);
    expect(res.status).toBe(404);
    expect(res.headers.get(PROXY_HEADER)).toBe(PROXY_RELAYED);
  });

  it('lists tags following Link pagination', async () => {
    const c = client();
    expect((await c.tags('test/multi', undefined, 1)).sort()).toEqual(['1', '2']);
  });

  it('streams a blob whose bytes hash to its digest', async () => {
    const c = client();
    const m = await c.manifest('test/app', '1');
    const layer = (m.value?.layers as Array<{ digest: string; size: number }>)[0] as {
      digest: string;
      size: number;
    };
    const { stream } = await c.blob('test/app', layer.digest);
    const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
    expect(bytes.length).toBe(layer.size);
    expect(sha(bytes)).toBe(layer.digest);
  });

  it('gets an anonymous-less token with credentials, caches it until it expires', async () => {
    let now = 1_000_000;
    const anon = client(tokenRegistry.host);
    await expect(anon.manifest('test/app', '1')).rejects.toMatchObject({
      problem: { code: 'registry-auth' },
    });
    const c = client(tokenRegistry.host, {
      credentials: { username: 'alice', password: 'wonderland' },
      now: () => now,
    });
    const before = issuer.requests.length;
    const m = await c.manifest('test/app', '1');
    expect(m.digest).toBe(digests['test/app:1']);
    await c.manifest('test/app', m.digest);
    await c.tags('test/app');
    expect(issuer.requests.length - before).toBe(1);
    expect(c.cachedTokens).toBe(1);
    now += 400_000; // the issuer's tokens last 300 s
    await c.manifest('test/app', m.digest);
    expect(issuer.requests.length - before).toBe(2);
    const wrong = client(tokenRegistry.host, { credentials: { username: 'alice', password: 'nope' } });
    await expect(wrong.manifest('test/app', '1')).rejects.toMatchObject({
      problem: { code: 'registry-auth', message: expect.stringContaining('refused the credentials') },
    });
  });

  it('gets an anonymous Bearer token through the proxy-rewritten realm', async () => {
    const tokenServer = await startServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ token: 'anon-token', expires_in: 300 }));
    });
    servers.push(tokenServer);
    const fake = await startServer((req, res) => {
      if (req.headers.authorization !== 'Bearer anon-token') {
        res.writeHead(401, {
          'WWW-Authenticate': `Bearer realm="${tokenServer.origin}/token",service="fake",scope="repository:a/b:pull"`,
        });
        res.end();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"name":"a/b","tags":["1","2"]}');
    });
    servers.push(fake);
    const c = client(`127.0.0.1:${fake.port}`);
    expect(await c.tags('a/b')).toEqual(['1', '2']);
    expect(await c.tags('a/b')).toEqual(['1', '2']);
    expect(tokenServer.requests).toHaveLength(1);
    const asked = new URL(tokenServer.requests[0]?.url ?? '', 'http://x');
    expect(asked.searchParams.get('service')).toBe('fake');
    expect(asked.searchParams.get('scope')).toBe('repository:a/b:pull');
    expect(tokenServer.requests[0]?.headers.authorization).toBeUndefined();
    // The second call sent the cached token at once.
    expect(fake.requests.map((r) => r.headers.authorization ?? '')).toEqual([
      '',
      'Bearer anon-token',
      'Bearer anon-token',
    ]);
  });

  it('sends Basic credentials to a registry that asks for Basic', async () => {
    const seen: string[] = [];
    const basic = await startServer((req, res) => {
      const auth = req.headers.authorization ?? '';
      seen.push(auth);
      if (auth !== `Basic ${Buffer.from('bob:secret').toString('base64')}`) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="test"' });
        res.end();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"name":"a/b","tags":["x"]}');
    });
    servers.push(basic);
    const c = client(`127.0.0.1:${basic.port}`, { credentials: { username: 'bob', password: 'secret' } });
    expect(await c.tags('a/b')).toEqual(['x']);
    expect(seen[0]).toBe('');
  });
});

describe('analyzeRegistry', () => {
  it('analyses an OCI image: graph, verified layers and diff_ids, report source', async () => {
    const ref = `${registry.host}/test/app:1`;
    const a = await analyze(ref);
    expect(a.complete).toBe(true);
    const manifest = JSON.parse(await skopeoInspectRaw(ref)) as {
      config: { digest: string };
      layers: Array<{ digest: string }>;
    };
    const config = await skopeoInspectRaw(ref, true);
    expect(a.images).toHaveLength(1);
    const image = a.images[0];
    expect(image?.manifestDigest).toBe(digests['test/app:1']);
    expect(image?.configDigest).toBe(manifest.config.digest);
    expect(sha(config)).toBe(manifest.config.digest);
    expect(image?.layers.map((l) => l.digest)).toEqual(manifest.layers.map((l) => l.digest));
    expect(image?.refs).toEqual([`${registry.host}/test/app:1`]);
    for (const l of manifest.layers) {
      allVerified(a, l.digest);
      expect(a.blobs[l.digest]?.diffIdCheck.state).toBe('verified');
    }
    allVerified(a, manifest.config.digest);
    allVerified(a, digests['test/app:1'] as string);
    expect(a.nodes.map((n) => n.kind).sort()).toEqual(
      ['config', 'layer', 'manifest'].concat(manifest.layers.slice(1).map(() => 'layer')).sort(),
    );
    const report = buildReport(a);
    expect(report.source).toMatchObject({
      kind: 'registry',
      reference: ref,
      resolved: `${registry.host}/test/app@${digests['test/app:1']}`,
    });
    expect(a.problems.filter((p) => p.severity === 'error')).toEqual([]);
  });

  it('fetches layers from requests the client prepared, and falls back to the client when one is refused', async () => {
    const ref = `${tokenRegistry.host}/test/app:1`;
    const credentials = { username: 'alice', password: 'wonderland' };
    const layerDigests = (a: Analysis) => (a.images[0]?.layers ?? []).map((l) => l.blob);
    // As the digest workers do: the request made elsewhere, with the token the client holds.
    const seen: BlobRequest[] = [];
    const a = await analyze(ref, {
      credentials,
      fetchVerifier: (request, o) => (seen.push(request), fetchBlobAndDigest(request, o)),
    });
    expect(layerDigests(a).length).toBeGreaterThan(0);
    for (const d of layerDigests(a)) {
      allVerified(a, d);
      expect(a.blobs[d]?.diffIdCheck.state).toBe('verified');
    }
    expect(seen.map((r) => r.url).sort()).toEqual(
      layerDigests(a)
        .map((d) => `${proxyBase}/registry-insecure/${tokenRegistry.host}/v2/test/app/blobs/${d}`)
        .sort(),
    );
    for (const r of seen) expect(r.headers.Authorization).toMatch(/^Bearer \S+$/);
    // Without its token (as when it expired) the registry answers 401; the client's own request
    // then answers the challenge, and the layers still verify.
    let refused = 0;
    const b = await analyze(ref, {
      credentials,
      fetchVerifier: (request, o) =>
        fetchBlobAndDigest({ url: request.url, headers: {} }, o).catch((e: unknown) => {
          refused++;
          throw e;
        }),
    });
    expect(refused).toBe(layerDigests(b).length);
    for (const d of layerDigests(b)) {
      allVerified(b, d);
      expect(b.blobs[d]?.diffIdCheck.state).toBe('verified');
    }
    expect(b.problems.filter((p) => p.severity === 'error')).toEqual([]);
  });

  it('fetchVerifiedBlob: one blob (a download), whole, its request refused as with an expired token', async () => {
    const credentials = { username: 'alice', password: 'wonderland' };
    const a = await analyze(`${tokenRegistry.host}/test/app:1`, { credentials });
    const layer = a.images[0]!.layers[0]!.blob;
    let refused = 0;
    const r = await fetchVerifiedBlob(
      client(tokenRegistry.host, { credentials }),
      'test/app',
      layer,
      { diffId: false, size: 0, keep: true },
      (request, o) =>
        fetchBlobAndDigest({ url: request.url, headers: {} }, o).catch((e: unknown) => {
          refused++;
          throw e;
        }),
    );
    // The client's own request answered the challenge.
    expect(refused).toBe(1);
    expect(r.digest).toBe(layer);
    expect(sha(new Uint8Array(await r.blob!.arrayBuffer()))).toBe(layer);
  });

  it('verifies zstd layers and Docker schema2 images', async () => {
    for (const ref of ['test/zstd:1', 'test/docker:1']) {
      const a = await analyze(`${registry.host}/${ref}`);
      const image = a.images[0];
      expect(image?.layers.length).toBeGreaterThan(0);
      for (const l of image?.layers ?? []) {
        allVerified(a, l.blob);
        expect(a.blobs[l.blob]?.diffIdCheck.state).toBe('verified');
      }
      if (ref.startsWith('test/zstd'))
        expect(a.blobs[image?.layers[0]?.blob ?? '']?.compression).toBe('zstd');
      expect(a.problems.filter((p) => p.severity === 'error')).toEqual([]);
    }
  });

  it('shows a schema1 manifest with its fsLayers and history', async () => {
    const ref = `${registry.host}/test/schema1:1`;
    const a = await analyze(ref);
    const raw = await skopeoInspectRaw(ref);
    const m = JSON.parse(raw) as { fsLayers: Array<{ blobSum: string }>; history: unknown[] };
    const node = a.nodes.find((n) => n.kind === 'manifest');
    expect(node?.label).toContain('schema1');
    // The registry signs schema1 manifests anew on every GET: compare without the signatures.
    const unsigned = (t: string | null | undefined) => ({
      ...(JSON.parse(t ?? '{}') as object),
      signatures: null,
    });
    expect(unsigned(node?.raw)).toEqual(unsigned(raw));
    const image = a.images[0];
    const blobSums = [...new Set(m.fsLayers.map((l) => l.blobSum))];
    for (const l of image?.layers ?? []) expect(blobSums).toContain(l.digest);
    expect(image?.config?.history?.length).toBe(m.history.length);
    // schema1 states no sizes: the digest covers the content.
    for (const l of image?.layers ?? []) expect(a.blobs[l.blob]?.digestCheck.state).toBe('verified');
    expect(a.blobs[image?.manifestBlob ?? '']?.digestCheck.state).toBe('verified');
  });

  it.skipIf(!hasTestrepo)(
    'shows every platform of an index, analyses one, labels buildkit attestations',
    async () => {
      const ref = `${registry.host}/test/index:v1`;
      const raw = await skopeoInspectRaw(ref);
      const index = JSON.parse(raw) as {
        manifests: Array<{
          digest: string;
          platform?: { os: string; architecture: string; variant?: string };
          annotations?: Record<string, string>;
        }>;
      };
      const a = await analyze(ref, { platform: 'linux/arm64' });
      const root = a.nodes.find((n) => n.digest === sha(raw));
      expect(root?.kind).toBe('index');
      for (const m of index.manifests) {
        const node = a.nodes.find((n) => n.id === m.digest);
        expect(node, m.digest).toBeDefined();
        const type = m.annotations?.['vnd.docker.reference.type'];
        if (type) {
          expect(node?.kind).toBe('artifact');
          expect(node?.label).toBe(`${type === 'attestation-manifest' ? 'attestation' : type} (buildkit)`);
          expect(
            a.edges.some(
              (e) => e.from === m.annotations?.['vnd.docker.reference.digest'] && e.to === m.digest,
            ),
          ).toBe(true);
        } else {
          expect(node?.kind).toBe('manifest');
        }
      }
      const platforms = a.images.map((i) => i.platform?.architecture);
      expect(platforms.length).toBe(index.manifests.filter((m) => m.platform?.os !== 'unknown').length);
      expect(a.source.platform?.startsWith('linux/arm64')).toBe(true);
      const chosen = a.images.find((i) => i.platform?.architecture === 'arm64');
      for (const l of chosen?.layers ?? []) allVerified(a, l.blob);
      const other = a.images.find((i) => i.platform?.architecture === 'amd64');
      expect(other?.config).not.toBeNull();
      for (const l of other?.layers ?? [])
        if (!chosen?.layers.some((x) => x.blob === l.blob))
          expect(a.blobs[l.blob]?.digestCheck.state).toBe('unchecked');
    },
  );

  it('fetches only the chosen platform’s layers, and every platform’s on request', async () => {
    const ref = `${registry.host}/test/mixed:1`;
    const a = await analyze(ref);
    expect(a.source.resolved).toBe(`${registry.host}/test/mixed@${digests['test/mixed:1']}`);
    const [amd64, arm64] = ['amd64', 'arm64'].map((arch) =>
      a.images.find((i) => i.platform?.architecture === arch),
    );
    expect(a.source.platform).toBe('linux/amd64');
    for (const l of amd64?.layers ?? []) allVerified(a, l.blob);
    expect(arm64?.config).not.toBeNull();
    for (const l of arm64?.layers ?? []) expect(a.blobs[l.blob]?.digestCheck.state).toBe('unchecked');
    const all = await analyze(ref, { allPlatforms: true });
    for (const img of all.images) for (const l of img.layers) allVerified(all, l.blob);
    const picked = await analyze(ref, { platform: 'linux/arm64' });
    expect(picked.source.platform).toBe('linux/arm64');
    const arm = picked.images.find((i) => i.platform?.architecture === 'arm64');
    for (const l of arm?.layers ?? []) allVerified(picked, l.blob);
    expect(picked.blobs[arm?.layers[0]?.blob ?? '']?.compression).toBe('zstd');
  });

  it('reads layers from the cache on a second run and stores only verified blobs', async () => {
    const store = new Map<string, Blob>();
    const cache: BlobCache = {
      get: async (d) => store.get(d) ?? null,
      put: async (d, b) => {
        store.set(d, b);
      },
    };
    const ref = `${registry.host}/test/app:1`;
    const first = await analyze(ref, { cache });
    expect(first.source.cachedLayers).toBeUndefined();
    for (const [d, b] of store) expect(sha(new Uint8Array(await b.arrayBuffer()))).toBe(d);
    const second = await analyze(ref, { cache });
    expect(second.source.cachedLayers).toBe(first.images[0]?.layers.length);
    for (const l of second.images[0]?.layers ?? []) allVerified(second, l.blob);
  });

  it('on a reopen, hashes cached layers again but takes their uncompressed side as verified when stored', async () => {
    const blobs = new Map<string, Blob>();
    const layers = new Map<string, CachedLayer>();
    const cache: BlobCache = {
      get: async (d) => blobs.get(d) ?? null,
      put: async (d, b) => {
        blobs.set(d, b);
      },
      getLayer: async (d) => layers.get(d) ?? null,
      putLayer: async (d, l) => {
        layers.set(d, structuredClone(l));
      },
    };
    const ref = `${registry.host}/test/app:1`;
    const first = await analyze(ref, { cache, listings: true });
    const image = first.images[0] as ImageInfo;
    expect(layers.size).toBe(image.layers.length);
    for (const l of image.layers) {
      const stored = layers.get(l.blob);
      expect(stored?.diffId).toBe(first.blobs[l.blob]?.actualDiffId);
      expect(stored?.listing?.entries.length).toBe(first.layers?.[l.blob]?.entries);
    }
    const second = await analyze(ref, { cache, listings: true });
    expect(second.source.cachedLayers).toBe(image.layers.length);
    for (const l of image.layers) {
      allVerified(second, l.blob);
      expect(second.blobs[l.blob]?.diffIdCheck.state).toBe('verified');
      expect(second.layers?.[l.blob]).toEqual(first.layers?.[l.blob]);
    }
    expect(second.filesystems?.[image.id]?.figures).toEqual(first.filesystems?.[image.id]?.figures);
    // Stricter limits than the stored listings were made under: those layers are listed again and
    // stop where the limits say, still verified from the cached bytes.
    const strict = await analyze(ref, { cache, listings: true, limits: { maxEntries: 2 } });
    for (const l of image.layers) {
      allVerified(strict, l.blob);
      const entries = first.layers?.[l.blob]?.entries ?? 0;
      expect(strict.layers?.[l.blob]?.stopped, l.blob).toBe(entries > 2 ? 'entry-limit' : null);
    }
    expect(image.layers.some((l) => (first.layers?.[l.blob]?.entries ?? 0) > 2)).toBe(true);
    // The stored uncompressed side is what the reopen uses: a wrong one shows as a diff_id mismatch…
    const [l0, l1] = image.layers as [LayerRef, LayerRef];
    layers.set(l0.blob, { ...(layers.get(l0.blob) as CachedLayer), diffId: `sha256:${'0'.repeat(64)}` });
    // …while damaged cached bytes are not trusted: the layer is fetched and verified again.
    blobs.set(l1.blob, new Blob(['not the layer']));
    const third = await analyze(ref, { cache, listings: true });
    expect(third.blobs[l0.blob]?.diffIdCheck.state).toBe('mismatch');
    allVerified(third, l1.blob);
    expect(third.blobs[l1.blob]?.diffIdCheck.state).toBe('verified');
    expect(third.source.cachedLayers).toBe(image.layers.length - 1);
  });

  it('finds cosign signatures by their sha256-<hex>.sig tag', async () => {
    const digest = digests['test/app:1'] as string;
    const tag = `sha256-${digest.slice(7)}.sig`;
    // Any manifest will do as the "signature": it is labelled by the tag that names it.
    await fillTag(`test/app:${tag}`, 'test/zstd:1');
    const a = await analyze(`${registry.host}/test/app:1`);
    const sig = a.nodes.find((n) => n.label === 'signature (cosign)');
    expect(sig?.kind).toBe('artifact');
    expect(a.edges.some((e) => e.from === digest && e.to === sig?.id)).toBe(true);
    expect(a.images).toHaveLength(1);
    expect(a.source.tags).toContain(tag);
  });

  it('asks the referrers API first where the registry has it, and then needs no tag schema', async () => {
    // Debian's docker-registry (2.8) has no referrers API, and no registry that has one can be
    // installed here. So a relay in front of the real registry adds just that endpoint, answering
    // as distribution-spec 1.1 "Listing Referrers" says (200, an OCI image index of descriptors
    // with artifactType, for any subject), and passes every other request to the registry.
    const subject = digests['test/app:1'] as string;
    await fillTag('test/app:attestation', 'test/multi:2');
    const artifact = await client().manifest('test/app', 'attestation');
    const described = {
      mediaType: artifact.mediaType,
      digest: artifact.digest,
      size: artifact.size,
      artifactType: 'application/vnd.in-toto+json',
      annotations: { 'org.opencontainers.image.created': '2026-11-24T00:00:00Z' },
    };
    const relay = await startServer((req, res, url) => {
      const m = /^\/v2\/(.+)\/referrers\/(sha256:[a-f0-9]{64})$/.exec(url.pathname);
      if (m) {
        res.writeHead(200, { 'Content-Type': 'application/vnd.oci.image.index.v1+json' });
        res.end(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: 'application/vnd.oci.image.index.v1+json',
            manifests: m[1] === 'test/app' && m[2] === subject ? [described] : [],
          }),
        );
        return;
      }
      const up = http.request(
        { host: '127.0.0.1', port: registry.port, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(up);
    });
    servers.push(relay);
    const host = `127.0.0.1:${relay.port}`;
    const listed = await client(host).referrers('test/app', subject, null);
    // (Besides cosign's sha256-<hex>.sig tag, which an earlier test pushed for the same subject.)
    expect(listed.filter((r) => r.via !== 'cosign-tag')).toEqual([{ ...described, via: 'referrers-api' }]);
    const a = await analyze(`${host}/test/app:1`);
    const node = a.nodes.find((n) => n.id === artifact.digest);
    expect(node?.kind).toBe('artifact');
    expect(node?.label).toBe('referrer: application/vnd.in-toto+json');
    expect(a.edges.some((e) => e.from === subject && e.to === artifact.digest)).toBe(true);
    allVerified(a, artifact.digest);
    // The API answered, so the sha256-<hex> tag schema was never tried (cosign's own
    // sha256-<hex>.sig tags, which an earlier test pushed, are still looked at).
    const hex = subject.slice('sha256:'.length);
    expect(relay.requests.some((r) => r.url.endsWith(`/referrers/${subject}`))).toBe(true);
    const asked = relay.requests.map((r) => r.url);
    expect(asked).not.toContain(`/v2/test/app/manifests/sha256-${hex}`);
  });

  it('falls back to the sha256-<hex> tag schema when the registry has no referrers API', async () => {
    const subject = digests['test/docker:1'] as string;
    await fillTag('test/docker:sbom-payload', 'test/multi:2');
    const payload = await client().manifest('test/docker', 'sbom-payload');
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: payload.digest,
          size: payload.size,
          artifactType: 'application/spdx+json',
        },
      ],
    });
    const put = await fetch(`http://${registry.host}/v2/test/docker/manifests/sha256-${subject.slice(7)}`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/vnd.oci.image.index.v1+json' },
      body: index,
    });
    expect(put.status).toBe(201);
    const a = await analyze(`${registry.host}/test/docker:1`);
    const node = a.nodes.find((n) => n.id === payload.digest);
    expect(node?.kind).toBe('artifact');
    expect(node?.label).toBe('referrer: application/spdx+json');
    expect(a.edges.some((e) => e.from === subject && e.to === payload.digest)).toBe(true);
    expect(a.images.map((i) => i.id)).toEqual([subject]);
  });

  it('cancels while layers are being fetched: unfinished checks are unchecked', async () => {
    const controller = new AbortController();
    const a = await analyze(`${registry.host}/test/app:1`, {
      signal: controller.signal,
      concurrency: 1,
      onUpdate: (_a, progress) => {
        if (progress.bytesDone > 0) controller.abort();
      },
    });
    expect(a.complete).toBe(false);
    expect(a.problems.some((p) => p.code === 'cancelled')).toBe(true);
    const states = a.images[0]?.layers.map((l) => a.blobs[l.blob]?.digestCheck.state) ?? [];
    expect(states).toContain('unchecked');
    expect(states).not.toContain('running');
  });

  it('reports an unknown repository and a bad reference as problems', async () => {
    await expect(analyze(`${registry.host}/test/nothing:1`)).rejects.toBeInstanceOf(RegistryAnalysisError);
    await expect(analyze('not a reference')).rejects.toMatchObject({
      problem: { code: 'invalid-reference' },
    });
  });
});

async function fillTag(dest: string, from: string): Promise<void> {
  const { skopeoCopy } = await import('./helpers/registry');
  await skopeoCopy(`docker://${registry.host}/${from}`, `docker://${registry.host}/${dest}`, work, [
    '--src-tls-verify=false',
  ]);
}

// ---- the worker's blob cache over an in-memory idb-keyval stand-in with a quota ----------------

const d = (c: string) => `sha256:${c.repeat(64)}`;

describe('IdbBlobCache', () => {
  it('stores by digest, lists sizes, evicts the least recently used on quota errors, and clears', async () => {
    let clock = 0;
    const kv = memoryBackend(250);
    const cache = new IdbBlobCache(kv, () => ++clock);
    await cache.put(d('a'), new Blob([new Uint8Array(100)]));
    await cache.put(d('b'), new Blob([new Uint8Array(100)]));
    expect(await cache.get(d('a'))).not.toBeNull(); // a is now more recent than b
    await cache.put(d('c'), new Blob([new Uint8Array(100)]));
    expect(await cache.get(d('b'))).toBeNull();
    expect(await cache.get(d('a'))).not.toBeNull();
    const listing = await cache.list();
    expect(listing.entries.map((e) => e.digest).sort()).toEqual([d('a'), d('c')]);
    expect(listing.totalBytes).toBe(200);
    await expect(cache.put(d('e'), new Blob([new Uint8Array(300)]))).rejects.toBeInstanceOf(CacheFullError);
    await expect(cache.put(d('e'), new Blob([new Uint8Array(300)]))).rejects.toThrow(/cache is full/);
    await cache.clear();
    expect((await cache.list()).entries).toEqual([]);
    expect(kv.blobBytes()).toBe(0);
  });

  it('keeps layer records with their blob only, drops them on eviction, and stops waiting on a stuck read', async () => {
    let clock = 0;
    const kv = memoryBackend(250);
    const cache = new IdbBlobCache(kv, () => ++clock, 50);
    const layer: CachedLayer = { compression: 'gzip', diffId: d('f'), uncompressedSize: 9 };
    await cache.putLayer(d('a'), layer);
    expect(await cache.getLayer(d('a'))).toBeNull(); // no blob, no record
    await cache.put(d('a'), new Blob([new Uint8Array(100)]));
    await cache.putLayer(d('a'), layer);
    expect(await cache.getLayer(d('a'))).toEqual(layer);
    await cache.put(d('b'), new Blob([new Uint8Array(100)]));
    await cache.put(d('c'), new Blob([new Uint8Array(100)])); // evicts a
    expect(await cache.getLayer(d('a'))).toBeNull();
    // A read that never answers (another connection's write holding the store) is a miss.
    const stuck: KeyValueBackend = { ...kv, get: () => new Promise(() => {}) };
    const waiting = new IdbBlobCache(stuck, () => ++clock, 50);
    expect(await waiting.get(d('c'))).toBeNull();
    expect(await waiting.getLayer(d('c'))).toBeNull();
  });

  it('a blob read while the quota is full still counts as recently used when room is made', async () => {
    let clock = 0;
    const kv = memoryBackend(250, true);
    const cache = new IdbBlobCache(kv, () => ++clock);
    await cache.put(d('a'), new Blob([new Uint8Array(100)]));
    await cache.put(d('b'), new Blob([new Uint8Array(100)]));
    kv.setQuota(200);
    // Full: recording this use is refused, yet a is now the most recently used.
    expect(await cache.get(d('a'))).not.toBeNull();
    expect((await cache.list()).entries.map((e) => e.digest)).toEqual([d('a'), d('b')]);
    await cache.put(d('c'), new Blob([new Uint8Array(50)]));
    expect(await cache.get(d('b'))).toBeNull();
    expect(await cache.get(d('a'))).not.toBeNull();
  });

  it('a blob whose record cannot be written is not left behind, unlisted, taking up the quota', async () => {
    // Room for the blob's bytes but not for its last-used record after them, and nothing older to
    // evict: the put fails, and the bytes written go with it (eviction only sees recorded blobs).
    const kv = memoryBackend(100, true);
    const cache = new IdbBlobCache(kv);
    await expect(cache.put(d('a'), new Blob([new Uint8Array(100)]))).rejects.toBeInstanceOf(CacheFullError);
    expect(kv.blobBytes()).toBe(0);
    expect((await cache.list()).entries).toEqual([]);
    // With room for both, the same blob is stored and listed.
    kv.setQuota(101);
    await cache.put(d('a'), new Blob([new Uint8Array(100)]));
    expect((await cache.list()).entries.map((e) => e.digest)).toEqual([d('a')]);
  });

  it('stores a layer’s listing packed and gives it back whole; one an earlier listing version made, not', async () => {
    const kv = memoryBackend(1000);
    const cache = new IdbBlobCache(kv);
    const entry = (path: string, type: 'file' | 'directory', size: number) => ({
      path,
      type,
      size,
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtime: -1.5,
      linkname: '',
      xattrs: path === 'etc/passwd' ? { 'user.x': 'y' } : null,
      whiteout: null,
      target: null,
    });
    const layer: CachedLayer = {
      compression: 'gzip',
      diffId: d('f'),
      uncompressedSize: 3072,
      listing: {
        layer: d('a'),
        entries: [entry('etc', 'directory', 0), entry('etc/passwd', 'file', 5)],
        tarEntries: 2,
        bytesRead: 3072,
        duplicates: 0,
        problems: [],
        problemsDropped: 0,
        stopped: null,
      },
    };
    await cache.put(d('a'), new Blob([new Uint8Array(10)]));
    await cache.putLayer(d('a'), layer);
    const stored = (
      await kv.entries<Record<string, unknown>>(kv.createStore('layerlens-layer-meta', 'layers'))
    )[0]?.[1];
    expect(stored && 'packed' in stored && !('listing' in stored)).toBe(true);
    expect(await cache.getLayer(d('a'))).toEqual(layer);
    // A record written before listings were versioned (unpacked, or packed), or by version 1: the
    // layer's checks stand, its listing is made again.
    const { listing, ...checks } = layer;
    const layers = kv.createStore('layerlens-layer-meta', 'layers');
    for (const old of [
      layer,
      { ...checks, packed: packListing(listing!) },
      { ...checks, packed: packListing(listing!), listingVersion: LISTING_VERSION - 1 },
    ]) {
      await kv.set(d('a'), old, layers);
      expect(await cache.getLayer(d('a'))).toEqual(checks);
    }
  });

  it('ignores keys that are not sha256 digests', async () => {
    const cache = new IdbBlobCache(memoryBackend(1000));
    await cache.put('../etc/passwd', new Blob(['x']));
    expect(await cache.get('../etc/passwd')).toBeNull();
    expect((await cache.list()).entries).toEqual([]);
  });
});
