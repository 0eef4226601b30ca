/**
 * Places graph nodes in columns by kind (index → manifest/artifact → config → layer) and
 * computes edge curves. Done in plain TypeScript from fixed node sizes, so the drawing does
 * not depend on measuring the DOM and renders identically on every screen width.
 */
import type { GraphEdge, GraphNode, NodeKind } from '../core/model';

export const NODE_W = 210;
export const NODE_H = 92;
const COL_GAP = 64;
const ROW_GAP = 14;
const PAD = 12;

export interface PlacedNode {
  node: GraphNode;
  x: number;
  y: number;
  column: number;
}

export interface PlacedEdge {
  edge: GraphEdge;
  path: string;
}

export interface GraphLayout {
  nodes: PlacedNode[];
  edges: PlacedEdge[];
  width: number;
  height: number;
  /** Heading per used column, left to right. */
  columns: { x: number; title: string }[];
}

const KIND_RANK: Record<NodeKind, number> = { index: 0, manifest: 1, artifact: 1, config: 2, layer: 3 };
const KIND_TITLE: Record<NodeKind, string> = {
  index: 'Index',
  manifest: 'Manifests',
  artifact: 'Manifests',
  config: 'Configs',
  layer: 'Layers',
};

function append<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export function layoutGraph(nodes: GraphNode[], edges: GraphEdge[]): GraphLayout {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  // Each node's edges out and parents in, once: the walk, the index depths and the placement read them.
  const outgoing = new Map<string, GraphEdge[]>();
  const parents = new Map<string, string[]>();
  for (const e of edges) {
    if (!byId.has(e.from) || !byId.has(e.to)) continue;
    append(outgoing, e.from, e);
    append(parents, e.to, e.from);
  }

  // Nested indexes (docker save 25+: index.json → image index → manifests) get one column per level.
  const indexDepth = new Map<string, number>();
  const depthOf = (id: string, seen: Set<string>): number => {
    const known = indexDepth.get(id);
    if (known !== undefined) return known;
    let depth = 0;
    for (const from of parents.get(id) ?? []) {
      if (seen.has(from) || byId.get(from)?.kind !== 'index') continue;
      depth = Math.max(depth, depthOf(from, new Set([...seen, id])) + 1);
    }
    indexDepth.set(id, depth);
    return depth;
  };
  let indexLevels = 0;
  for (const n of nodes)
    if (n.kind === 'index') indexLevels = Math.max(indexLevels, depthOf(n.id, new Set()) + 1);

  const columnOf = (n: GraphNode): number =>
    n.kind === 'index' ? (indexDepth.get(n.id) ?? 0) : indexLevels + KIND_RANK[n.kind] - 1;

  // Order within a column follows a walk from the roots, so children sit near their parents.
  const order = new Map<string, number>();
  const visit = (id: string) => {
    if (order.has(id)) return;
    order.set(id, order.size);
    for (const e of outgoing.get(id) ?? []) visit(e.to);
  };
  for (const n of nodes) if (!parents.has(n.id)) visit(n.id);
  for (const n of nodes) visit(n.id);

  const columns = new Map<number, GraphNode[]>();
  for (const n of [...nodes].sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0))) {
    const c = columnOf(n);
    append(columns, c, n);
  }
  const used = [...columns.keys()].sort((a, b) => a - b);
  // Top-down: a node sits level with its highest parent, or below the node above it in its
  // column. An image of 30 layers then shows its manifest and config beside its first layer, in
  // the first screen of the graph; centring short columns against the tallest put them half
  // way down a 3,000-pixel column, out of sight.
  const placed: PlacedNode[] = [];
  const pos = new Map<string, PlacedNode>();
  const headings: GraphLayout['columns'] = [];
  let bottom = PAD;
  used.forEach((c, i) => {
    const col = columns.get(c) ?? [];
    const x = PAD + i * (NODE_W + COL_GAP);
    const first = col[0];
    headings.push({
      x,
      title: first ? (first.kind === 'index' && i > 0 ? 'Nested index' : KIND_TITLE[first.kind]) : '',
    });
    let next = PAD;
    for (const node of col) {
      const above = (parents.get(node.id) ?? []).flatMap((id) => {
        const p = pos.get(id);
        return p && p.column < i ? [p.y] : [];
      });
      const y = Math.max(next, above.length > 0 ? Math.min(...above) : PAD);
      const p: PlacedNode = { node, x, y, column: i };
      placed.push(p);
      pos.set(node.id, p);
      next = y + NODE_H + ROW_GAP;
      bottom = Math.max(bottom, y + NODE_H);
    }
  });
  const height = bottom + PAD;

  const placedEdges: PlacedEdge[] = [];
  for (const edge of edges) {
    const a = pos.get(edge.from);
    const b = pos.get(edge.to);
    if (!a || !b) continue;
    let path: string;
    if (b.column === a.column + 1) {
      const x1 = a.x + NODE_W;
      const y1 = a.y + NODE_H / 2;
      const x2 = b.x;
      const y2 = b.y + NODE_H / 2;
      const mx = (x1 + x2) / 2;
      path = `M ${x1} ${y1} C ${mx} ${y1}, ${mx} ${y2}, ${x2} ${y2}`;
    } else if (b.column > a.column) {
      // Edges that skip a column (manifest → layer) turn in the first gap and then run level,
      // so they do not all converge behind the node of the column they cross.
      const x1 = a.x + NODE_W;
      const y1 = a.y + NODE_H / 2;
      const y2 = b.y + NODE_H / 2;
      const gx = x1 + COL_GAP;
      const mx = x1 + COL_GAP / 2;
      path = `M ${x1} ${y1} C ${mx} ${y1}, ${mx} ${y2}, ${gx} ${y2} L ${b.x} ${y2}`;
    } else {
      // Same column (unusual documents): loop out to the right.
      const x = a.x + NODE_W;
      const y1 = a.y + NODE_H / 2;
      const y2 = b.y + NODE_H / 2;
      path = `M ${x} ${y1} C ${x + 40} ${y1}, ${x + 40} ${y2}, ${x} ${y2}`;
    }
    placedEdges.push({ edge, path });
  }

  const width = PAD * 2 + used.length * NODE_W + Math.max(0, used.length - 1) * COL_GAP + 40;
  return { nodes: placed, edges: placedEdges, width, height, columns: headings };
}
