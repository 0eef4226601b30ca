/**
 * The analysis model: what the worker finds in an archive and what the UI renders.
 * Plain data only (structured-clone safe), so it crosses the worker boundary as-is
 * and serialises straight into the report (docs/report.md).
 */

/** A lowercase `sha256:<64 hex>` digest (OCI image-spec, descriptor.md "Digests"). */
export type Digest = string;

/**
 * Something wrong with the input. Errors are data: every problem names what is wrong
 * and where (entry path, byte offset, digest), and analysis goes on around it.
 */
export interface Problem {
  code: ProblemCode;
  message: string;
  /** Entry path, `offset N`, digest, or a combination; empty only for whole-file problems. */
  where: string;
  severity: 'error' | 'warning' | 'info';
}

export type ProblemCode =
  | 'not-an-archive'
  | 'unknown-layout'
  | 'tar-checksum'
  | 'tar-truncated'
  | 'tar-header'
  | 'tar-sparse'
  | 'gzip-error'
  | 'zstd-error'
  | 'decompress-error'
  | 'missing-blob'
  | 'missing-manifest'
  | 'absent-image'
  | 'artifacts-only'
  | 'size-mismatch'
  | 'digest-mismatch'
  | 'diffid-mismatch'
  | 'diffid-count'
  | 'invalid-json'
  | 'invalid-document'
  | 'unknown-media-type'
  | 'unsupported-digest'
  | 'read-error'
  | 'cancelled'
  // Layer listings (src/core/layers/layer-listing.ts):
  | 'limit'
  | 'unsafe-path'
  | 'absolute-path'
  | 'bad-whiteout'
  | 'duplicate-entry'
  | 'hardlink-target'
  | 'symlink-path'
  | 'nul-in-name'
  | 'bidi-in-name'
  | 'sparse-type-s'
  | 'tar-type'
  | 'pax-global'
  | 'sparse-map'
  // Registries (src/core/registry/client.ts):
  | 'registry-auth'
  | 'registry-denied'
  | 'registry-not-found'
  | 'registry-rate-limit'
  | 'registry-server'
  | 'registry-network'
  | 'invalid-reference'
  | 'cache-full'
  // Permalinks (src/core/permalink/link.ts):
  | 'invalid-link';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
  features?: string[];
}

/** OCI descriptor (image-spec descriptor.md). */
export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
}

/**
 * The state of one check. `unchecked` carries the reason a check cannot be made
 * (blob absent, no expected value known, unsupported algorithm, cancelled…).
 */
export type Check =
  | { state: 'pending' }
  | { state: 'running' }
  | { state: 'verified' }
  | { state: 'mismatch'; expected: string; actual: string }
  | { state: 'unchecked'; reason: string };

export type Compression = 'gzip' | 'zstd' | 'none' | 'unknown';

/** `blob`: a blob of an artifact manifest (not an image layer, so no diff_id). */
export type BlobRole = 'index' | 'manifest' | 'config' | 'layer' | 'blob';

/**
 * One blob of the archive, identified by `key` (its digest when one is claimed,
 * otherwise its path in the archive). Shared by every image that references it.
 */
export interface BlobInfo {
  key: string;
  role: BlobRole;
  /** Path of the blob's entry in the outer archive; null when the archive lacks it. */
  path: string | null;
  mediaType: string;
  /** Digest the archive claims for the blob (descriptor, or content-addressed file name). */
  expectedDigest: Digest | null;
  /** Size the descriptor claims; null when nothing claims one. */
  expectedSize: number | null;
  /** Size of the entry in the archive. */
  size: number | null;
  /** SHA-256 of the stored bytes, once computed. */
  actualDigest: Digest | null;
  sizeCheck: Check;
  digestCheck: Check;
  /** Layers only: detected from magic bytes, whatever the media type says. */
  compression: Compression | null;
  /** Layers only: the config's `rootfs.diff_ids` entry for this layer. */
  expectedDiffId: Digest | null;
  actualDiffId: Digest | null;
  diffIdCheck: Check;
  uncompressedSize: number | null;
  /** Bytes of the stored blob read so far, for progress. */
  bytesDone: number;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** The parts of an image config (image-spec config.md) that the UI shows. */
export interface ImageConfigFile {
  created?: string;
  author?: string;
  architecture?: string;
  os?: string;
  variant?: string;
  config?: {
    User?: string;
    ExposedPorts?: Record<string, unknown>;
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    Volumes?: Record<string, unknown> | null;
    WorkingDir?: string;
    Labels?: Record<string, string> | null;
    StopSignal?: string;
    Healthcheck?: {
      Test?: string[];
      Interval?: number;
      Timeout?: number;
      StartPeriod?: number;
      Retries?: number;
    };
    /** Docker's image spec (v1.2+), not OCI's: ONBUILD triggers, run by builds FROM this image. */
    OnBuild?: string[] | null;
    /** Docker's image spec: the SHELL that RUN, CMD and ENTRYPOINT in shell form use. */
    Shell?: string[] | null;
    [k: string]: unknown;
  };
  rootfs?: { type?: string; diff_ids?: string[] };
  history?: HistoryEntry[];
  [k: string]: unknown;
}

export interface LayerRef {
  /** Key into `Analysis.blobs`. */
  blob: string;
  /** Descriptor as the manifest lists it (media type and size as claimed). */
  mediaType: string;
  digest: Digest | null;
  size: number | null;
  diffId: Digest | null;
}

export interface ImageInfo {
  /** Stable id within this analysis. */
  id: string;
  refs: string[];
  manifestDigest: Digest | null;
  /** Key into `Analysis.blobs` of the manifest, when the archive holds one. */
  manifestBlob: string | null;
  configDigest: Digest | null;
  configBlob: string | null;
  platform: Platform | null;
  config: ImageConfigFile | null;
  layers: LayerRef[];
  /** False when the archive does not carry this image's manifest/config (e.g. other platforms). */
  present: boolean;
  /** Human-readable reason when not present. */
  absentReason?: string;
}

export type NodeKind = 'index' | 'manifest' | 'config' | 'layer' | 'artifact';

/** A node of the image graph: index → manifests → config → layers. */
export interface GraphNode {
  id: string;
  kind: NodeKind;
  label: string;
  /** Key into `Analysis.blobs`, when the node is a blob of the archive. */
  blob: string | null;
  digest: Digest | null;
  mediaType: string;
  size: number | null;
  platform: Platform | null;
  present: boolean;
  /** Pretty-printable JSON document (index, manifest, config, or docker manifest.json entry). */
  raw: string | null;
}

export interface GraphEdge {
  from: string;
  to: string;
  /** e.g. "manifest", "config", "layer 3", "platform linux/arm64". */
  label: string;
}

export type SourceKind = 'docker-archive' | 'oci-archive' | 'dir' | 'registry' | 'unknown';

export interface SourceInfo {
  kind: SourceKind;
  /** Finer description: "docker save (legacy)", "docker save (Docker 25+, OCI layout)", "OCI image layout"… */
  layout: string;
  name: string;
  size: number;
  /** Compression of the archive as a whole (`docker save | gzip`, `| zstd`, `| xz`). */
  compression: 'gzip' | 'zstd' | 'xz' | null;
  /** A folder was given instead of an archive file (an OCI layout as `skopeo copy … oci:<dir>` writes it). */
  folder?: true;
  /**
   * The folder inside the archive or folder that holds the layout, when every file is in it (`tar
   * -cf x.tar layout/`, the folder above a layout dropped): paths are read inside it.
   */
  root?: string;
  /** Registry sources: the reference as typed. */
  reference?: string;
  /** Registry sources: `<host>/<repo>@sha256:…` of what was fetched. */
  resolved?: string;
  /** Registry sources: the normalised reference (`docker.io/library/alpine:latest`). */
  canonical?: string;
  /** Registry sources: the last `RateLimit-Limit` / `RateLimit-Remaining` headers seen (Docker Hub). */
  rateLimit?: { limit: string | null; remaining: string | null } | null;
  /** Registry sources: the repository's tags, when the registry lists them. */
  tags?: string[];
  /** Registry sources: the platform analysed (`linux/amd64`), when the image has several. */
  platform?: string;
  /** Registry sources: layers read from the local cache rather than the network. */
  cachedLayers?: number;
  /**
   * Archives: SHA-256 of the whole file as given (compressed bytes for a `.tar.gz`), once
   * hashed. A permalink names the archive by it (docs/permalinks.md).
   */
  sha256?: Digest;
  /** Archives: why the archive could not be hashed (it then has no permalink). */
  sha256Error?: string;
}

/**
 * Where an analysis that was not made from the input itself comes from: a permalink's summary
 * or an exported report (`summary`), or this browser's own earlier analysis of the archive
 * (`cache`). Either way the person sees it without the input, so nothing in it was verified
 * now; the page says so and asks for the file.
 */
export interface AnalysisOrigin {
  kind: 'link' | 'export' | 'cache';
  /** What a link's summary leaves out to stay short, in the order it was left out. */
  omitted: string[];
  /** `cache`: when this browser analysed the archive (ISO 8601). */
  analysedAt?: string;
}

export interface Analysis {
  source: SourceInfo;
  images: ImageInfo[];
  blobs: Record<string, BlobInfo>;
  nodes: GraphNode[];
  edges: GraphEdge[];
  problems: Problem[];
  /** False while any check is still running. */
  complete: boolean;
  /** Layer listings, by key into `blobs`; present when listings were asked for. */
  layers?: Record<string, LayerSummary>;
  /** Merged file systems, by `ImageInfo.id`; present when listings were asked for. */
  filesystems?: Record<string, ImageFilesystemSummary>;
  /** Set when the analysis was not made from the input now (a link, an export, the cache). */
  origin?: AnalysisOrigin;
}

export interface Progress {
  bytesDone: number;
  bytesTotal: number;
  /** ms since the verification started. */
  elapsedMs: number;
}

/**
 * Why a layer listing stopped early: a limit was reached (`entry-limit`, `byte-limit`),
 * the tar is broken (`tar-error`), or its compressed data is (`decompress-error`).
 */
export type LayerStopReason = 'entry-limit' | 'byte-limit' | 'tar-error' | 'decompress-error';

/** One layer's tar listing in figures (the listing itself stays in the worker). */
export interface LayerSummary {
  /** Real tar entries (PAX and GNU metadata records excluded). */
  entries: number;
  /** Whiteout entries among them (`.wh.<name>` and `.wh..wh..opq`). */
  whiteouts: number;
  /** Sum of the sizes of the layer's regular files. */
  bytes: number;
  /** Null when the whole layer was listed. */
  stopped: LayerStopReason | null;
  /** Problems the listing found (also in `Analysis.problems`). */
  problems: number;
}

/** What one layer does to the file system below it (paths, children of removed directories included). */
export interface LayerChanges {
  added: number;
  modified: number;
  removed: number;
}

/** Figures of an image's merged file system; efficiency and waste as dive computes them. */
export interface FilesystemFigures {
  /** Paths of the extracted root file system (implied parent directories included, the root excluded). */
  entries: number;
  /** Sum of regular-file sizes in it, each hard-linked file counted once. */
  bytes: number;
  /** Sum of every size seen for the paths that occur in two or more layers. */
  wastedBytes: number;
  /** Σ smallest size seen per path ÷ Σ all sizes seen per path; 1 when nothing has a size. */
  efficiency: number;
}

export interface WastedPath {
  path: string;
  /** All sizes seen for the path, summed (a whiteout counts what it removes, as dive counts it). */
  bytes: number;
  /** Indexes of the image's layers where the path occurs. */
  layers: number[];
}

export interface ImageFilesystemSummary {
  /** Per layer of the image, in order; null from the first layer that could not be listed completely. */
  layers: (LayerChanges | null)[];
  /** Null unless every layer was listed completely. */
  figures: FilesystemFigures | null;
  /** The largest wasted paths, largest first (at most 100). */
  wasted: WastedPath[];
  /** How many paths are wasted in all. */
  wastedPaths: number;
}

/**
 * A layer's place in its image, as edges and messages name it: counted from 0 at the base, as the
 * page numbers layers everywhere else (Layers, History, Files, the file viewer).
 */
export function layerName(index: number): string {
  return `layer ${index}`;
}
