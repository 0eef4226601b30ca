/**
 * Real components for the proxy tests, all on 127.0.0.1: Debian's docker-registry (the CNCF
 * distribution registry) filled by skopeo, a small Docker-token-spec issuer, and plain node:http /
 * node:https servers that redirect, record what they were sent, or stall.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, randomUUID, sign } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function makeTempDir(prefix = 'layerlens-proxy-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

// ---- docker-registry ---------------------------------------------------------------------------

export interface TokenAuthConfig {
  realm: string;
  service: string;
  issuer: string;
  /** PEM file with the certificate whose key signs the tokens. */
  rootCertBundle: string;
}

export interface RunningRegistry {
  port: number;
  /** `127.0.0.1:<port>` */
  host: string;
  stop(): Promise<void>;
}

/**
 * Starts `docker-registry serve` on 127.0.0.1 with a free port (addr :0; the port is read from
 * its "listening on" log line) and filesystem storage in `storageDir`, and waits until /v2/ answers.
 */
export async function startRegistry(options: {
  storageDir: string;
  configDir: string;
  auth?: TokenAuthConfig;
  /** Extra response headers (the registry's http.headers setting). */
  headers?: Record<string, string[]>;
  /** Accept schema1 manifest pushes (distribution 2.8 refuses them by default). */
  schema1?: boolean;
}): Promise<RunningRegistry> {
  const q = (value: string): string => JSON.stringify(value); // JSON strings are YAML scalars
  const lines = [
    'version: 0.1',
    'log:',
    '  level: info',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${q(options.storageDir)}`,
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    '  addr: 127.0.0.1:0',
    '  secret: layerlens-test-secret',
  ];
  if (options.headers) {
    lines.push('  headers:');
    for (const [name, values] of Object.entries(options.headers)) {
      lines.push(`    ${name}: [${values.map(q).join(', ')}]`);
    }
  }
  if (options.schema1) lines.push('compatibility:', '  schema1:', '    enabled: true');
  if (options.auth) {
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${q(options.auth.realm)}`,
      `    service: ${q(options.auth.service)}`,
      `    issuer: ${q(options.auth.issuer)}`,
      `    rootcertbundle: ${q(options.auth.rootCertBundle)}`,
    );
  }
  const configFile = join(options.configDir, `registry-${randomUUID()}.yml`);
  await writeFile(configFile, lines.join('\n') + '\n');

  const child = spawn('docker-registry', ['serve', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await new Promise<number>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`docker-registry did not start:\n${output}`));
    }, 15_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      const match = /listening on 127\.0\.0\.1:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`docker-registry exited with ${code}:\n${output}`));
    });
  });
  // Keep draining its output so the pipe never fills up.
  child.stdout?.resume();
  child.stderr?.resume();

  await waitForHttp(`http://127.0.0.1:${port}/v2/`);
  return { port, host: `127.0.0.1:${port}`, stop: () => stopChild(child) };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

async function waitForHttp(url: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await new Promise<void>((resolve, reject) => {
        const request = http.get(url, (response) => {
          response.resume();
          resolve();
        });
        request.on('error', reject);
      });
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** `skopeo copy` an archive into a registry over plain http; returns the manifest digest skopeo wrote. */
export async function skopeoCopy(
  source: string,
  destination: string,
  workDir: string,
  extraArgs: string[] = [],
): Promise<string> {
  const digestFile = join(workDir, `digest-${randomUUID()}`);
  await run('skopeo', [
    '--insecure-policy',
    'copy',
    '--dest-tls-verify=false',
    '--digestfile',
    digestFile,
    ...extraArgs,
    source,
    destination,
  ]);
  return (await readFile(digestFile, 'utf8')).trim();
}

// ---- keys and certificates --------------------------------------------------------------------

export interface TestKeys {
  keyPem: string;
  certPem: string;
  certFile: string;
}

/**
 * A self-signed EC P-256 certificate (openssl) used both to sign tokens (the registry trusts it
 * through rootcertbundle) and as the TLS certificate of the https test servers.
 */
export async function makeTestKeys(dir: string, names: string[]): Promise<TestKeys> {
  const keyFile = join(dir, 'test-key.pem');
  const certFile = join(dir, 'test-cert.pem');
  const san = ['IP:127.0.0.1', ...names.map((n) => `DNS:${n}`)].join(',');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '2',
    '-subj',
    '/CN=layerlens-test',
    '-addext',
    `subjectAltName=${san}`,
  ]);
  return { keyPem: await readFile(keyFile, 'utf8'), certPem: await readFile(certFile, 'utf8'), certFile };
}

/**
 * libtrust's key ID, which the registry uses to find the key named by a token's `kid`: the
 * SHA-256 of the DER SubjectPublicKeyInfo, cut to 240 bits, base32, in twelve groups of four.
 */
export function libtrustKeyId(keyPem: string): string {
  const der = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
  const bytes = createHash('sha256').update(der).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return (out.match(/.{4}/g) ?? []).join(':');
}

// ---- token issuer -----------------------------------------------------------------------------

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** The port the request came in on, for servers listening on several. */
  port: number;
}

export interface TokenIssuer {
  port: number;
  realm: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/**
 * A Docker token-spec issuer (https://distribution.github.io/distribution/spec/auth/token/):
 * GET /token?service=…&scope=repository:<name>:<actions> with Basic credentials answers an ES256
 * JWT whose `access` claim grants the requested actions.
 */
export async function startTokenIssuer(options: {
  keys: TestKeys;
  service: string;
  issuer: string;
  users: Record<string, string>;
}): Promise<TokenIssuer> {
  const kid = libtrustKeyId(options.keys.keyPem);
  const key = createPrivateKey(options.keys.keyPem);
  const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

  const server = await startServer((req, res, url) => {
    const auth = req.headers.authorization ?? '';
    const [user, password] = auth.startsWith('Basic ')
      ? Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':')
      : [];
    if (url.pathname !== '/token' || user === undefined || options.users[user] !== password) {
      sendJson(res, 401, { details: 'bad credentials' });
      return;
    }
    const access = url.searchParams.getAll('scope').map((scope) => {
      const [type, name, actions] = scope.split(':');
      return { type, name, actions: (actions ?? '').split(',').filter(Boolean) };
    });
    const now = Math.floor(Date.now() / 1000);
    const header = b64({ typ: 'JWT', alg: 'ES256', kid });
    const claims = b64({
      iss: options.issuer,
      sub: user,
      aud: url.searchParams.get('service') ?? options.service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access,
    });
    // JWS ES256 signatures are r||s, not DER.
    const signature = sign('sha256', Buffer.from(`${header}.${claims}`), { key, dsaEncoding: 'ieee-p1363' });
    const token = `${header}.${claims}.${signature.toString('base64url')}`;
    sendJson(res, 200, { token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() });
  });
  return {
    port: server.port,
    realm: `http://127.0.0.1:${server.port}/token`,
    requests: server.requests,
    close: server.close,
  };
}

// ---- small servers ----------------------------------------------------------------------------

export interface TestServer {
  port: number;
  origin: string;
  requests: RecordedRequest[];
  /** Connections accepted, whether or not a request followed. */
  connections(): number;
  close(): Promise<void>;
}

export type TestHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void;

/** A node:http (or, with `tls`, node:https) server on 127.0.0.1 that records every request. */
export async function startServer(
  handler: TestHandler,
  tlsOptions?: { key: string; cert: string },
): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  let connections = 0;
  const sockets = new Set<Socket>();
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const port = (req.socket.localPort as number | undefined) ?? 0;
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, port });
    handler(req, res, new URL(req.url ?? '/', 'http://test.invalid'));
  };
  const server = tlsOptions ? https.createServer(tlsOptions, listener) : http.createServer(listener);
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    origin: `${tlsOptions ? 'https' : 'http'}://127.0.0.1:${port}`,
    requests,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** What a client gets back: status, headers and the whole body. */
export interface ClientResponse {
  status: number;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

/**
 * A plain node:http client: no redirects followed, no decompression, any header allowed, and the
 * path sent exactly as written (no dot-segment removal), so the proxy sees what an attacker sends.
 */
export function request(
  url: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<ClientResponse> {
  return new Promise((resolve, reject) => {
    const { origin, hostname, port } = new URL(url);
    const req = http.request({
      hostname,
      port,
      path: url.slice(origin.length),
      method: options.method ?? 'GET',
      headers: options.headers,
      agent: false,
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          body: Buffer.concat(chunks),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

// ---- test images ------------------------------------------------------------------------------

/** `skopeo inspect --raw` (or `--config --raw`) of an image in a plain-http registry. */
export async function skopeoInspectRaw(image: string, config = false): Promise<string> {
  const args = [
    'inspect',
    '--tls-verify=false',
    '--raw',
    ...(config ? ['--config'] : []),
    `docker://${image}`,
  ];
  const { stdout } = await run('skopeo', args, { maxBuffer: 64 << 20 });
  return stdout;
}

export interface FilledRegistry {
  /** repository:tag → manifest digest skopeo wrote. */
  digests: Record<string, string>;
}

/**
 * The images the registry client tests read: OCI (`test/app:1`), OCI with zstd layers
 * (`test/zstd:1`), Docker schema2 (`test/docker:1`), both images of an OCI layout (`test/multi:1`,
 * `test/multi:2`), a buildx multi-platform index with attestations (`test/index:v1`, from regclient's
 * testdata when present) and, when `schema1`, a schema1 image (`test/schema1:1`).
 */
export async function fillRegistry(
  host: string,
  work: string,
  data: string,
  options: { schema1?: boolean; regclientTestrepo?: string } = {},
): Promise<FilledRegistry> {
  const digests: Record<string, string> = {};
  const copy = async (src: string, dest: string, extra: string[] = []) => {
    digests[dest] = await skopeoCopy(src, `docker://${host}/${dest}`, work, extra);
  };
  await copy(`oci-archive:${join(data, 'oci-archive.tar')}`, 'test/app:1');
  await copy(`oci-archive:${join(data, 'oci-archive-zstd.tar')}`, 'test/zstd:1');
  await copy(`docker-archive:${join(data, 'docker-archive.tar')}`, 'test/docker:1', ['--format', 'v2s2']);
  const multi = join(work, 'multi');
  await run('mkdir', ['-p', multi]);
  await run('tar', ['-xf', join(data, 'oci-layout-multi.tar'), '-C', multi]);
  const index = JSON.parse(await readFile(join(multi, 'index.json'), 'utf8')) as {
    manifests: Array<{ annotations?: Record<string, string> }>;
  };
  for (const [i, m] of index.manifests.entries()) {
    const name = m.annotations?.['org.opencontainers.image.ref.name'];
    if (name) await copy(`oci:${multi}:${name}`, `test/multi:${i + 1}`);
  }
  // A two-platform OCI index whose images share no layer: test/mixed:1.
  await copy(`oci-archive:${join(data, 'oci-archive.tar')}`, 'test/mixed:amd64');
  await copy(`oci-archive:${join(data, 'oci-archive-zstd.tar')}`, 'test/mixed:arm64');
  const entry = async (tag: string, architecture: string) => {
    const res = await fetch(`http://${host}/v2/test/mixed/manifests/${tag}`, {
      headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    const bytes = Buffer.from(await res.arrayBuffer());
    return {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`,
      size: bytes.length,
      platform: { os: 'linux', architecture },
    };
  };
  const mixed = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [await entry('amd64', 'amd64'), await entry('arm64', 'arm64')],
  });
  const put = await fetch(`http://${host}/v2/test/mixed/manifests/1`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/vnd.oci.image.index.v1+json' },
    body: mixed,
  });
  if (put.status !== 201) throw new Error(`PUT test/mixed:1 answered ${put.status}: ${await put.text()}`);
  digests['test/mixed:1'] = `sha256:${createHash('sha256').update(mixed).digest('hex')}`;
  if (options.regclientTestrepo) {
    await copy(`oci:${options.regclientTestrepo}:v1`, 'test/index:v1', ['--all']);
  }
  if (options.schema1) {
    await copy(`docker-archive:${join(data, 'docker-archive.tar')}`, 'test/schema1:1', ['--format', 'v2s1']);
  }
  return { digests };
}

/**
 * A second registry over the same storage that requires Bearer tokens (distribution-spec
 * "token authentication") from an in-process issuer, with one user, alice / wonderland. Tests
 * use it to drive the token flow against images pushed to an open registry.
 */
export async function startTokenAuthRegistry(options: {
  storageDir: string;
  configDir: string;
  keys: TestKeys;
  service: string;
  issuer: string;
}): Promise<{ registry: RunningRegistry; issuer: TokenIssuer }> {
  const { keys, service } = options;
  const issuer = await startTokenIssuer({
    keys,
    service,
    issuer: options.issuer,
    users: { alice: 'wonderland' },
  });
  try {
    const registry = await startRegistry({
      storageDir: options.storageDir,
      configDir: options.configDir,
      auth: { realm: issuer.realm, service, issuer: options.issuer, rootCertBundle: keys.certFile },
    });
    return { registry, issuer };
  } catch (e) {
    await issuer.close();
    throw e;
  }
}
