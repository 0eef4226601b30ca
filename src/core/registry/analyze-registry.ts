/**
 * Analyse an image in a registry: the same Analysis as for an archive. The documents (index,
 * manifests of every platform, their configs, referrers) are fetched and verified against their
 * digests, laid out in memory as an OCI image layout, and walked by the archive's OCI walker
 * (oci-layout.ts) so that both sources give the same graph. Layers are then streamed from the
 * registry (or read from the cache) and verified in one pass by BlobDigester: digest, size,
 * decompression and diff_id, and optionally the tar listing.
 */
import type { Analysis, BlobInfo, Problem, Progress, SourceInfo } from '../model';
import { ArchiveFiles } from '../archive/archive-files';
import type { BlobVerifier } from '../archive/analyze';
import type { ArchiveFile } from '../archive/archive-files';
import { AnalysisBuilder, isObject } from '../archive/builder';
import { MT, buildkitReference } from '../archive/media-types';
import { blobPath, loadOciLayout, markArtifacts, platformLabel } from '../archive/oci-layout';
import type { DigestResult } from '../digest/blob-digester';
import { digestBlob, digestStream } from '../digest/digest-blob';
import type { DigestStreamOptions } from '../digest/digest-blob';
import { CancelledError } from '../digest/read-blob';
import { sha256OfBytes } from '../digest/sha256';
import { listingWithin } from '../layers/layer-listing';
import type { LayerLimits, LayerListing } from '../layers/layer-listing';
import type { ImageFilesystem } from '../layers/filesystem';
import { applyResult, checkSize, finishDigest, mergeImages, recordListing } from '../archive/checks';
import { parseReference } from './reference';
import type { ImageReference } from './reference';
import { RegistryClient, RegistryError, isLocalRegistry } from './client';
import { addSchema1Image, schema1Payload } from '../archive/schema1';
import type { BlobRequest, Credentials, FetchLike, Referrer } from './client';

/** Verified blobs by digest (the worker's IndexedDB cache; none in Node tests unless given). */
export interface BlobCache {
  get(digest: string): Promise<Blob | null>;
  /** Called only for blobs whose digest was verified. */
  put(digest: string, blob: Blob): Promise<void>;
  /**
   * What the uncompressed side of a cached layer was found to be when it was verified (diff_id,
   * sizes, listing), so that a reopen only hashes the stored bytes again instead of
   * decompressing and parsing them. Optional: without it every cached layer is re-read whole.
   */
  getLayer?(digest: string): Promise<CachedLayer | null>;
  putLayer?(digest: string, layer: CachedLayer): Promise<void>;
}

/** A cached layer's verified uncompressed side (its compressed digest is checked on every read). */
export interface CachedLayer {
  compression: DigestResult['compression'];
  diffId: string;
  uncompressedSize: number;
  /** Present when the layer was listed completely. */
  listing?: LayerListing;
}

export interface AnalyzeRegistryOptions {
  fetch: FetchLike;
  /** Origin of the proxy ('' in the page: same origin). */
  base: string;
  credentials?: Credentials | null;
  /** Platform to analyse (`linux/arm64/v8`); default linux/amd64, else the first. */
  platform?: string;
  /** Plain http (`/registry-insecure/`); default: for localhost and 127.0.0.0/8. */
  insecure?: boolean;
  /** Fetch and verify the layers of the chosen platform (default true). */
  layers?: boolean;
  /** Also fetch and verify the layers of every other platform (default false: on request). */
  allPlatforms?: boolean;
  cache?: BlobCache | null;
  signal?: AbortSignal;
  onUpdate?: (analysis: Analysis, progress: Progress) => void;
  concurrency?: number;
  listings?: boolean;
  limits?: Partial<LayerLimits>;
  onListing?: (blobKey: string, listing: LayerListing) => void;
  /** Receives each image's merged file system, once all its layers are listed completely. */
  onFilesystem?: (imageId: string, fs: ImageFilesystem) => void;
  /** A client to reuse (its token cache) across analyses. */
  client?: RegistryClient;
  /**
   * Fetches a layer from a request the client prepared and verifies its body in the same pass;
   * the worker passes its digest workers, so that two layers are fetched and verified on two
   * cores and their bytes never cross a thread. Without it, or when it fails (an expired token,
   * an error status), the layer is fetched by the client and verified in this thread.
   */
  fetchVerifier?: FetchVerifier;
  /**
   * Verifies a blob read back from the cache; default: in this thread. The worker passes its
   * digest workers, so that a reopen hashes two layers on two cores.
   */
  verifier?: BlobVerifier;
}

export type FetchVerifier = (
  request: BlobRequest,
  options: DigestStreamOptions,
) => Promise<DigestResult & { blob?: Blob }>;

/**
 * A blob fetched and verified in one pass (`verify`): by `fetchVerifier` (a digest worker) when
 * one is given, from the request the client prepares; by the client itself when there is none or
 * that request fails (an expired token, an error status), as the client answers a new auth
 * challenge and turns an error status into a problem.
 */
export async function fetchVerifiedBlob(
  client: RegistryClient,
  repo: string,
  digest: string,
  verify: DigestStreamOptions,
  fetchVerifier?: FetchVerifier,
): Promise<DigestResult & { blob?: Blob }> {
  if (fetchVerifier) {
    try {
      return await fetchVerifier(await client.blobRequest(repo, digest), verify);
    } catch (e) {
      if (e instanceof CancelledError || verify.signal?.aborted) throw new CancelledError();
      verify.onProgress?.(0);
    }
  }
  const { stream } = await client.blob(repo, digest, verify.signal);
  return digestStream(stream, verify);
}

/** The reference could not be parsed or the registry could not give its manifest. */
export class RegistryAnalysisError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.message);
    this.name = 'RegistryAnalysisError';
  }
}

const MAX_DOCUMENTS = 200;
const MAX_CONFIG = 4 << 20;

function file(path: string, size: number): ArchiveFile {
  return { path, type: 'file', size, linkname: '', headerOffset: 0, dataOffset: 0, truncated: false };
}

export function clientFor(ref: ImageReference, options: AnalyzeRegistryOptions): RegistryClient {
  return (
    options.client ??
    new RegistryClient({
      fetch: options.fetch,
      base: options.base,
      host: ref.endpoint,
      insecure: options.insecure ?? isLocalRegistry(ref.endpoint),
      credentials: options.credentials ?? null,
    })
  );
}

export async function analyzeRegistry(reference: string, options: AnalyzeRegistryOptions): Promise<Analysis> {
  const started = Date.now();
  const parsed = parseReference(reference.trim());
  if (!parsed.ok) {
    throw new RegistryAnalysisError({
      code: 'invalid-reference',
      message: parsed.error,
      where: reference,
      severity: 'error',
    });
  }
  const ref = parsed.ref;
  const client = clientFor(ref, options);
  const repo = ref.repository;
  const signal = options.signal;
  const contents = new Map<string, Uint8Array>();
  const entries: ArchiveFile[] = [];
  const put = (digest: string, bytes: Uint8Array) => {
    const p = blobPath(digest);
    if (contents.has(p)) return;
    contents.set(p, bytes);
    entries.push(file(p, bytes.length));
  };
  const placeholder = (digest: string, size: number) => {
    const p = blobPath(digest);
    if (contents.has(p) || entries.some((e) => e.path === p)) return;
    entries.push(file(p, size));
  };
  /** Labels of artifact manifests: buildkit attestations, cosign tags, referrers. */
  const artifactLabels = new Map<string, string>();
  const referrerEdges: { subject: string; referrer: string; label: string }[] = [];
  const schema1 = new Map<string, Record<string, unknown>>();
  const early: Problem[] = [];
  /**
   * Blobs the documents name that were not fetched, by path, and why: the walker gives that reason
   * (the fetch's problem is reported) instead of calling them missing from an archive.
   */
  const unavailable = new Map<string, string>();
  /** Configs the registry gave longer than their descriptor says. */
  const longConfigs = new Set<string>();
  let fetched = 0;

  let cacheProblem = false;
  /** A full cache never stops the analysis: it is said once. */
  const cacheFailed = (e: unknown) => {
    if (cacheProblem) return;
    cacheProblem = true;
    const message = e instanceof Error ? e.message : String(e);
    const p: Problem = {
      code: 'cache-full',
      message: `a verified blob could not be cached: ${message}`,
      where: 'blob cache',
      severity: 'warning',
    };
    (builder ? builder.analysis.problems : early).push(p);
  };
  let builder: AnalysisBuilder | null = null;
  const fail = (e: unknown): never => {
    if (e instanceof RegistryError) throw new RegistryAnalysisError(e.problem);
    throw e;
  };

  // 1. The root manifest: by digest when one was given, else by tag (digest from the bytes).
  const root = await client.manifest(repo, ref.digest ?? (ref.tag as string), signal).catch(fail);
  put(root.digest, root.bytes);

  // 2. Everything below it, and the configs, so every platform is in the graph.
  const collect = async (
    value: Record<string, unknown> | null,
    digest: string,
    depth: number,
  ): Promise<void> => {
    if (!value || depth > 8) return;
    if (value.schemaVersion === 1) {
      schema1.set(digest, value);
      return;
    }
    if (Array.isArray(value.manifests)) {
      for (const raw of value.manifests) {
        if (!isObject(raw) || typeof raw.digest !== 'string') continue;
        const buildkit = buildkitReference(isObject(raw.annotations) ? raw.annotations : {});
        if (buildkit) {
          artifactLabels.set(raw.digest, buildkit.label);
          if (buildkit.subject)
            referrerEdges.push({ subject: buildkit.subject, referrer: raw.digest, label: buildkit.label });
        }
        if (contents.has(blobPath(raw.digest))) continue;
        if (++fetched > MAX_DOCUMENTS) {
          if (fetched === MAX_DOCUMENTS + 1)
            early.push({
              code: 'limit',
              message: `the image lists more than ${MAX_DOCUMENTS} manifests; the others were not fetched`,
              where: digest,
              severity: 'info',
            });
          unavailable.set(
            blobPath(raw.digest),
            `was not fetched: the image lists more than ${MAX_DOCUMENTS} manifests`,
          );
          continue;
        }
        try {
          const child = await client.manifest(repo, raw.digest, signal);
          put(child.digest, child.bytes);
          await collect(child.value, child.digest, depth + 1);
        } catch (e) {
          if (!(e instanceof RegistryError)) throw e;
          early.push({ ...e.problem, severity: e.problem.code === 'digest-mismatch' ? 'error' : 'warning' });
          unavailable.set(blobPath(raw.digest), `could not be fetched: ${e.problem.message}`);
        }
      }
      return;
    }
    const config = value.config;
    if (isObject(config) && typeof config.digest === 'string' && typeof config.size === 'number') {
      if (config.size <= MAX_CONFIG && !contents.has(blobPath(config.digest))) {
        try {
          const cached = await options.cache?.get(config.digest);
          const bytes = cached
            ? new Uint8Array(await cached.arrayBuffer())
            : await client.blobBytes(repo, config.digest, config.size, signal);
          put(config.digest, bytes);
          if (!cached && options.cache && (await sha256OfBytes(bytes)) === config.digest)
            await options.cache.put(config.digest, new Blob([bytes as BlobPart])).catch(cacheFailed);
        } catch (e) {
          if (!(e instanceof RegistryError)) throw e;
          // Without its config the image has no history, no diff_ids to check its layers against.
          early.push({ ...e.problem, severity: 'error' });
          unavailable.set(blobPath(config.digest), `could not be fetched: ${e.problem.message}`);
          if (e.problem.code === 'size-mismatch') longConfigs.add(config.digest);
        }
      } else placeholder(config.digest, config.size);
    }
    if (Array.isArray(value.layers))
      for (const l of value.layers)
        if (isObject(l) && typeof l.digest === 'string' && typeof l.size === 'number')
          placeholder(l.digest, l.size);
  };
  await collect(root.value, root.digest, 0);

  // 3. Tags (to switch tag; also tells which cosign tags exist) and referrers of the root.
  let tags: string[] | null = null;
  try {
    tags = await client.tags(repo, signal);
  } catch (e) {
    if (!(e instanceof RegistryError)) throw e;
  }
  // The root and the images of an index (signatures and SBOMs may name a platform's manifest).
  const subjects = [root.digest];
  if (Array.isArray(root.value?.manifests))
    for (const raw of root.value.manifests.slice(0, 32))
      if (isObject(raw) && typeof raw.digest === 'string' && !artifactLabels.has(raw.digest))
        subjects.push(raw.digest);
  const referrers: { subject: string; r: Referrer }[] = [];
  for (const subject of subjects) {
    try {
      for (const r of await client.referrers(repo, subject, tags, signal)) referrers.push({ subject, r });
    } catch (e) {
      if (!(e instanceof RegistryError)) throw e;
      early.push({
        ...e.problem,
        severity: 'info',
        message: `referrers could not be listed: ${e.problem.message}`,
      });
    }
  }
  for (const { subject, r } of referrers) {
    const label =
      r.via === 'cosign-tag'
        ? `${r.tag?.endsWith('.sig') ? 'signature' : r.tag?.endsWith('.att') ? 'attestation' : 'sbom'} (cosign)`
        : `referrer${r.artifactType ? `: ${r.artifactType}` : ''}`;
    artifactLabels.set(r.digest, label);
    referrerEdges.push({ subject, referrer: r.digest, label });
    if (contents.has(blobPath(r.digest))) continue;
    try {
      const m = await client.manifest(repo, r.digest, signal);
      put(m.digest, m.bytes);
      await collect(m.value, m.digest, 1);
    } catch (e) {
      if (!(e instanceof RegistryError)) throw e;
      early.push({ ...e.problem, severity: 'warning' });
    }
  }

  // 4. Lay the documents out as an OCI layout and walk it.
  const canonical = ref.canonical;
  const index = {
    schemaVersion: 2,
    mediaType: MT.ociIndex,
    manifests: [
      {
        mediaType: root.mediaType,
        digest: root.digest,
        size: root.size,
        annotations: { 'org.opencontainers.image.ref.name': canonical },
      },
      ...referrerEdges
        .filter((e) => referrers.some((x) => x.r.digest === e.referrer))
        .map((e) => {
          const bytes = contents.get(blobPath(e.referrer));
          return {
            mediaType: referrers.find((x) => x.r.digest === e.referrer)?.r.mediaType ?? MT.ociManifest,
            digest: e.referrer,
            size: bytes?.length ?? 0,
            annotations: { 'org.opencontainers.image.ref.name': 'referrer' },
          };
        }),
    ],
  };
  const enc = new TextEncoder();
  contents.set('oci-layout', enc.encode('{"imageLayoutVersion":"1.0.0"}'));
  entries.push(file('oci-layout', contents.get('oci-layout')?.length ?? 0));
  const indexBytes = enc.encode(JSON.stringify(index));
  contents.set('index.json', indexBytes);
  entries.push(file('index.json', indexBytes.length));

  const resolved = `${ref.registry}/${repo}@${root.digest}`;
  const source: SourceInfo = {
    kind: 'registry',
    // The status line reads "registry · OCI distribution API".
    layout: 'OCI distribution API',
    name: reference,
    size: 0,
    compression: null,
    reference,
    resolved,
    canonical,
    rateLimit: client.rateLimit,
    tags: tags ?? undefined,
  };
  const files = ArchiveFiles.streamed(entries, contents, new Map(), 'registry', unavailable);
  const b = new AnalysisBuilder(source, files);
  builder = b;
  b.analysis.problems.push(...early);
  await loadOciLayout(b);
  fixUp(b, root.digest, artifactLabels, referrerEdges, schema1);
  for (const img of b.analysis.images) img.refs = img.refs.filter((r) => r !== 'referrer');
  // A config longer than its descriptor is moreover a size seen not to match.
  for (const digest of longConfigs) {
    const blob = b.analysis.blobs[digest];
    const size = blob?.expectedSize ?? null;
    if (!blob || size === null) continue;
    blob.sizeCheck = { state: 'mismatch', expected: String(size), actual: `more than ${size}` };
    blob.digestCheck = { state: 'unchecked', reason: 'not read past the size its descriptor gives' };
  }

  // 5. Pick the platform to analyse.
  const candidates = b.analysis.images.filter((i) => i.present && !artifactLabels.has(i.id));
  const want = options.platform;
  const chosen =
    (want && candidates.find((i) => platformLabel(i.platform) === want)) ||
    candidates.find((i) => i.platform?.os === 'linux' && i.platform.architecture === 'amd64') ||
    candidates[0] ||
    null;
  if (want && chosen && platformLabel(chosen.platform) !== want)
    b.problem(
      'absent-image',
      `platform ${want} is not in this image; showing ${platformLabel(chosen.platform)}`,
      resolved,
      'warning',
    );
  if (candidates.length > 1 && chosen) source.platform = platformLabel(chosen.platform);

  const fetchFrom = options.allPlatforms ? candidates : chosen ? [chosen] : [];

  // 6. Verify: documents from their bytes; layers streamed.
  const progress: Progress = { bytesDone: 0, bytesTotal: 0, elapsedMs: 0 };
  const emit = () => {
    progress.elapsedMs = Date.now() - started;
    source.rateLimit = client.rateLimit;
    options.onUpdate?.(b.analysis, progress);
  };
  for (const blob of Object.values(b.analysis.blobs)) {
    const bytes = b.documents.get(blob.key) ?? contents.get(blobPath(blob.key));
    if (bytes && blob.role !== 'layer') {
      blob.size = bytes.length;
      blob.bytesDone = bytes.length;
      checkSize(b, blob, bytes.length, blob.expectedDigest ?? blob.key);
      const s1 = schema1.get(blob.key);
      finishDigest(
        b,
        blob,
        await sha256OfBytes((s1 && schema1Payload(bytes, s1)) || bytes),
        blob.expectedDigest ?? blob.key,
      );
    } else if (
      blob.role !== 'layer' ||
      !fetchFrom.some((img) => img.layers.some((l) => l.blob === blob.key)) ||
      options.layers === false
    ) {
      blob.size = null;
      const reason =
        blob.role === 'layer'
          ? 'not fetched: only the chosen platform’s layers are fetched (pick another platform, or fetch every platform’s layers)'
          : blob.role === 'blob'
            ? 'not fetched: signature and attestation payloads are shown, not fetched'
            : 'not fetched';
      for (const k of ['sizeCheck', 'digestCheck', 'diffIdCheck'] as const)
        if (blob[k].state === 'pending') blob[k] = { state: 'unchecked', reason };
    }
  }
  const queue = chosen
    ? fetchFrom
        .flatMap((img) => img.layers)
        .map((l) => b.analysis.blobs[l.blob])
        .filter((x): x is BlobInfo => !!x && x.digestCheck.state === 'pending')
        .filter((x, i, all) => all.indexOf(x) === i)
    : [];
  if (options.layers === false) queue.length = 0;
  for (const blob of queue) progress.bytesTotal += blob.expectedSize ?? 0;
  emit();
  const listings = new Map<string, LayerListing>();
  const verifier: BlobVerifier = options.verifier ?? ((blob, o) => digestBlob(blob, o));
  let cachedLayers = 0;
  let next = 0;
  const worker = async () => {
    while (next < queue.length) {
      if (signal?.aborted) throw new CancelledError();
      const blob = queue[next++] as BlobInfo;
      const digest = blob.expectedDigest ?? blob.key;
      blob.digestCheck = { state: 'running' };
      if (blob.diffIdCheck.state === 'pending') blob.diffIdCheck = { state: 'running' };
      let last = 0;
      const onProgress = (done: number) => {
        progress.bytesDone += done - last;
        last = done;
        blob.bytesDone = done;
        emit();
      };
      const listing = options.listings === true;
      try {
        const cache = options.cache;
        const cached = cache ? await cache.get(digest).catch(() => null) : null;
        let result: DigestResult | null = null;
        if (cached) {
          const known = cache?.getLayer ? await cache.getLayer(digest).catch(() => null) : null;
          // Its listing stands in only within the limits of this read (stricter ones since, and
          // the layer is listed again to stop where they say).
          const fits =
            !listing ||
            (known?.listing !== undefined &&
              listingWithin(known.listing, known.uncompressedSize, cached.size, options.limits));
          if (known && fits) {
            // Verified and stored earlier: hash the stored bytes again (cheap) and take the
            // uncompressed side as it was found then, instead of decompressing and parsing again.
            const again = await verifier(cached, { diffId: false, signal, onProgress });
            if (again.digest === digest) {
              result = {
                ...again,
                compression: known.compression,
                diffId: known.diffId,
                uncompressedSize: known.uncompressedSize,
                error: null,
                ...(listing && known.listing ? { listing: known.listing } : {}),
              };
            }
          } else {
            const full = await verifier(cached, {
              diffId: true,
              ...(listing ? { listing, limits: options.limits, layer: digest } : {}),
              signal,
              onProgress,
            });
            if (full.digest === digest) {
              result = full;
              // A listing stopped by stricter limits does not replace a complete one kept.
              if (!known?.listing || full.listing?.stopped === null) {
                await rememberLayer(options.cache, digest, full);
              }
            }
          }
          // A damaged cache entry is not the layer: it is fetched again below.
          if (result) cachedLayers++;
          else onProgress(0);
        }
        if (!result) {
          const verify: DigestStreamOptions = {
            diffId: true,
            listing,
            limits: options.limits,
            layer: digest,
            signal,
            onProgress,
            keep: !!options.cache,
            size: blob.expectedSize ?? 0,
          };
          const { blob: kept, ...rest } = await fetchVerifiedBlob(
            client,
            repo,
            digest,
            verify,
            options.fetchVerifier,
          );
          result = rest;
          if (kept && result.digest === digest) {
            await options.cache?.put(digest, kept).catch(cacheFailed);
            // Before the run is done, so that a page closed right after finds it complete.
            await rememberLayer(options.cache, digest, result);
          }
        }
        progress.bytesDone += result.size - last;
        blob.size = result.size;
        blob.bytesDone = result.size;
        checkSize(b, blob, result.size, digest);
        applyResult(b, blob, result, blob.expectedDigest ?? blob.key);
        if (result.listing && listing) {
          recordListing(b, blob, result.listing, listings);
          options.onListing?.(blob.key, result.listing);
        }
      } catch (e) {
        if (e instanceof CancelledError || signal?.aborted) throw new CancelledError();
        const p: Problem =
          e instanceof RegistryError
            ? e.problem
            : {
                code: 'read-error',
                message: `could not read the layer: ${e instanceof Error ? e.message : String(e)}`,
                where: digest,
                severity: 'error',
              };
        blob.digestCheck = { state: 'unchecked', reason: p.message };
        blob.sizeCheck = { state: 'unchecked', reason: p.message };
        if (blob.diffIdCheck.state === 'running')
          blob.diffIdCheck = { state: 'unchecked', reason: p.message };
        b.analysis.problems.push(p);
      }
      emit();
    }
  };
  try {
    const n = Math.max(1, Math.min(options.concurrency ?? 2, queue.length));
    await Promise.all(Array.from({ length: n }, worker));
  } catch (e) {
    if (e instanceof CancelledError) {
      for (const blob of Object.values(b.analysis.blobs))
        for (const k of ['sizeCheck', 'digestCheck', 'diffIdCheck'] as const) {
          const s = blob[k].state;
          if (s === 'pending' || s === 'running') blob[k] = { state: 'unchecked', reason: 'cancelled' };
        }
      b.problem(
        'cancelled',
        'fetching was cancelled; checks not yet done are marked unchecked',
        resolved,
        'info',
      );
      emit();
      return b.analysis;
    }
    throw e;
  }
  if (cachedLayers > 0) source.cachedLayers = cachedLayers;
  if (options.listings) mergeImages(b, listings, options.onFilesystem);
  b.analysis.complete = true;
  emit();
  return b.analysis;
}

/** Keep what a verified layer's uncompressed side is, next to the cached blob. */
async function rememberLayer(
  cache: BlobCache | null | undefined,
  digest: string,
  r: DigestResult,
): Promise<void> {
  if (!cache?.putLayer || r.error || r.diffId === null || r.uncompressedSize === null) return;
  const layer: CachedLayer = {
    compression: r.compression,
    diffId: r.diffId,
    uncompressedSize: r.uncompressedSize,
  };
  if (r.listing && r.listing.stopped === null) layer.listing = r.listing;
  await cache.putLayer(digest, layer).catch(() => undefined);
}

/** Registry-specific touches on the walked graph. */
function fixUp(
  b: AnalysisBuilder,
  rootDigest: string,
  artifactLabels: Map<string, string>,
  referrerEdges: { subject: string; referrer: string; label: string }[],
  schema1: Map<string, Record<string, unknown>>,
): void {
  const a = b.analysis;
  // The synthetic index.json is not part of the image: drop it, hang referrers on their subject.
  a.nodes = a.nodes.filter((n) => n.id !== 'index.json');
  a.edges = a.edges.filter((e) => e.from !== 'index.json');
  for (const e of referrerEdges) b.edge(e.subject, e.referrer, e.label);
  a.problems = a.problems.filter((p) => p.where !== 'index.json' && p.where !== 'oci-layout');
  // Artifacts are not images: their layers are attestation/signature payloads.
  markArtifacts(b, artifactLabels);
  // Schema 1: fsLayers (newest first) and history with v1Compatibility.
  for (const [digest, m] of schema1)
    addSchema1Image(b, digest, m, (blobSum) => ({
      file: file(blobPath(blobSum), 0),
      path: blobPath(blobSum),
    }));
  // The root is named by the reference even when it is an index.
  void rootDigest;
}
