/**
 * The checks and figures shared by every source of blobs (archives, registries): compare
 * computed digests with claimed ones (OCI image-spec descriptor.md "Digests"), diff_ids
 * with the config's rootfs.diff_ids (config.md), and merge layer listings per image.
 */
import type { BlobInfo, Check, ImageFilesystemSummary } from '../model';
import type { DigestResult } from '../digest/blob-digester';
import { digestKind } from '../digest/sha256';
import { ImageFilesystem } from '../layers/filesystem';
import type { LayerListing } from '../layers/layer-listing';
import type { AnalysisBuilder } from './builder';
import { MT } from './media-types';

export function sizeCheck(expected: number, actual: number): Check {
  return expected === actual
    ? { state: 'verified' }
    : { state: 'mismatch', expected: String(expected), actual: String(actual) };
}

/**
 * Compare a blob's stored size with its descriptor's (OCI image-spec descriptor.md "size": it
 * must be checked before the content is trusted); a mismatch is also a problem at `where`.
 */
export function checkSize(b: AnalysisBuilder, blob: BlobInfo, actual: number, where: string): void {
  blob.sizeCheck =
    blob.expectedSize === null
      ? { state: 'unchecked', reason: 'no descriptor states this blob’s size; its digest covers the content' }
      : sizeCheck(blob.expectedSize, actual);
  if (blob.sizeCheck.state === 'mismatch')
    b.problem(
      'size-mismatch',
      `${blob.role} is ${actual} bytes but its descriptor says ${blob.expectedSize}`,
      where,
    );
}

/** Record a blob's computed digest and compare it with the claimed one; `where` locates it in problems. */
export function finishDigest(b: AnalysisBuilder, blob: BlobInfo, actual: string, where: string): void {
  blob.actualDigest = actual;
  const expected = blob.expectedDigest;
  if (!expected) {
    blob.digestCheck = {
      state: 'unchecked',
      reason:
        blob.role === 'layer'
          ? 'nothing claims a digest for this layer; its diff_id check covers the content'
          : 'nothing claims a digest for this blob',
    };
  } else if (digestKind(expected) !== 'sha256') {
    blob.digestCheck = {
      state: 'unchecked',
      reason: `only sha256 digests are checked, not ${expected.split(':')[0]}`,
    };
  } else if (expected === actual) {
    blob.digestCheck = { state: 'verified' };
  } else {
    blob.digestCheck = { state: 'mismatch', expected, actual };
    b.problem(
      'digest-mismatch',
      `${blob.role} content hashes to ${actual} but it is named ${expected}`,
      where,
    );
  }
}

/** Apply one streamed pass's result: digest, compression, diff_id and their problems. */
export function applyResult(b: AnalysisBuilder, blob: BlobInfo, r: DigestResult, where: string): void {
  finishDigest(b, blob, r.digest, where);
  blob.compression = r.compression;
  blob.uncompressedSize = r.uncompressedSize;
  blob.actualDiffId = r.diffId;
  if (blob.role === 'layer' && blob.mediaType === MT.dockerLayer && r.compression === 'gzip') {
    // docker-archive manifests claim no media type; say what the bytes are.
    blob.mediaType = MT.dockerLayerGzip;
  }
  // A listing that stopped at the uncompressed-bytes limit reports it itself (recordListing).
  if (blob.role === 'layer' && r.error && !(r.error.code === 'limit' && r.listing)) {
    b.problem(r.error.code, r.error.message, where);
  }
  const state = blob.diffIdCheck.state;
  if (blob.role !== 'layer' || (state !== 'running' && state !== 'pending')) return;
  if (!r.diffId) {
    blob.diffIdCheck = {
      state: 'unchecked',
      reason: r.error?.message ?? 'the layer could not be decompressed',
    };
  } else if (!blob.expectedDiffId) {
    blob.diffIdCheck = {
      state: 'unchecked',
      reason: 'the config lists no diff_id for this layer (schema1 manifests have none)',
    };
  } else if (blob.expectedDiffId === r.diffId) {
    blob.diffIdCheck = { state: 'verified' };
  } else {
    blob.diffIdCheck = { state: 'mismatch', expected: blob.expectedDiffId, actual: r.diffId };
    b.problem(
      'diffid-mismatch',
      `uncompressed layer hashes to ${r.diffId} but the config's rootfs.diff_ids says ${blob.expectedDiffId}`,
      where,
    );
  }
}

/** Keep a layer's listing and put its figures and problems into the analysis. */
export function recordListing(
  b: AnalysisBuilder,
  blob: BlobInfo,
  listing: LayerListing,
  listings: Map<string, LayerListing>,
): void {
  listings.set(blob.key, listing);
  let whiteouts = 0;
  let bytes = 0;
  for (const e of listing.entries) {
    if (e.whiteout) whiteouts++;
    else if (e.type === 'file') bytes += e.size;
  }
  (b.analysis.layers ??= {})[blob.key] = {
    entries: listing.tarEntries,
    whiteouts,
    bytes,
    stopped: listing.stopped,
    problems: listing.problems.length,
  };
  // Listings made where the layer was not known (a digest worker that was not told, a
  // streamed archive) name only the entry: add the layer.
  const label = blob.expectedDigest ?? blob.key;
  for (const p of listing.problems) {
    b.analysis.problems.push(listing.layer ? { ...p } : { ...p, where: `${p.where} (layer ${label})` });
  }
}

/**
 * Merge each image's layers in order. Per-layer changes need every layer up to that one;
 * the whole-image figures need them all, each listed completely. `onFilesystem` receives each
 * image whose layers were all listed completely, merged: the Files tab's first view of it, which
 * need not be merged again (200,000 entries take ~0.2 s).
 */
export function mergeImages(
  b: AnalysisBuilder,
  listings: Map<string, LayerListing>,
  onFilesystem?: (imageId: string, fs: ImageFilesystem) => void,
): void {
  // A layer shared by several images (multi-image archives, platforms of an index) gives
  // the same merge problem in each: it is reported once.
  const reported = new Set<string>();
  for (const image of b.analysis.images) {
    if (!image.present || image.layers.length === 0) continue;
    const complete: LayerListing[] = [];
    for (const l of image.layers) {
      const listing = listings.get(l.blob);
      if (!listing || listing.stopped) break;
      complete.push(listing);
    }
    if (complete.length === 0) continue;
    const fs = ImageFilesystem.build(complete);
    for (const { layer, problem } of fs.problems) {
      // As recordListing does: a listing made without its layer's label names only the entry.
      const blob = b.analysis.blobs[image.layers[layer]?.blob ?? ''];
      const p =
        (complete[layer] as LayerListing).layer || !blob
          ? problem
          : { ...problem, where: `${problem.where} (layer ${blob.expectedDigest ?? blob.key})` };
      const key = `${p.code}\n${p.where}\n${p.message}`;
      if (reported.has(key)) continue;
      reported.add(key);
      b.analysis.problems.push(p);
    }
    const all = complete.length === image.layers.length;
    if (all) onFilesystem?.(image.id, fs);
    const summary: ImageFilesystemSummary = {
      layers: image.layers.map((_, i) => fs.layers[i]?.changes ?? null),
      figures: all ? fs.figures : null,
      wasted: all ? fs.wasted.slice(0, 100) : [],
      wastedPaths: all ? fs.wasted.length : 0,
    };
    (b.analysis.filesystems ??= {})[image.id] = summary;
  }
}
