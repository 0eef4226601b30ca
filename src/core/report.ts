/**
 * The report: a documented, versioned JSON description of exactly the analysis on screen
 * (docs/report.md). Bump REPORT_VERSION when a field changes meaning.
 */
import type {
  Analysis,
  BlobInfo,
  Check,
  FilesystemFigures,
  HistoryEntry,
  ImageConfigFile,
  LayerChanges,
  Platform,
  Problem,
} from './model';

export const REPORT_VERSION = 1;

export interface ReportLayer {
  digest: string | null;
  mediaType: string;
  size: number | null;
  diffId: string | null;
  compression: string | null;
  uncompressedSize: number | null;
  verified: { size: boolean | null; digest: boolean | null; diffId: boolean | null };
  /** Real tar entries of the layer; present when the layer was listed. */
  entries?: number;
  /** What the layer changes in this image; present when it and every layer below were listed. */
  changes?: LayerChanges;
}

export interface ReportImage {
  refs: string[];
  manifestDigest: string | null;
  configDigest: string | null;
  platform: Platform | null;
  present: boolean;
  verified: { manifest: boolean | null; config: boolean | null };
  layers: ReportLayer[];
  /** The merged file system; present when every layer of the image was listed completely. */
  filesystem?: FilesystemFigures;
  /** What the image runs with, from its config (the fields the Summary shows); absent without a config. */
  config?: ReportConfig;
  /** The config's `history`, verbatim; absent without a config. */
  history?: HistoryEntry[];
}

export const RUN_FIELDS = [
  'User',
  'ExposedPorts',
  'Env',
  'Entrypoint',
  'Cmd',
  'Volumes',
  'WorkingDir',
  'Labels',
  'StopSignal',
] as const;

/** The parts of an image config (image-spec config.md "Properties") a summary shows. */
export type ReportConfig = Pick<ImageConfigFile, 'created' | 'author' | 'architecture' | 'os' | 'variant'> & {
  config?: Pick<NonNullable<ImageConfigFile['config']>, (typeof RUN_FIELDS)[number]>;
};

/*
 * Reports list fields in one fixed order, whatever order the documents had, so that the same
 * analysis always gives the same JSON (and a permalink made from it the same link).
 */

export function reportPlatform(p: Platform): Platform {
  const out: Platform = { os: p.os, architecture: p.architecture };
  if (p.variant) out.variant = p.variant;
  if (p['os.version']) out['os.version'] = p['os.version'];
  if (p['os.features']) out['os.features'] = [...p['os.features']];
  if (p.features) out.features = [...p.features];
  return out;
}

export const HISTORY_FIELDS = ['created', 'created_by', 'author', 'comment'] as const;

export function reportHistory(h: HistoryEntry): HistoryEntry {
  const out: HistoryEntry = {};
  for (const k of HISTORY_FIELDS) if (typeof h[k] === 'string') out[k] = h[k];
  if (typeof h.empty_layer === 'boolean') out.empty_layer = h.empty_layer;
  return out;
}

function reportConfig(config: ImageConfigFile): ReportConfig {
  const out: ReportConfig = {};
  for (const k of ['created', 'author', 'architecture', 'os', 'variant'] as const) {
    const v = config[k];
    if (typeof v === 'string') out[k] = v;
  }
  if (config.config) {
    const run: NonNullable<ReportConfig['config']> = {};
    for (const k of RUN_FIELDS) {
      if (config.config[k] !== undefined) (run as Record<string, unknown>)[k] = config.config[k];
    }
    out.config = run;
  }
  return out;
}

export interface Report {
  version: number;
  complete: boolean;
  source: {
    kind: string;
    layout: string;
    name: string;
    size: number;
    compression: string | null;
    /** Registry sources only: the reference as typed. */
    reference?: string;
    /** Registry sources only: `<host>/<repo>@sha256:…`. */
    resolved?: string;
    /**
     * Archives only: SHA-256 of the file as given, once hashed; for a folder, of its top
     * document (index.json, else manifest.json).
     */
    sha256?: string;
    /** A folder was given instead of an archive file. */
    folder?: true;
    /** The folder inside the archive or folder the layout was read from (`tar -cf x.tar layout/`). */
    root?: string;
  };
  images: ReportImage[];
  problems: Problem[];
}

/** true: verified; false: mismatch; null: not checkable (or not checked yet). */
export function checkFlag(c: Check): boolean | null {
  return c.state === 'verified' ? true : c.state === 'mismatch' ? false : null;
}

/** A blob is verified when size and digest both hold; false as soon as either fails. */
function blobFlag(blob: BlobInfo | undefined): boolean | null {
  if (!blob) return null;
  const size = checkFlag(blob.sizeCheck);
  const digest = checkFlag(blob.digestCheck);
  if (size === false || digest === false) return false;
  return digest;
}

export function buildReport(analysis: Analysis): Report {
  const { source } = analysis;
  return {
    version: REPORT_VERSION,
    complete: analysis.complete,
    source: {
      kind: source.kind,
      layout: source.layout,
      name: source.name,
      size: source.size,
      compression: source.compression,
      ...(source.kind === 'registry'
        ? { reference: source.reference ?? '', resolved: source.resolved ?? '' }
        : {}),
      ...(source.sha256 ? { sha256: source.sha256 } : {}),
      ...(source.folder ? { folder: true as const } : {}),
      ...(source.root !== undefined ? { root: source.root } : {}),
    },
    images: analysis.images.map((image) => {
      const fs = analysis.filesystems?.[image.id];
      const reported: ReportImage = {
        refs: [...image.refs],
        manifestDigest: image.manifestDigest,
        configDigest: image.configDigest,
        platform: image.platform ? reportPlatform(image.platform) : null,
        present: image.present,
        verified: {
          manifest: image.manifestBlob ? blobFlag(analysis.blobs[image.manifestBlob]) : null,
          config: image.configBlob ? blobFlag(analysis.blobs[image.configBlob]) : null,
        },
        layers: image.layers.map((l, i) => {
          const blob = analysis.blobs[l.blob];
          const listed = analysis.layers?.[l.blob];
          const changes = fs?.layers[i];
          const layer: ReportLayer = {
            digest: l.digest ?? blob?.actualDigest ?? null,
            mediaType: blob?.mediaType || l.mediaType,
            size: l.size ?? blob?.size ?? null,
            diffId: l.diffId ?? blob?.actualDiffId ?? null,
            compression: blob?.compression ?? null,
            uncompressedSize: blob?.uncompressedSize ?? null,
            verified: {
              size: blob ? checkFlag(blob.sizeCheck) : null,
              digest: blob
                ? blob.sizeCheck.state === 'mismatch'
                  ? false
                  : checkFlag(blob.digestCheck)
                : null,
              diffId: blob ? checkFlag(blob.diffIdCheck) : null,
            },
          };
          if (listed) layer.entries = listed.entries;
          if (changes) layer.changes = { ...changes };
          return layer;
        }),
      };
      if (fs?.figures) reported.filesystem = { ...fs.figures };
      if (image.config) {
        reported.config = reportConfig(image.config);
        if (Array.isArray(image.config.history)) reported.history = image.config.history.map(reportHistory);
      }
      return reported;
    }),
    problems: analysis.problems.map((p) => ({ ...p })),
  };
}

/** `<name>.layerlens.json`, from the archive's name without its archive extensions. */
export function reportFileName(analysis: Analysis): string {
  if (analysis.source.kind === 'registry') {
    const safe = (analysis.source.canonical ?? analysis.source.name).replace(/[^A-Za-z0-9._-]+/g, '_');
    return `${safe || 'image'}.layerlens.json`;
  }
  const base = analysis.source.name.replace(/\.(tar\.gz|tgz|tar|gz)$/i, '') || 'image';
  return `${base.replace(/[^\w.@+-]+/g, '_')}.layerlens.json`;
}
