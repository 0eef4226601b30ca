/**
 * Media types of the OCI image-spec (media-types.md) and their Docker equivalents
 * (Docker Image Manifest V2 Schema 2), grouped by the role a document plays.
 */
export const MT = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

export function isIndexType(mt: string | undefined): boolean {
  return mt === MT.ociIndex || mt === MT.dockerList;
}

export function isManifestType(mt: string | undefined): boolean {
  return mt === MT.ociManifest || mt === MT.dockerManifest;
}

export function isImageConfigType(mt: string | undefined): boolean {
  return mt === MT.ociConfig || mt === MT.dockerConfig;
}

const LAYER_TYPES = new Set<string>([
  MT.ociLayer,
  MT.ociLayerGzip,
  MT.ociLayerZstd,
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  MT.dockerLayer,
  MT.dockerLayerGzip,
  MT.dockerForeignLayer,
]);

export function isLayerType(mt: string | undefined): boolean {
  return mt !== undefined && LAYER_TYPES.has(mt);
}

/** Encrypted layers (ocicrypt) cannot be decompressed, so their diff_id is not checkable. */
export function isEncryptedLayerType(mt: string | undefined): boolean {
  return mt !== undefined && mt.endsWith('+encrypted');
}

/**
 * BuildKit stores attestations (and, in older versions, "builder" provenance) as image
 * manifests in the image's index, with platform `unknown/unknown` and two annotations on their
 * descriptor (buildkit docs/attestations/attestation-storage.md): `vnd.docker.reference.type`
 * (`attestation-manifest`) and `vnd.docker.reference.digest`, the manifest they are about. Their
 * config is an image config type and their layers are in-toto statements, so only the
 * descriptor tells that they are not images. `docker save` from the containerd image store
 * lists them in its index.json, usually without their blobs.
 */
export function buildkitReference(
  annotations: Record<string, unknown>,
): { label: string; subject: string | null } | null {
  const type = annotations['vnd.docker.reference.type'];
  if (typeof type !== 'string') return null;
  const subject = annotations['vnd.docker.reference.digest'];
  return {
    label: `${type === 'attestation-manifest' ? 'attestation' : type} (buildkit)`,
    subject: typeof subject === 'string' ? subject : null,
  };
}
