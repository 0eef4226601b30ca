/** A layer's files as the Files tab reads them: an archive analysed, and the store over it. */
import { join } from 'node:path';
import { analyzeArchive } from '../../../src/core/archive/analyze';
import type { LayerListing } from '../../../src/core/layers/layer-listing';
import type { Analysis } from '../../../src/core/model';
import { LayerStore } from '../../../src/worker/layer-store';
import { blobOf, sh } from './tools';

/**
 * An archive analysed with its layers listed, and the Files tab's store over it, holding each
 * layer's blob as the worker keeps it to read single files again.
 */
export async function opened(archive: string): Promise<{
  analysis: Analysis;
  listings: Map<string, LayerListing>;
  store: LayerStore;
}> {
  const listings = new Map<string, LayerListing>();
  const store = new LayerStore();
  const analysis = await analyzeArchive(await blobOf(archive), {
    name: archive.slice(archive.lastIndexOf('/') + 1),
    listings: true,
    onListing: (key, listing) => listings.set(key, listing),
    // As the worker keeps them (analysis-worker.ts): every blob by its key.
    onBlob: (key, blob) => store.slices.set(key, blob),
  });
  store.analysis = analysis;
  for (const [key, listing] of listings) store.listings.set(key, listing);
  return { analysis, listings, store };
}
/** An OCI archive of one image whose layers are these tars, in order, added by umoci. */
export function archiveOf(work: string, tars: string[]): string {
  const layout = join(work, 'layout');
  sh('umoci', ['init', '--layout', layout]);
  sh('umoci', ['new', '--image', `${layout}:x`]);
  for (const t of tars) sh('umoci', ['raw', 'add-layer', '--image', `${layout}:x`, t]);
  const archive = join(work, 'image.tar');
  sh('tar', ['-C', layout, '-cf', archive, '.']);
  return archive;
}

/** A whole file as the viewer's Download gets it (`maxBytes` -1: a Blob), with its bytes. */
export async function wholeFile(
  store: LayerStore,
  imageId: string,
  layer: number,
  path: string,
  within = layer,
): Promise<Awaited<ReturnType<LayerStore['readFile']>> & { bytes: Uint8Array }> {
  const r = await store.readFile(imageId, layer, path, -1, within);
  if (!r.blob || r.bytes) throw new Error('a whole file comes as a Blob only');
  return { ...r, bytes: new Uint8Array(await r.blob.arrayBuffer()) };
}
