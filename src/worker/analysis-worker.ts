/// <reference lib="webworker" />
/**
 * The analysis worker: everything heavy happens here, never on the page's thread.
 * It answers the page with `FromWorker` messages (src/messages.ts).
 */
import {
  NotAnArchiveError,
  analyzeArchive,
  analyzeFolder,
  readCompressedArchiveEntry,
} from '../core/archive/analyze';
import type { AnalyzeOptions } from '../core/archive/analyze';
import type { FolderFile } from '../core/archive/archive-files';
import type { FromWorker, ToWorker } from '../messages';
import type { Analysis, Progress } from '../core/model';
import { createDigestPool } from './digest-pool';
import { RegistryAnalysisError, analyzeRegistry, fetchVerifiedBlob } from '../core/registry/analyze-registry';
import { RegistryClient, isLocalRegistry } from '../core/registry/client';
import { parseReference } from '../core/registry/reference';
import { IdbBlobCache } from './blob-cache';
import { layerLimits } from '../core/layers/layer-listing';
import type { LayerLimits, LayerListing } from '../core/layers/layer-listing';
import { LayerStore } from './layer-store';
import type { ImageFilesystem } from '../core/layers/filesystem';
import { SnapshotPoster } from './snapshot-poster';
import { AnalysisCache } from './analysis-cache';
import { analysisFromReportFile } from '../core/permalink/report-file';

declare const self: DedicatedWorkerGlobalScope;

const post = (m: FromWorker) => self.postMessage(m);
/** Two blobs at once: one per core (docs/decisions.md). */
const pool = createDigestPool(Math.max(1, Math.min(2, navigator.hardwareConcurrency || 2)));
const runs = new Map<number, AbortController>();

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const msg = event.data;
  if (msg.type === 'cancel') {
    runs.get(msg.run)?.abort();
    return;
  }
  if (msg.type === 'shown') {
    shown.get(msg.run)?.();
    return;
  }
  if (msg.type === 'open') void open(msg.run, msg.file, msg.name, msg.limits);
  if (msg.type === 'open-folder') void open(msg.run, msg.files, msg.name, msg.limits);
  if (msg.type === 'tree' || msg.type === 'file') void answerLayers(msg);
  if (msg.type === 'blob') void answerBlob(msg);
  if (msg.type === 'inspect') void inspect(msg);
  if (msg.type === 'recall') void recall(msg.run, msg.sha256);
  if (msg.type === 'cache-list') void postCache();
  if (msg.type === 'cache-clear')
    void Promise.all([cache.clear(), analyses.clear()]).then(postCache, postCache);
};

/** Runs waiting for the page to draw their graph, by run. */
const shown = new Map<number, () => void>();
/**
 * The longest a run waits for the page to say it has drawn the graph: a hidden tab draws no
 * frame. Undisturbed, the first render takes 70–100 ms on the machines measured.
 */
const SHOWN_WAIT_MS = 300;

/**
 * Posts the graph at once and waits until the page has drawn it (or SHOWN_WAIT_MS), so that the
 * first render does not share the cores with the digest workers (docs/decisions.md, "Graph
 * before verification"). A run with nothing to draw does not wait.
 */
function graphShown(run: number, snapshots: SnapshotPoster, signal: AbortSignal) {
  return async (analysis: Analysis): Promise<void> => {
    if (analysis.nodes.length === 0) return;
    snapshots.flush();
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        shown.delete(run);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, SHOWN_WAIT_MS);
      shown.set(run, done);
      signal.addEventListener('abort', done);
    });
  };
}

/** Complete archive analyses by the archive's SHA-256, for permalinks opened here again. */
const analyses = new AnalysisCache();

/**
 * What archive and registry runs share: a run supersedes whatever was still being verified,
 * posts snapshots, and keeps its layer listings (and the analysis) for the Files tab.
 */
function beginRun(run: number, store: LayerStore) {
  for (const c of runs.values()) c.abort();
  const controller = new AbortController();
  runs.set(run, controller);
  const snapshots = new SnapshotPoster(run, post);
  const current: OpenArchive = { run, store, sha256: null };
  const previous = layerStore;
  layerStore = current;
  return {
    controller,
    snapshots,
    current,
    /**
     * The run failed before the page saw any of it, so the page still shows the previous
     * archive's analysis: that archive's layers answer the page again (under this run, which
     * the page's Files tab now asks with), rather than this run's empty store.
     */
    failed() {
      if (snapshots.posted || layerStore !== current || !previous) return;
      previous.run = run;
      layerStore = previous;
    },
    onListing: (key: string, listing: LayerListing) => void store.listings.set(key, listing),
    onFilesystem: (imageId: string, fs: ImageFilesystem) => store.adopt(imageId, fs),
    onUpdate: (analysis: Analysis, progress: Progress) => {
      store.analysis = analysis;
      snapshots.update(analysis, progress);
    },
    finish(analysis: Analysis) {
      store.analysis = analysis;
      snapshots.finish(analysis);
      // Merge the first image's layers now, so the Files tab opens at once.
      setTimeout(() => {
        if (layerStore?.store === store) store.warm();
      }, 0);
    },
  };
}

/**
 * The file that names a folder in permalinks and in this browser's cache of analyses: its top
 * document, which pins every blob by digest (OCI image-spec image-layout.md "index.json";
 * a docker save's manifest.json pins each config, and each config its layers' diff_ids).
 */
function folderIdentity(files: readonly FolderFile[], root: string | undefined): Blob | null {
  // The layout may be a folder inside the one given (the folder above a layout, dropped).
  const at = (path: string) => (root === undefined ? path : `${root}/${path}`);
  const top = (path: string) => files.find((f) => f.path === at(path))?.blob ?? null;
  return top('index.json') ?? top('manifest.json');
}

/** Analyse an archive file, or a folder's files (an OCI image layout, an unpacked docker save). */
async function open(
  run: number,
  input: Blob | readonly FolderFile[],
  name: string,
  limits?: Partial<LayerLimits>,
): Promise<void> {
  const file = input instanceof Blob ? input : null;
  const folder = input instanceof Blob ? null : input;
  // Layers of an archive compressed as a whole have no slice of their own: a file is read by
  // decompressing the archive again up to its layer. A folder's layers are files of their own.
  const store = new LayerStore(
    (_key, info) => (file && info.path ? readCompressedArchiveEntry(file, info.path) : Promise.resolve(null)),
    `this layer cannot be read again from ${name}`,
  );
  store.maxExpanded = layerLimits(limits).maxUncompressedBytes;
  const { controller, snapshots, current, failed, onListing, onFilesystem, onUpdate, finish } = beginRun(
    run,
    store,
  );
  try {
    const options: AnalyzeOptions = {
      name,
      signal: controller.signal,
      verifier: pool.verifier,
      // Keep each blob, to read single files of a layer from it again later, or download it.
      onBlob: (key, blob) => store.slices.set(key, blob),
      plainVerifier: pool.plainVerifier,
      pipedVerifier: pool.pipedVerifier,
      beforeVerify: graphShown(run, snapshots, controller.signal),
      concurrency: 2,
      listings: true,
      limits,
      onListing,
      onFilesystem,
      onUpdate,
    };
    const analysis = await (folder ? analyzeFolder(folder, options) : analyzeArchive(file as Blob, options));
    finish(analysis);
    if (controller.signal.aborted) return;
    // Then the archive's own SHA-256, which names it in permalinks. After the checks, so it
    // does not slow them; a digest worker does it, as for any blob.
    const identity = folder ? folderIdentity(folder, analysis.source.root) : file;
    if (!identity) {
      analysis.source.sha256Error = 'the folder has no index.json or manifest.json to name it by';
      snapshots.finish(analysis);
      return;
    }
    try {
      const { digest } = await pool.verifier(identity, {
        diffId: false,
        onProgress: () => {},
        signal: controller.signal,
      });
      analysis.source.sha256 = digest;
      current.sha256 = digest;
      snapshots.finish(analysis);
      void analyses.save(digest, analysis, store.listings);
    } catch (e) {
      if (controller.signal.aborted) return;
      analysis.source.sha256Error = e instanceof Error ? e.message : String(e);
      analysis.problems.push({
        code: 'read-error',
        message: `the archive's SHA-256 could not be computed, so it has no permalink: ${e instanceof Error ? e.message : String(e)}`,
        where: name,
        severity: 'warning',
      });
      snapshots.finish(analysis);
    }
  } catch (e) {
    snapshots.stop();
    // JSON text may be an exported analysis (.layerlens.json): a summary, nothing to verify.
    // Tried only now, so that an archive's way to its graph reads nothing more for it.
    if (file && e instanceof NotAnArchiveError && e.magic === 'json' && !controller.signal.aborted) {
      try {
        const exported = await analysisFromReportFile(file, name);
        if (exported) return snapshots.finish(exported);
      } catch (bad) {
        failed();
        return postFailure(run, bad, 'analysis', name);
      }
    }
    failed();
    postFailure(run, e, 'analysis', name);
  } finally {
    runs.delete(run);
  }
}

/**
 * A run that could not finish: errors the core describes as problems (not an archive, a
 * registry error) are passed on as they are; anything else is reported as the run stopping.
 */
function postFailure(run: number, e: unknown, what: string, where: string): void {
  if (e instanceof NotAnArchiveError || e instanceof RegistryAnalysisError) {
    post({ type: 'failed', run, problem: e.problem });
    return;
  }
  const message = e instanceof Error ? e.message : String(e);
  post({
    type: 'failed',
    run,
    problem: { code: 'read-error', message: `${what} stopped: ${message}`, where, severity: 'error' },
  });
}

// ---- layer files ---------------------------------------------------------------------------

interface OpenArchive {
  run: number;
  store: LayerStore;
  /** The archive's SHA-256, once hashed. */
  sha256: string | null;
}

/** Listings and blobs of the latest opened archive. */
let layerStore: OpenArchive | null = null;

/** Answer a permalink to an archive with the full analysis, when this browser has it. */
async function recall(run: number, sha256: string): Promise<void> {
  const open = layerStore;
  if (open && open.sha256 === sha256 && open.store.analysis) {
    // Still open in this tab: the files can be read too, so the run now owns the store.
    open.run = run;
    post({ type: 'snapshot', run, analysis: open.store.analysis, progress: DONE });
    return;
  }
  const saved = await analyses.load(sha256);
  if (!saved) return;
  const analysis: Analysis = {
    ...saved.analysis,
    origin: { kind: 'cache', omitted: [], analysedAt: new Date(saved.savedAt).toISOString() },
  };
  if (saved.listings) {
    // The trees come back with the analysis; file contents need the archive itself.
    const store = new LayerStore(
      undefined,
      `file contents are read from the archive itself: drop ${saved.analysis.source.name} to read them`,
    );
    for (const [key, listing] of saved.listings) store.listings.set(key, listing);
    store.analysis = analysis;
    layerStore = { run, store, sha256 };
  } else {
    // Too large to have been kept: the Files tab asks for the archive.
    delete analysis.layers;
  }
  post({ type: 'snapshot', run, analysis, progress: DONE });
}

const DONE = { bytesDone: 0, bytesTotal: 0, elapsedMs: 0 };
/** Only the latest tree request is answered: typing in the search box sends one per key. */
let pendingTree: Extract<ToWorker, { type: 'tree' }> | null = null;

async function answerLayers(msg: Extract<ToWorker, { type: 'tree' | 'file' }>): Promise<void> {
  const current = layerStore && layerStore.run === msg.run ? layerStore.store : null;
  if (msg.type === 'tree') {
    const queued = pendingTree !== null;
    pendingTree = msg;
    if (queued) return;
    // Let queued messages arrive first, so a burst of requests costs one answer.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const req = pendingTree as Extract<ToWorker, { type: 'tree' }>;
    pendingTree = null;
    const store = layerStore && layerStore.run === req.run ? layerStore.store : null;
    const started = performance.now();
    try {
      if (!store) throw new Error('the archive is no longer open');
      const rows = store.rows(req.request);
      post({ type: 'tree', run: req.run, seq: req.seq, rows, error: null, ms: performance.now() - started });
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      post({ type: 'tree', run: req.run, seq: req.seq, rows: null, error, ms: performance.now() - started });
    }
    return;
  }
  try {
    if (!current) throw new Error('the archive is no longer open');
    const r = await current.readFile(msg.imageId, msg.layer, msg.path, msg.maxBytes, msg.within);
    post({ type: 'file', run: msg.run, seq: msg.seq, path: msg.path, ...r, error: null });
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    post({
      type: 'file',
      run: msg.run,
      seq: msg.seq,
      path: msg.path,
      bytes: null,
      blob: null,
      size: 0,
      truncated: false,
      target: null,
      error,
    });
  }
}

async function answerBlob(msg: Extract<ToWorker, { type: 'blob' }>): Promise<void> {
  const store = layerStore && layerStore.run === msg.run ? layerStore.store : null;
  try {
    const info = store?.analysis?.blobs[msg.key];
    if (!store || !info) throw new Error('the archive is no longer open');
    post({ type: 'blob', run: msg.run, key: msg.key, blob: await store.storedBlob(info), error: null });
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    post({ type: 'blob', run: msg.run, key: msg.key, blob: null, error });
  }
}

// ---- registries ----------------------------------------------------------------------------

const cache = new IdbBlobCache();
/** One client per registry host, so tokens stay cached (in memory, for the tab) until they expire. */
const clients = new Map<string, { client: RegistryClient; credentials: string }>();

async function postCache(): Promise<void> {
  post({ type: 'cache', cache: { ...(await cache.list()), analyses: await analyses.count() } });
}

async function inspect(msg: Extract<ToWorker, { type: 'inspect' }>): Promise<void> {
  const { run, reference } = msg;
  // Layers are listed as they are verified, as for archives; files are read again from the
  // blob cache, where every verified layer is kept. A layer the cache lacks (evicted, or of a
  // platform not fetched) is fetched when asked for, and verified.
  let fetchOne: ((digest: string, size: number) => Promise<Blob>) | null = null;
  const store = new LayerStore(
    // Only the stored bytes' digest is computed (no decompression), so a size the manifest does
    // not give (schema 1) bounds nothing.
    async (digest, info) =>
      (await cache.get(digest)) ?? (fetchOne ? fetchOne(digest, info.expectedSize ?? 0) : null),
    'this layer is not in the blob cache, and could not be fetched again',
  );
  store.maxExpanded = layerLimits(msg.limits).maxUncompressedBytes;
  const { controller, snapshots, failed, onListing, onFilesystem, onUpdate, finish } = beginRun(run, store);
  try {
    const parsed = parseReference(reference.trim());
    let client: RegistryClient | undefined;
    if (parsed.ok) {
      const host = parsed.ref.endpoint;
      const key = msg.credentials ? `${msg.credentials.username}\n${msg.credentials.password}` : '';
      const known = clients.get(host);
      if (known && known.credentials === key) client = known.client;
      else {
        client = new RegistryClient({
          fetch: (url, init) => fetch(url, init),
          base: self.location.origin,
          host,
          insecure: isLocalRegistry(host),
          credentials: msg.credentials ?? null,
        });
        clients.set(host, { client, credentials: key });
      }
      const registry = client;
      const repository = parsed.ref.repository;
      fetchOne = async (digest, size) => {
        const verify = { diffId: false, size, keep: true };
        const r = await fetchVerifiedBlob(registry, repository, digest, verify, pool.fetchVerifier);
        if (r.digest !== digest)
          throw new Error(`the registry sent bytes that hash to ${r.digest}, not ${digest}`);
        if (!r.blob) throw new Error('the registry sent no bytes');
        return r.blob;
      };
    }
    const analysis = await analyzeRegistry(reference, {
      fetch: (url, init) => fetch(url, init),
      base: self.location.origin,
      client,
      platform: msg.platform,
      allPlatforms: msg.allPlatforms === true,
      cache,
      signal: controller.signal,
      listings: true,
      limits: msg.limits,
      // Two layers at once, each fetched and verified by a digest worker, as for archives.
      fetchVerifier: pool.fetchVerifier,
      verifier: pool.verifier,
      concurrency: 2,
      onListing,
      onFilesystem,
      onUpdate,
    });
    finish(analysis);
  } catch (e) {
    snapshots.stop();
    // Cancelled (or superseded) while fetching documents: the page already knows.
    if (controller.signal.aborted) return;
    failed();
    postFailure(run, e, 'inspection', reference);
  } finally {
    runs.delete(run);
    void postCache();
  }
}
