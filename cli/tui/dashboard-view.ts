/**
 * The operator dashboard (blessed): a live table of every replica (what it
 * says of itself; the leader's view of it as a member; the monitor policy's
 * judgement), sparklines of commits/s and elections, the leader's monitor's
 * decisions (newest first), the state-machine inspector as a panel; stop/start/restart of
 * the selected replica when `up` runs the cluster, and membership changes
 * (add, promote, remove, transfer leadership) in both.
 */
import blessed from 'blessed';
import { agreedLeader, sparkline, type DashboardState } from './dashboard-model.ts';
import type { DashboardController, ReplicaAction } from './dashboard-controller.ts';
import { headerLine, rowCells, rowLine } from './dashboard-columns.ts';
import { DecisionsPanel } from './decisions-panel.ts';
import { decisionsSource } from './dashboard-membership.ts';
import { runMemberAction, type MemberAction, type Outcome } from './member-actions.ts';
import { messageOf } from './chat-controller.ts';
import { choose, keyHints, ModalGuard, prompt, showHelp } from './widgets.ts';
import { InspectorPanel } from '../inspector/terminal-view.ts';
import type { StateGraph } from '../inspector/graph.ts';
import type { InspectorSource } from '../inspector/web.ts';

export const DASHBOARD_HELP = `Dashboard keys

  Up / Down   select a replica
  s           stop the selected replica        (inside quorumchat up)
  t           start it again                   (inside quorumchat up)
  r           restart it                       (inside quorumchat up)
  a           add a replica: asks for its id, adds it as a learner
              (the admin request only: start its process yourself with
              quorumchat replica --id ID --peers ...; up cannot start it)
  p           promote the selected learner to voter
  x           remove the selected replica from the replica set
  l           transfer leadership to the selected voter
  PgUp/PgDn   scroll the monitor's decisions (newest first)
  i           show / hide the state-machine inspector
  F1 or ?     this help                        Ctrl-C  quit

a, p, x and l ask to confirm (y / n) and are refused, with the same checks
and messages, exactly when quorumchat members would refuse them (promote
--force is only in quorumchat members). The outcome shows on the status line.

Columns, the replica's own: process state (up only; external: not run by
up), role, term, the leader it follows, commit and applied index, digest
(running SHA-256 of applied entries: equal digests at equal applied index
mean equal state), health as the replica reports it. The leader's view:
kind (voter / learner), match index, lag (entries behind the leader's
commit), reach (heard within an election timeout), contact (ms since last
heard), and the monitor policy's verdict (→ what it would do now).
Rows turn red when a replica stops answering.
Monitor panel: each change in what the policy decides for this view, with
its reason. Advisory: the monitor does not run inside replicas yet.
Charts: commits per second and elections (new terms) per poll, newest right.`;

/** Rows of the replica table: a header and eight replicas (five voters and room for learners). */
const TABLE_HEIGHT = 11;
/** Each sparkline box: two lines of chart inside the border. */
const CHART_HEIGHT = 4;
/** Where the charts and the decisions panel start: below the header, the status line and the table. */
const CHARTS_TOP = 2 + TABLE_HEIGHT;
/** The inspector panel starts below the two stacked charts (as tall as the decisions panel beside them). */
const INSPECTOR_TOP = CHARTS_TOP + 2 * CHART_HEIGHT;

export class DashboardView {
  readonly root: blessed.Widgets.BoxElement;
  private readonly header: blessed.Widgets.BoxElement;
  private readonly statusLine: blessed.Widgets.BoxElement;
  private readonly table: blessed.Widgets.ListElement;
  private readonly commits: blessed.Widgets.BoxElement;
  private readonly elections: blessed.Widgets.BoxElement;
  private readonly decisions: DecisionsPanel;
  private readonly footer: blessed.Widgets.BoxElement;
  private readonly inspector: InspectorPanel | null;
  private active = false;
  private readonly modals = new ModalGuard();
  /** A membership change is being asked for or made. */
  private changing = false;
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
    this.statusLine = blessed.box({ parent: this.root, top: 1, left: 0, width: '100%', height: 1, tags: true });
    this.table = blessed.list({
      parent: this.root,
      top: 2,
      left: 0,
      width: '100%',
      height: TABLE_HEIGHT,
      label: ' replicas ',
      border: { type: 'line' },
      tags: true,
      keys: true,
      mouse: true,
      style: { border: { fg: 'cyan' }, selected: { inverse: true } },
    } as blessed.Widgets.ListOptions<blessed.Widgets.ListElementStyle>);
    const chart = { left: 0, width: '50%', height: CHART_HEIGHT, border: { type: 'line' as const }, tags: true, style: { border: { fg: 'gray' } } };
    this.commits = blessed.box({ parent: this.root, top: CHARTS_TOP, ...chart });
    this.elections = blessed.box({ parent: this.root, top: CHARTS_TOP + CHART_HEIGHT, ...chart });
    this.decisions = new DecisionsPanel(this.root, { top: CHARTS_TOP, left: '50%', width: '50%', height: 2 * CHART_HEIGHT });
    this.inspector = inspector
      ? new InspectorPanel(screen, this.root, inspector.graph, inspector.source, { top: INSPECTOR_TOP, left: 0, width: '100%', height: `100%-${INSPECTOR_TOP + 1}` })
      : null;
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
      ` {bold}quorumchat dashboard{/bold} │ ${leader ? `leader {yellow-fg}${blessed.escape(leader)}{/yellow-fg}` : '{red-fg}no leader{/red-fg}'} · term ${top?.maxTerm ?? '-'} · commit ${top?.maxCommit ?? '-'} │ elections seen ${state.totalElections}`,
    );
    this.statusLine.setContent(this.notice === '' ? '{gray-fg} select a replica; F1 for the keys{/gray-fg}' : ` ${this.notice}`);
    const rows = state.replicas.map((r) => {
      const line = blessed.escape(rowLine(rowCells(state, r, this.processCell(r.id))));
      if (r.error !== null) return `{red-fg}${line}{/red-fg}`;
      if (r.status?.role === 'leader') return `{yellow-fg}${line}{/yellow-fg}`;
      return line;
    });
    const selected = (this.table as unknown as { selected: number }).selected ?? 0;
    this.table.setItems([`{bold}${blessed.escape(headerLine())}{/bold}`, ...rows] as unknown as blessed.Widgets.BlessedElement[]);
    this.table.select(Math.max(1, Math.min(selected, rows.length)));
    const width = Math.max(10, Math.floor(Number(this.screen.width) / 2) - 4);
    const maxRate = Math.max(0, ...state.commitRate);
    const lastRate = state.commitRate.at(-1) ?? 0;
    this.commits.setLabel(` commits/s now ${lastRate.toFixed(0)} · peak ${maxRate.toFixed(0)} `);
    this.commits.setContent(`{green-fg}${sparkline(state.commitRate, width)}{/green-fg}\n{gray-fg}${'─'.repeat(Math.max(0, width - 8))} now{/gray-fg}`);
    this.elections.setLabel(` elections · ${state.totalElections} seen `);
    this.elections.setContent(`{yellow-fg}${sparkline(state.elections, width)}{/yellow-fg}\n{gray-fg}${'─'.repeat(Math.max(0, width - 8))} now{/gray-fg}`);
    this.decisions.show(state.membership.decisions, decisionsSource(state.membership));
    this.footer.setContent(
      keyHints([
        ['↑↓', 'select'],
        ['s', managed ? 'stop' : 'stop (up only)'],
        ['t', managed ? 'start' : 'start (up only)'],
        ['r', managed ? 'restart' : 'restart (up only)'],
        ['a', 'add'],
        ['p', 'promote'],
        ['x', 'remove'],
        ['l', 'transfer'],
        ['i', 'inspector'],
        ['F1', 'help'],
        ['^C', 'quit'],
      ]),
    );
    if (this.active) this.screen.render();
  }

  /** up's process state; `external` for a replica up does not run; `-` outside up. */
  private processCell(id: string): string {
    if (this.controller.supervisor === null) return '-';
    return this.controller.processOf(id)?.state ?? 'external';
  }

  private selectedId(): string | null {
    const index = ((this.table as unknown as { selected: number }).selected ?? 1) - 1;
    return this.controller.state.replicas[index]?.id ?? null;
  }

  private wireKeys(): void {
    const when = (fn: () => void) => () => {
      if (this.active && !this.modals.open) fn();
    };
    const act = (action: ReplicaAction) => when(() => void this.act(action));
    this.screen.key(['s'], act('stop'));
    this.screen.key(['t'], act('start'));
    this.screen.key(['r'], act('restart'));
    const member = (action: MemberAction) => when(() => void this.changeMembers(action));
    this.screen.key(['a'], member('add'));
    this.screen.key(['p'], member('promote'));
    this.screen.key(['x'], member('remove'));
    this.screen.key(['l'], member('transfer'));
    this.screen.key(['pageup'], when(() => this.scrollDecisions(-1)));
    this.screen.key(['pagedown'], when(() => this.scrollDecisions(1)));
    this.screen.key(['i'], when(() => {
      if (!this.inspector) return;
      if (this.inspector.root.hidden) this.inspector.root.show();
      else this.inspector.root.hide();
      this.screen.render();
    }));
    this.screen.key(['f1', '?'], when(() => {
      void this.modals.run(() => showHelp(this.screen, 'help', DASHBOARD_HELP));
    }));
    this.screen.key(['C-c'], () => {
      if (this.active) this.onQuit();
    });
    this.table.on('select item', () => {
      const selected = (this.table as unknown as { selected: number }).selected;
      if (selected === 0) this.table.select(1);
    });
  }

  /** A page of the decisions panel up (-1) or down (1). */
  private scrollDecisions(direction: -1 | 1): void {
    const log = this.decisions.log;
    log.scroll(direction * Math.max(1, Number(log.height) - 2));
    this.screen.render();
  }

  private async act(action: ReplicaAction): Promise<void> {
    const id = this.selectedId();
    if (id === null) return;
    if (this.controller.supervisor === null) {
      this.setNotice(`{red-fg}${action} is only available inside quorumchat up (this dashboard runs no replicas){/red-fg}`);
      return;
    }
    if (!(await this.confirm(`${action} ${id}`, `${action[0]?.toUpperCase()}${action.slice(1)} replica ${id}?`))) return;
    this.setNotice(`${action} ${id}…`);
    try {
      await this.controller.act(action, id);
      this.setNotice(`{green-fg}${action} ${id}: done{/green-fg}`);
    } catch (err) {
      this.setNotice(`{red-fg}${action} ${id}: ${blessed.escape(messageOf(err))}{/red-fg}`);
    }
  }

  private async changeMembers(action: MemberAction): Promise<void> {
    // One at a time, as the cluster takes them: a second would only be refused as in flight.
    if (this.changing) {
      this.setNotice('{yellow-fg}a membership change is on its way; wait for its outcome{/yellow-fg}');
      return;
    }
    this.changing = true;
    try {
      const outcome = await runMemberAction(action, this.selectedId(), this.controller.state.membership.report?.view ?? null, {
        askId: (title, question) => this.modals.run(() => prompt(this.screen, title, question)),
        confirm: (title, question) => this.confirm(title, question),
        makeChange: (change) => this.controller.changeMembers(change),
        progress: (text) => this.setNotice(blessed.escape(text)),
      });
      if (outcome !== null) this.showOutcome(outcome);
    } finally {
      this.changing = false;
    }
  }

  private showOutcome(outcome: Outcome): void {
    const text = blessed.escape(outcome.text);
    this.setNotice(outcome.tone === 'ok' ? `{green-fg}${text}{/green-fg}` : outcome.tone === 'error' ? `{red-fg}${text}{/red-fg}` : text);
  }

  /** A y / n dialog; Escape counts as no. */
  private confirm(title: string, question: string): Promise<boolean> {
    return this.modals.run(async () => (await choose(this.screen, title, question, [
      { key: 'y', label: 'yes', value: 'yes' },
      { key: 'n', label: 'no', value: 'no' },
    ])) === 'yes');
  }

  private setNotice(text: string): void {
    this.notice = text;
    this.render(this.controller.state);
  }
}
