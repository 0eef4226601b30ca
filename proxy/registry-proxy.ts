/**
 * The registry proxy. Registries send no CORS headers, so the page cannot read them directly; this
 * relays the OCI Distribution API (https://github.com/opencontainers/distribution-spec/blob/main/spec.md)
 * and the token endpoints registries point at, and nothing else. See proxy/README.md for the URL
 * scheme and the security rules; the comments here say why each rule exists.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { lookup as dnsLookup } from 'node:dns/promises';
import http, { type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction, type Socket } from 'node:net';
import { pipeline } from 'node:stream';
import tls from 'node:tls';
import { canonicalAddress, classifyAddress } from './address-guard';
import { rewriteBearerRealms } from './www-authenticate';
import {
  MAX_DOCUMENT_BYTES,
  PROXY_HEADER,
  PROXY_RELAYED,
  PROXY_SELF,
} from '../src/core/registry/proxy-protocol';

/** Same shape as `Mount` in scripts/static-server.ts; repeated so the proxy deploys on its own. */
export type Mount = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to every address it has; `dns.lookup(name, { all: true })` by default. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export interface RegistryProxyOptions {
  /**
   * Allow loopback, private, link-local and other non-public addresses, and plain http (the
   * `/registry-insecure/` prefix, http realms and http redirects). For a registry on your own
   * machine and for tests; never on a proxy others can reach.
   */
  allowLocal: boolean;
  /** Connect, idle and time-to-headers limit per upstream request, and total time for documents. */
  timeoutMs?: number;
  /** Largest manifest, referrers index or token response relayed. */
  maxDocumentBytes?: number;
  /** An origin (or `*`) whose pages may use the proxy cross-origin. Default: none (same origin only). */
  allowedOrigin?: string;
  /** Gets one line per request: method, host, path, status, duration. Never headers or queries. */
  log?: (line: string) => void;
  /** Name resolution, replaceable in tests. Whatever it returns is checked before use. */
  lookup?: Resolver;
  /** Extra certificate authorities to trust besides Node's bundled ones (PEM). */
  ca?: string | Buffer | Array<string | Buffer>;
  /**
   * Exact `address:port` endpoints (`[v6]:port` for IPv6) exempt from the address guard, for a
   * deployment that must reach one internal registry, and for tests. Scheme rules still apply.
   */
  allowAddresses?: readonly string[];
  /** Key for the token-realm ids; a random one per process by default. Share it between replicas. */
  tokenSecret?: string | Buffer;
}

export interface RegistryProxy extends Mount {
  /** Closes idle upstream connections. */
  close(): void;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_DOCUMENT_BYTES = MAX_DOCUMENT_BYTES;
export const MAX_REDIRECTS = 10;

const REGISTRY_PREFIX = '/registry/';
const INSECURE_PREFIX = '/registry-insecure/';
const TOKEN_PREFIX = '/token/';

/** Request headers the page may send on; everything else (Cookie, Host, X-Forwarded-*…) is dropped. */
const FORWARDED_REQUEST_HEADERS = ['accept', 'range', 'if-none-match', 'authorization'] as const;

/**
 * Response headers relayed to the page. Content-Encoding is here only so that bytes a server
 * compressed in spite of `Accept-Encoding: identity` are still decoded correctly by the browser.
 */
const PASSED_RESPONSE_HEADERS = new Set([
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
]);
const PASSED_RESPONSE_HEADER_PREFIXES = ['ratelimit-'];

// The header on every answer, shared with the page's client (src/core/registry/proxy-protocol.ts).
export { PROXY_HEADER, PROXY_RELAYED, PROXY_SELF };

/** What a cross-origin page may read (Content-Type and Content-Length are always readable). */
export const EXPOSED_HEADERS = [
  PROXY_HEADER,
  'Content-Range',
  'Content-Encoding',
  'Docker-Content-Digest',
  'Docker-Distribution-API-Version',
  'ETag',
  'Link',
  'OCI-Filters-Applied',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
  'RateLimit-Policy',
  'Retry-After',
  'WWW-Authenticate',
].join(', ');

const ALLOWED_METHODS = 'GET, HEAD, OPTIONS';
const ALLOWED_REQUEST_HEADERS = 'Accept, Range, If-None-Match, Authorization';

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Characters allowed unencoded in a path or query (RFC 3986 pchar, "/", "?" and "%"). */
const PATH_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;
const QUERY_CHARS = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*$/;
const HOST_PORT = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::[0-9]{1,5})?$/;
const MAX_URL_LENGTH = 8192;
const MAX_REALM_LENGTH = 2048;

class ProxyError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

class UpstreamTimeout extends Error {}

interface Target {
  url: URL;
  /** For the log line: the first host and path the page asked for. */
  logHost: string;
  logPath: string;
  kind: 'registry' | 'token';
  /** Manifests, referrers and tokens are buffered and size-limited; blobs are streamed. */
  document: boolean;
}

export function createRegistryProxy(options: RegistryProxyOptions): RegistryProxy {
  const allowLocal = options.allowLocal;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxDocumentBytes = options.maxDocumentBytes ?? DEFAULT_MAX_DOCUMENT_BYTES;
  const log = options.log ?? (() => {});
  const resolve: Resolver =
    options.lookup ?? ((hostname) => dnsLookup(hostname, { all: true, verbatim: true }));
  const tokenSecret = options.tokenSecret ?? randomBytes(32);
  const exempt = new Set(
    (options.allowAddresses ?? []).map((entry) => normaliseEndpoint(entry)).filter((e) => e !== null),
  );
  const extraCa = options.ca === undefined ? [] : Array.isArray(options.ca) ? options.ca : [options.ca];
  const ca = extraCa.length > 0 ? [...tls.rootCertificates, ...extraCa] : undefined;

  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 64, ca });

  // ---- token realms -------------------------------------------------------------------------
  // The page may only reach a token endpoint that a registry named in a WWW-Authenticate
  // challenge. Rather than keep a table of realms, the proxy signs each realm URL it relays and
  // accepts only ids carrying a valid signature: nothing to store, nothing an attacker can mint.

  function realmId(realm: string): string {
    const payload = Buffer.from(realm, 'utf8').toString('base64url');
    return `${payload}.${mac(payload)}`;
  }

  function realmFromId(id: string): string | null {
    const dot = id.indexOf('.');
    if (dot <= 0) return null;
    const payload = id.slice(0, dot);
    const given = Buffer.from(id.slice(dot + 1), 'utf8');
    const wanted = Buffer.from(mac(payload), 'utf8');
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) return null;
    return Buffer.from(payload, 'base64url').toString('utf8');
  }

  function mac(payload: string): string {
    return createHmac('sha256', tokenSecret).update(payload).digest().subarray(0, 16).toString('base64url');
  }

  function rewriteChallenge(header: string): string {
    return rewriteBearerRealms(header, (realm) => {
      if (realm.length > MAX_REALM_LENGTH) return null;
      let url: URL;
      try {
        url = new URL(realm);
      } catch {
        return null;
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
      // Distribution token spec: the client appends service and scope to the realm's query.
      return `${TOKEN_PREFIX}${realmId(url.href)}`;
    });
  }

  // ---- routing ------------------------------------------------------------------------------

  /** Works out the upstream URL from the request, or throws a ProxyError. */
  function route(rawUrl: string): Target {
    if (rawUrl.length > MAX_URL_LENGTH) throw new ProxyError(414, 'The request URL is too long.');
    const question = rawUrl.indexOf('?');
    const path = question === -1 ? rawUrl : rawUrl.slice(0, question);
    const query = question === -1 ? '' : rawUrl.slice(question + 1);
    if (!QUERY_CHARS.test(query))
      throw new ProxyError(400, 'The query string has characters that must be encoded.');

    if (path.startsWith(TOKEN_PREFIX)) {
      const id = path.slice(TOKEN_PREFIX.length);
      const realm = realmFromId(id);
      if (realm === null) {
        throw new ProxyError(
          404,
          'Unknown token realm id: fetch the registry again to get a fresh WWW-Authenticate challenge.',
        );
      }
      const url = new URL(realm);
      if (query !== '') url.search = url.search === '' ? `?${query}` : `${url.search}&${query}`;
      return { url, logHost: url.host, logPath: url.pathname, kind: 'token', document: true };
    }

    const insecure = path.startsWith(INSECURE_PREFIX);
    const rest = path.slice(insecure ? INSECURE_PREFIX.length : REGISTRY_PREFIX.length);
    const slash = rest.indexOf('/');
    const hostPort = slash === -1 ? rest : rest.slice(0, slash);
    const apiPath = slash === -1 ? '' : rest.slice(slash);
    if (!HOST_PORT.test(hostPort)) {
      throw new ProxyError(400, `"${hostPort}" is not a registry host[:port].`);
    }
    // Only the Distribution API: every endpoint of the spec lives under /v2/.
    if (!apiPath.startsWith('/v2/')) {
      throw new ProxyError(404, 'Only Distribution API paths (/v2/…) are relayed.');
    }
    if (!PATH_CHARS.test(apiPath)) throw new ProxyError(400, 'The path has characters that must be encoded.');
    for (const segment of apiPath.split('/')) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(segment);
      } catch {
        throw new ProxyError(400, 'The path has an invalid percent-encoding.');
      }
      // Dot segments would climb out of /v2/ once the URL is normalised; encoded slashes could
      // change the path a registry sees.
      if (decoded === '.' || decoded === '..' || /[/\\]/.test(decoded)) {
        throw new ProxyError(400, 'The path may not contain dot segments or encoded slashes.');
      }
    }
    if (insecure && !allowLocal) {
      throw new ProxyError(
        403,
        'Plain-http registries (/registry-insecure/) are only allowed when the proxy runs with ALLOW_LOCAL_REGISTRIES=1.',
      );
    }

    let url: URL;
    try {
      // The WHATWG parser also normalises odd IPv4 spellings (0x7f.1, 2130706433) to dotted form.
      url = new URL(
        `${insecure ? 'http' : 'https'}://${hostPort}${apiPath}${query === '' ? '' : `?${query}`}`,
      );
    } catch {
      throw new ProxyError(400, `"${hostPort}" is not a registry host[:port].`);
    }
    if (url.port === '0') throw new ProxyError(400, 'Port 0 is not a port.');
    const document = /\/(?:manifests|referrers)\/[^/]+$/.test(url.pathname);
    return { url, logHost: url.host, logPath: url.pathname, kind: 'registry', document };
  }

  // ---- the address guard --------------------------------------------------------------------

  /**
   * Resolves the URL's host and checks every address; returns the addresses to connect to. The
   * connection is then pinned to them, so a second DNS answer (rebinding) is never used.
   */
  async function vet(url: URL, redirected: boolean): Promise<ResolvedAddress[]> {
    const what = redirected ? `Redirect to ${url.host} refused` : `Refused`;
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && allowLocal)) {
      throw new ProxyError(
        403,
        `${what}: only https is allowed (plain http only with ALLOW_LOCAL_REGISTRIES=1).`,
      );
    }
    const hostname = bare(url.hostname);
    const port = effectivePort(url);
    let addresses: ResolvedAddress[];
    const literal = isIP(hostname);
    if (literal !== 0) {
      addresses = [{ address: hostname, family: literal }];
    } else {
      let timer: NodeJS.Timeout | undefined;
      try {
        addresses = await Promise.race([
          resolve(hostname),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new UpstreamTimeout()), timeoutMs);
          }),
        ]);
      } catch (error) {
        if (error instanceof UpstreamTimeout) throw error;
        const code = (error as NodeJS.ErrnoException).code ?? 'error';
        throw new ProxyError(502, `Cannot resolve ${hostname} (${code}).`);
      } finally {
        clearTimeout(timer);
      }
      if (addresses.length === 0) throw new ProxyError(502, `Cannot resolve ${hostname}: no addresses.`);
    }
    if (!allowLocal) {
      for (const { address } of addresses) {
        if (isExempt(address, port)) continue;
        const verdict = classifyAddress(address);
        if (!verdict.allowed) {
          const via = literal !== 0 ? '' : `${hostname} resolves to `;
          throw new ProxyError(403, `${what}: ${via}${verdict.reason}.`);
        }
      }
    }
    return addresses;
  }

  function isExempt(address: string, port: number): boolean {
    const canonical = canonicalAddress(address);
    return canonical !== null && exempt.has(`${canonical}|${port}`);
  }

  /** Checks the address a socket really connected to, in case anything bypassed the pinned lookup. */
  function checkSocket(socket: Socket, port: number): void {
    if (allowLocal) return;
    const check = (): void => {
      const remote = socket.remoteAddress;
      if (remote === undefined || isExempt(remote, port)) return;
      const verdict = classifyAddress(remote);
      if (!verdict.allowed) socket.destroy(new ProxyError(403, `Refused: ${verdict.reason}.`));
    };
    if (socket.connecting) socket.once('connect', check);
    else check();
  }

  // ---- one upstream request -----------------------------------------------------------------

  interface Hop {
    response: IncomingMessage;
    /** Stops the deadline that runs from the request until the caller has what it needs. */
    clearDeadline(): void;
    /** Whether the deadline or the idle limit ended the exchange. */
    timedOut(): boolean;
  }

  function send(
    url: URL,
    addresses: ResolvedAddress[],
    method: string,
    headers: OutgoingHttpHeaders,
    signal: AbortSignal,
  ): Promise<Hop> {
    return new Promise((resolvePromise, reject) => {
      const secure = url.protocol === 'https:';
      const port = effectivePort(url);
      const pinned: LookupFunction = (_hostname, lookupOptions, callback) => {
        const family = lookupOptions.family === 4 || lookupOptions.family === 6 ? lookupOptions.family : 0;
        const usable = family === 0 ? addresses : addresses.filter((a) => a.family === family);
        const first = usable[0];
        if (first === undefined) {
          callback(Object.assign(new Error('no vetted address of that family'), { code: 'ENOTFOUND' }), '');
        } else if (lookupOptions.all) {
          callback(null, usable);
        } else {
          callback(null, first.address, first.family);
        }
      };
      const request = (secure ? https : http).request({
        protocol: url.protocol,
        hostname: bare(url.hostname),
        port,
        path: `${url.pathname}${url.search}`,
        method,
        headers,
        agent: secure ? httpsAgent : httpAgent,
        lookup: pinned,
        signal,
      });
      let timedOut = false;
      const expire = (): void => {
        timedOut = true;
        request.destroy(new UpstreamTimeout());
      };
      let deadline: NodeJS.Timeout | undefined = setTimeout(expire, timeoutMs);
      const clearDeadline = (): void => {
        if (deadline !== undefined) clearTimeout(deadline);
        deadline = undefined;
      };
      // Idle limit for the whole exchange, body included.
      request.setTimeout(timeoutMs, expire);
      request.on('socket', (socket) => checkSocket(socket, port));
      request.on('response', (response) =>
        resolvePromise({ response, clearDeadline, timedOut: () => timedOut }),
      );
      request.on('error', (error) => {
        clearDeadline();
        reject(error);
      });
      request.on('close', clearDeadline);
      request.end();
    });
  }

  /** Follows redirects itself (blob storage and CDNs answer blob requests with 307s). */
  async function fetchFollowing(
    target: Target,
    method: string,
    headers: OutgoingHttpHeaders,
    signal: AbortSignal,
  ): Promise<Hop> {
    let url = target.url;
    for (let redirects = 0; ; redirects++) {
      const addresses = await vet(url, redirects > 0);
      const hop = await send(url, addresses, method, headers, signal);
      const status = hop.response.statusCode ?? 502;
      if (!REDIRECT_STATUSES.has(status)) return hop;

      hop.clearDeadline();
      hop.response.destroy();
      const location = hop.response.headers.location;
      if (location === undefined)
        throw new ProxyError(502, `${url.host} answered ${status} without a Location.`);
      if (redirects >= MAX_REDIRECTS) {
        throw new ProxyError(502, `Too many redirects: gave up after ${MAX_REDIRECTS}.`);
      }
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new ProxyError(502, `${url.host} redirected to an invalid URL.`);
      }
      // Credentials are for the registry that asked for them, never for the storage or CDN it
      // redirects to (Fetch drops Authorization on cross-origin redirects for the same reason).
      if (next.origin !== url.origin) delete headers.authorization;
      url = next;
    }
  }

  // ---- the response to the page -------------------------------------------------------------

  function setCommonHeaders(req: IncomingMessage, res: ServerResponse): void {
    // Relayed bytes come from anywhere; they must never run as a page or script on this origin.
    res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
    res.setHeader(PROXY_HEADER, PROXY_RELAYED);
    const allowed = options.allowedOrigin;
    if (allowed === '*') {
      res.setHeader('Access-Control-Allow-Origin', '*');
    } else if (allowed !== undefined) {
      res.setHeader('Vary', 'Origin');
      if (req.headers.origin === allowed) res.setHeader('Access-Control-Allow-Origin', allowed);
    }
  }

  function sendJson(
    res: ServerResponse,
    status: number,
    error: string,
    extra: Record<string, string> = {},
  ): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = JSON.stringify({ error });
    res.writeHead(status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
      [PROXY_HEADER]: PROXY_SELF,
      ...extra,
    });
    res.end(body);
  }

  function relayedHeaders(response: IncomingMessage, target: Target): OutgoingHttpHeaders {
    const out: OutgoingHttpHeaders = {};
    for (const [name, values] of Object.entries(response.headersDistinct)) {
      if (values === undefined) continue;
      if (
        !PASSED_RESPONSE_HEADERS.has(name) &&
        !PASSED_RESPONSE_HEADER_PREFIXES.some((p) => name.startsWith(p))
      ) {
        continue;
      }
      if (name === 'content-type') out[name] = safeContentType(values[0] ?? '');
      else if (name === 'www-authenticate' && target.kind === 'registry')
        out[name] = values.map(rewriteChallenge);
      else out[name] = values.length === 1 ? values[0] : values;
    }
    // Tokens are credentials: never cached. Other answers may be cached but are revalidated.
    out['cache-control'] = target.kind === 'token' ? 'no-store' : 'private, no-cache';
    return out;
  }

  async function readLimited(response: IncomingMessage): Promise<Buffer> {
    const declared = Number(response.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxDocumentBytes) {
      response.destroy();
      throw tooLarge(declared);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of response) {
      const buffer = chunk as Buffer;
      size += buffer.length;
      if (size > maxDocumentBytes) {
        response.destroy();
        throw tooLarge(size);
      }
      chunks.push(buffer);
    }
    return Buffer.concat(chunks);
  }

  function tooLarge(size: number): ProxyError {
    return new ProxyError(
      502,
      `The upstream document is larger than the proxy's limit of ${maxDocumentBytes} bytes (at least ${size}).`,
    );
  }

  async function handle(
    req: IncomingMessage,
    res: ServerResponse,
    abort: AbortController,
    context: { target: Target | null },
  ): Promise<number> {
    const method = req.method ?? 'GET';
    if (method === 'OPTIONS') {
      // The proxy answers preflights itself; nothing is sent upstream.
      res.writeHead(204, {
        Allow: ALLOWED_METHODS,
        'Access-Control-Allow-Methods': ALLOWED_METHODS,
        'Access-Control-Allow-Headers': ALLOWED_REQUEST_HEADERS,
        'Access-Control-Max-Age': '600',
      });
      res.end();
      return 204;
    }
    if (method !== 'GET' && method !== 'HEAD') {
      sendJson(res, 405, `Method ${method} is not allowed: the proxy relays GET and HEAD only.`, {
        Allow: ALLOWED_METHODS,
      });
      return 405;
    }

    const target = route(req.url ?? '/');
    context.target = target;

    const headers: OutgoingHttpHeaders = {
      'user-agent': 'layerlens-proxy',
      // Bytes must arrive as stored so that digests can be checked.
      'accept-encoding': 'identity',
    };
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = req.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }

    const hop = await fetchFollowing(target, method, headers, abort.signal);
    const { response } = hop;
    const status = response.statusCode ?? 502;
    const out = relayedHeaders(response, target);
    const bodyless = method === 'HEAD' || status === 204 || status === 304;

    if (target.document && !bodyless) {
      let body: Buffer;
      try {
        body = await readLimited(response);
      } catch (error) {
        throw hop.timedOut() ? new UpstreamTimeout() : error;
      } finally {
        hop.clearDeadline();
      }
      out['content-length'] = body.length;
      res.writeHead(status, out);
      res.end(body);
      return status;
    }

    hop.clearDeadline();
    res.writeHead(status, out);
    if (bodyless) {
      response.resume();
      res.end();
      return status;
    }
    // pipeline gives backpressure both ways and tears the other side down on failure.
    await new Promise<void>((done) => {
      pipeline(response, res, () => done());
    });
    return status;
  }

  const mount = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url ?? '/';
    if (
      !url.startsWith(REGISTRY_PREFIX) &&
      !url.startsWith(INSECURE_PREFIX) &&
      !url.startsWith(TOKEN_PREFIX)
    ) {
      return false;
    }
    const started = Date.now();
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort();
    });
    setCommonHeaders(req, res);
    const context: { target: Target | null } = { target: null };
    handle(req, res, abort, context)
      .catch((error: unknown) => {
        if (abort.signal.aborted) return 499; // the page went away
        const [status, message] = describeError(error);
        sendJson(res, status, message);
        return status;
      })
      .then((status) => {
        const host = context.target?.logHost ?? '-';
        const path = context.target?.logPath ?? '-';
        log(`proxy ${req.method ?? '-'} ${host} ${path} ${status} ${Date.now() - started}ms`);
      })
      .catch(() => {});
    return true;
  };

  function describeError(error: unknown): [number, string] {
    if (error instanceof ProxyError) return [error.status, error.message];
    if (error instanceof UpstreamTimeout)
      return [504, `The upstream server did not answer within ${timeoutMs} ms.`];
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (code === 'ECONNREFUSED') return [502, 'The upstream server refused the connection.'];
    if (code === 'ECONNRESET' || code === 'EPIPE') return [502, 'The upstream server closed the connection.'];
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
      return [502, 'The upstream host name could not be resolved.'];
    if (code === 'ETIMEDOUT') return [504, 'Connecting to the upstream server timed out.'];
    if (code === 'EPROTO') {
      // What OpenSSL reports when the other end does not speak TLS at all.
      return [
        502,
        'TLS with the upstream server failed (EPROTO): if it is a plain-http registry, use /registry-insecure/ ' +
          'with ALLOW_LOCAL_REGISTRIES=1.',
      ];
    }
    if (
      /^(?:ERR_TLS|CERT_|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED|ERR_SSL|HOSTNAME_MISMATCH)/.test(code) ||
      code.includes('CERT')
    ) {
      return [502, `TLS with the upstream server failed (${code}).`];
    }
    return [502, `The upstream request failed${code ? ` (${code})` : ''}.`];
  }

  return Object.assign(mount, {
    close(): void {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  });
}

/** `ALLOW_LOCAL_REGISTRIES=1` (or `true`) turns the flag on; anything else leaves it off. */
export function envFlag(value: string | undefined): boolean {
  return value === '1' || value?.toLowerCase() === 'true';
}

/** URL.hostname keeps IPv6 brackets; sockets want the bare address. */
function bare(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

function effectivePort(url: URL): number {
  if (url.port !== '') return Number(url.port);
  return url.protocol === 'https:' ? 443 : 80;
}

/** `10.1.2.3:5000` or `[fd00::1]:5000` → a key matching isExempt's. */
function normaliseEndpoint(entry: string): string | null {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):([0-9]{1,5})$/.exec(entry.trim());
  if (!match) return null;
  const canonical = canonicalAddress(match[1] ?? match[2] ?? '');
  return canonical === null ? null : `${canonical}|${Number(match[3])}`;
}

/**
 * Keeps registry media types (application/vnd.oci…+json, application/octet-stream, …) and plain
 * text, and turns anything a browser would render or execute (HTML, SVG, XML, JavaScript) into
 * application/octet-stream, so that a hostile registry cannot serve a page on this origin.
 */
export function safeContentType(value: string): string {
  const essence = (value.split(';')[0] ?? '').trim().toLowerCase();
  const harmless =
    (/^application\/[a-z0-9.+_-]+$/.test(essence) ||
      essence === 'text/plain' ||
      essence === 'binary/octet-stream') &&
    !/(?:java|ecma)script|xml|html|wasm|pdf/.test(essence);
  return harmless ? value : 'application/octet-stream';
}
