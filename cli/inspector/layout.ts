/**
 * Lays the machine's chart out for the web inspector's SVG. The raft machine
 * has a handful of top-level states, so a ring does: each top-level state is
 * a box on an ellipse (in definition order, starting at the top), its child
 * states listed inside it, and each transition a curve between boxes that
 * bends to the left of its direction, so A→B and B→A never draw on top of
 * each other.
 */
import type { StateGraph } from './graph.ts';

export interface ChartBox {
  readonly id: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  /** Child state paths listed inside the box, indented by depth. */
  readonly children: readonly { readonly id: string; readonly label: string; readonly depth: number }[];
}

export interface ChartEdge {
  readonly source: string;
  readonly target: string;
  /** SVG path data: a quadratic curve from box edge to box edge. */
  readonly path: string;
  readonly labelX: number;
  readonly labelY: number;
  readonly label: string;
}

export interface ChartLayout {
  readonly width: number;
  readonly height: number;
  readonly boxes: readonly ChartBox[];
  readonly edges: readonly ChartEdge[];
}

/** Box geometry in SVG pixels; sized for state names of up to ~16 characters at 14px. */
export const BOX_WIDTH = 150;
export const BOX_HEADER = 34;
export const CHILD_LINE = 18;
/** A line under the state's name for the replicas currently in it. */
export const CHIP_LINE = 18;
/** How far a transition curve bows out of the straight line, px. */
const BEND = 28;
/** Events listed on one edge label before the rest are summarised as "+N". */
const MAX_LABEL_EVENTS = 3;

export function layoutChart(graph: StateGraph, width = 900, height = 560): ChartLayout {
  const tops = graph.nodes.filter((n) => n.depth === 0);
  const cx = width / 2;
  const cy = height / 2;
  const boxes: ChartBox[] = tops.map((top, i) => {
    const children = graph.nodes
      .filter((n) => n.id.startsWith(`${top.id}.`))
      .map((n) => ({ id: n.id, label: n.key, depth: n.depth }));
    const boxHeight = BOX_HEADER + CHIP_LINE + children.length * CHILD_LINE + (children.length > 0 ? 8 : 0);
    const rx = Math.max(0, width / 2 - BOX_WIDTH / 2 - 20);
    const ry = Math.max(0, height / 2 - boxHeight / 2 - 20);
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(1, tops.length);
    const x = tops.length === 1 ? cx : cx + rx * Math.cos(angle);
    const y = tops.length === 1 ? cy : cy + ry * Math.sin(angle);
    return { id: top.id, x: round(x - BOX_WIDTH / 2), y: round(y - boxHeight / 2), width: BOX_WIDTH, height: boxHeight, children };
  });

  const boxOf = new Map(boxes.map((b) => [b.id, b]));
  const topOf = (id: string): string => id.split('.')[0] ?? id;
  const merged = new Map<string, { source: string; target: string; events: string[] }>();
  for (const edge of graph.edges) {
    const source = topOf(edge.source);
    const target = topOf(edge.target);
    if (source === target) continue; // drawn as a child-state change inside the box, not as an arrow
    const key = `${source}\u0000${target}`;
    const entry = merged.get(key) ?? { source, target, events: [] };
    for (const e of edge.events) if (!entry.events.includes(e)) entry.events.push(e);
    merged.set(key, entry);
  }

  const edges: ChartEdge[] = [];
  for (const { source, target, events } of merged.values()) {
    const a = boxOf.get(source);
    const b = boxOf.get(target);
    if (a === undefined || b === undefined) continue;
    const [ax, ay] = centre(a);
    const [bx, by] = centre(b);
    const dx = bx - ax;
    const dy = by - ay;
    const len = Math.hypot(dx, dy) || 1;
    // Left normal of the direction of travel.
    const nx = dy / len;
    const ny = -dx / len;
    const mx = (ax + bx) / 2 + nx * BEND * 2;
    const my = (ay + by) / 2 + ny * BEND * 2;
    const [sx, sy] = clipToBox(a, mx, my);
    const [tx, ty] = clipToBox(b, mx, my);
    const label = events.length > MAX_LABEL_EVENTS ? `${events.slice(0, MAX_LABEL_EVENTS).join(', ')} +${events.length - MAX_LABEL_EVENTS}` : events.join(', ');
    edges.push({
      source,
      target,
      path: `M ${round(sx)} ${round(sy)} Q ${round(mx)} ${round(my)} ${round(tx)} ${round(ty)}`,
      labelX: round(0.25 * sx + 0.5 * mx + 0.25 * tx),
      labelY: round(0.25 * sy + 0.5 * my + 0.25 * ty),
      label,
    });
  }
  return { width, height, boxes, edges };
}

function centre(b: ChartBox): [number, number] {
  return [b.x + b.width / 2, b.y + b.height / 2];
}

/** Where the line from the box's centre towards (px, py) leaves the box. */
function clipToBox(b: ChartBox, px: number, py: number): [number, number] {
  const [cx, cy] = centre(b);
  const dx = px - cx;
  const dy = py - cy;
  if (dx === 0 && dy === 0) return [cx, cy];
  const sx = dx === 0 ? Infinity : b.width / 2 / Math.abs(dx);
  const sy = dy === 0 ? Infinity : b.height / 2 / Math.abs(dy);
  const s = Math.min(sx, sy);
  return [cx + dx * s, cy + dy * s];
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
