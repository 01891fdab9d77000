/**
 * The dashboard's scrolling list of the monitor policy's decisions: one line
 * per decision, with the time the policy first said it and its reason,
 * newest at the bottom. Labelled advisory: the monitor does not run inside
 * the replicas yet, so this is what the policy decides for the view the
 * dashboard sees, and nothing carries it out.
 */
import blessed from 'blessed';
import type { Decision } from '../../actors/monitor/index.ts';
import { describeDecision } from '../commands/members-format.ts';
import type { DecisionEntry } from './dashboard-membership.ts';

export const DECISIONS_LABEL = ' monitor (policy, advisory: nothing acts on it) ';

/** Lines the widget keeps: the model keeps DECISIONS_KEPT entries; this bounds the widget the same way. */
const SCROLLBACK = 500;

const COLOURS: Readonly<Record<Decision['kind'], string>> = {
  wait: 'white',
  promoteStandby: 'green',
  promoteNewcomer: 'green',
  requestReplacement: 'yellow',
  removeDead: 'red',
};

export class DecisionsPanel {
  readonly log: blessed.Widgets.Log;
  /** The newest entry already on screen (entries are kept by identity from round to round). */
  private lastShown: DecisionEntry | null = null;

  constructor(parent: blessed.Widgets.Node, position: { top: number | string; left: number | string; width: number | string; height: number | string }) {
    this.log = blessed.log({
      parent,
      ...position,
      label: DECISIONS_LABEL,
      border: { type: 'line' },
      tags: true,
      scrollable: true,
      scrollback: SCROLLBACK,
      mouse: true,
      keys: true,
      style: { border: { fg: 'gray' } },
    } as blessed.Widgets.LogOptions);
  }

  /** Appends the entries after the last one shown (all of them the first time). */
  show(entries: readonly DecisionEntry[]): void {
    const from = this.lastShown === null ? 0 : entries.lastIndexOf(this.lastShown) + 1;
    for (const entry of entries.slice(from)) this.log.log(decisionLine(entry));
    this.lastShown = entries.at(-1) ?? this.lastShown;
  }
}

/** `16:40:12 wait steady (5 healthy voters)`, coloured by kind: the text `members` prints after "monitor policy:". */
export function decisionLine(entry: DecisionEntry): string {
  const time = new Date(entry.at).toTimeString().slice(0, 8);
  const colour = COLOURS[entry.decision.kind];
  return `{gray-fg}${time}{/gray-fg} {${colour}-fg}${blessed.escape(describeDecision(entry.decision))}{/${colour}-fg}`;
}
