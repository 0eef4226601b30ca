/**
 * Docker Image Manifest Version 2, Schema 1 (distribution's manifest-v2-1.md): no config blob;
 * `fsLayers` (newest first) and a `history` of `v1Compatibility` JSON strings, one per layer,
 * the first holding the image's configuration. Read from registries that still serve it, and
 * from `skopeo copy --format v2s1 … dir:` folders.
 */
import { base64Decode } from '../base64';
import { layerName } from '../model';
import type { ImageConfigFile, LayerRef, Platform } from '../model';
import type { ArchiveFile } from './archive-files';
import type { AnalysisBuilder } from './builder';
import { isObject } from './builder';
import { typedConfig } from './document-schema';
import { MT } from './media-types';
import { platformLabel } from './oci-layout';

/**
 * The bytes a signed schema1 manifest's digest covers (distribution's libtrust JSONSignature
 * payload): the first `formatLength` bytes followed by the decoded `formatTail`.
 */
export function schema1Payload(bytes: Uint8Array, value: Record<string, unknown> | null): Uint8Array | null {
  const sigs = value?.signatures;
  if (!Array.isArray(sigs) || sigs.length === 0) return null;
  const first = sigs[0] as { protected?: unknown };
  if (typeof first.protected !== 'string') return null;
  try {
    const header = JSON.parse(new TextDecoder().decode(base64Decode(first.protected, 'base64url'))) as {
      formatLength?: unknown;
      formatTail?: unknown;
    };
    if (typeof header.formatLength !== 'number' || typeof header.formatTail !== 'string') return null;
    const tail = base64Decode(header.formatTail, 'base64url');
    const out = new Uint8Array(header.formatLength + tail.length);
    out.set(bytes.subarray(0, header.formatLength), 0);
    out.set(tail, header.formatLength);
    return out;
  } catch {
    return null;
  }
}

const parsed = (text: unknown): Record<string, unknown> | null => {
  if (typeof text !== 'string') return null;
  try {
    const v = JSON.parse(text) as unknown;
    return isObject(v) ? v : null;
  } catch {
    return null;
  }
};

/**
 * The image a schema1 manifest (already a node `digest` of the graph) describes: its layers,
 * oldest first and without the empty ones schema1 lists for history entries that made none
 * (`throwaway`), each a blob found by `fileOf` (null: not in the container, a problem), and the
 * configuration and history its `v1Compatibility` entries give.
 */
export function addSchema1Image(
  b: AnalysisBuilder,
  digest: string,
  m: Record<string, unknown>,
  fileOf: (blobSum: string) => { file: ArchiveFile | null; path: string },
): void {
  const a = b.analysis;
  a.problems = a.problems.filter((p) => !(p.where === digest && p.code === 'unknown-media-type'));
  const fsLayers = Array.isArray(m.fsLayers) ? m.fsLayers : [];
  const history = Array.isArray(m.history) ? m.history : [];
  const v1 = history.map((h) => (isObject(h) ? parsed(h.v1Compatibility) : null));
  if (isObject(history[0]) && typeof history[0].v1Compatibility === 'string' && !v1[0])
    b.problem('invalid-json', 'history[0].v1Compatibility is not valid JSON', digest, 'warning');
  const config = v1[0] ?? null;
  const platform: Platform | null =
    typeof m.architecture === 'string'
      ? { os: typeof config?.os === 'string' ? config.os : 'linux', architecture: m.architecture }
      : null;
  const node = a.nodes.find((n) => n.id === digest);
  if (node) {
    node.kind = 'manifest';
    node.label = `manifest (schema1)${node.platform ? ` ${platformLabel(node.platform)}` : ''}`;
  }
  const layers: LayerRef[] = [];
  const seen = new Set<string>();
  for (let i = fsLayers.length - 1; i >= 0; i--) {
    const l = fsLayers[i];
    if (!isObject(l) || typeof l.blobSum !== 'string') continue;
    // schema1 lists a layer per history entry, empty ones included (throwaway).
    if (v1[i]?.throwaway === true || seen.has(l.blobSum)) continue;
    seen.add(l.blobSum);
    const { file, path } = fileOf(l.blobSum);
    const blob = b.blob({
      key: l.blobSum,
      role: 'layer',
      file,
      mediaType: MT.dockerLayerGzip,
      expectedDigest: l.blobSum,
      expectedSize: null,
    });
    // Nothing claims a diff_id (there is no config): it is computed and shown.
    if (file) blob.diffIdCheck = { state: 'pending' };
    else
      b.problem(
        'missing-blob',
        `${layerName(layers.length)} (${l.blobSum}) is missing from the ${b.files.lacking}`,
        path,
      );
    b.node({
      id: l.blobSum,
      kind: 'layer',
      label: 'layer',
      blob: l.blobSum,
      digest: l.blobSum,
      mediaType: MT.dockerLayerGzip,
      size: null,
      platform: null,
      present: file !== null,
      raw: JSON.stringify({ blobSum: l.blobSum, history: history[i] ?? null }, null, 2),
    });
    b.edge(digest, l.blobSum, layerName(layers.length));
    layers.push({
      blob: l.blobSum,
      mediaType: MT.dockerLayerGzip,
      digest: l.blobSum,
      size: null,
      diffId: null,
    });
  }
  const image = a.images.find((i) => i.id === digest);
  const info = {
    id: digest,
    refs: image?.refs ?? [],
    manifestDigest: digest,
    manifestBlob: digest,
    configDigest: null,
    configBlob: null,
    platform,
    // Pieced together from v1Compatibility, whose fields no schema checks: typed, not reported.
    config: config ? typedConfig(schema1Config(config, v1)).config : null,
    layers,
    present: true,
  };
  if (image) Object.assign(image, info);
  else a.images.push(info);
  if (a.blobs[digest]) a.blobs[digest].role = 'manifest';
}

function schema1Config(
  config: Record<string, unknown>,
  v1: (Record<string, unknown> | null)[],
): ImageConfigFile {
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  return {
    created: str(config.created),
    architecture: str(config.architecture),
    os: str(config.os),
    config: isObject(config.config) ? config.config : undefined,
    history: v1
      .map((c) => {
        if (!c) return {};
        const cmd = isObject(c.container_config) ? c.container_config.Cmd : undefined;
        return {
          created: str(c.created),
          created_by: Array.isArray(cmd) ? cmd.join(' ') : undefined,
          author: str(c.author),
          comment: str(c.comment),
          empty_layer: c.throwaway === true,
        };
      })
      .reverse(),
  };
}
