/**
 * An Analysis rebuilt from a report (a permalink's summary, an exported `.layerlens.json`), so
 * the same views render it: graph (manifest → config → layers, shared layers once), summary,
 * history, layers with the checks as the report recorded them, problems. It carries
 * `origin`, and the page says that none of it was verified on this machine.
 */
import { layerName } from '../model';
import type {
  Analysis,
  AnalysisOrigin,
  BlobInfo,
  BlobRole,
  Check,
  GraphNode,
  ImageConfigFile,
  ImageFilesystemSummary,
  ImageInfo,
  LayerRef,
  SourceKind,
} from '../model';
import type { Report, ReportImage } from '../report';

const KINDS: SourceKind[] = ['docker-archive', 'oci-archive', 'dir', 'registry', 'unknown'];

/** A report's flag as a check: what the machine that made the report found. */
function check(flag: boolean | null, expected: string | null, what: string): Check {
  if (flag === true) return { state: 'verified' };
  if (flag === false)
    return {
      state: 'mismatch',
      expected: expected ?? '(not recorded)',
      actual: `(${what}: not recorded in the summary)`,
    };
  return { state: 'unchecked', reason: 'not checked when the summary was made' };
}

function blob(
  key: string,
  role: BlobRole,
  mediaType: string,
  digest: string | null,
  size: number | null,
  flags: { size: boolean | null; digest: boolean | null },
): BlobInfo {
  return {
    key,
    role,
    path: null,
    mediaType,
    expectedDigest: digest,
    expectedSize: size,
    size,
    actualDigest: flags.digest === true ? digest : null,
    sizeCheck: check(flags.size, size === null ? null : String(size), 'size'),
    digestCheck: check(flags.digest, digest, 'digest'),
    compression: null,
    expectedDiffId: null,
    actualDiffId: null,
    diffIdCheck: { state: 'unchecked', reason: 'only image layers have a diff_id' },
    uncompressedSize: null,
    bytesDone: 0,
  };
}

function imageConfig(img: ReportImage): ImageConfigFile | null {
  if (!img.config && !img.history) return null;
  const c: ImageConfigFile = { ...(img.config ?? {}) } as ImageConfigFile;
  if (img.config?.config) c.config = { ...img.config.config };
  if (img.history) c.history = img.history.map((h) => ({ ...h }));
  const diffIds = img.layers.map((l) => l.diffId);
  if (diffIds.every((d): d is string => typeof d === 'string'))
    c.rootfs = { type: 'layers', diff_ids: diffIds };
  return c;
}

export function analysisFromReport(report: Report, origin: AnalysisOrigin): Analysis {
  const s = report.source;
  const analysis: Analysis = {
    source: {
      kind: KINDS.includes(s.kind as SourceKind) ? (s.kind as SourceKind) : 'unknown',
      layout: s.layout,
      name: s.name,
      size: s.size,
      compression:
        s.compression === 'gzip' || s.compression === 'zstd' || s.compression === 'xz' ? s.compression : null,
      ...(s.reference !== undefined ? { reference: s.reference } : {}),
      ...(s.resolved !== undefined ? { resolved: s.resolved } : {}),
      ...(s.sha256 !== undefined ? { sha256: s.sha256 } : {}),
      ...(s.folder ? { folder: true as const } : {}),
      ...(s.root !== undefined ? { root: s.root } : {}),
    },
    images: [],
    blobs: {},
    nodes: [],
    edges: [],
    problems: report.problems.map((p) => ({ ...p })),
    complete: true,
    filesystems: {},
    origin: { ...origin, omitted: [...origin.omitted] },
  };
  const node = (n: GraphNode) => {
    if (!analysis.nodes.some((x) => x.id === n.id)) analysis.nodes.push(n);
  };

  report.images.forEach((img, i) => {
    const id = img.manifestDigest ?? `image ${i + 1}`;
    const manifestKey = img.manifestDigest ?? `manifest:${i}`;
    // A docker-archive's manifest.json entry is not a blob: nothing to verify, as in the full view.
    if (img.manifestDigest) {
      analysis.blobs[manifestKey] ??= blob(manifestKey, 'manifest', '', img.manifestDigest, null, {
        size: img.verified.manifest,
        digest: img.verified.manifest,
      });
    }
    node({
      id: manifestKey,
      kind: 'manifest',
      label:
        img.manifestDigest && img.platform
          ? [img.platform.os, img.platform.architecture, img.platform.variant].filter(Boolean).join('/')
          : (img.refs[0] ?? 'manifest'),
      blob: img.manifestDigest ? manifestKey : null,
      digest: img.manifestDigest,
      mediaType: '',
      size: null,
      platform: img.platform,
      present: img.present,
      raw: null,
    });
    if (img.configDigest) {
      analysis.blobs[img.configDigest] ??= blob(img.configDigest, 'config', '', img.configDigest, null, {
        size: img.verified.config,
        digest: img.verified.config,
      });
      node({
        id: img.configDigest,
        kind: 'config',
        label: 'config',
        blob: img.configDigest,
        digest: img.configDigest,
        mediaType: '',
        size: null,
        platform: null,
        present: img.present,
        raw: null,
      });
      analysis.edges.push({ from: manifestKey, to: img.configDigest, label: 'config' });
    }
    const layers: LayerRef[] = img.layers.map((l, j) => {
      const key = l.digest ?? `${manifestKey} layer ${j + 1}`;
      if (!analysis.blobs[key]) {
        const b = blob(key, 'layer', l.mediaType, l.digest, l.size, l.verified);
        b.compression = (l.compression as BlobInfo['compression']) ?? null;
        b.uncompressedSize = l.uncompressedSize;
        b.expectedDiffId = l.diffId;
        b.actualDiffId = l.verified.diffId === true ? l.diffId : null;
        b.diffIdCheck = check(l.verified.diffId, l.diffId, 'diff_id');
        analysis.blobs[key] = b;
        node({
          id: key,
          kind: 'layer',
          label: 'layer',
          blob: key,
          digest: l.digest,
          mediaType: l.mediaType,
          size: l.size,
          platform: null,
          present: img.present,
          raw: null,
        });
      }
      analysis.edges.push({ from: manifestKey, to: key, label: layerName(j) });
      return { blob: key, mediaType: l.mediaType, digest: l.digest, size: l.size, diffId: l.diffId };
    });
    const info: ImageInfo = {
      id,
      refs: [...img.refs],
      manifestDigest: img.manifestDigest,
      manifestBlob: img.manifestDigest ? manifestKey : null,
      configDigest: img.configDigest,
      configBlob: img.configDigest,
      platform: img.platform,
      config: imageConfig(img),
      layers,
      present: img.present,
      ...(img.present
        ? {}
        : { absentReason: 'the archive the summary describes did not contain this image' }),
    };
    analysis.images.push(info);
    const fs: ImageFilesystemSummary = {
      layers: img.layers.map((l) => (l.changes ? { ...l.changes } : null)),
      figures: img.filesystem ? { ...img.filesystem } : null,
      wasted: [],
      wastedPaths: 0,
    };
    if (fs.figures || fs.layers.some((c) => c))
      (analysis.filesystems as Record<string, ImageFilesystemSummary>)[id] = fs;
  });
  return analysis;
}
