/**
 * A client of the OCI Distribution API that talks to registries through the same-origin proxy
 * (proxy/README.md): `/registry/<host>/v2/…`, `/registry-insecure/<host>/v2/…` and the `/token/<id>`
 * realms the proxy rewrites into `WWW-Authenticate`. Pure TypeScript: it takes a `fetch`-like
 * function, so it runs in the worker and in Node tests alike.
 *
 * Every manifest's digest comes from its bytes: a by-digest fetch must hash to the digest asked for,
 * and a tag's digest is computed, never taken from `Docker-Content-Digest`.
 */
import { base64Encode } from '../base64';
import { concatBytes } from '../bytes';
import type { Descriptor, Problem, ProblemCode } from '../model';
import { sha256OfBytes } from '../digest/sha256';
import type { DigestResult } from '../digest/blob-digester';
import { digestStream } from '../digest/digest-blob';
import type { DigestStreamOptions } from '../digest/digest-blob';
import { MAX_DOCUMENT_BYTES, PROXY_HEADER, PROXY_SELF } from './proxy-protocol';
import { schema1Payload } from '../archive/schema1';
import { MT } from '../archive/media-types';

export type FetchLike = (
  url: string,
  init?: { headers?: Record<string, string>; signal?: AbortSignal; method?: string },
) => Promise<Response>;

export const MANIFEST_TYPES = [
  MT.ociIndex,
  MT.ociManifest,
  MT.dockerList,
  MT.dockerManifest,
  MT.dockerSchema1Signed,
  MT.dockerSchema1,
] as const;

/** The single `Accept` header of every manifest request. */
export const MANIFEST_ACCEPT = MANIFEST_TYPES.join(', ');

/** What is read of an error answer's body: enough for its message. */
const MAX_ERROR_BODY = 64 << 10;

/**
 * A response's body read whole, unless it holds more than `max` bytes: then what fits is kept, the
 * rest is never read (the stream is cancelled), and `complete` is false. A broken or hostile
 * registry cannot make the worker hold more of an answer than it means to read.
 */
export async function readCapped(
  res: Response,
  max: number,
): Promise<{ bytes: Uint8Array; complete: boolean }> {
  const body = res.body;
  if (!body) return { bytes: new Uint8Array(0), complete: true };
  const declared = res.headers.get('content-length');
  if (declared !== null && /^\d+$/.test(declared) && Number(declared) > max) {
    await body.cancel().catch(() => undefined);
    return { bytes: new Uint8Array(0), complete: false };
  }
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let length = 0;
  let complete = true;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (length + value.length > max) {
      parts.push(value.subarray(0, max - length));
      length = max;
      complete = false;
      await reader.cancel().catch(() => undefined);
      break;
    }
    parts.push(value);
    length += value.length;
  }
  return { bytes: concatBytes(parts, length), complete };
}

export interface Credentials {
  username: string;
  password: string;
}

export interface RateLimit {
  /** `RateLimit-Limit` / Docker Hub's `ratelimit-limit`, as sent (e.g. `100;w=21600`). */
  limit: string | null;
  remaining: string | null;
}

export interface RegistryClientOptions {
  fetch: FetchLike;
  /** Origin (or '' for same-origin) in front of the proxy paths. */
  base: string;
  /** Registry endpoint host[:port] (`ImageReference.endpoint`). */
  host: string;
  /** Plain http through `/registry-insecure/` (needs ALLOW_LOCAL_REGISTRIES=1 on the server). */
  insecure?: boolean;
  credentials?: Credentials | null;
  /** Clock in ms, for token expiry (tests). */
  now?: () => number;
}

/** A registry answer that stops the operation, as a Problem with a clear message. */
export class RegistryError extends Error {
  constructor(
    readonly problem: Problem,
    readonly status: number | null,
  ) {
    super(problem.message);
    this.name = 'RegistryError';
  }
}

export interface FetchedManifest {
  bytes: Uint8Array;
  text: string;
  /** Content-Type as sent, or the document's own `mediaType`. */
  mediaType: string;
  /** SHA-256 of the bytes (for signed schema1, of the canonical payload). */
  digest: string;
  value: Record<string, unknown> | null;
  size: number;
}

export interface Referrer extends Descriptor {
  /** How it was found: referrers API, `sha256-<hex>` tag schema, cosign tag. */
  via: 'referrers-api' | 'tag-schema' | 'cosign-tag';
  /** Cosign's tag for it, when found through one. */
  tag?: string;
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parse a `WWW-Authenticate` header into its challenges (RFC 9110 §11.6.1). */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const out: Challenge[] = [];
  const re =
    /\s*([A-Za-z][\w!#$%&'*+.^`|~-]*)(?:\s+|$)|\s*([\w!#$%&'*+.^`|~-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?/y;
  let current: Challenge | null = null;
  let i = 0;
  while (i < header.length) {
    re.lastIndex = i;
    const m = re.exec(header);
    if (!m || m[0] === '') break;
    i = re.lastIndex;
    if (m[2] !== undefined) {
      if (!current) continue;
      let v = m[3] ?? '';
      if (v.startsWith('"')) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
      current.params[m[2].toLowerCase()] = v;
    } else if (m[1] !== undefined) {
      current = { scheme: m[1].toLowerCase(), params: {} };
      out.push(current);
    }
    while (header[i] === ',' || header[i] === ' ') i++;
  }
  return out;
}

function b64(text: string): string {
  return base64Encode(new TextEncoder().encode(text), 'base64');
}

const SECONDS = 1000;

/** A blob GET prepared by the client, to be made elsewhere (`fetchBlobAndDigest`). */
export interface BlobRequest {
  url: string;
  headers: Record<string, string>;
}

export class RegistryClient {
  readonly host: string;
  /** Last rate-limit headers seen (Docker Hub sends them on manifest GETs). */
  rateLimit: RateLimit | null = null;
  private readonly tokens = new Map<string, { token: string; expires: number }>();
  /** Last Bearer challenge per repository, to ask for a token before the request. */
  private readonly challenges = new Map<string, Challenge>();
  private basicNeeded = false;
  /** The registry answered 404 to the referrers API once: use the tag schema from then on. */
  private referrersUnsupported = false;
  private readonly now: () => number;

  constructor(private readonly options: RegistryClientOptions) {
    this.host = options.host;
    this.now = options.now ?? (() => Date.now());
  }

  setCredentials(credentials: Credentials | null): void {
    this.options.credentials = credentials;
    this.tokens.clear();
  }

  private url(path: string): string {
    return `${this.options.base}/${this.options.insecure ? 'registry-insecure' : 'registry'}/${this.host}${path}`;
  }

  private where(path: string): string {
    return `${this.host}${path}`;
  }

  private problem(code: ProblemCode, message: string, path: string): Problem {
    return { code, message, where: this.where(path), severity: 'error' };
  }

  private tokenKey(repo: string, challenge: Challenge): string {
    return `${challenge.params.realm ?? ''}\n${challenge.params.service ?? ''}\n${challenge.params.scope ?? `repository:${repo}:pull`}`;
  }

  private async authHeader(repo: string): Promise<string | null> {
    const c = this.challenges.get(repo);
    if (c) {
      const cached = this.tokens.get(this.tokenKey(repo, c));
      if (cached && cached.expires > this.now()) return `Bearer ${cached.token}`;
      if (cached) this.tokens.delete(this.tokenKey(repo, c));
      return null;
    }
    const cred = this.options.credentials;
    if (this.basicNeeded && cred) return `Basic ${b64(`${cred.username}:${cred.password}`)}`;
    return null;
  }

  /** GET `path` with auth, answering one 401 challenge. Throws RegistryError on failure. */
  async request(
    repo: string,
    path: string,
    headers: Record<string, string> = {},
    signal?: AbortSignal,
    urlOverride?: string,
  ): Promise<Response> {
    let retried = false;
    for (;;) {
      const h = { ...headers };
      const auth = await this.authHeader(repo);
      if (auth) h.Authorization = auth;
      let res: Response;
      try {
        res = await this.options.fetch(urlOverride ?? this.url(path), { headers: h, signal });
      } catch (e) {
        if (signal?.aborted) throw e;
        const reason = e instanceof Error ? e.message : String(e);
        throw new RegistryError(
          this.problem('registry-network', `could not reach ${this.host} through the proxy: ${reason}`, path),
          null,
        );
      }
      if (!res.headers.has(PROXY_HEADER)) {
        await res.body?.cancel().catch(() => undefined);
        throw new RegistryError(
          this.problem(
            'registry-network',
            `${this.options.base || 'the page’s server'} answered the request itself (HTTP ${res.status}) instead of relaying it to ${this.host}: it runs no registry proxy. Registries are reached through the proxy that \`npm start\` serves beside the app`,
            path,
          ),
          null,
        );
      }
      this.captureRateLimit(res);
      if (res.status === 401 && !retried) {
        retried = true;
        const challenges = parseWwwAuthenticate(res.headers.get('www-authenticate') ?? '');
        await res.body?.cancel().catch(() => undefined);
        const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
        if (bearer) {
          this.challenges.set(repo, bearer);
          await this.fetchToken(repo, bearer, path, signal);
          continue;
        }
        if (challenges.some((c) => c.scheme === 'basic') && this.options.credentials) {
          this.basicNeeded = true;
          continue;
        }
        throw new RegistryError(this.authProblem(path), 401);
      }
      if (res.ok) return res;
      throw await this.errorFor(res, path);
    }
  }

  private authProblem(path: string): Problem {
    return this.problem(
      'registry-auth',
      this.options.credentials
        ? `${this.host} refused the credentials given (401 Unauthorized)`
        : `${this.host} needs credentials for this repository (401 Unauthorized): enter a user name and password or token`,
      path,
    );
  }

  private async fetchToken(repo: string, c: Challenge, path: string, signal?: AbortSignal): Promise<void> {
    const realm = c.params.realm as string;
    const params = new URLSearchParams();
    if (c.params.service) params.set('service', c.params.service);
    params.set('scope', c.params.scope ?? `repository:${repo}:pull`);
    const base = realm.startsWith('/') ? `${this.options.base}${realm}` : realm;
    const url = `${base}${base.includes('?') ? '&' : '?'}${params.toString()}`;
    const h: Record<string, string> = {};
    const cred = this.options.credentials;
    if (cred) h.Authorization = `Basic ${b64(`${cred.username}:${cred.password}`)}`;
    let res: Response;
    try {
      res = await this.options.fetch(url, { headers: h, signal });
    } catch (e) {
      if (signal?.aborted) throw e;
      const reason = e instanceof Error ? e.message : String(e);
      throw new RegistryError(
        this.problem('registry-network', `the token service could not be reached: ${reason}`, path),
        null,
      );
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel().catch(() => undefined);
      throw new RegistryError(this.authProblem(path), res.status);
    }
    if (!res.ok) throw await this.errorFor(res, `${path} (token)`);
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      const read = await readCapped(res, MAX_DOCUMENT_BYTES);
      if (!read.complete) throw new Error('too long');
      body = JSON.parse(new TextDecoder().decode(read.bytes)) as typeof body;
    } catch {
      throw new RegistryError(
        this.problem('registry-auth', 'the token service answered something that is not JSON', path),
        res.status,
      );
    }
    const token =
      typeof body.token === 'string'
        ? body.token
        : typeof body.access_token === 'string'
          ? body.access_token
          : null;
    if (!token)
      throw new RegistryError(
        this.problem('registry-auth', 'the token service answered no token', path),
        res.status,
      );
    // The token spec's default lifetime is 60 s; keep a margin so a token never expires in flight.
    const lifetime = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
    this.tokens.set(this.tokenKey(repo, c), {
      token,
      expires: this.now() + Math.max(1, lifetime - 5) * SECONDS,
    });
  }

  /** Tokens cached (tests). */
  get cachedTokens(): number {
    return this.tokens.size;
  }

  private captureRateLimit(res: Response): void {
    const limit = res.headers.get('ratelimit-limit');
    const remaining = res.headers.get('ratelimit-remaining');
    if (limit !== null || remaining !== null) this.rateLimit = { limit, remaining };
  }

  private async errorFor(res: Response, path: string): Promise<RegistryError> {
    let detail = '';
    try {
      const text = new TextDecoder().decode((await readCapped(res, MAX_ERROR_BODY)).bytes).slice(0, 2000);
      try {
        const j = JSON.parse(text) as { errors?: { code?: string; message?: string }[]; error?: string };
        if (Array.isArray(j.errors) && j.errors[0])
          detail = [j.errors[0].code, j.errors[0].message].filter(Boolean).join(': ');
        else if (typeof j.error === 'string') detail = j.error;
      } catch {
        detail = text.trim().slice(0, 200);
      }
    } catch {
      /* no body */
    }
    const suffix = detail ? ` (${detail})` : '';
    const s = res.status;
    let code: ProblemCode = 'registry-server';
    let message: string;
    if (res.headers.get(PROXY_HEADER) === PROXY_SELF) {
      // The proxy's own answer: the registry never saw the request, so its status says nothing of it.
      const why = detail || `HTTP ${s}`;
      if (s === 403) {
        code = 'registry-denied';
        message = `the proxy refuses to reach ${this.host}: ${why}`;
      } else {
        code = 'registry-network';
        message =
          s === 502 || s === 504
            ? `could not reach ${this.host} (the proxy answered ${s}): ${why}`
            : `the proxy did not relay the request to ${this.host} (${s}): ${why}`;
      }
      return new RegistryError(this.problem(code, message, path), s);
    }
    if (s === 401) {
      return new RegistryError(
        { ...this.authProblem(path), message: this.authProblem(path).message + suffix },
        s,
      );
    } else if (s === 403) {
      code = 'registry-denied';
      message = `access denied (403 Forbidden)${suffix}`;
    } else if (s === 404) {
      code = 'registry-not-found';
      message = `not found (404): the repository, tag or digest does not exist, or is private${suffix}`;
    } else if (s === 429) {
      code = 'registry-rate-limit';
      const after = res.headers.get('retry-after');
      const rl = this.rateLimit;
      message = `too many requests (429): the registry's rate limit is reached${after ? `; retry after ${/^\d+$/.test(after) ? `${after} s` : after}` : ''}${rl?.limit ? ` (limit ${rl.limit}, remaining ${rl.remaining ?? '?'})` : ''}${suffix}`;
    } else if (s >= 500) {
      message = `the registry failed (${s})${suffix}`;
    } else {
      message = `unexpected answer ${s}${suffix}`;
    }
    return new RegistryError(this.problem(code, message, path), s);
  }

  /** GET a manifest by tag or digest with the single Accept header, verified against its bytes. */
  async manifest(repo: string, reference: string, signal?: AbortSignal): Promise<FetchedManifest> {
    const path = `/v2/${repo}/manifests/${reference}`;
    const res = await this.request(repo, path, { Accept: MANIFEST_ACCEPT }, signal);
    const bytes = await this.document(res, path, 'the manifest');
    const text = new TextDecoder('utf-8').decode(bytes);
    let value: Record<string, unknown> | null = null;
    try {
      const v = JSON.parse(text) as unknown;
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) value = v as Record<string, unknown>;
    } catch {
      /* reported by the walker */
    }
    const contentType = (res.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
    const mediaType =
      typeof value?.mediaType === 'string'
        ? value.mediaType
        : contentType && contentType !== 'application/json'
          ? contentType
          : value?.schemaVersion === 1
            ? value.signatures
              ? MT.dockerSchema1Signed
              : MT.dockerSchema1
            : contentType;
    let digest = await sha256OfBytes(bytes);
    if (value?.schemaVersion === 1 && reference !== digest) {
      const payload = schema1Payload(bytes, value);
      if (payload) {
        const d = await sha256OfBytes(payload);
        if (!reference.startsWith('sha256:') || d === reference) digest = d;
      }
    }
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw new RegistryError(
        {
          code: 'digest-mismatch',
          message: `the manifest served for ${reference} hashes to ${digest}`,
          where: this.where(path),
          severity: 'error',
        },
        res.status,
      );
    }
    return { bytes, text, mediaType, digest, value, size: bytes.length };
  }

  /** GET a blob as a stream (the caller verifies it while reading). */
  async blob(
    repo: string,
    digest: string,
    signal?: AbortSignal,
  ): Promise<{ stream: ReadableStream<Uint8Array>; size: number | null }> {
    const path = `/v2/${repo}/blobs/${digest}`;
    const res = await this.request(repo, path, {}, signal);
    if (!res.body)
      throw new RegistryError(this.problem('read-error', 'the blob response has no body', path), res.status);
    const len = res.headers.get('content-length');
    return { stream: res.body, size: len !== null && /^\d+$/.test(len) ? Number(len) : null };
  }

  /**
   * The GET of a blob for another thread to make (a digest worker): the proxy URL and the
   * Authorization this client holds now. A token that has expired meanwhile, or a registry that
   * challenges blob requests only, gets a 401 there; the caller then falls back to `blob()`.
   */
  async blobRequest(repo: string, digest: string): Promise<BlobRequest> {
    const auth = await this.authHeader(repo);
    return { url: this.url(`/v2/${repo}/blobs/${digest}`), headers: auth ? { Authorization: auth } : {} };
  }

  /**
   * GET a small blob (config) whole: at most `size` bytes, the size its descriptor gives. A longer
   * answer is not read past that (its digest could not match anyway).
   */
  async blobBytes(repo: string, digest: string, size: number, signal?: AbortSignal): Promise<Uint8Array> {
    const path = `/v2/${repo}/blobs/${digest}`;
    const res = await this.request(repo, path, {}, signal);
    const read = await readCapped(res, size);
    if (!read.complete)
      throw new RegistryError(
        this.problem(
          'size-mismatch',
          `the blob is longer than the ${size} bytes its descriptor gives; it was not read further`,
          path,
        ),
        res.status,
      );
    return read.bytes;
  }

  /** A JSON answer's bytes, read whole up to MAX_DOCUMENT_BYTES, else a problem saying so. */
  private async document(res: Response, path: string, what: string): Promise<Uint8Array> {
    const read = await readCapped(res, MAX_DOCUMENT_BYTES);
    if (read.complete) return read.bytes;
    throw new RegistryError(
      this.problem(
        'invalid-document',
        `${what} is more than ${MAX_DOCUMENT_BYTES} bytes, the limit for a JSON document; it was not read further`,
        path,
      ),
      res.status,
    );
  }

  /** Every tag, following `Link: <…>; rel="next"` pages. */
  async tags(repo: string, signal?: AbortSignal, pageSize = 1000): Promise<string[]> {
    const out: string[] = [];
    let path = `/v2/${repo}/tags/list?n=${pageSize}`;
    for (let pages = 0; pages < 100; pages++) {
      const res = await this.request(repo, path, { Accept: 'application/json' }, signal);
      const body = JSON.parse(new TextDecoder().decode(await this.document(res, path, 'the tag list'))) as {
        tags?: unknown;
      };
      if (Array.isArray(body.tags)) for (const t of body.tags) if (typeof t === 'string') out.push(t);
      const next = parseLinkNext(res.headers.get('link'));
      if (!next || !next.startsWith('/v2/')) break;
      path = next;
    }
    return out;
  }

  /**
   * What refers to `digest`: the referrers API, else the `sha256-<hex>` tag schema; plus cosign's
   * `sha256-<hex>.sig/.att/.sbom` tags (from `tags`, when given, to avoid probing).
   */
  async referrers(
    repo: string,
    digest: string,
    tags: string[] | null,
    signal?: AbortSignal,
  ): Promise<Referrer[]> {
    const out: Referrer[] = [];
    const fromIndex = (value: Record<string, unknown> | null, via: Referrer['via']) => {
      const list = Array.isArray(value?.manifests) ? (value.manifests as unknown[]) : [];
      for (const m of list) {
        if (typeof m !== 'object' || m === null) continue;
        const d = m as Record<string, unknown>;
        if (typeof d.digest !== 'string' || typeof d.size !== 'number') continue;
        out.push({
          mediaType: typeof d.mediaType === 'string' ? d.mediaType : '',
          digest: d.digest,
          size: d.size,
          ...(typeof d.artifactType === 'string' ? { artifactType: d.artifactType } : {}),
          ...(typeof d.annotations === 'object' && d.annotations !== null
            ? { annotations: d.annotations as Record<string, string> }
            : {}),
          via,
        });
      }
    };
    let api = false;
    if (!this.referrersUnsupported)
      try {
        const res = await this.request(
          repo,
          `/v2/${repo}/referrers/${digest}`,
          { Accept: 'application/vnd.oci.image.index.v1+json' },
          signal,
        );
        const ct = res.headers.get('content-type') ?? '';
        const text = new TextDecoder().decode(
          await this.document(res, `/v2/${repo}/referrers/${digest}`, 'the referrers index'),
        );
        if (ct.includes('application/vnd.oci.image.index.v1+json')) {
          api = true;
          fromIndex(JSON.parse(text) as Record<string, unknown>, 'referrers-api');
        }
      } catch (e) {
        if (!(e instanceof RegistryError) || (e.status !== 404 && e.status !== 400 && e.status !== 405))
          throw e;
        // A registry with the API answers 200 (an empty index) when nothing refers to a digest.
        this.referrersUnsupported = true;
      }
    const hex = digest.slice(digest.indexOf(':') + 1);
    const fallback = `sha256-${hex}`;
    const has = (t: string) => tags === null || tags.includes(t);
    if (!api && has(fallback)) {
      try {
        const m = await this.manifest(repo, fallback, signal);
        fromIndex(m.value, 'tag-schema');
      } catch (e) {
        if (!(e instanceof RegistryError) || e.status !== 404) throw e;
      }
    }
    for (const suffix of ['sig', 'att', 'sbom']) {
      const tag = `${fallback}.${suffix}`;
      if (!has(tag)) continue;
      try {
        const m = await this.manifest(repo, tag, signal);
        out.push({ mediaType: m.mediaType, digest: m.digest, size: m.size, via: 'cosign-tag', tag });
      } catch (e) {
        if (!(e instanceof RegistryError) || e.status !== 404) throw e;
      }
    }
    return out;
  }
}

/** The `rel="next"` target of a `Link` header. */
export function parseLinkNext(link: string | null): string | null {
  if (!link) return null;
  for (const part of link.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (m && /rel\s*=\s*"?next"?/i.test(m[2] ?? '')) return m[1] ?? null;
  }
  return null;
}

/** Docker treats these as plain-http registries; so does Layerlens (through /registry-insecure/). */
export function isLocalRegistry(host: string): boolean {
  const h = host.replace(/:\d+$/, '').toLowerCase();
  return h === 'localhost' || /^127\./.test(h) || h === '[::1]';
}

/**
 * Make a prepared blob GET and verify its body as it arrives (digestStream). Rejects when the
 * answer is not 2xx or the connection fails: the caller falls back to the client, which explains
 * the error or answers the challenge.
 */
export async function fetchBlobAndDigest(
  request: BlobRequest,
  options: DigestStreamOptions,
  fetchFn: FetchLike = (url, init) => fetch(url, init),
): Promise<DigestResult & { blob?: Blob }> {
  const res = await fetchFn(request.url, { headers: request.headers, signal: options.signal });
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    throw new Error(`the blob request answered ${res.status}`);
  }
  return digestStream(res.body, options);
}
