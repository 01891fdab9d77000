/**
 * The operator dashboard (blessed): a live table of every replica (process,
 * role, term, leader, commit/applied index, lag, last contact, digest,
 * health), sparklines of commits/s and elections, the state-machine
 * inspector as a panel, and stop/start/restart of the selected replica when
 * `up` runs the cluster.
 */
import blessed from 'blessed';
import { agreedLeader, lagOf, lastContactOf, sparkline, type DashboardState } from './dashboard-model.ts';
import type { DashboardController, ReplicaAction } from './dashboard-controller.ts';
import { messageOf } from './chat-controller.ts';
import { choose, keyHints, showHelp } from './widgets.ts';
import { InspectorPanel } from '../inspector/terminal-view.ts';
import type { StateGraph } from '../inspector/graph.ts';
import type { InspectorSource } from '../inspector/web.ts';

export const DASHBOARD_HELP = `Dashboard keys

  Up / Down   select a replica
  s           stop the selected replica        (inside quorumchat up)
  t           start it again                   (inside quorumchat up)
  r           restart it                       (inside quorumchat up)
  i           show / hide the state-machine inspector
  F1 or ?     this help                        Ctrl-C  quit

Columns: process state (up only), role, term, the leader it follows, commit
and applied index, lag (entries applied behind the highest commit index),
last contact (ms since the leader heard from it), digest (running SHA-256 of
applied entries: equal digests at equal applied index mean equal state),
health as the replica reports it. Rows turn red when a replica stops answering.
Charts: commits per second and elections (new terms) per poll, newest right.`;

const COLUMNS = ['id', 'process', 'role', 'term', 'leader', 'commit', 'applied', 'lag', 'contact', 'digest', 'health'] as const;
const WIDTHS = [6, 9, 14, 6, 7, 9, 9, 6, 9, 11, 12] as const;

export class DashboardView {
  readonly root: blessed.Widgets.BoxElement;
  private readonly header: blessed.Widgets.BoxElement;
  private readonly table: blessed.Widgets.ListElement;
  private readonly commits: blessed.Widgets.BoxElement;
  private readonly elections: blessed.Widgets.BoxElement;
  private readonly footer: blessed.Widgets.BoxElement;
  private readonly inspector: InspectorPanel | null;
  private active = false;
  private modalOpen = false;
  private notice = '';

  constructor(
    private readonly screen: blessed.Widgets.Screen,
    parent: blessed.Widgets.Node,
    private readonly controller: DashboardController,
    inspector: { graph: StateGraph; source: InspectorSource } | null,
    private readonly onQuit: () => void,
  ) {
    this.root = blessed.box({ parent, top: 0, left: 0, width: '100%', height: '100%', hidden: true });
    this.header = blessed.box({ parent: this.root, top: 0, left: 0, width: '100%', height: 1, tags: true, style: { bg: 'blue', fg: 'white' } });
    this.table = blessed.list({
      parent: this.root,
      top: 1,
      left: 0,
      width: '100%',
      height: 11,
      label: ' replicas ',
      border: { type: 'line' },
      tags: true,
      keys: true,
      mouse: true,
      style: { border: { fg: 'cyan' }, selected: { inverse: true } },
    } as blessed.Widgets.ListOptions<blessed.Widgets.ListElementStyle>);
    this.commits = blessed.box({ parent: this.root, top: 12, left: 0, width: '50%', height: 4, border: { type: 'line' }, tags: true, style: { border: { fg: 'gray' } } });
    this.elections = blessed.box({ parent: this.root, top: 12, left: '50%', width: '50%', height: 4, border: { type: 'line' }, tags: true, style: { border: { fg: 'gray' } } });
    this.inspector = inspector ? new InspectorPanel(screen, this.root, inspector.graph, inspector.source, { top: 16, left: 0, width: '100%', height: '100%-17' }) : null;
    this.footer = blessed.box({ parent: this.root, bottom: 0, left: 0, width: '100%', height: 1, tags: true });
    this.wireKeys();
    controller.subscribe((state) => this.render(state));
    this.render(controller.state);
  }

  setActive(active: boolean): void {
    this.active = active;
    if (active) {
      this.root.show();
      this.table.focus();
    } else {
      this.root.hide();
    }
    this.render(this.controller.state);
  }

  private render(state: DashboardState): void {
    const leader = agreedLeader(state);
    const top = state.lastRound;
    const managed = this.controller.supervisor !== null;
    this.header.setContent(
      ` {bold}quorumchat dashboard{/bold} │ ${leader ? `leader {yellow-fg}${blessed.escape(leader)}{/yellow-fg}` : '{red-fg}no leader{/red-fg}'} · term ${top?.maxTerm ?? '-'} · commit ${top?.maxCommit ?? '-'} │ elections seen ${state.totalElections}${this.notice ? ` │ ${this.notice}` : ''}`,
    );
    const head = `{bold}${COLUMNS.map((c, i) => pad(c, WIDTHS[i] ?? 8)).join('')}{/bold}`;
    const rows = state.replicas.map((r) => {
      const s = r.status;
      const proc = this.controller.processOf(r.id);
      const lag = lagOf(state, r);
      const contact = lastContactOf(state, r.id);
      const cells = [
        r.id,
        proc ? proc.state : managed ? '?' : '-',
        // A replica that stopped answering shows no role: its last answer may say "leader".
        s && r.error === null ? s.role : '-',
        s ? String(s.term) : '-',
        s && r.error === null ? (s.leader ?? '-') : '-',
        s ? String(s.commitIndex) : '-',
        s ? String(s.appliedIndex) : '-',
        lag === null ? '-' : String(lag),
        contact === null ? '-' : `${Math.round(contact)}ms`,
        s ? s.digest.slice(0, 8) + '…' : '-',
        r.error !== null ? 'no answer' : (s?.health ?? 'ok'),
      ].map((c, i) => pad(c, WIDTHS[i] ?? 8));
      const line = blessed.escape(cells.join(''));
      if (r.error !== null) return `{red-fg}${line}{/red-fg}`;
      if (s?.role === 'leader') return `{yellow-fg}${line}{/yellow-fg}`;
      return line;
    });
    const selected = (this.table as unknown as { selected: number }).selected ?? 0;
    this.table.setItems([head, ...rows] as unknown as blessed.Widgets.BlessedElement[]);
    this.table.select(Math.max(1, Math.min(selected, rows.length)));
    const width = Math.max(10, Math.floor(Number(this.screen.width) / 2) - 4);
    const maxRate = Math.max(0, ...state.commitRate);
    const lastRate = state.commitRate.at(-1) ?? 0;
    this.commits.setLabel(` commits/s now ${lastRate.toFixed(0)} · peak ${maxRate.toFixed(0)} `);
    this.commits.setContent(`{green-fg}${sparkline(state.commitRate, width)}{/green-fg}\n{gray-fg}${'─'.repeat(Math.max(0, width - 8))} now{/gray-fg}`);
    this.elections.setLabel(` elections · ${state.totalElections} seen `);
    this.elections.setContent(`{yellow-fg}${sparkline(state.elections, width)}{/yellow-fg}\n{gray-fg}${'─'.repeat(Math.max(0, width - 8))} now{/gray-fg}`);
    this.footer.setContent(
      keyHints([
        ['↑↓', 'select'],
        ['s', managed ? 'stop' : 'stop (up only)'],
        ['t', managed ? 'start' : 'start (up only)'],
        ['r', managed ? 'restart' : 'restart (up only)'],
        ['i', 'inspector'],
        ['F1', 'help'],
        ['^C', 'quit'],
      ]),
    );
    if (this.active) this.screen.render();
  }

  private selectedId(): string | null {
    const index = ((this.table as unknown as { selected: number }).selected ?? 1) - 1;
    return this.controller.state.replicas[index]?.id ?? null;
  }

  private wireKeys(): void {
    const when = (fn: () => void) => () => {
      if (this.active && !this.modalOpen) fn();
    };
    const act = (action: ReplicaAction) => when(() => void this.act(action));
    this.screen.key(['s'], act('stop'));
    this.screen.key(['t'], act('start'));
    this.screen.key(['r'], act('restart'));
    this.screen.key(['i'], when(() => {
      if (!this.inspector) return;
      if (this.inspector.root.hidden) this.inspector.root.show();
      else this.inspector.root.hide();
      this.screen.render();
    }));
    this.screen.key(['f1', '?'], when(() => {
      this.modalOpen = true;
      void showHelp(this.screen, 'help', DASHBOARD_HELP).finally(() => (this.modalOpen = false));
    }));
    this.screen.key(['C-c'], () => {
      if (this.active) this.onQuit();
    });
    this.table.on('select item', () => {
      const selected = (this.table as unknown as { selected: number }).selected;
      if (selected === 0) this.table.select(1);
    });
  }

  private async act(action: ReplicaAction): Promise<void> {
    const id = this.selectedId();
    if (id === null) return;
    if (this.controller.supervisor === null) {
      this.setNotice(`{red-fg}${action} is only available inside quorumchat up (this dashboard only watches){/red-fg}`);
      return;
    }
    this.modalOpen = true;
    const sure = await choose(this.screen, `${action} ${id}`, `${action[0]?.toUpperCase()}${action.slice(1)} replica ${id}?`, [{ key: 'y', label: `yes, ${action}`, value: 'yes' }]).finally(() => (this.modalOpen = false));
    if (sure !== 'yes') return;
    this.setNotice(`${action} ${id}…`);
    try {
      await this.controller.act(action, id);
      this.setNotice(`{green-fg}${action} ${id}: done{/green-fg}`);
    } catch (err) {
      this.setNotice(`{red-fg}${action} ${id}: ${blessed.escape(messageOf(err))}{/red-fg}`);
    }
  }

  private setNotice(text: string): void {
    this.notice = text;
    this.render(this.controller.state);
  }
}

function pad(text: string, width: number): string {
  return text.length >= width ? text.slice(0, width - 1) + ' ' : text + ' '.repeat(width - text.length);
}
