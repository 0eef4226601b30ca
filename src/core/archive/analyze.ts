/**
 * Analyse an image archive: detect its kind from its content, index it, build the image
 * graph (reported before any layer is read), then verify every blob's size and digest
 * and every layer's diff_id, reporting progress as it goes.
 */
import type { Analysis, BlobInfo, Problem, Progress, SourceInfo } from '../model';
import { counted, listed } from '../text';
import { concatBytes } from '../bytes';
import { BlobDigester } from '../digest/blob-digester';
import type { DigestResult } from '../digest/blob-digester';
import { archiveCodec, createDecompressor, decodeErrorCode } from '../digest/decompress';
import type { Codec } from '../digest/decompress';
import { BlobParts } from '../digest/blob-parts';
import { digestBlob, digestPlain } from '../digest/digest-blob';
import type {
  DigestBlobOptions,
  DigestPlainOptions,
  DigestStreamOptions,
  PlainResult,
} from '../digest/digest-blob';
import { PlainSender } from '../digest/plain-pipe';
import {
  DECLARED_SIZE_HEAD,
  DECLARED_SIZE_TAIL,
  MAGIC_DESCRIPTION,
  declaredPlainSize,
  sniff,
} from '../digest/magic';
import type { Magic } from '../digest/magic';
import { LayerLister, layerLimits, uncompressedLimit } from '../layers/layer-listing';
import type { LayerLimits, LayerListing } from '../layers/layer-listing';
import type { ImageFilesystem } from '../layers/filesystem';
import { CancelledError, readBlob } from '../digest/read-blob';
import { sha256OfBytes } from '../digest/sha256';
import { TarError, checksumMatches, isZeroBlock, normalizePath } from '../tar/header';
import type { TarEntry } from '../tar/header';
import { blobRandomAccess } from '../tar/random-access';
import { sparseArchiveFile } from '../tar/sparse';
import { indexTar } from '../tar/tar-index';
import { TarStreamParser } from '../tar/tar-stream';
import { ArchiveFiles, entryOf, placeOf } from './archive-files';
import type { ArchiveFile, FolderFile } from './archive-files';
import { AnalysisBuilder } from './builder';
import { loadDockerManifest, loadLegacy, mergeRepoTags, readDockerManifest } from './docker-archive';
import { isOciLayout, loadOciLayout } from './oci-layout';
import { dirTransportVersion, loadDirLayout } from './dir-layout';
import { applyResult, checkSize, finishDigest, mergeImages, recordListing } from './checks';

/** Streams one blob and digests it, as digestBlob does; the worker runs these in a pool of workers. */
export type BlobVerifier = (blob: Blob, options: DigestBlobOptions) => Promise<DigestResult>;

/** The receiving half of a piped layer, as digestPlain does; the worker runs it in its pool too. */
export type PlainVerifier = (port: MessagePort, options: DigestPlainOptions) => Promise<PlainResult>;

/**
 * A whole pass over a blob whose bytes arrive on a port, as digestPiped does: the blobs of an
 * archive compressed as a whole, handed on by the job that decompresses the archive.
 */
export type PipedVerifier = (port: MessagePort, options: DigestStreamOptions) => Promise<DigestResult>;

export interface AnalyzeOptions {
  name: string;
  /** Called whenever the analysis changes; callers throttle what they forward. */
  onUpdate?: (analysis: Analysis, progress: Progress) => void;
  signal?: AbortSignal;
  verifier?: BlobVerifier;
  plainVerifier?: PlainVerifier;
  /**
   * Awaited once the graph is built and reported, before any blob is verified: the page draws
   * the graph first, then the digests take the cores (docs/decisions.md, "Graph before
   * verification").
   */
  beforeVerify?: (analysis: Analysis) => Promise<void>;
  /**
   * In an archive compressed as a whole, blobs of `splitMin` bytes or more are handed to this job
   * as the archive is decompressed, so their digests, decompression and listings run on another
   * core; without it (or with `concurrency` 1) they are digested in the same pass.
   */
  pipedVerifier?: PipedVerifier;
  /**
   * Compressed layers from this size on are verified as two jobs at once, joined by a pipe:
   * reading, digest and decompression in one, diff_id in the other, the listing in whichever is
   * lighter (`listSentRatio`) (default 4 MiB; never with `concurrency` 1).
   */
  splitMin?: number;
  /**
   * A piped layer declaring at least this many times its compressed size uncompressed is listed by
   * the decompressing job, not the hashing one (default LIST_SENT_RATIO).
   */
  listSentRatio?: number;
  /** Blobs verified at once (one per core is the measured sweet spot). */
  concurrency?: number;
  /**
   * List every image layer's tar in the verifying pass, summarise the listings in
   * `Analysis.layers`, and merge each image's layers into `Analysis.filesystems`.
   */
  listings?: boolean;
  /** Limits on each listed layer (defaults: DEFAULT_LAYER_LIMITS). */
  limits?: Partial<LayerLimits>;
  /**
   * Receives each layer's full listing as it is made (the analysis keeps only figures,
   * as it is posted to the page on every update): keep them to browse layers' files.
   */
  onListing?: (blobKey: string, listing: LayerListing) => void;
  /** Receives each image's merged file system, once all its layers are listed completely. */
  onFilesystem?: (imageId: string, fs: ImageFilesystem) => void;
  /**
   * Receives each blob about to be streamed (layers, artifact payloads) as a Blob of its stored
   * bytes, by its key in `analysis.blobs`, to read it again later.
   */
  onBlob?: (key: string, blob: Blob) => void;
}

/** The file is not something Layerlens can read at all. */
export class NotAnArchiveError extends Error {
  constructor(
    readonly problem: Problem,
    /** What the file's first bytes look like, so another adapter (an exported report) may try it. */
    readonly magic: Magic | null = null,
  ) {
    super(problem.message);
    this.name = 'NotAnArchiveError';
  }
}

/** Entries of a streamed archive kept whole: JSON documents are far smaller than this. */
const KEEP_LIMIT = 16 << 20;

export async function analyzeArchive(file: Blob, options: AnalyzeOptions): Promise<Analysis> {
  const started = Date.now();
  const head = new Uint8Array(await file.slice(0, 512).arrayBuffer());
  const magic = sniff(head);
  const source: SourceInfo = {
    kind: 'unknown',
    layout: '',
    name: options.name,
    size: file.size,
    compression: null,
  };
  const progress: Progress = { bytesDone: 0, bytesTotal: 0, elapsedMs: 0 };
  let files: ArchiveFiles;
  const early: Problem[] = [];
  const codec = archiveCodec(magic);
  if (codec) {
    source.compression = codec;
    progress.bytesTotal = file.size;
    const streamed = await streamArchive(file, codec, early, options, (done) => {
      progress.bytesDone = done;
      progress.elapsedMs = Date.now() - started;
      options.onUpdate?.(
        { source, images: [], blobs: {}, nodes: [], edges: [], problems: early, complete: false },
        progress,
      );
    });
    files = streamed;
  } else if (magic === 'tar' || looksLikeTar(head)) {
    const ra = blobRandomAccess(file);
    const index = await indexTar(ra);
    for (const p of index.problems) {
      early.push({
        code: p.code,
        message: p.message,
        where: `${p.path ? `${p.path}, ` : ''}offset ${p.offset}`,
        severity: p.severity,
      });
    }
    files = ArchiveFiles.randomAccess(index.entries.map(toArchiveFile), file, ra);
  } else {
    const what = MAGIC_DESCRIPTION[magic];
    const hint =
      magic === 'bzip2'
        ? ' Layerlens reads image archives as plain tar or tar compressed with gzip, zstd or xz; decompress it first (`bzip2 -d`).'
        : ' Layerlens reads image archives made by docker save, podman save, skopeo copy (docker-archive: or oci-archive:) or an OCI image layout in a tar, optionally compressed with gzip, zstd or xz.';
    throw new NotAnArchiveError(
      {
        code: 'not-an-archive',
        message: `"${options.name}" is not an image archive: it looks like ${what}.${hint}`,
        where: options.name,
        severity: 'error',
      },
      magic,
    );
  }

  return analyzeFiles(new AnalysisBuilder(source, rooted(files, source)), early, options, progress, started);
}

/**
 * Analyse a folder given instead of an archive: an OCI image layout as `skopeo copy … oci:<dir>`
 * or `umoci` leave it, or an unpacked `docker save`. `entries` are its files by their path inside
 * it; the kind is found from them as from an archive's entries.
 */
export async function analyzeFolder(
  entries: readonly FolderFile[],
  options: AnalyzeOptions,
): Promise<Analysis> {
  const source: SourceInfo = {
    kind: 'unknown',
    layout: '',
    name: options.name,
    size: entries.reduce((sum, e) => sum + e.blob.size, 0),
    compression: null,
    folder: true,
  };
  const progress: Progress = { bytesDone: 0, bytesTotal: 0, elapsedMs: 0 };
  return analyzeFiles(
    new AnalysisBuilder(source, rooted(ArchiveFiles.folder(entries), source)),
    [],
    options,
    progress,
    Date.now(),
  );
}

/** From the files of an archive or folder: the images, then every check. */
async function analyzeFiles(
  b: AnalysisBuilder,
  early: Problem[],
  options: AnalyzeOptions,
  progress: Progress,
  started: number,
): Promise<Analysis> {
  const emit = () => {
    if (!options.onUpdate) return;
    progress.elapsedMs = Date.now() - started;
    options.onUpdate(b.analysis, progress);
  };
  b.analysis.problems.push(...early);
  await loadImages(b);
  emit();
  await options.beforeVerify?.(b.analysis);
  if (options.signal?.aborted) return cancel(b, emit);
  const listings = new Map<string, LayerListing>();
  try {
    await verifyBlobs(b, options, progress, emit, listings);
  } catch (e) {
    if (e instanceof CancelledError || options.signal?.aborted) return cancel(b, emit);
    throw e;
  }
  if (options.listings) mergeImages(b, listings, options.onFilesystem);
  b.analysis.complete = true;
  emit();
  return b.analysis;
}

/**
 * The files of an archive or folder as the layout they hold: those of its one folder, when every
 * file is in it and it holds a layout's top files (`tar -cf x.tar layout/` rather than `tar -C
 * layout -cf x.tar .`, which docker load and skopeo refuse; the folder above a layout dropped).
 */
function rooted(files: ArchiveFiles, source: SourceInfo): ArchiveFiles {
  // A layout at the top, as nearly every archive has it: nothing to look for.
  if (LAYOUT_TOPS.some((m) => files.has(m))) return files;
  const inside = layoutsInside(files);
  if (!inside?.only) return files;
  const folder = inside.folders[0] as string;
  source.root = folder;
  return files.within(folder);
}

/**
 * The folders at the top that hold what an image layout has at its top (`index.json`,
 * `manifest.json` or `repositories`): an archive made with `tar -cf x.tar layout/` rather than
 * `tar -C layout -cf x.tar .`, or the folder above one or more layouts dropped (`skopeo sync`
 * writes a folder per image). `only`: every file is in the one folder found.
 */
function layoutsInside(files: ArchiveFiles): { folders: string[]; only: boolean } | null {
  const all = files.list();
  const tops = [...new Set(all.map((f) => f.path.split('/')[0] as string))];
  const holding = tops.filter((t) => LAYOUT_TOPS.some((m) => files.has(`${t}/${m}`)));
  const first = holding[0];
  if (first === undefined) return null;
  const only = holding.length === 1 && all.every((f) => f.path === first || f.path.startsWith(`${first}/`));
  return { folders: holding, only };
}

/** What an image layout has at its top: an OCI layout's index, docker save's files. */
const LAYOUT_TOPS = ['index.json', 'manifest.json', 'repositories'];

function looksLikeTar(head: Uint8Array): boolean {
  // v7 tars have no "ustar" magic; a valid header checksum is the only sign.
  return head.length >= 512 && !isZeroBlock(head) && checksumMatches(head);
}

function toArchiveFile(e: TarEntry & { truncated?: boolean }): ArchiveFile {
  return {
    path: normalizePath(e.path),
    type: e.type,
    size: e.size,
    linkname: e.linkname,
    headerOffset: e.headerOffset,
    dataOffset: e.dataOffset,
    truncated: e.truncated ?? false,
  };
}

/**
 * One streamed pass over an archive compressed as a whole (gzip, zstd, xz): keep small files,
 * digest every blob and, when listings are asked for, list every blob that turns out to be a
 * tar (which of them are layers is only known once the manifests are read).
 */
async function streamArchive(
  file: Blob,
  codec: Codec,
  problems: Problem[],
  options: AnalyzeOptions,
  onProgress: (done: number) => void,
): Promise<ArchiveFiles> {
  const signal = options.signal;
  const limits = layerLimits(options.limits);
  const entries: ArchiveFile[] = [];
  const contents = new Map<string, Uint8Array>();
  const digests = new Map<string, DigestResult>();
  let current: ArchiveFile | null = null;
  // Large blobs are handed to another job as they are decompressed (docs/decisions.md, "Archives
  // compressed as a whole: the blobs digested on the other core").
  const pipedVerifier = (options.concurrency ?? 2) >= 2 ? options.pipedVerifier : undefined;
  const pipeMin = options.splitMin ?? SPLIT_MIN;
  const jobs: Promise<void>[] = [];
  let sender: PlainSender | null = null;
  const pipe = (f: ArchiveFile, keep: boolean) => {
    const channel = new MessageChannel();
    const out = new PlainSender(channel.port1, { signal });
    sender = out;
    const parts: Uint8Array[] = [];
    const job = pipedVerifier!(channel.port2, {
      diffId: true,
      listing: options.listings,
      limits: options.limits,
      size: f.size,
      signal,
    }).then(
      (result) => void digests.set(f.path, result),
      (e: unknown) => {
        // Cancelled, or the archive ended inside this blob (reported as the stream's problem).
        if (e instanceof CancelledError || signal?.aborted || f.truncated) return;
        problems.push({
          code: 'read-error',
          message: `the blob could not be digested: ${e instanceof Error ? e.message : String(e)}`,
          where: f.path,
          severity: 'error',
        });
      },
    );
    jobs.push(job);
    return {
      async data(chunk: Uint8Array) {
        if (keep) parts.push(chunk.slice());
        await out.send(chunk, false);
      },
      async end() {
        await out.end(null);
        sender = null;
        if (keep) contents.set(f.path, concatBytes(parts, f.size));
        current = null;
        // Each unfinished job may hold a pipe's window of bytes: let the oldest finish first.
        while (jobs.length > PIPED_AT_ONCE) await jobs.shift();
      },
    };
  };
  const parser = new TarStreamParser({
    entry(e) {
      // Output already inflated when a run is cancelled starts no more work (no job for a blob).
      if (signal?.aborted) throw new CancelledError();
      if (e.sparse) {
        const where = `${e.path}, offset ${e.headerOffset} of the uncompressed tar`;
        problems.push({ code: 'tar-sparse', message: sparseArchiveFile(e.path), where, severity: 'error' });
        return null;
      }
      const f = toArchiveFile(e);
      entries.push(f);
      if (f.type !== 'file') return null;
      current = f;
      const keep = f.size <= KEEP_LIMIT;
      if (pipedVerifier && f.size >= pipeMin) return pipe(f, keep);
      const parts: Uint8Array[] = [];
      let digester: BlobDigester | null = null;
      // Every file is listed as if it were a layer: a document simply fails to parse, and
      // only the listings of what the manifests name as layers are used.
      const lister = options.listings ? new LayerLister({ limits }) : null;
      const ready = BlobDigester.create(
        lister
          ? {
              diffId: true,
              onUncompressed: (chunk) => lister.push(chunk),
              maxUncompressed: uncompressedLimit(f.size, limits),
            }
          : { diffId: true },
      ).then((d) => (digester = d));
      return {
        async data(chunk) {
          if (!digester) await ready;
          if (keep) parts.push(chunk.slice());
          await (digester as BlobDigester).write(chunk);
        },
        async end() {
          if (!digester) await ready;
          const result = await (digester as BlobDigester).finish();
          if (lister) result.listing = lister.finish(result.error);
          digests.set(f.path, result);
          if (keep) contents.set(f.path, concatBytes(parts, f.size));
          current = null;
        },
      };
    },
  });
  const decompressor = createDecompressor(codec, (chunk) => parser.push(chunk));
  let done = 0;
  // Bytes handed to the decoder: a chunk is decoded whole, so a fault lies between `done` and this.
  let fed = 0;
  try {
    await readBlob(
      file,
      async (chunk) => {
        fed += chunk.length;
        await decompressor.write(chunk);
        done += chunk.length;
        onProgress(done);
      },
      signal,
    );
    await decompressor.close();
    parser.finish();
  } catch (e) {
    decompressor.abort(e);
    // The blob being handed on will not be finished: its job must not wait for the rest.
    (sender as PlainSender | null)?.abort(e);
    if (e instanceof CancelledError) throw e;
    const cut = current as ArchiveFile | null;
    if (cut) cut.truncated = true;
    if (e instanceof TarError) {
      problems.push({
        code: e.code,
        message: e.message,
        where: `offset ${e.offset} of the uncompressed tar`,
        severity: 'error',
      });
    } else if (parser.ended && !cut) {
      // The tar is whole: what follows its end-of-archive blocks is not part of it. gzip -d
      // ignores such trailing bytes ("trailing garbage ignored"); Go's gzip reader, so docker
      // load, refuses the file, so it is said.
      const reason = e instanceof Error ? e.message : String(e);
      problems.push({
        code: decodeErrorCode(codec),
        message: `after the end of the tar, the ${codec} stream holds bytes that do not decode (in its compressed bytes ${done}–${fed}${reason ? `: ${reason}` : ''}); they are ignored${codec === 'gzip' ? ', as `gzip -d` ignores trailing garbage, but docker load refuses the file' : `, but \`${codec} -d\` and docker load refuse the file`}`,
        where: `offset ${done}`,
        severity: 'warning',
      });
    } else {
      const reason = e instanceof Error ? e.message : String(e);
      problems.push({
        code: decodeErrorCode(codec),
        message: `the ${codec} stream is corrupt or truncated ${fed > done ? `in its compressed bytes ${done}–${fed}` : `at its end (${done} compressed bytes)`}, after ${parser.offset} bytes of tar${reason ? `: ${reason}` : ''}`,
        where: cut ? `${cut.path}, offset ${parser.offset}` : `offset ${parser.offset}`,
        severity: 'error',
      });
    }
  }
  await Promise.all(jobs);
  return ArchiveFiles.streamed(entries, contents, digests);
}

/** Piped blobs of a streamed archive whose jobs may run unfinished at once. */
const PIPED_AT_ONCE = 2;

/** Thrown to stop reading once the wanted entry is complete. */
class EntryComplete extends Error {}

/**
 * One entry of an archive compressed as a whole (`docker save | gzip`, `| zstd`, `| xz`), read again:
 * the archive is decompressed from its start up to the end of that entry (none of these formats
 * can be entered in the middle), and the entry's bytes gathered into a Blob (BlobParts). Null when
 * no such file, or the file is not compressed as a whole.
 */
export async function readCompressedArchiveEntry(
  file: Blob,
  path: string,
  signal?: AbortSignal,
): Promise<Blob | null> {
  const codec = archiveCodec(sniff(new Uint8Array(await file.slice(0, 8).arrayBuffer())));
  if (!codec) return null;
  let found: Blob | null = null;
  const parser = new TarStreamParser({
    entry(e) {
      const f = toArchiveFile(e);
      if (f.type !== 'file' || f.path !== path || e.sparse) return null;
      const parts = new BlobParts();
      return {
        data: (chunk) => parts.push(chunk),
        end() {
          found = parts.blob();
          throw new EntryComplete();
        },
      };
    },
  });
  const decompressor = createDecompressor(codec, (chunk) => parser.push(chunk));
  try {
    await readBlob(file, (chunk) => decompressor.write(chunk), signal);
    await decompressor.close();
  } catch (e) {
    decompressor.abort(e);
    if (!(e instanceof EntryComplete) && found === null) throw e;
  }
  return found;
}

/** Pick the adapter from what the archive contains, never from its name. */
async function loadImages(b: AnalysisBuilder): Promise<void> {
  const files = b.files;
  const src = b.analysis.source;
  // A file the images name may lie past the cut: what it is missing from says so.
  files.cut = archiveCut(b)?.where ?? null;
  const hasDockerManifest = files.has('manifest.json');
  const dirVersion = isOciLayout(files) ? null : await dirTransportVersion(b);
  if (dirVersion) {
    await loadDirLayout(b, dirVersion);
  } else if (isOciLayout(files)) {
    src.kind = hasDockerManifest ? 'docker-archive' : 'oci-archive';
    src.layout = hasDockerManifest ? 'docker save (Docker 25+, OCI image layout)' : 'OCI image layout';
    await loadOciLayout(b);
    if (hasDockerManifest) {
      const entries = await readDockerManifest(b);
      if (entries) {
        const rest = mergeRepoTags(b, entries);
        if (rest.length > 0) await loadDockerManifest(b, rest, entries.length - rest.length);
      }
    }
  } else if (hasDockerManifest) {
    src.kind = 'docker-archive';
    const entries = await readDockerManifest(b);
    const symlinked = files.list().some((f) => f.type === 'symlink' && f.path.endsWith('/layer.tar'));
    src.layout = symlinked
      ? 'manifest.json with layer.tar symlinks (skopeo, podman)'
      : 'docker save (manifest.json)';
    if (entries) await loadDockerManifest(b, entries);
  } else if (files.has('repositories') || files.list().some((f) => /^[a-f0-9]{64}\/json$/.test(f.path))) {
    src.kind = 'docker-archive';
    src.layout = 'docker save (pre-1.10, no manifest.json)';
    missingManifest(b);
    await loadLegacy(b);
  } else {
    const names = files
      .list()
      .slice(0, 5)
      .map((f) => f.path)
      .join(', ');
    const truncated = b.analysis.problems.some((p) => p.code === 'tar-truncated' || streamError(p));
    // Layouts in folders beside other files, or side by side (one alone is read from inside its
    // folder: `rooted`).
    const inside = layoutsInside(files);
    const one = inside?.folders.length === 1;
    const hint = !inside
      ? ''
      : `. ${one ? 'Its folder' : 'Its folders'} ${listed(inside.folders)} ${one ? 'holds an image layout' : 'each hold an image layout'}: ${
          files.container === 'folder'
            ? one
              ? 'open that folder'
              : 'open one of them'
            : `an image archive has ${one ? 'it' : 'one'} at its top; pack ${one ? 'it' : 'one'} with \`tar -C ${inside.folders[0]} -cf <archive> .\``
        }`;
    b.problem(
      'unknown-layout',
      truncated
        ? `the archive is cut short before its index.json, manifest.json or repositories, so its images cannot be listed; ${files.size === 0 ? 'no entry was read before the cut' : files.size === 1 ? `the one entry before the cut is: ${names}` : `the ${files.size} entries before the cut start with: ${names}`}`
        : files.container === 'folder'
          ? `this folder is not an image layout: it has no index.json, manifest.json or repositories at its top${names ? ` (it holds: ${names})` : ' (it is empty)'}${hint}`
          : `this tar archive is not an image archive: it has no index.json, manifest.json or repositories${names ? ` (it starts with: ${names})` : ' (it is empty)'}${hint}`,
      b.analysis.source.name,
    );
  }
  if (src.root !== undefined) src.layout += `, in its folder ${src.root}/`;
  if (b.analysis.images.length === 0 && b.analysis.problems.every((p) => p.code !== 'unknown-layout')) {
    // A layout may hold only artifacts (image-spec manifest.md "artifactType": SBOMs, signatures,
    // charts): verified like any blob, and no image is missing.
    const artifacts = b.analysis.nodes.filter((n) => n.kind === 'artifact' && n.present);
    if (artifacts.length > 0) {
      const kinds = listed([...new Set(artifacts.map((n) => n.label))]);
      b.problem(
        'artifacts-only',
        `the ${files.container} holds no image, only ${counted(artifacts.length, 'artifact')} (${kinds})`,
        b.analysis.source.name,
        'info',
      );
    } else {
      b.problem(
        'invalid-document',
        `no image could be read from the ${files.container}`,
        b.analysis.source.name,
      );
    }
  }
}

/** The stream of an archive compressed as a whole broke off: it is corrupt or cut short. */
const streamError = (p: Problem) =>
  p.code === 'gzip-error' || p.code === 'zstd-error' || p.code === 'decompress-error';

/** The problem saying the archive ends early (a tar cut short, a compressed stream broken), if any. */
function archiveCut(b: AnalysisBuilder): Problem | undefined {
  return b.analysis.problems.find(
    (p) => (p.code === 'tar-truncated' && p.severity === 'error') || streamError(p),
  );
}

/**
 * A docker-archive without manifest.json is read as a pre-1.10 `docker save`, but only
 * archives written since manifest.json exists hold top-level `<config>.json` files and
 * `<diffid>.tar` layers (skopeo, podman, Docker 1.10+), and every writer puts manifest.json
 * near the end: such an archive, or one that is cut short, has lost it, and the chains
 * rebuilt from `<id>/json` may miss layers and have no config.
 */
function missingManifest(b: AnalysisBuilder): void {
  const newer = b.files
    .list()
    // skopeo, podman, Docker: `<config hex>.json`, `<diffid hex>.tar`; kaniko and
    // go-containerregistry: `sha256:<config hex>`, `<digest hex>.tar.gz`.
    .filter((f) => /^(?:sha256:[a-f0-9]{64}|[a-f0-9]{64}\.(?:json|tar|tar\.gz))$/.test(f.path))
    .map((f) => f.path);
  const cut = archiveCut(b);
  if (newer.length === 0 && !cut) return;
  const because = cut
    ? `the archive is cut short (${cut.where})`
    : `it holds ${newer.length} top-level config or layer file${newer.length === 1 ? '' : 's'} (${newer.slice(0, 2).join(', ')}${newer.length > 2 ? ', …' : ''}) that only archives with a manifest.json have`;
  b.problem(
    'missing-manifest',
    `manifest.json is missing: ${because}. Its images are rebuilt from the <id>/json layer chains as for a pre-1.10 docker save, without their configs, and may lack layers`,
    'manifest.json',
  );
}

async function verifyBlobs(
  b: AnalysisBuilder,
  options: AnalyzeOptions,
  progress: Progress,
  emit: () => void,
  listings: Map<string, LayerListing>,
): Promise<void> {
  const apply = (blob: BlobInfo, file: ArchiveFile, r: DigestResult) => {
    applyResult(b, blob, r, `${entryOf(file)} (${blob.expectedDigest ?? blob.key})`);
    if (blob.role === 'layer' && r.listing && options.listings) {
      recordListing(b, blob, r.listing, listings);
      options.onListing?.(blob.key, r.listing);
    }
  };
  const blobs = Object.values(b.analysis.blobs);
  const streamQueue: { blob: BlobInfo; file: ArchiveFile }[] = [];
  const streamed = b.analysis.source.compression !== null;
  if (!streamed) progress.bytesDone = 0;
  for (const blob of blobs) {
    const file = b.blobFiles.get(blob.key);
    if (!file) continue;
    checkSize(b, blob, file.size, `${entryOf(file)} (${blob.expectedDigest ?? blob.key})`);
    if (file.truncated) {
      const why = 'the archive ends before this blob does';
      blob.digestCheck = { state: 'unchecked', reason: why };
      if (blob.diffIdCheck.state === 'pending') blob.diffIdCheck = { state: 'unchecked', reason: why };
      continue;
    }
    if (!streamed) progress.bytesTotal += file.size;
    streamQueue.push({ blob, file });
  }
  emit();
  // Documents are in memory already: WebCrypto digests them whole.
  const docs = streamQueue.filter((q) => b.documents.has(q.blob.key));
  for (const { blob, file } of docs) {
    const bytes = b.documents.get(blob.key) as Uint8Array;
    finishDigest(
      b,
      blob,
      await sha256OfBytes(bytes),
      `${entryOf(file)} (${blob.expectedDigest ?? blob.key})`,
    );
    if (!streamed) progress.bytesDone += file.size;
  }
  emit();
  // Largest first, so that the last layer to finish on either worker is a short one.
  const layers = streamQueue
    .filter((q) => !b.documents.has(q.blob.key))
    .sort((x, y) => y.file.size - x.file.size);
  const verifier: BlobVerifier = options.verifier ?? ((blob, o) => digestBlob(blob, o));
  const items: { blob: BlobInfo; file: ArchiveFile; slice: Blob }[] = [];
  for (const { blob, file } of layers) {
    const pre = b.files.precomputed(file);
    if (pre) {
      apply(blob, file, pre);
      continue;
    }
    const slice = b.files.slice(file);
    if (!slice) {
      blob.digestCheck = {
        state: 'unchecked',
        reason: 'the blob could not be read again from a streamed archive',
      };
      continue;
    }
    items.push({ blob, file, slice });
    options.onBlob?.(blob.key, slice);
  }
  emit();
  const n = Math.max(1, options.concurrency ?? 2);
  // A pipe needs both halves running at once: never with a single runner.
  const min = n >= 2 ? (options.splitMin ?? SPLIT_MIN) : Infinity;
  // Only a layer whose uncompressed side is wanted (a diff_id to check, a listing) has a second half.
  const split = await Promise.all(
    items.map(async ({ blob, slice }) =>
      blob.role === 'layer' && (blob.diffIdCheck.state === 'pending' || options.listings === true)
        ? pipeShape(slice, min, options.listSentRatio ?? LIST_SENT_RATIO)
        : null,
    ),
  );
  const plainVerifier: PlainVerifier = options.plainVerifier ?? digestPlain;

  const fail = (blob: BlobInfo, file: ArchiveFile, e: unknown) => {
    if (e instanceof CancelledError || options.signal?.aborted) throw new CancelledError();
    const reason = e instanceof Error ? e.message : String(e);
    blob.digestCheck = { state: 'unchecked', reason: `reading failed: ${reason}` };
    if (blob.diffIdCheck.state === 'running')
      blob.diffIdCheck = { state: 'unchecked', reason: `reading failed: ${reason}` };
    b.problem('read-error', `could not read the blob: ${reason}`, placeOf(file, 'data'));
  };
  const listingOptions = (blob: BlobInfo) =>
    options.listings === true && blob.role === 'layer'
      ? { listing: true, limits: options.limits, layer: blob.expectedDigest ?? blob.key }
      : {};
  /** One pass over the blob; with `plainTo`, its uncompressed bytes go to the other half of a pipe. */
  const verify = async (
    blob: BlobInfo,
    file: ArchiveFile,
    slice: Blob,
    pipe?: { port: MessagePort; listSent: boolean },
    signal = options.signal,
  ) => {
    let last = 0;
    const result = await verifier(slice, {
      diffId: blob.role === 'layer' && blob.diffIdCheck.state === 'running',
      ...listingOptions(blob),
      ...(pipe ? { plainTo: pipe.port, listSent: pipe.listSent } : {}),
      signal,
      onProgress: (done) => {
        progress.bytesDone += done - last;
        last = done;
        blob.bytesDone = done;
        emit();
      },
    });
    progress.bytesDone += file.size - last;
    blob.bytesDone = file.size;
    return result;
  };
  const start = (blob: BlobInfo) => {
    blob.digestCheck = { state: 'running' };
    if (blob.diffIdCheck.state === 'pending') blob.diffIdCheck = { state: 'running' };
    emit();
  };

  // The work, in order, for `concurrency` runners. A large compressed layer is two jobs joined by
  // a pipe: one reads the blob, hashes its stored bytes and decompresses it; the other hashes the
  // uncompressed bytes (diff_id), on a second core; one of them lists (docs/decisions.md). Both
  // start in one task, so no half ever waits for a runner. Their results meet in `joins`, outside
  // the runners, so that a failure in one is reported however far the runners have got.
  const tasks: (() => Promise<void>)[] = [];
  const joins: Promise<void>[] = [];
  items.forEach(({ blob, file, slice }, i) => {
    const shape = split[i];
    if (!shape) {
      tasks.push(async () => {
        start(blob);
        try {
          apply(blob, file, await verify(blob, file, slice));
        } catch (e) {
          fail(blob, file, e);
        }
        emit();
      });
      return;
    }
    const stored = deferred<DigestResult>();
    const plain = deferred<PlainResult>();
    const pipe = new MessageChannel();
    // When one half fails (its worker lost, say), the other is cancelled: it would otherwise wait
    // for ever for bytes, or for room to send them.
    const pair = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, pair.signal]) : pair.signal;
    const failed = (d: { reject: (e: unknown) => void }) => (e: unknown) => {
      d.reject(e);
      pair.abort();
    };
    // One task: the sending half holds a runner; the receiving half starts with it, beside the
    // runners (a verifier pool puts it on another worker). Decompressing is the heavy half, so two
    // runners decompress two layers at once, each hashed on the other's core (docs/decisions.md,
    // "Two piped layers at once").
    tasks.push(async () => {
      start(blob);
      const sending = verify(blob, file, slice, { port: pipe.port1, listSent: shape.listSent }, signal).then(
        stored.resolve,
        failed(stored),
      );
      // Asked to list as the sender is: the pipe tells it whether the sender does.
      const receiving = plainVerifier(pipe.port2, { ...listingOptions(blob), signal }).then(
        plain.resolve,
        failed(plain),
      );
      // Both halves, so that a runner never has more than one pipe open.
      await Promise.all([sending, receiving]);
    });
    const join = (async () => {
      try {
        const [s, p] = await Promise.all([stored.promise, plain.promise]);
        apply(blob, file, { ...s, ...p });
      } catch (e) {
        fail(blob, file, e);
      }
      emit();
    })();
    join.catch(() => {}); // a cancelled run rejects it after the runners have thrown: not unhandled
    joins.push(join);
  });
  let next = 0;
  const runner = async () => {
    while (next < tasks.length) {
      if (options.signal?.aborted) throw new CancelledError();
      await (tasks[next++] as () => Promise<void>)();
    }
  };
  // Runners first: a cancelled run throws there, before waiting on a join whose task never ran.
  await Promise.all(Array.from({ length: Math.min(n, tasks.length) }, runner));
  await Promise.all(joins);
}

/**
 * Below this a compressed layer is one pass on one worker: two small layers at once use the two
 * cores as well, without a pipe's messages. A 4.6 MB layer of 200,000 small files gained 8% piped
 * (docs/decisions.md).
 */
const SPLIT_MIN = 4 << 20;

/**
 * From this declared expansion on, the decompressing half of a pipe also lists the tar. Measured
 * in Chromium (docs/decisions.md, "Which half lists"): inflating costs ~3.4 ns per output byte at
 * 3.6× and ~1.2 ns at 44×, hashing ~2.9 ns; the halves balance near 9×. Below, the receiving half
 * (hash only) is the lighter one and lists.
 */
const LIST_SENT_RATIO = 8;

/**
 * Whether a blob is piped: a compressed layer (gzip or zstd magic, whatever its media type says)
 * of at least `min` bytes; and which half lists it, by the uncompressed size it declares.
 */
async function pipeShape(
  blob: Blob,
  min: number,
  listSentRatio: number,
): Promise<{ listSent: boolean } | null> {
  if (blob.size < min || blob.size === 0) return null;
  const head = new Uint8Array(await blob.slice(0, DECLARED_SIZE_HEAD).arrayBuffer());
  const magic = sniff(head);
  if (magic !== 'gzip' && magic !== 'zstd') return null;
  const tail =
    magic === 'gzip'
      ? new Uint8Array(await blob.slice(blob.size - DECLARED_SIZE_TAIL).arrayBuffer())
      : new Uint8Array(0);
  const declared = declaredPlainSize(head, tail);
  return { listSent: declared !== null && declared >= listSentRatio * blob.size };
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // awaited in its join; a run cancelled before then must not warn
  return { promise, resolve, reject };
}

function cancel(b: AnalysisBuilder, emit: () => void): Analysis {
  for (const blob of Object.values(b.analysis.blobs)) {
    for (const k of ['sizeCheck', 'digestCheck', 'diffIdCheck'] as const) {
      const s = blob[k].state;
      if (s === 'pending' || s === 'running') blob[k] = { state: 'unchecked', reason: 'cancelled' };
    }
  }
  b.problem(
    'cancelled',
    'verification was cancelled; checks not yet done are marked unchecked',
    b.analysis.source.name,
    'info',
  );
  b.analysis.complete = false;
  emit();
  return b.analysis;
}
