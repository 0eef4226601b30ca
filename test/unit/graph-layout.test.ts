/**
 * The image graph's layout, on graphs of real archives: a many-layer image made with umoci and
 * skopeo at test time, and the committed multi-image fixtures.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { layoutGraph, NODE_H } from '../../src/app/graph-layout';
import type { GraphLayout } from '../../src/app/graph-layout';
import { analyzeArchive } from '../../src/core/archive/analyze';
import type { Analysis } from '../../src/core/model';
import { makeManyLayerArchive } from '../many-layers';
import { DATA, blobOf, tempDir } from './helpers/tools';

const dir = tempDir('layerlens-graph-');

async function analyze(path: string): Promise<Analysis> {
  return analyzeArchive(await blobOf(path), { name: path });
}

/** Properties every layout keeps: columns never overlap, a child is never above its parents. */
function checkLayout(analysis: Analysis, layout: GraphLayout): void {
  expect(layout.nodes).toHaveLength(analysis.nodes.length);
  const byId = new Map(layout.nodes.map((p) => [p.node.id, p]));
  const columns = new Map<number, number[]>();
  for (const p of layout.nodes) columns.set(p.column, [...(columns.get(p.column) ?? []), p.y]);
  for (const ys of columns.values()) {
    const sorted = [...ys].sort((a, b) => a - b);
    for (let k = 1; k < sorted.length; k++)
      expect(sorted[k]! - sorted[k - 1]!).toBeGreaterThanOrEqual(NODE_H);
  }
  for (const p of layout.nodes) expect(p.y + NODE_H).toBeLessThanOrEqual(layout.height);
  for (const p of layout.nodes) {
    const parents = analysis.edges
      .filter((e) => e.to === p.node.id)
      .map((e) => byId.get(e.from)!)
      .filter((q) => q.column < p.column);
    if (parents.length > 0) expect(p.y).toBeGreaterThanOrEqual(Math.min(...parents.map((q) => q.y)));
  }
}

describe('image graph layout', () => {
  it('an image of 24 layers shows its manifest and config level with its first layer, at the top', async () => {
    const archive = makeManyLayerArchive(dir, 24);
    const analysis = await analyze(archive);
    expect(analysis.nodes.filter((n) => n.kind === 'layer')).toHaveLength(24);
    const placed = layoutGraph(analysis.nodes, analysis.edges);
    checkLayout(analysis, placed);
    const of = (kind: string) => placed.nodes.filter((p) => p.node.kind === kind);
    const layers = of('layer').sort((a, b) => a.y - b.y);
    const top = layers[0]!.y;
    expect(of('manifest').map((p) => p.y)).toEqual([top]);
    expect(of('config').map((p) => p.y)).toEqual([top]);
    // The layers follow each other down their column in the manifest's order.
    const order = analysis.images[0]!.layers.map((l) => analysis.blobs[l.blob]!.expectedDigest);
    expect(layers.map((p) => p.node.digest)).toEqual(order);
  });

  it.each(['oci-layout-multi.tar', 'docker-archive-multi.tar', 'podman-oci-archive.tar', 'oci-archive.tar'])(
    '%s: each manifest is level with its config, and roots start at the top',
    async (name) => {
      const analysis = await analyze(join(DATA, name));
      const placed = layoutGraph(analysis.nodes, analysis.edges);
      checkLayout(analysis, placed);
      const byId = new Map(placed.nodes.map((p) => [p.node.id, p]));
      const manifests = placed.nodes.filter((p) => p.node.kind === 'manifest');
      expect(manifests.length).toBeGreaterThan(0);
      for (const m of manifests) {
        const config = analysis.edges
          .filter((e) => e.from === m.node.id)
          .map((e) => byId.get(e.to)!)
          .find((p) => p.node.kind === 'config');
        expect(config?.y).toBe(m.y);
      }
      const roots = placed.nodes.filter((p) => !analysis.edges.some((e) => e.to === p.node.id));
      expect(Math.min(...roots.map((p) => p.y))).toBe(Math.min(...placed.nodes.map((p) => p.y)));
    },
  );
});
