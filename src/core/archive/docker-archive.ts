/**
 * `docker save` archives (moby image/spec "Combined Image JSON + Filesystem Changeset
 * Format", and its `manifest.json` added in Docker 1.10):
 *  - `manifest.json`: `[{ Config, RepoTags, Layers, LayerSources? }]`, paths into the tar;
 *  - legacy `<id>/layer.tar` (skopeo and podman write it as a symlink to `<diffid>.tar`),
 *    kaniko/ggcr `sha256:<hex>` configs and `.tar.gz` layers;
 *  - pre-1.10: no `manifest.json`; `repositories` names the top layer id of each tag and
 *    each `<id>/json` names its `parent`, from which the chain is rebuilt.
 * Docker 25+ writes an OCI layout plus `manifest.json`: the OCI walk finds the images and
 * this adapter only adds their RepoTags.
 */
import { layerName } from '../model';
import type { HistoryEntry, ImageConfigFile, ImageInfo, LayerRef } from '../model';
import { sha256OfBytes } from '../digest/sha256';
import type { ArchiveFile } from './archive-files';
import type { AnalysisBuilder } from './builder';
import { isObject, platformOf } from './builder';
import { MT } from './media-types';
import { counted } from '../text';

interface ManifestEntry {
  Config?: unknown;
  RepoTags?: unknown;
  Layers?: unknown;
  LayerSources?: unknown;
}

/** A digest that a file name claims: `blobs/sha256/<hex>`, `<hex>.tar`, `<hex>.json`, `sha256:<hex>`. */
export function claimedDigest(path: string): string | null {
  const m =
    /(?:^|\/)blobs\/sha256\/([a-f0-9]{64})$/.exec(path) ??
    /(?:^|\/)(?:sha256:)?([a-f0-9]{64})(?:\.tar(?:\.gz)?|\.json)?$/.exec(path);
  // `<id>/layer.tar` ids are v1 layer ids, not digests: only the file's own name counts.
  return m ? `sha256:${m[1]}` : null;
}

export async function readDockerManifest(b: AnalysisBuilder): Promise<ManifestEntry[] | null> {
  const r = b.files.resolve('manifest.json');
  if (!('file' in r)) return null;
  const doc = await b.readJson<unknown>(r.file, 'manifest.json');
  if (!doc) return null;
  if (!Array.isArray(doc.value)) {
    b.problem(
      'invalid-document',
      `manifest.json must be a JSON array of images, but it is ${doc.value === null ? 'null' : typeof doc.value}`,
      'manifest.json',
    );
    return null;
  }
  return doc.value.map((e) => (isObject(e) ? (e as ManifestEntry) : {}));
}

function repoTags(entry: ManifestEntry): string[] {
  return Array.isArray(entry.RepoTags)
    ? entry.RepoTags.filter((t): t is string => typeof t === 'string')
    : [];
}

/** Docker 25+: add RepoTags to the images the OCI walk found, by config digest. */
export function mergeRepoTags(b: AnalysisBuilder, entries: ManifestEntry[]): ManifestEntry[] {
  const leftovers: ManifestEntry[] = [];
  for (const entry of entries) {
    const cfg = typeof entry.Config === 'string' ? claimedDigest(entry.Config) : null;
    const image = cfg ? b.analysis.images.find((i) => i.configDigest === cfg) : undefined;
    if (!image) {
      leftovers.push(entry);
      continue;
    }
    for (const t of repoTags(entry)) if (!image.refs.includes(t)) image.refs.push(t);
  }
  return leftovers;
}

export async function loadDockerManifest(
  b: AnalysisBuilder,
  entries: ManifestEntry[],
  offset = 0,
): Promise<void> {
  for (const [n, entry] of entries.entries()) {
    const i = n + offset;
    const where = `manifest.json [${i}]`;
    const nodeId = `manifest.json#${i}`;
    const tags = repoTags(entry);
    b.node({
      id: nodeId,
      kind: 'manifest',
      label: tags[0] ?? `manifest.json [${i}]`,
      blob: null,
      digest: null,
      mediaType: 'docker save manifest.json entry',
      size: null,
      platform: null,
      present: true,
      raw: JSON.stringify(entry),
    });
    if (typeof entry.Config !== 'string') {
      b.problem('invalid-document', 'the entry has no "Config" path', where);
      continue;
    }
    const config = await loadConfig(b, entry.Config, where);
    if (config.key) b.edge(nodeId, config.key, 'config');
    const layerPaths = Array.isArray(entry.Layers) ? entry.Layers : [];
    if (!Array.isArray(entry.Layers)) b.problem('invalid-document', 'the entry has no "Layers" array', where);
    const diffIds = Array.isArray(config.value?.rootfs?.diff_ids) ? config.value.rootfs.diff_ids : null;
    const sources = isObject(entry.LayerSources) ? entry.LayerSources : {};
    const layers = layerPaths.map((p, j) => {
      const diffId = diffIds && typeof diffIds[j] === 'string' ? diffIds[j] : null;
      const source =
        diffId && isObject(sources[diffId]) ? (sources[diffId] as Record<string, unknown>) : null;
      return addLayer(b, typeof p === 'string' ? p : String(p), diffId, nodeId, j, where, source);
    });
    if (config.value && diffIds && diffIds.length !== layers.length) {
      b.problem(
        'diffid-count',
        `manifest.json lists ${counted(layers.length, 'layer')} but the config's rootfs.diff_ids has ${diffIds.length}`,
        entry.Config,
      );
    }
    b.image({
      id: config.key ?? nodeId,
      refs: tags,
      manifestDigest: null,
      manifestBlob: null,
      configDigest: config.digest,
      configBlob: config.key,
      platform: platformOf(config.value),
      config: config.value,
      layers,
      present: true,
    });
  }
}

async function loadConfig(
  b: AnalysisBuilder,
  path: string,
  where: string,
): Promise<{ key: string | null; digest: string | null; value: ImageConfigFile | null }> {
  const r = b.files.resolve(path);
  const claim = claimedDigest(path);
  if (!('file' in r)) {
    b.problem('missing-blob', `config ${r.error}`, where);
    if (claim)
      b.blob({
        key: claim,
        role: 'config',
        file: null,
        mediaType: MT.dockerConfig,
        expectedDigest: claim,
        expectedSize: null,
      });
    return { key: claim, digest: claim, value: null };
  }
  const doc = await b.readJson<ImageConfigFile>(r.file, `config ${path}`);
  // The config's digest is the image ID: computed from the bytes even when the name claims none.
  const digest = doc ? await sha256OfBytes(doc.bytes) : claim;
  const key = claim ?? digest ?? `path:${r.file.path}`;
  b.blob({
    key,
    role: 'config',
    file: r.file,
    mediaType: MT.dockerConfig,
    expectedDigest: claim,
    expectedSize: null,
  });
  if (doc) b.documents.set(key, doc.bytes);
  b.node({
    id: key,
    kind: 'config',
    label: 'config',
    blob: key,
    digest: digest,
    mediaType: MT.dockerConfig,
    size: r.file.size,
    platform: null,
    present: true,
    raw: doc?.text ?? null,
  });
  return { key, digest, value: doc && isObject(doc.value) ? doc.value : null };
}

/**
 * `LayerSources` (Docker 1.10+, keyed by diff_id) holds the layer's distribution
 * descriptor: when its digest is the stored blob's, its size and media type are claims too.
 */
function addLayer(
  b: AnalysisBuilder,
  path: string,
  diffId: string | null,
  parent: string,
  j: number,
  where: string,
  source: Record<string, unknown> | null = null,
): LayerRef {
  const r = b.files.resolve(path);
  const file: ArchiveFile | null = 'file' in r ? r.file : null;
  const claim = claimedDigest(file?.path ?? path);
  const key = claim ?? `path:${file?.path ?? path}`;
  if (!file) b.problem('missing-blob', `${layerName(j)}: ${'error' in r ? r.error : 'missing'}`, where);
  const described = source && source.digest === claim ? source : null;
  const blob = b.blob({
    key,
    role: 'layer',
    file,
    mediaType: typeof described?.mediaType === 'string' ? described.mediaType : MT.dockerLayer,
    expectedDigest: claim,
    expectedSize: typeof described?.size === 'number' ? described.size : null,
    expectedDiffId: diffId,
  });
  b.node({
    id: key,
    kind: 'layer',
    label: 'layer',
    blob: key,
    digest: claim,
    mediaType: blob.mediaType,
    size: file?.size ?? null,
    platform: null,
    present: file !== null,
    raw: null,
  });
  b.edge(parent, key, layerName(j));
  return { blob: key, mediaType: blob.mediaType, digest: claim, size: file?.size ?? null, diffId };
}

interface V1Json {
  id?: unknown;
  parent?: unknown;
  created?: unknown;
  author?: unknown;
  comment?: unknown;
  architecture?: unknown;
  os?: unknown;
  config?: unknown;
  container_config?: { Cmd?: unknown };
}

/** Pre-1.10 `docker save`: rebuild each tagged image's layer chain from `<id>/json` parents. */
export async function loadLegacy(b: AnalysisBuilder): Promise<void> {
  const jsons = new Map<string, { file: ArchiveFile; value: V1Json; text: string }>();
  for (const f of b.files.list()) {
    const m = /^([a-f0-9]{64})\/json$/.exec(f.path);
    if (!m || f.type !== 'file') continue;
    const doc = await b.readJson<V1Json>(f, `${f.path}`);
    if (doc && isObject(doc.value)) jsons.set(m[1] as string, { file: f, value: doc.value, text: doc.text });
  }
  const tags = new Map<string, string[]>();
  const repos = b.files.resolve('repositories');
  if ('file' in repos) {
    const doc = await b.readJson<Record<string, Record<string, string>>>(repos.file, 'repositories');
    if (doc && isObject(doc.value)) {
      for (const [repo, tagMap] of Object.entries(doc.value)) {
        if (!isObject(tagMap)) continue;
        for (const [tag, id] of Object.entries(tagMap)) {
          if (typeof id !== 'string') continue;
          tags.set(id, [...(tags.get(id) ?? []), `${repo}:${tag}`]);
        }
      }
    }
  }
  // Tips: tagged ids, else ids that no other layer names as parent.
  const parents = new Set(
    [...jsons.values()].map((j) => j.value.parent).filter((p): p is string => typeof p === 'string'),
  );
  const tips = tags.size > 0 ? [...tags.keys()] : [...jsons.keys()].filter((id) => !parents.has(id));
  for (const tip of tips) {
    const chain: string[] = [];
    let id: string | undefined = tip;
    while (id && !chain.includes(id)) {
      chain.unshift(id);
      const j = jsons.get(id);
      if (!j) {
        b.problem(
          'missing-blob',
          `layer ${id} is named in the chain but ${id}/json is not in the ${b.files.container}`,
          `${id}/json`,
        );
        break;
      }
      id = typeof j.value.parent === 'string' ? j.value.parent : undefined;
    }
    const top = jsons.get(tip);
    const nodeId = `legacy:${tip}`;
    b.node({
      id: nodeId,
      kind: 'manifest',
      label: tags.get(tip)?.[0] ?? `image ${tip.slice(0, 12)}`,
      blob: null,
      digest: null,
      mediaType: 'docker save (pre-1.10) layer chain',
      size: null,
      platform: null,
      present: true,
      raw: top?.text ?? null,
    });
    const history: HistoryEntry[] = [];
    const layers = chain.map((lid, j) => {
      const v = jsons.get(lid)?.value;
      const cmd = Array.isArray(v?.container_config?.Cmd)
        ? (v.container_config.Cmd as unknown[]).join(' ')
        : undefined;
      history.push({
        created: typeof v?.created === 'string' ? v.created : undefined,
        created_by: cmd,
        author: typeof v?.author === 'string' ? v.author : undefined,
        comment: typeof v?.comment === 'string' ? v.comment : undefined,
      });
      return addLayer(b, `${lid}/layer.tar`, null, nodeId, j, `${lid}/layer.tar`);
    });
    const tv = top?.value;
    const config: ImageConfigFile | null = tv
      ? {
          created: typeof tv.created === 'string' ? tv.created : undefined,
          author: typeof tv.author === 'string' ? tv.author : undefined,
          architecture: typeof tv.architecture === 'string' ? tv.architecture : undefined,
          os: typeof tv.os === 'string' ? tv.os : undefined,
          config: isObject(tv.config) ? (tv.config as ImageConfigFile['config']) : undefined,
          history,
        }
      : null;
    for (const l of layers) {
      const blob = b.analysis.blobs[l.blob];
      if (blob && blob.diffIdCheck.state === 'pending') {
        blob.diffIdCheck = {
          state: 'unchecked',
          reason: 'pre-1.10 archives record no diff_ids to compare against',
        };
      }
    }
    const image: ImageInfo = {
      id: nodeId,
      refs: tags.get(tip) ?? [],
      manifestDigest: null,
      manifestBlob: null,
      configDigest: null,
      configBlob: null,
      platform: platformOf(config),
      config,
      layers,
      present: true,
    };
    b.image(image);
  }
}
