/**
 * The inspector in the terminal (blessed): the machine's top-level states as
 * columns with each replica marked in the one it is in, the role changes seen
 * so far with their latest cause, and a scrolling log of transitions. Used
 * full-screen by `quorumchat inspect` and as a panel of the dashboard.
 */
import blessed from 'blessed';
import type { StateGraph } from './graph.ts';
import { formatStateValue } from './graph.ts';
import { isSilent, type InspectorState } from './model.ts';
import type { InspectorSource } from './web.ts';

/** Redraws are coalesced to at most one per this many ms (snapshots can arrive per heartbeat). */
export const TERMINAL_REDRAW_MS = 100;
/** How often the panel re-checks for replicas that went silent. */
const SILENCE_CHECK_MS = 1_000;

const ROLE_COLOURS: Readonly<Record<string, string>> = {
  leader: 'yellow',
  candidate: 'red',
  'pre-candidate': 'magenta',
  follower: 'green',
  learner: 'cyan',
};

export class InspectorPanel {
  readonly root: blessed.Widgets.BoxElement;
  private readonly chart: blessed.Widgets.BoxElement;
  private readonly log: blessed.Widgets.Log;
  private readonly unsubscribe: () => void;
  private pending: NodeJS.Timeout | null = null;
  private shownLog = 0;

  constructor(
    private readonly screen: blessed.Widgets.Screen,
    parent: blessed.Widgets.Node,
    private readonly graph: StateGraph,
    private readonly source: InspectorSource,
    position: { top: number | string; left: number | string; width: number | string; height: number | string },
  ) {
    this.root = blessed.box({ parent, ...position, label: ` state machines (${graph.machineId}) `, border: { type: 'line' }, tags: true, style: { border: { fg: 'gray' } } });
    this.chart = blessed.box({ parent: this.root, top: 0, left: 0, width: '100%-2', height: '50%', tags: true });
    this.log = blessed.log({
      parent: this.root,
      top: '50%',
      left: 0,
      width: '100%-2',
      // To the inner bottom whatever the panel's height: a percentage rounds, and on an even height the log's border fell on the panel's.
      bottom: 0,
      tags: true,
      label: ' transitions ',
      border: { type: 'line' },
      scrollable: true,
      scrollback: 1000,
      mouse: true,
      keys: true,
      style: { border: { fg: 'gray' } },
    } as blessed.Widgets.LogOptions);
    const unsubscribe = source.subscribe(() => this.schedule());
    // Silence is the absence of records, so redraw on a clock too.
    const ticker = setInterval(() => this.schedule(), SILENCE_CHECK_MS);
    // A redraw clock must never be what keeps a finished `up` running (it did: the panel is not destroyed with the screen).
    ticker.unref();
    this.unsubscribe = () => {
      unsubscribe();
      clearInterval(ticker);
    };
    this.draw(source.state);
  }

  /** The log widget, for focusing (scroll it with the arrow keys or the mouse wheel). */
  get logWidget(): blessed.Widgets.Log {
    return this.log;
  }

  destroy(): void {
    this.unsubscribe();
    if (this.pending) clearTimeout(this.pending);
    this.root.destroy();
  }

  private schedule(): void {
    if (this.pending) return;
    this.pending = setTimeout(() => {
      this.pending = null;
      this.draw(this.source.state);
    }, TERMINAL_REDRAW_MS);
  }

  private draw(state: InspectorState): void {
    this.chart.setContent(chartText(this.graph, state));
    // The log is append-only on screen; when the model trimmed its log, resume from its end.
    if (this.shownLog > state.log.length) this.shownLog = state.log.length;
    for (const e of state.log.slice(this.shownLog)) {
      const time = new Date(e.at).toTimeString().slice(0, 8);
      const colour = ROLE_COLOURS[e.to.split('.')[0] ?? ''] ?? 'white';
      this.log.log(`{gray-fg}${time}{/gray-fg} ${blessed.escape(e.replica)} ${blessed.escape(e.from ?? '·')} → {${colour}-fg}${blessed.escape(e.to)}{/${colour}-fg}  {gray-fg}${blessed.escape(e.event)}{/gray-fg}`);
    }
    this.shownLog = state.log.length;
    if (!this.root.hidden) this.screen.render();
  }
}

/** The chart as text: one column per top-level state, a row per replica, then the role changes seen. */
export function chartText(graph: StateGraph, state: InspectorState, now: number = Date.now()): string {
  const tops = graph.nodes.filter((n) => n.depth === 0).map((n) => n.id);
  const width = Math.max(11, ...tops.map((t) => t.length + 2));
  const header = '         ' + tops.map((t) => `{${ROLE_COLOURS[t] ?? 'white'}-fg}{bold}${pad(t, width)}{/bold}{/${ROLE_COLOURS[t] ?? 'white'}-fg}`).join('');
  const replicas = Object.values(state.replicas).sort((a, b) => a.replica.localeCompare(b.replica, 'en', { numeric: true }));
  const rows = replicas.map((r) => {
    const cells = tops.map((t) => {
      if (r.top !== t) return `{gray-fg}${pad('·', width)}{/gray-fg}`;
      const detail = formatStateValue(r.value).slice(t.length + 1);
      const mark = detail ? `● ${detail}` : '●';
      return `{${ROLE_COLOURS[t] ?? 'white'}-fg}{bold}${pad(mark, width)}{/bold}{/${ROLE_COLOURS[t] ?? 'white'}-fg}`;
    });
    const row = `${pad(r.replica, 6)}t${pad(String(r.term ?? '-'), 3)}${cells.join('')}`;
    return isSilent(r, now) ? `{gray-fg}${row.replace(/\{[^}]*\}/g, '')} (silent ${Math.round((now - r.heardAt) / 1000)}s){/gray-fg}` : row;
  });
  if (rows.length === 0) rows.push('{gray-fg}  waiting for inspection records on <prefix>.inspect.* …{/gray-fg}');
  const seen = Object.entries(state.observed).map(([k, v]) => `${k.replace('>', ' → ')} ×${v.count} (${v.lastEvent})`);
  const allowed = `the definition allows ${graph.edges.length} role changes between ${tops.length} states`;
  return [header, ...rows, '', `{gray-fg}${blessed.escape(allowed)}; seen:{/gray-fg} ${blessed.escape(seen.join(' · ') || 'none yet')}`, state.rejected > 0 ? `{red-fg}${state.rejected} unreadable records{/red-fg}` : ''].join('\n');
}

function pad(text: string, width: number): string {
  return text.length >= width ? text.slice(0, width - 1) + ' ' : text + ' '.repeat(width - text.length);
}
