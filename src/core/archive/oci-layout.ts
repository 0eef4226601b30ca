/**
 * OCI image layout (image-spec image-layout.md): `oci-layout`, `index.json`, and
 * content-addressed `blobs/<alg>/<encoded>`. Written by `skopeo copy … oci-archive:`,
 * `podman save --format oci-archive`, buildah, and by `docker save` since Docker 25
 * (which adds a `manifest.json` for compatibility: see docker-archive.ts).
 */
import { layerName } from '../model';
import type { GraphNode, ImageConfigFile, ImageInfo, LayerRef, Platform } from '../model';
import { digestKind } from '../digest/sha256';
import { counted } from '../text';
import type { AnalysisBuilder } from './builder';
import { isObject, platformOf, shortDigest } from './builder';
import { checkDocument } from './document-schema';
import {
  MT,
  buildkitReference,
  isEncryptedLayerType,
  isImageConfigType,
  isIndexType,
  isLayerType,
  isManifestType,
} from './media-types';

/** Annotations that name an image (image-spec annotations.md; containerd's own key). */
export const REF_ANNOTATIONS = ['org.opencontainers.image.ref.name', 'io.containerd.image.name'];

interface RawDescriptor {
  mediaType?: unknown;
  digest?: unknown;
  size?: unknown;
  annotations?: unknown;
  platform?: unknown;
  artifactType?: unknown;
}

export interface Desc {
  mediaType: string;
  digest: string;
  size: number;
  annotations: Record<string, string>;
  platform: Platform | null;
  artifactType: string | null;
}

/** index.json is the layout's entry point (image-layout.md); a missing oci-layout is reported, not fatal. */
export function isOciLayout(files: AnalysisBuilder['files']): boolean {
  return files.has('index.json');
}

function parseDescriptor(raw: unknown, b: AnalysisBuilder, where: string): Desc | null {
  if (!isObject(raw)) {
    b.problem('invalid-document', 'a descriptor is not a JSON object', where);
    return null;
  }
  const d = raw as RawDescriptor;
  if (typeof d.digest !== 'string' || digestKind(d.digest) === 'invalid') {
    b.problem(
      'invalid-document',
      `descriptor has an invalid digest ${JSON.stringify(d.digest ?? null)}`,
      where,
    );
    return null;
  }
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    b.problem(
      'invalid-document',
      `descriptor ${d.digest} has an invalid size ${JSON.stringify(d.size ?? null)}`,
      where,
    );
    return null;
  }
  const annotations: Record<string, string> = {};
  if (isObject(d.annotations))
    for (const [k, v] of Object.entries(d.annotations)) if (typeof v === 'string') annotations[k] = v;
  let platform: Platform | null = null;
  if (
    isObject(d.platform) &&
    typeof d.platform.os === 'string' &&
    typeof d.platform.architecture === 'string'
  ) {
    platform = { os: d.platform.os, architecture: d.platform.architecture };
    if (typeof d.platform.variant === 'string') platform.variant = d.platform.variant;
    if (typeof d.platform['os.version'] === 'string') platform['os.version'] = d.platform['os.version'];
    const strings = (v: unknown) =>
      Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : null;
    const osFeatures = strings(d.platform['os.features']);
    if (osFeatures) platform['os.features'] = osFeatures;
    const features = strings(d.platform.features); // reserved by image-index.md, written by older tools
    if (features) platform.features = features;
  }
  return {
    mediaType: typeof d.mediaType === 'string' ? d.mediaType : '',
    digest: d.digest,
    size: d.size,
    annotations,
    platform,
    artifactType: typeof d.artifactType === 'string' ? d.artifactType : null,
  };
}

/** image-layout.md "Blobs": `blobs/<alg>/<encoded>`. */
export function blobPath(digest: string): string {
  const i = digest.indexOf(':');
  return `blobs/${digest.slice(0, i)}/${digest.slice(i + 1)}`;
}

/** Where a layout keeps what a descriptor names: manifests and indexes, and other blobs. */
export interface LayoutPaths {
  document(digest: string): string;
  blob(digest: string): string;
}

const OCI_PATHS: LayoutPaths = { document: blobPath, blob: blobPath };

/**
 * A document the walk starts from that no descriptor names (skopeo's `dir:` manifest.json): it
 * is read from `path`, and its digest, computed, claims nothing to check.
 */
export interface Unnamed {
  path: string;
}

export function platformLabel(p: Platform | null): string {
  if (!p) return '';
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

export async function loadOciLayout(b: AnalysisBuilder): Promise<void> {
  const files = b.files;
  const layoutFile = files.resolve('oci-layout');
  if ('file' in layoutFile) {
    const layout = await b.readJson(layoutFile.file, 'oci-layout');
    if (layout) b.conformance('layout', 'oci-layout', checkDocument('layout', layout.value), 'oci-layout');
  } else {
    b.problem('invalid-document', 'the OCI layout has no oci-layout file', 'oci-layout', 'warning');
  }
  const indexFile = files.resolve('index.json');
  if (!('file' in indexFile)) return;
  const index = await b.readJson<Record<string, unknown>>(indexFile.file, 'index.json');
  if (!index) return;
  const root: GraphNode = {
    id: 'index.json',
    kind: 'index',
    label: 'index.json',
    blob: null,
    digest: null,
    mediaType: typeof index.value.mediaType === 'string' ? index.value.mediaType : MT.ociIndex,
    size: indexFile.file.size,
    platform: null,
    present: true,
    raw: index.text,
  };
  const manifests = index.value.manifests;
  // An index that lists nothing (Docker 25+ saving by ID) would be a node with no edges.
  if (Array.isArray(manifests) && manifests.length > 0) b.node(root);
  if (!Array.isArray(manifests)) {
    // Docker 25+ writes `"manifests": null` when it saves by image ID rather than by name.
    const nothing = manifests === null || manifests === undefined;
    b.problem(
      'invalid-document',
      nothing ? 'index.json lists no manifests' : 'index.json "manifests" is not an array',
      'index.json',
      nothing ? 'info' : 'error',
    );
    return;
  }
  b.conformance('index', 'index.json', checkDocument('index', index.value), 'index.json');
  const walker = new Walker(b, OCI_PATHS);
  for (const [i, raw] of manifests.entries()) {
    const desc = parseDescriptor(raw, b, `index.json manifests[${i}]`);
    if (desc) await walker.walk(desc, root.id, [], 0);
  }
  // A layout may reach an attestation through a descriptor without its annotations too (another
  // index, a tag of its own), and perhaps first: only the whole walk tells.
  markArtifacts(b, walker.buildkit);
}

/**
 * Manifests known to be artifacts only once the graph is walked (buildkit attestations, a
 * registry's signatures and referrers) stop being images: their nodes get `label`, and their
 * layers, unless an image shares them, are payloads, neither listed nor given a diff_id.
 */
export function markArtifacts(b: AnalysisBuilder, labels: ReadonlyMap<string, string>): void {
  const a = b.analysis;
  if (labels.size === 0) return;
  for (const node of a.nodes) {
    const label = labels.get(node.id);
    if (!label) continue;
    node.kind = 'artifact';
    node.label = label;
  }
  const artifacts = a.images.filter((i) => labels.has(i.id));
  a.images = a.images.filter((i) => !labels.has(i.id));
  for (const img of artifacts)
    for (const l of img.layers) {
      const blob = a.blobs[l.blob];
      if (!blob || a.images.some((i) => i.layers.some((x) => x.blob === l.blob))) continue;
      blob.role = 'blob';
      blob.expectedDiffId = null;
      blob.diffIdCheck = { state: 'unchecked', reason: 'only image layers have a diff_id' };
      a.problems = a.problems.filter((p) => !(p.where === l.blob && p.code === 'unknown-media-type'));
      const node = a.nodes.find((n) => n.id === l.blob);
      if (node) node.label = blob.mediaType || 'blob';
    }
  for (const edge of a.edges)
    if (labels.has(edge.to) && edge.label === 'unknown/unknown') edge.label = labels.get(edge.to) as string;
}

export class Walker {
  private readonly visited = new Set<string>();
  /** Manifests some descriptor marks as buildkit attestations → their label. */
  readonly buildkit = new Map<string, string>();
  constructor(
    private readonly b: AnalysisBuilder,
    private readonly paths: LayoutPaths,
  ) {}

  /** Walk what `desc` names, drawn under `parent` (null: a root of the graph). */
  async walk(
    desc: Desc,
    parent: string | null,
    inheritedRefs: string[],
    depth: number,
    unnamed: Unnamed | null = null,
  ): Promise<void> {
    const b = this.b;
    const own = REF_ANNOTATIONS.map((k) => desc.annotations[k]).filter(
      (v): v is string => typeof v === 'string',
    );
    const refs = own.length > 0 ? own : inheritedRefs;
    // A buildkit attestation is an artifact about another manifest, whatever its media types say.
    const buildkit = buildkitReference(desc.annotations);
    if (buildkit && !isIndexType(desc.mediaType)) this.buildkit.set(desc.digest, buildkit.label);
    const edgeLabel = buildkit?.label ?? (desc.platform ? platformLabel(desc.platform) : (own[0] ?? ''));
    if (depth > 8) {
      b.problem('invalid-document', 'indexes nest more than 8 levels deep', desc.digest);
      return;
    }
    const kind = digestKind(desc.digest);
    const path = unnamed?.path ?? this.paths.document(desc.digest);
    const resolved = b.files.resolve(path);
    const isIndex = isIndexType(desc.mediaType);
    const nodeKind = isIndex
      ? 'index'
      : !buildkit && (isManifestType(desc.mediaType) || desc.mediaType === '')
        ? 'manifest'
        : 'artifact';
    if (!('file' in resolved)) {
      // docker save keeps only the platforms it has; the index still lists the others. A registry
      // says why it could not give one, and has reported it.
      const absence = b.files.absence(path);
      const document = isIndex ? 'index' : 'manifest';
      const absentReason = absence.reported
        ? `its ${document} ${absence.reason}`
        : `its ${document} blob is not in the ${b.files.container}`;
      b.blob({
        key: desc.digest,
        role: isIndex ? 'index' : 'manifest',
        file: null,
        mediaType: desc.mediaType,
        expectedDigest: desc.digest,
        expectedSize: desc.size,
        absentReason,
      });
      b.node({
        id: desc.digest,
        kind: nodeKind,
        label: buildkit?.label ?? (desc.platform ? platformLabel(desc.platform) : nodeKind),
        blob: desc.digest,
        digest: desc.digest,
        mediaType: desc.mediaType,
        size: desc.size,
        platform: desc.platform,
        present: false,
        raw: null,
      });
      if (parent) b.edge(parent, desc.digest, edgeLabel);
      const what = desc.platform ? `platform ${platformLabel(desc.platform)}` : 'this image';
      if (nodeKind === 'manifest') {
        b.image({
          id: desc.digest,
          refs: [...refs],
          manifestDigest: desc.digest,
          manifestBlob: desc.digest,
          configDigest: null,
          configBlob: null,
          platform: desc.platform,
          config: null,
          layers: [],
          present: false,
          absentReason: absence.reported
            ? `The ${b.files.container} lists ${what}, but ${absentReason}.`
            : `The ${b.files.container} lists ${what} but does not include it (${absentReason}).`,
        });
        if (!absence.reported)
          b.problem(
            'absent-image',
            `${desc.platform ? `platform ${platformLabel(desc.platform)}` : 'an image'} is listed but not included in the ${b.files.container}`,
            desc.digest,
            'info',
          );
      } else if (buildkit) {
        // As for a platform docker save left out: the containerd store keeps the attestations
        // of the images it pulled only when asked to.
        b.problem(
          'absent-image',
          `${buildkit.label}${buildkit.subject ? ` of ${buildkit.subject}` : ''} is listed but not included in the ${b.files.container}`,
          desc.digest,
          'info',
        );
      } else if (!absence.reported) {
        b.problem(
          'missing-blob',
          `${nodeKind} ${desc.digest} is referenced but missing from the ${b.files.lacking}`,
          path,
        );
      }
      return;
    }
    const file = resolved.file;
    const doc = await b.readJson<Record<string, unknown>>(file, `${nodeKind} ${shortDigest(desc.digest)}`);
    b.blob({
      key: desc.digest,
      role: isIndex ? 'index' : 'manifest',
      file,
      mediaType: desc.mediaType,
      expectedDigest: unnamed ? null : desc.digest,
      expectedSize: unnamed ? null : desc.size,
    });
    if (doc) b.documents.set(desc.digest, doc.bytes);
    if (kind !== 'sha256') {
      b.problem(
        'unsupported-digest',
        `digest algorithm of ${desc.digest} is not checked (only sha256 is)`,
        desc.digest,
        'warning',
      );
    }
    const value = doc && isObject(doc.value) ? doc.value : null;
    const docType = typeof value?.mediaType === 'string' ? value.mediaType : desc.mediaType;
    const looksIndex = isIndexType(docType) || Array.isArray(value?.manifests);
    const looksManifest =
      !looksIndex && (isManifestType(docType) || (value !== null && 'config' in value && 'layers' in value));
    // An OCI manifest of another config type is an artifact (image-spec manifest.md, "Guidelines for
    // Artifact Usage"); a Docker schema 2 manifest describes an image, whatever type early writers
    // gave its config (skopeo's own fixtures have application/octet-stream).
    const isArtifact =
      looksManifest &&
      (buildkit !== null ||
        (docType !== MT.dockerManifest &&
          value &&
          isObject(value.config) &&
          !isImageConfigType(value.config.mediaType as string)) ||
        typeof value?.artifactType === 'string');
    if (value && !looksIndex && !looksManifest) {
      b.problem(
        'unknown-media-type',
        `descriptor media type "${desc.mediaType}" is neither an index nor a manifest`,
        desc.digest,
        'warning',
      );
    }
    b.node({
      id: desc.digest,
      kind: looksIndex ? 'index' : isArtifact || !looksManifest ? 'artifact' : 'manifest',
      label: buildkit
        ? buildkit.label
        : desc.platform
          ? platformLabel(desc.platform)
          : looksIndex
            ? 'index'
            : isArtifact
              ? artifactLabel(value, desc)
              : 'manifest',
      blob: desc.digest,
      digest: desc.digest,
      mediaType: docType,
      size: desc.size,
      platform: desc.platform,
      present: true,
      raw: doc?.text ?? null,
    });
    if (parent) b.edge(parent, desc.digest, edgeLabel);
    if (!value || this.visited.has(desc.digest)) {
      if (value && looksManifest && !isArtifact) b.image({ ...emptyImage(desc.digest), refs: [...refs] });
      return;
    }
    this.visited.add(desc.digest);
    const document = looksIndex ? 'index' : 'manifest';
    if (looksIndex || looksManifest)
      b.conformance(document, `${document} ${desc.digest}`, checkDocument(document, value), desc.digest);
    if (looksIndex) {
      const children = Array.isArray(value.manifests) ? value.manifests : [];
      for (const [i, raw] of children.entries()) {
        const child = parseDescriptor(raw, b, `${desc.digest} manifests[${i}]`);
        if (child) await this.walk(child, desc.digest, refs, depth + 1);
      }
      return;
    }
    if (looksManifest) await this.manifest(desc, value, refs, !!isArtifact);
  }

  private async manifest(
    desc: Desc,
    m: Record<string, unknown>,
    refs: string[],
    artifact: boolean,
  ): Promise<void> {
    const b = this.b;
    const where = desc.digest;
    const configDesc = parseDescriptor(m.config, b, `${where} config`);
    let config: ImageConfigFile | null = null;
    if (configDesc) {
      const cfgPath = this.paths.blob(configDesc.digest);
      const r = b.files.resolve(cfgPath);
      const file = 'file' in r ? r.file : null;
      const absence = b.files.absence(cfgPath);
      b.blob({
        key: configDesc.digest,
        role: 'config',
        file,
        mediaType: configDesc.mediaType,
        expectedDigest: configDesc.digest,
        expectedSize: configDesc.size,
        absentReason: absence.reason,
      });
      if (!file && !absence.reported)
        b.problem(
          'missing-blob',
          `config ${configDesc.digest} is missing from the ${b.files.lacking}`,
          cfgPath,
        );
      let raw: string | null = null;
      if (file) {
        // Artifact configs may be anything (even empty `{}`); only image configs must parse.
        const doc =
          artifact && configDesc.size > 4096
            ? null
            : await b.readJson<ImageConfigFile>(file, `config ${shortDigest(configDesc.digest)}`);
        if (doc) {
          b.documents.set(configDesc.digest, doc.bytes);
          raw = doc.text;
          if (!artifact && isObject(doc.value)) config = doc.value;
        }
      }
      b.node({
        id: configDesc.digest,
        kind: 'config',
        label: artifact ? configDesc.mediaType || 'config' : 'config',
        blob: configDesc.digest,
        digest: configDesc.digest,
        mediaType: configDesc.mediaType,
        size: configDesc.size,
        platform: null,
        present: file !== null,
        raw,
      });
      b.edge(desc.digest, configDesc.digest, 'config');
    }
    const diffIds = Array.isArray(config?.rootfs?.diff_ids) ? config.rootfs.diff_ids : null;
    const rawLayers = Array.isArray(m.layers) ? m.layers : [];
    if (!Array.isArray(m.layers)) b.problem('invalid-document', 'manifest has no "layers" array', where);
    const layers: LayerRef[] = [];
    for (const [i, raw] of rawLayers.entries()) {
      const ld = parseDescriptor(raw, b, `${where} layers[${i}]`);
      if (!ld) continue;
      const lpath = this.paths.blob(ld.digest);
      const r = b.files.resolve(lpath);
      const file = 'file' in r ? r.file : null;
      const imageLayer = !artifact;
      if (imageLayer && !isLayerType(ld.mediaType) && !isEncryptedLayerType(ld.mediaType)) {
        b.problem(
          'unknown-media-type',
          `${layerName(i)} has media type "${ld.mediaType}", which is not a layer type`,
          ld.digest,
          'warning',
        );
      }
      const diffId = imageLayer && diffIds && typeof diffIds[i] === 'string' ? diffIds[i] : null;
      const nonDistributable = ld.mediaType.includes('nondistributable') || ld.mediaType.includes('foreign');
      const blob = b.blob({
        key: ld.digest,
        role: imageLayer ? 'layer' : 'blob',
        file,
        mediaType: ld.mediaType,
        expectedDigest: ld.digest,
        expectedSize: ld.size,
        expectedDiffId: diffId,
        absentReason: nonDistributable
          ? 'non-distributable layer: registries and archives may omit it'
          : undefined,
      });
      if (imageLayer && isEncryptedLayerType(ld.mediaType)) {
        blob.diffIdCheck = { state: 'unchecked', reason: 'the layer is encrypted' };
      }
      if (!file) {
        b.problem(
          'missing-blob',
          `${layerName(i)} (${ld.digest}) is missing from the ${b.files.lacking}${nonDistributable ? ' (non-distributable)' : ''}`,
          lpath,
          nonDistributable ? 'warning' : 'error',
        );
      }
      b.node({
        id: ld.digest,
        kind: 'layer',
        label: imageLayer ? 'layer' : ld.mediaType,
        blob: ld.digest,
        digest: ld.digest,
        mediaType: ld.mediaType,
        size: ld.size,
        platform: null,
        present: file !== null,
        raw: JSON.stringify(raw),
      });
      b.edge(desc.digest, ld.digest, layerName(i));
      layers.push({ blob: ld.digest, mediaType: ld.mediaType, digest: ld.digest, size: ld.size, diffId });
    }
    if (artifact) return;
    if (config && diffIds && diffIds.length !== layers.length) {
      b.problem(
        'diffid-count',
        `the manifest lists ${counted(layers.length, 'layer')} but the config's rootfs.diff_ids has ${diffIds.length}`,
        configDesc?.digest ?? where,
      );
    }
    b.image({
      id: desc.digest,
      refs: [...refs],
      manifestDigest: desc.digest,
      manifestBlob: desc.digest,
      configDigest: configDesc?.digest ?? null,
      configBlob: configDesc?.digest ?? null,
      platform: desc.platform ?? platformOf(config),
      config,
      layers,
      present: true,
    });
  }
}

function emptyImage(id: string): ImageInfo {
  return {
    id,
    refs: [],
    manifestDigest: id,
    manifestBlob: id,
    configDigest: null,
    configBlob: null,
    platform: null,
    config: null,
    layers: [],
    present: true,
  };
}

function artifactLabel(value: Record<string, unknown> | null, desc: Desc): string {
  const t =
    typeof value?.artifactType === 'string'
      ? value.artifactType
      : isObject(value?.config)
        ? String(value.config.mediaType)
        : '';
  return t || desc.artifactType || 'artifact';
}
