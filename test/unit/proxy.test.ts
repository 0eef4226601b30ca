/**
 * The registry proxy (proxy/) against real components on 127.0.0.1 only: Debian's docker-registry
 * filled by skopeo, a second docker-registry with token auth and an in-process token issuer,
 * redirecting and recording node:http(s) servers. With allowLocal: false every refused address
 * class is tried by literal, by a name that resolves to it and by a redirect to it; nothing here
 * ever connects anywhere but 127.0.0.1.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyAddress, type AddressClass } from '../../proxy/address-guard';
import {
  createRegistryProxy,
  MAX_REDIRECTS,
  safeContentType,
  type RegistryProxy,
  type RegistryProxyOptions,
  type ResolvedAddress,
} from '../../proxy/registry-proxy';
import { parseAuthParams, rewriteBearerRealms } from '../../proxy/www-authenticate';
import {
  makeTempDir,
  makeTestKeys,
  removeDir,
  request,
  sendJson,
  sha256,
  skopeoCopy,
  startRegistry,
  startServer,
  startTokenAuthRegistry,
  type ClientResponse,
  type RunningRegistry,
  type TestKeys,
  type TestServer,
  type TokenIssuer,
} from './helpers/registry';
import { DATA } from './helpers/tools';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const ACCEPT_MANIFESTS = [
  OCI_MANIFEST,
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

/** Response headers the proxy may relay, plus the ones it sets itself and Node's own. */
const RELAYED = [
  'content-type',
  'content-length',
  'content-range',
  'content-encoding',
  'docker-content-digest',
  'docker-distribution-api-version',
  'etag',
  'link',
  'oci-filters-applied',
  'retry-after',
  'www-authenticate',
];
const OWN = [
  'x-layerlens-proxy',
  'content-security-policy',
  'x-content-type-options',
  'cross-origin-resource-policy',
  'referrer-policy',
  'access-control-expose-headers',
  'access-control-allow-origin',
  'vary',
  'cache-control',
  'date',
  'connection',
  'keep-alive',
  'transfer-encoding',
];
function unexpectedHeaders(response: ClientResponse): string[] {
  return Object.keys(response.headers).filter(
    (name) => !RELAYED.includes(name) && !OWN.includes(name) && !name.startsWith('ratelimit-'),
  );
}

/** Serves a proxy mount on 127.0.0.1, as scripts/start.ts and proxy/server.ts do. */
async function serveProxy(
  options: RegistryProxyOptions,
): Promise<{ base: string; proxy: RegistryProxy; close(): Promise<void> }> {
  const proxy = createRegistryProxy(options);
  const server = http.createServer((req, res) => {
    if (!proxy(req, res)) {
      res.writeHead(404);
      res.end('not the proxy');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    base: `http://127.0.0.1:${port}`,
    proxy,
    close: () =>
      new Promise<void>((resolve) => {
        proxy.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A resolver for made-up names; `localhost` goes to the real resolver (/etc/hosts). */
function fakeDns(
  table: Record<string, string[]>,
  calls: string[] = [],
): (name: string) => Promise<ResolvedAddress[]> {
  return async (name) => {
    calls.push(name);
    if (name === 'localhost') return dnsLookup(name, { all: true, verbatim: true });
    const addresses = table[name];
    if (!addresses) throw Object.assign(new Error(`no such test name ${name}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

function errorOf(response: ClientResponse): string {
  return (JSON.parse(response.body.toString('utf8')) as { error: string }).error;
}

// ---------------------------------------------------------------------------------------------

describe('address classifier', () => {
  const cases: Array<[string, AddressClass]> = [
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.15.255.255', 'public'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['192.167.255.255', 'public'],
    ['192.169.0.1', 'public'],
    ['169.254.1.1', 'link-local'],
    ['169.254.169.254', 'cloud-metadata'],
    ['168.63.129.16', 'cloud-metadata'],
    ['100.100.100.200', 'cloud-metadata'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['100.63.255.255', 'public'],
    ['100.128.0.1', 'public'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.255', 'multicast'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['fec0::1', 'private'],
    ['ff02::1', 'multicast'],
    ['fd00:ec2::254', 'cloud-metadata'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'cloud-metadata'],
    ['::ffff:8.8.8.8', 'public'],
    ['::127.0.0.1', 'loopback'],
    ['::7f00:1', 'loopback'],
    ['::ffff:0:7f00:1', 'loopback'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::10.1.2.3', 'private'],
    ['64:ff9b::8.8.8.8', 'public'],
    ['64:ff9b:1::1', 'private'],
    ['2002:7f00:1::1', 'loopback'],
    ['2002:808:808::1', 'public'],
    ['2001::1', 'reserved'],
    ['2001:db8::1', 'reserved'],
    ['100::1', 'reserved'],
    ['2606:4700:4700::1111', 'public'],
    ['2001:4860:4860::8888', 'public'],
    ['not-an-ip', 'invalid'],
    ['127.1', 'invalid'],
    ['0177.0.0.1', 'invalid'],
  ];
  it.each(cases)('%s is %s', (address, expected) => {
    const verdict = classifyAddress(address);
    expect(verdict.class).toBe(expected);
    expect(verdict.allowed).toBe(expected === 'public');
  });

  it('names the embedded IPv4 address of mapped forms', () => {
    expect(classifyAddress('::ffff:7f00:1').reason).toBe(
      '::ffff:7f00:1 is an IPv4-mapped form of 127.0.0.1, a loopback address',
    );
  });
});

describe('helpers', () => {
  it('rewrites only the realm of Bearer challenges', () => {
    const header =
      'Basic realm="basic", Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"';
    const out = rewriteBearerRealms(header, (realm) => `/token/${realm.length}`);
    expect(out).toBe(
      'Basic realm="basic", Bearer realm="/token/26",service="registry.example",scope="repository:a/b:pull"',
    );
    expect(parseAuthParams('Bearer realm="a\\"b", error=insufficient_scope')).toMatchObject([
      { scheme: 'Bearer', name: 'realm', value: 'a"b' },
      { scheme: 'Bearer', name: 'error', value: 'insufficient_scope' },
    ]);
  });

  it('keeps registry media types and neutralises renderable ones', () => {
    expect(safeContentType(OCI_MANIFEST)).toBe(OCI_MANIFEST);
    expect(safeContentType('application/json; charset=utf-8')).toBe('application/json; charset=utf-8');
    expect(safeContentType('text/html')).toBe('application/octet-stream');
    expect(safeContentType('image/svg+xml')).toBe('application/octet-stream');
    expect(safeContentType('application/javascript')).toBe('application/octet-stream');
  });
});

// ---------------------------------------------------------------------------------------------

describe('proxy with allowLocal: true, against docker-registry', () => {
  let work: string;
  let keys: TestKeys;
  let registry: RunningRegistry;
  let tokenRegistry: RunningRegistry;
  let issuer: TokenIssuer;
  let manifestDigest: string;
  let manifest: Buffer;
  let blobs: Array<{ digest: string; size: number }>;
  let main: Awaited<ReturnType<typeof serveProxy>>;
  let small: Awaited<ReturnType<typeof serveProxy>>;
  let impatient: Awaited<ReturnType<typeof serveProxy>>;
  const logLines: string[] = [];
  const servers: TestServer[] = [];
  const SERVICE = 'layerlens-test-registry';

  beforeAll(async () => {
    work = await makeTempDir();
    const storageDir = join(work, 'storage');
    keys = await makeTestKeys(work, ['a.test', 'b.test']);
    registry = await startRegistry({
      storageDir,
      configDir: work,
      // Upstream headers that must not reach the page.
      headers: { 'Set-Cookie': ['session=upstream-secret'], 'X-Upstream-Extra': ['yes'] },
    });
    manifestDigest = await skopeoCopy(
      `oci-archive:${join(DATA, 'oci-archive.tar')}`,
      `docker://${registry.host}/test/app:1`,
      work,
    );
    // Same storage, so the token-auth registry serves the image skopeo pushed to the open one.
    ({ registry: tokenRegistry, issuer } = await startTokenAuthRegistry({
      storageDir,
      configDir: work,
      keys,
      service: SERVICE,
      issuer: 'layerlens-test-issuer',
    }));
    main = await serveProxy({
      allowLocal: true,
      log: (line) => logLines.push(line),
      lookup: fakeDns({ 'a.test': ['127.0.0.1'], 'b.test': ['127.0.0.1'] }),
    });
    small = await serveProxy({ allowLocal: true, maxDocumentBytes: 1024 });
    impatient = await serveProxy({ allowLocal: true, timeoutMs: 300 });

    const direct = await request(`http://${registry.host}/v2/test/app/manifests/1`, {
      headers: { Accept: OCI_MANIFEST },
    });
    manifest = direct.body;
    const parsed = JSON.parse(manifest.toString('utf8')) as {
      config: { digest: string; size: number };
      layers: Array<{ digest: string; size: number }>;
    };
    blobs = [parsed.config, ...parsed.layers];
  }, 60_000);

  afterAll(async () => {
    await Promise.all([main?.close(), small?.close(), impatient?.close(), issuer?.close()]);
    await Promise.all(servers.map((s) => s.close()));
    await Promise.all([registry?.stop(), tokenRegistry?.stop()]);
    if (work) await removeDir(work);
  });

  const via = (path: string): string => `${main.base}/registry-insecure/${registry.host}${path}`;

  it('relays a manifest whose bytes hash to the digest skopeo reported', async () => {
    const response = await request(via('/v2/test/app/manifests/1'), {
      headers: { Accept: ACCEPT_MANIFESTS },
    });
    expect(response.status).toBe(200);
    expect(sha256(response.body)).toBe(manifestDigest);
    expect(response.body.equals(manifest)).toBe(true);
    expect(response.headers['docker-content-digest']).toBe(manifestDigest);
    expect(response.headers['content-type']).toBe(OCI_MANIFEST);
    expect(response.headers['docker-distribution-api-version']).toBe('registry/2.0');
    // Upstream sent Set-Cookie and X-Upstream-Extra; neither comes through.
    expect(response.headers['set-cookie']).toBeUndefined();
    expect(response.headers['x-upstream-extra']).toBeUndefined();
    expect(unexpectedHeaders(response)).toEqual([]);
    expect(response.headers['access-control-expose-headers']).toContain('Docker-Content-Digest');
    expect(response.headers['content-security-policy']).toContain('sandbox');
  });

  it('relays the same manifest by digest, and HEAD without a body', async () => {
    const byDigest = await request(via(`/v2/test/app/manifests/${manifestDigest}`), {
      headers: { Accept: ACCEPT_MANIFESTS },
    });
    expect(byDigest.status).toBe(200);
    expect(sha256(byDigest.body)).toBe(manifestDigest);

    const head = await request(via('/v2/test/app/manifests/1'), {
      method: 'HEAD',
      headers: { Accept: ACCEPT_MANIFESTS },
    });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers['docker-content-digest']).toBe(manifestDigest);
    expect(Number(head.headers['content-length'])).toBe(manifest.length);
  });

  it('forwards If-None-Match (the registry answers 304)', async () => {
    const response = await request(via('/v2/test/app/manifests/1'), {
      headers: { Accept: ACCEPT_MANIFESTS, 'If-None-Match': `"${manifestDigest}"` },
    });
    expect(response.status).toBe(304);
    expect(response.body.length).toBe(0);
  });

  it('streams every blob exactly', async () => {
    for (const blob of blobs) {
      const response = await request(via(`/v2/test/app/blobs/${blob.digest}`));
      expect(response.status).toBe(200);
      expect(response.body.length).toBe(blob.size);
      expect(sha256(response.body)).toBe(blob.digest);
    }
  });

  it('forwards Range and relays Content-Range', async () => {
    const blob = blobs[0]!;
    const whole = await request(via(`/v2/test/app/blobs/${blob.digest}`));
    const part = await request(via(`/v2/test/app/blobs/${blob.digest}`), {
      headers: { Range: 'bytes=10-109' },
    });
    expect(part.status).toBe(206);
    expect(part.headers['content-range']).toBe(`bytes 10-109/${blob.size}`);
    expect(part.body.equals(whole.body.subarray(10, 110))).toBe(true);
  });

  it('runs the token flow through /token/<id> against the token-auth registry', async () => {
    const url = `${main.base}/registry-insecure/${tokenRegistry.host}/v2/test/app/manifests/1`;
    const challenge = await request(url, { headers: { Accept: ACCEPT_MANIFESTS } });
    expect(challenge.status).toBe(401);
    const header = challenge.headers['www-authenticate'] ?? '';
    const params = Object.fromEntries(parseAuthParams(header).map((p) => [p.name, p.value]));
    // The realm now points at the proxy; the registry's realm URL is not handed to the page.
    expect(params.realm).toMatch(/^\/token\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(header).not.toContain(issuer.realm);
    expect(params.service).toBe(SERVICE);
    expect(params.scope).toBe('repository:test/app:pull');

    const query = `service=${encodeURIComponent(params.service!)}&scope=${encodeURIComponent(params.scope!)}`;
    const basic = `Basic ${Buffer.from('alice:wonderland').toString('base64')}`;
    const tokenResponse = await request(`${main.base}${params.realm}?${query}`, {
      headers: { Authorization: basic },
    });
    expect(tokenResponse.status).toBe(200);
    expect(tokenResponse.headers['cache-control']).toBe('no-store');
    const { token } = JSON.parse(tokenResponse.body.toString('utf8')) as { token: string };
    // The issuer got the page's credentials and query, on the realm's own path.
    const seen = issuer.requests.at(-1)!;
    expect(seen.headers.authorization).toBe(basic);
    expect(seen.url).toBe(`/token?${query}`);

    const pulled = await request(url, {
      headers: { Accept: ACCEPT_MANIFESTS, Authorization: `Bearer ${token}` },
    });
    expect(pulled.status).toBe(200);
    expect(sha256(pulled.body)).toBe(manifestDigest);

    const wrong = await request(`${main.base}${params.realm}?${query}`, {
      headers: { Authorization: `Basic ${Buffer.from('alice:guess').toString('base64')}` },
    });
    expect(wrong.status).toBe(401);

    // Ids are signed: a forged or altered one reaches nothing.
    const forged = Buffer.from('http://127.0.0.1:1/steal').toString('base64url');
    for (const id of [`${forged}.AAAAAAAAAAAAAAAAAAAAAA`, `${params.realm!.slice(7)}x`, 'nope']) {
      const refused = await request(`${main.base}/token/${id}?${query}`);
      expect(refused.status).toBe(404);
    }
    // Never the credentials or the token in the log.
    expect(logLines.join('\n')).not.toMatch(/Basic|Bearer|wonderland|scope=|eyJ/);
  });

  it('follows a redirect chain and drops Authorization when the host changes', async () => {
    const blob = blobs[1]!;
    const a = await startServer((req, res, url) => {
      if (url.pathname.startsWith('/v2/test/app/blobs/')) {
        res.writeHead(302, { Location: `/v2/hop/${blob.digest}` }); // same host: keeps Authorization
      } else {
        res.writeHead(307, {
          Location: `http://b.test:${b.port}/storage/${blob.digest}?X-Amz-Signature=secret`,
        });
      }
      res.end();
    });
    const b = await startServer((_req, res) => {
      res.writeHead(307, { Location: `http://${registry.host}/v2/test/app/blobs/${blob.digest}` });
      res.end();
    });
    servers.push(a, b);

    const response = await request(
      `${main.base}/registry-insecure/a.test:${a.port}/v2/test/app/blobs/${blob.digest}`,
      {
        headers: { Authorization: 'Bearer registry-token' },
      },
    );
    expect(response.status).toBe(200);
    expect(sha256(response.body)).toBe(blob.digest);
    expect(a.requests.map((r) => r.headers.authorization)).toEqual([
      'Bearer registry-token',
      'Bearer registry-token',
    ]);
    expect(a.requests[0]!.headers.host).toBe(`a.test:${a.port}`);
    expect(b.requests).toHaveLength(1);
    expect(b.requests[0]!.headers.authorization).toBeUndefined();
    expect(b.requests[0]!.url).toBe(`/storage/${blob.digest}?X-Amz-Signature=secret`);
    expect(logLines.join('\n')).not.toMatch(/X-Amz-Signature|registry-token/);
  });

  it(`follows ${MAX_REDIRECTS} redirects and refuses the ${MAX_REDIRECTS + 1}th`, async () => {
    const loop = await startServer((_req, res, url) => {
      const n = Number(url.pathname.split('/').at(-1));
      if (n > 0) res.writeHead(302, { Location: `/v2/loop/${n - 1}` }).end();
      else sendJson(res, 200, { arrived: true });
    });
    servers.push(loop);
    const ten = await request(
      `${main.base}/registry-insecure/${`127.0.0.1:${loop.port}`}/v2/loop/${MAX_REDIRECTS}`,
    );
    expect(ten.status).toBe(200);
    const eleven = await request(
      `${main.base}/registry-insecure/${`127.0.0.1:${loop.port}`}/v2/loop/${MAX_REDIRECTS + 1}`,
    );
    expect(eleven.status).toBe(502);
    expect(errorOf(eleven)).toMatch(/Too many redirects/);
  });

  it('forwards only Accept, Range, If-None-Match and Authorization, and relays only the listed headers', async () => {
    const echo = await startServer((_req, res) => {
      res.writeHead(200, {
        'Content-Type': 'text/html; charset=utf-8',
        'Set-Cookie': ['a=1', 'b=2'],
        Server: 'upstream/1.0',
        'X-Powered-By': 'php',
        'Strict-Transport-Security': 'max-age=1',
        'Access-Control-Allow-Origin': '*',
        'Docker-Content-Digest': 'sha256:' + '0'.repeat(64),
        'RateLimit-Limit': '100',
        'RateLimit-Remaining': '99',
        Link: '</v2/_catalog?last=x&n=1>; rel="next"',
        'Retry-After': '5',
        'OCI-Filters-Applied': 'artifactType',
        ETag: '"e"',
      });
      res.end('<script>alert(1)</script>');
    });
    servers.push(echo);
    const response = await request(`${main.base}/registry-insecure/127.0.0.1:${echo.port}/v2/echo`, {
      headers: {
        Accept: 'application/json',
        Range: 'bytes=0-',
        'If-None-Match': '"x"',
        Authorization: 'Bearer t',
        Cookie: 'session=page-secret',
        'X-Forwarded-For': '203.0.113.9',
        'X-Forwarded-Host': 'evil.example',
        Host: 'evil.example',
        Origin: 'https://evil.example',
        Referer: 'https://evil.example/page',
        'User-Agent': 'page-agent',
        'X-Custom': 'x',
      },
    });
    expect(response.status).toBe(200);
    const sent = echo.requests[0]!.headers;
    expect(Object.keys(sent).sort()).toEqual(
      [
        'accept',
        'accept-encoding',
        'authorization',
        'connection',
        'host',
        'if-none-match',
        'range',
        'user-agent',
      ].sort(),
    );
    expect(sent.host).toBe(`127.0.0.1:${echo.port}`);
    expect(sent['user-agent']).toBe('layerlens-proxy');
    expect(sent['accept-encoding']).toBe('identity');
    expect(sent.range).toBe('bytes=0-');

    expect(unexpectedHeaders(response)).toEqual([]);
    expect(response.headers['set-cookie']).toBeUndefined();
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
    expect(response.headers['content-type']).toBe('application/octet-stream');
    expect(response.headers['ratelimit-remaining']).toBe('99');
    expect(response.headers['retry-after']).toBe('5');
    expect(response.headers['oci-filters-applied']).toBe('artifactType');
    expect(response.headers.link).toBe('</v2/_catalog?last=x&n=1>; rel="next"');
  });

  it('answers 405 to other methods and 204 to preflights without contacting upstream', async () => {
    const counter = await startServer((_req, res) => sendJson(res, 200, {}));
    servers.push(counter);
    const url = `${main.base}/registry-insecure/127.0.0.1:${counter.port}/v2/`;
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      const response = await request(url, { method });
      expect(response.status).toBe(405);
      expect(response.headers.allow).toBe('GET, HEAD, OPTIONS');
    }
    const preflight = await request(url, {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'GET' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-methods']).toBe('GET, HEAD, OPTIONS');
    expect(preflight.headers['access-control-allow-headers']).toBe(
      'Accept, Range, If-None-Match, Authorization',
    );
    expect(counter.connections()).toBe(0);
  });

  it('refuses oversized manifests with 502 but streams large blobs', async () => {
    const big = await startServer((_req, res, url) => {
      if (url.pathname.endsWith('/declared')) {
        res.writeHead(200, { 'Content-Type': OCI_MANIFEST, 'Content-Length': 4 * 1024 * 1024 + 1 });
        res.end(Buffer.alloc(4 * 1024 * 1024 + 1, 0x20));
      } else {
        res.writeHead(200, { 'Content-Type': OCI_MANIFEST }); // chunked, no length
        for (let i = 0; i < 8; i++) res.write(Buffer.alloc(512, 0x20));
        res.end();
      }
    });
    servers.push(big);
    const declared = await request(
      `${main.base}/registry-insecure/127.0.0.1:${big.port}/v2/x/manifests/declared`,
    );
    expect(declared.status).toBe(502);
    expect(errorOf(declared)).toMatch(/larger than the proxy's limit of 4194304 bytes/);

    const chunked = await request(
      `${small.base}/registry-insecure/127.0.0.1:${big.port}/v2/x/manifests/chunked`,
    );
    expect(chunked.status).toBe(502);
    expect(errorOf(chunked)).toMatch(/limit of 1024 bytes/);

    // The same small limit does not apply to blobs.
    const blob = blobs.find((b) => b.size > 1024)!;
    const streamed = await request(
      `${small.base}/registry-insecure/${registry.host}/v2/test/app/blobs/${blob.digest}`,
    );
    expect(streamed.status).toBe(200);
    expect(sha256(streamed.body)).toBe(blob.digest);
  });

  it('answers 504 when upstream is too slow', async () => {
    const slow = await startServer((_req, res, url) => {
      if (url.pathname.endsWith('/stall-body')) {
        res.writeHead(200, { 'Content-Type': OCI_MANIFEST });
        res.write('{');
      }
      // …and otherwise never answer at all.
    });
    servers.push(slow);
    const started = Date.now();
    const silent = await request(
      `${impatient.base}/registry-insecure/127.0.0.1:${slow.port}/v2/x/manifests/silent`,
    );
    expect(silent.status).toBe(504);
    expect(errorOf(silent)).toMatch(/did not answer within 300 ms/);
    const stalled = await request(
      `${impatient.base}/registry-insecure/127.0.0.1:${slow.port}/v2/x/manifests/stall-body`,
    );
    expect(stalled.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('relays nothing but /v2/ paths and has no raw-URL parameter', async () => {
    const cases: Array<[string, number]> = [
      [`/registry-insecure/${registry.host}/`, 404],
      [`/registry-insecure/${registry.host}/v1/search`, 404],
      [`/registry-insecure/${registry.host}/v2/../admin`, 400],
      [`/registry-insecure/${registry.host}/v2/%2e%2e/admin`, 400],
      [`/registry-insecure/${registry.host}/v2/a%2fb/manifests/1`, 400],
      [`/registry-insecure/user@${registry.host}/v2/`, 400],
      ['/registry/?url=http://127.0.0.1/', 400],
      ['/token/?realm=http://127.0.0.1/', 404],
    ];
    for (const [path, status] of cases) {
      const response = await request(`${main.base}${path}`);
      expect([path, response.status]).toEqual([path, status]);
    }
    // Not the proxy's: left to the next handler.
    expect((await request(`${main.base}/registry`)).body.toString()).toBe('not the proxy');
  });

  it('logs method, host, path, status and duration only', () => {
    const line = logLines.find((l) => l.includes('/v2/test/app/manifests/1'));
    expect(line).toMatch(/^proxy GET 127\.0\.0\.1:\d+ \/v2\/test\/app\/manifests\/1 200 \d+ms$/);
  });
});

// ---------------------------------------------------------------------------------------------

describe('proxy with allowLocal: false', () => {
  let work: string;
  let keys: TestKeys;
  let tlsServer: TestServer;
  let counter: TestServer;
  let guarded: Awaited<ReturnType<typeof serveProxy>>;
  const lookups: string[] = [];
  let rebindCalls = 0;

  beforeAll(async () => {
    work = await makeTempDir();
    keys = await makeTestKeys(work, ['redirect.test', 'rebind.test']);
    // Something listening on loopback that must never be reached: it counts connections.
    counter = await startServer((_req, res) => sendJson(res, 200, { reached: true }));
    tlsServer = await startServer(
      (_req, res, url) => {
        const to: Record<string, string> = {
          '/v2/to-loopback': `https://127.0.0.1:${counter.port}/v2/`,
          '/v2/to-mapped': `https://[::ffff:7f00:1]:${counter.port}/v2/`,
          '/v2/to-private': 'https://10.0.0.1/v2/',
          '/v2/to-metadata': 'https://169.254.169.254/latest/meta-data/',
          '/v2/to-name': `https://evil.test:${counter.port}/v2/`,
          '/v2/to-metadata-name': 'https://meta.test/latest/meta-data/',
          '/v2/to-http': `http://redirect.test:${tlsServer.port}/v2/ok`,
          '/v2/to-self': `https://redirect.test:${tlsServer.port}/v2/ok`,
        };
        const location = to[url.pathname];
        if (location) res.writeHead(307, { Location: location }).end();
        else sendJson(res, 200, { ok: true });
      },
      { key: keys.keyPem, cert: keys.certPem },
    );
    const table: Record<string, string[]> = {
      'evil.test': ['127.0.0.1'],
      'ten.test': ['10.0.0.1'],
      'private172.test': ['172.16.0.1'],
      'private192.test': ['192.168.1.1'],
      'meta.test': ['169.254.169.254'],
      'cgnat.test': ['100.64.0.1'],
      'multicast.test': ['224.0.0.1'],
      'zero.test': ['0.0.0.0'],
      'v6loop.test': ['::1'],
      'linklocal6.test': ['fe80::1'],
      'ula.test': ['fc00::1'],
      'mapped.test': ['::ffff:127.0.0.1'],
      'mapped-hex.test': ['::ffff:7f00:1'],
      'nat64.test': ['64:ff9b::a9fe:a9fe'],
      'aws6.test': ['fd00:ec2::254'],
      // One public and one private answer: refused as a whole, and nothing is contacted.
      'mixed.test': ['93.184.216.34', '192.168.1.1'],
      'redirect.test': ['127.0.0.1'],
    };
    guarded = await serveProxy({
      allowLocal: false,
      ca: keys.certPem,
      // The https test server stands in for a public registry; the guard still judges every hop.
      allowAddresses: [`127.0.0.1:${tlsServer.port}`],
      lookup: async (name) => {
        if (name === 'rebind.test') {
          // First answer passes the guard; a rebinding second answer would not, and is never asked for.
          return [{ address: rebindCalls++ === 0 ? '127.0.0.1' : '10.0.0.1', family: 4 }];
        }
        return fakeDns(table, lookups)(name);
      },
    });
  }, 30_000);

  afterAll(async () => {
    await guarded?.close();
    await Promise.all([tlsServer?.close(), counter?.close()]);
    if (work) await removeDir(work);
  });

  const literals: Array<[string, RegExp]> = [
    ['127.0.0.1', /127\.0\.0\.1 is a loopback address/],
    ['10.0.0.1', /private-network/],
    ['172.16.0.1', /private-network/],
    ['192.168.1.1', /private-network/],
    ['169.254.169.254', /cloud metadata/],
    ['100.64.0.1', /carrier-grade NAT/],
    ['224.0.0.1', /multicast/],
    ['[::1]', /::1 is a loopback address/],
    ['[fe80::1]', /link-local/],
    ['[fc00::1]', /private-network/],
    ['[::ffff:127.0.0.1]', /IPv4-mapped form of 127\.0\.0\.1, a loopback address/],
    ['[::ffff:7f00:1]', /IPv4-mapped form of 127\.0\.0\.1, a loopback address/],
    ['0.0.0.0', /unspecified/],
    // Spellings the URL parser turns into 127.0.0.1.
    ['2130706433', /127\.0\.0\.1 is a loopback address/],
    ['0x7f.1', /127\.0\.0\.1 is a loopback address/],
  ];
  it.each(literals)('refuses the literal %s with 403 and no lookup or connection', async (host, reason) => {
    const before = lookups.length;
    const response = await request(`${guarded.base}/registry/${host}:${counter.port}/v2/`);
    expect(response.status).toBe(403);
    expect(errorOf(response)).toMatch(reason);
    expect(lookups.length).toBe(before);
    expect(counter.connections()).toBe(0);
  });

  const names: Array<[string, RegExp]> = [
    ['evil.test', /evil\.test resolves to 127\.0\.0\.1 is a loopback/],
    ['localhost', /localhost resolves to .* loopback/],
    ['ten.test', /10\.0\.0\.1 is a private-network/],
    ['private172.test', /private-network/],
    ['private192.test', /private-network/],
    ['meta.test', /cloud metadata/],
    ['cgnat.test', /carrier-grade NAT/],
    ['multicast.test', /multicast/],
    ['zero.test', /unspecified/],
    ['v6loop.test', /::1 is a loopback/],
    ['linklocal6.test', /link-local/],
    ['ula.test', /private-network/],
    ['mapped.test', /IPv4-mapped form of 127\.0\.0\.1/],
    ['mapped-hex.test', /IPv4-mapped form of 127\.0\.0\.1/],
    ['nat64.test', /NAT64 form of 169\.254\.169\.254, a cloud metadata/],
    ['aws6.test', /cloud metadata/],
    ['mixed.test', /192\.168\.1\.1 is a private-network/],
  ];
  it.each(names)('refuses %s, which resolves to a refused address', async (name, reason) => {
    const response = await request(`${guarded.base}/registry/${name}:${counter.port}/v2/`);
    expect(response.status).toBe(403);
    expect(errorOf(response)).toMatch(reason);
    expect(lookups).toContain(name);
    expect(counter.connections()).toBe(0);
  });

  it('reaches an allowed https endpoint, and re-checks each redirect hop', async () => {
    const ok = await request(`${guarded.base}/registry/redirect.test:${tlsServer.port}/v2/ok`);
    expect(ok.status).toBe(200);
    const self = await request(`${guarded.base}/registry/redirect.test:${tlsServer.port}/v2/to-self`);
    expect(self.status).toBe(200);
  });

  const redirects: Array<[string, RegExp]> = [
    ['to-loopback', /Redirect to 127\.0\.0\.1:\d+ refused: 127\.0\.0\.1 is a loopback address/],
    ['to-mapped', /refused: .*IPv4-mapped form of 127\.0\.0\.1/],
    ['to-private', /refused: 10\.0\.0\.1 is a private-network address/],
    ['to-metadata', /refused: 169\.254\.169\.254 is a cloud metadata/],
    ['to-name', /refused: evil\.test resolves to 127\.0\.0\.1/],
    ['to-metadata-name', /refused: meta\.test resolves to 169\.254\.169\.254/],
    ['to-http', /only https is allowed/],
  ];
  it.each(redirects)('refuses a redirect %s', async (path, reason) => {
    const response = await request(`${guarded.base}/registry/redirect.test:${tlsServer.port}/v2/${path}`);
    expect(response.status).toBe(403);
    expect(errorOf(response)).toMatch(reason);
    expect(counter.connections()).toBe(0);
  });

  it('connects to the address it checked, without resolving again (DNS rebinding)', async () => {
    const response = await request(`${guarded.base}/registry/rebind.test:${tlsServer.port}/v2/ok`);
    expect(response.status).toBe(200);
    expect(rebindCalls).toBe(1);
  });

  it('exempts only the exact address:port it was given', async () => {
    const response = await request(`${guarded.base}/registry/redirect.test:${counter.port}/v2/`);
    expect(response.status).toBe(403);
    expect(counter.connections()).toBe(0);
  });

  it('refuses plain http and the insecure prefix', async () => {
    const response = await request(`${guarded.base}/registry-insecure/redirect.test:${tlsServer.port}/v2/ok`);
    expect(response.status).toBe(403);
    expect(errorOf(response)).toMatch(/ALLOW_LOCAL_REGISTRIES=1/);
  });

  it('sends CORS headers only for the configured origin', async () => {
    const cors = await serveProxy({ allowLocal: false, allowedOrigin: 'https://app.example' });
    try {
      const url = `${cors.base}/registry/127.0.0.1/v2/`;
      const good = await request(url, { method: 'OPTIONS', headers: { Origin: 'https://app.example' } });
      expect(good.headers['access-control-allow-origin']).toBe('https://app.example');
      const bad = await request(url, { headers: { Origin: 'https://evil.example' } });
      expect(bad.status).toBe(403);
      expect(bad.headers['access-control-allow-origin']).toBeUndefined();
      expect(bad.headers.vary).toBe('Origin');
    } finally {
      await cors.close();
    }
  });
});
