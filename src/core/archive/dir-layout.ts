/**
 * The `dir:` transport of containers/image (`skopeo copy … dir:<path>`), a folder or a tar of one:
 *  - `version`: "Directory Transport Version: 1.1";
 *  - `manifest.json`: the image's manifest, or its index (`--multi-arch all|index-only`), its
 *    bytes as the source served them, so its digest is the manifest digest;
 *  - the manifests an index lists: `<encoded>.manifest.json`;
 *  - every other blob (configs, layers): `<encoded>`, with no extension (version 1.1; before it,
 *    `<encoded>.tar`);
 *  - signatures: `signature-<n>`, `<encoded>.signature-<n>` (shown, not verified).
 * The documents are those of the OCI image layout walk (image-spec manifest.md, image-index.md);
 * only where they are stored differs.
 */
import { sha256OfBytes } from '../digest/sha256';
import { placeOf } from './archive-files';
import type { ArchiveFile } from './archive-files';
import type { AnalysisBuilder } from './builder';
import { isObject } from './builder';
import { MT } from './media-types';
import type { LayoutPaths } from './oci-layout';
import { Walker, markArtifacts } from './oci-layout';
import { addSchema1Image, schema1Payload } from './schema1';

const VERSION = /^Directory Transport Version: ([^\s]+)\s*$/;

/**
 * The version a `dir:` folder's `version` file states, or null when it is not one; 'missing'
 * when a manifest.json that is a manifest object, not docker save's array, has no `version`
 * beside it (layouts written before containers/image wrote one, as skopeo's own test fixtures).
 * A `version` file beside a docker save's manifest.json does not make it a `dir:` folder.
 */
export async function dirTransportVersion(b: AnalysisBuilder): Promise<string | null> {
  const files = b.files;
  let version: string | null = null;
  const versionFile = files.resolve('version');
  if ('file' in versionFile && versionFile.file.size <= 256) {
    const bytes = await files.read(versionFile.file);
    version = (bytes && VERSION.exec(new TextDecoder().decode(bytes))?.[1]) ?? null;
  }
  const manifest = files.resolve('manifest.json');
  if (!('file' in manifest)) return version;
  // The adapter chosen gets the same document from the builder: it is read and parsed once.
  const value = (await b.readJson(manifest.file, 'manifest.json'))?.value;
  if (Array.isArray(value)) return null;
  return isObject(value) && typeof value.schemaVersion === 'number' ? (version ?? 'missing') : version;
}

export async function loadDirLayout(b: AnalysisBuilder, version: string): Promise<void> {
  const files = b.files;
  const src = b.analysis.source;
  src.kind = 'dir';
  src.layout =
    version === 'missing'
      ? 'containers/image dir: layout (skopeo, podman docker-dir), without its version file'
      : `containers/image dir: layout (skopeo, podman docker-dir), version ${version}`;
  if (version === 'missing')
    b.problem(
      'invalid-document',
      `the ${files.container} has no version file beside its manifest.json: a dir: layout written before containers/image added one, or by hand; its files are read as dir: names them`,
      'version',
      'info',
    );
  const top = files.resolve('manifest.json');
  if (!('file' in top)) {
    b.problem('missing-blob', `manifest.json is not in the ${files.container}`, 'manifest.json');
    return;
  }
  const doc = await b.readJson<unknown>(top.file, 'manifest.json');
  if (!doc) return;
  if (!isObject(doc.value)) {
    b.problem(
      'invalid-document',
      `manifest.json must be a manifest or an index, a JSON object, but it is ${Array.isArray(doc.value) ? 'an array' : doc.value === null ? 'null' : typeof doc.value}`,
      'manifest.json',
    );
    return;
  }
  const value = doc.value;
  const paths = dirPaths(files);
  if (value.schemaVersion === 1) {
    // Its digest covers the manifest without its signatures (manifest-v2-1.md "Signed Manifests").
    const payload = schema1Payload(doc.bytes, value) ?? doc.bytes;
    const digest = await sha256OfBytes(payload);
    const mediaType = value.signatures ? MT.dockerSchema1Signed : MT.dockerSchema1;
    b.blob({
      key: digest,
      role: 'manifest',
      file: top.file,
      mediaType,
      expectedDigest: null,
      expectedSize: null,
    });
    // Verified as what its digest covers, so its computed digest is the one it is named by.
    b.documents.set(digest, payload);
    b.node({
      id: digest,
      kind: 'manifest',
      label: 'manifest (schema1)',
      blob: digest,
      digest,
      mediaType,
      size: doc.bytes.length,
      platform: null,
      present: true,
      raw: doc.text,
    });
    addSchema1Image(b, digest, value, (blobSum) => {
      const path = paths.blob(blobSum);
      const r = files.resolve(path);
      return { file: 'file' in r ? r.file : null, path };
    });
    await addSignatures(b, digest);
    return;
  }
  const mediaType =
    typeof value.mediaType === 'string'
      ? value.mediaType
      : Array.isArray(value.manifests)
        ? MT.ociIndex
        : MT.ociManifest;
  const walker = new Walker(b, paths);
  const topDigest = await sha256OfBytes(doc.bytes);
  await walker.walk(
    {
      mediaType,
      digest: topDigest,
      size: doc.bytes.length,
      annotations: {},
      platform: null,
      artifactType: null,
    },
    null,
    [],
    0,
    { path: 'manifest.json' },
  );
  markArtifacts(b, walker.buildkit);
  await addSignatures(b, topDigest);
}

/** The longest signature read to show; real ones are a few KB. */
const MAX_SIGNATURE_BYTES = 1 << 20;

/**
 * containers/image's signatures of a `dir:` image (signature.Blob): `signature-<n>` of the
 * manifest in manifest.json, `<encoded>.signature-<n>` of an index's instance, each a node under
 * the manifest it signs. A simple-signing signature is OpenPGP data as it is; other formats are
 * a NUL, the format's name and a newline, then its payload (`sigstore-json`: a JSON document).
 * They are shown, not verified: that needs the signer's keys.
 */
async function addSignatures(b: AnalysisBuilder, topDigest: string): Promise<void> {
  const found = b.files
    .list()
    .map((f) => ({ f, m: /^(?:([a-f0-9]{64})\.)?signature-([1-9][0-9]*)$/.exec(f.path) }))
    .filter((x): x is { f: ArchiveFile; m: RegExpExecArray } => x.m !== null && x.f.type === 'file')
    // In their order, whatever order the folder or archive lists them in.
    .sort((x, y) => (x.m[1] ?? '').localeCompare(y.m[1] ?? '') || Number(x.m[2]) - Number(y.m[2]));
  for (const { f, m } of found) {
    const subject = m[1] ? `sha256:${m[1]}` : topDigest;
    const bytes = f.size <= MAX_SIGNATURE_BYTES ? await b.files.read(f) : null;
    let format = 'simple signing, OpenPGP';
    let mediaType = 'application/pgp-signature';
    let raw: string | null = null;
    if (bytes && bytes[0] === 0) {
      const end = bytes.indexOf(10);
      format = new TextDecoder().decode(bytes.subarray(1, end < 0 ? Math.min(bytes.length, 64) : end));
      mediaType = '';
      if (end > 0 && format === 'sigstore-json') {
        raw = new TextDecoder().decode(bytes.subarray(end + 1));
        try {
          const doc = JSON.parse(raw) as unknown;
          if (isObject(doc) && typeof doc.mimeType === 'string') mediaType = doc.mimeType;
        } catch {
          b.problem(
            'invalid-json',
            `signature ${f.path} is sigstore-json but not valid JSON`,
            placeOf(f),
            'warning',
          );
        }
      }
    }
    const id = `signature:${f.path}`;
    b.node({
      id,
      kind: 'artifact',
      label: `signature (${format})`,
      blob: null,
      digest: null,
      mediaType,
      size: f.size,
      platform: null,
      present: true,
      raw,
    });
    b.edge(subject, id, `signature ${m[2]}`);
  }
}

/** containers/image `dirReference.manifestPath` and `layerPath`. */
function dirPaths(files: AnalysisBuilder['files']): LayoutPaths {
  const encoded = (digest: string) => digest.slice(digest.indexOf(':') + 1);
  const first = (...candidates: string[]) => candidates.find((p) => files.has(p)) ?? candidates[0]!;
  return {
    document: (digest) => first(`${encoded(digest)}.manifest.json`, encoded(digest)),
    blob: (digest) => first(encoded(digest), `${encoded(digest)}.tar`),
  };
}
