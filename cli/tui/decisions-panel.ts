/**
 * The dashboard's scrolling list of the monitor's decisions, newest first:
 * one line per decision with when it was taken, by which replica's monitor,
 * its reason and what became of it. The label says whose they are: the
 * leader's monitor, or, with no leader to ask, the policy's advisory
 * decision from the dashboard's own view (dashboard-membership.ts).
 */
import blessed from 'blessed';
import type { Decision } from '../../actors/monitor/index.ts';
import { describeDecision } from '../commands/members-decisions.ts';
import type { DecisionEntry } from './dashboard-membership.ts';

/** The label before the first look. */
export const DECISIONS_LABEL = ' monitor ';

const COLOURS: Readonly<Record<Decision['kind'], string>> = {
  wait: 'white',
  promoteStandby: 'green',
  promoteNewcomer: 'green',
  requestReplacement: 'yellow',
  removeDead: 'red',
};

export class DecisionsPanel {
  readonly log: blessed.Widgets.BoxElement;
  /** The list on screen (the model keeps the same array while nothing changes). */
  private shown: readonly DecisionEntry[] | null = null;

  constructor(parent: blessed.Widgets.Node, position: { top: number | string; left: number | string; width: number | string; height: number | string }) {
    this.log = blessed.box({
      parent,
      ...position,
      label: DECISIONS_LABEL,
      border: { type: 'line' },
      tags: true,
      scrollable: true,
      alwaysScroll: true,
      mouse: true,
      keys: true,
      style: { border: { fg: 'gray' } },
    });
  }

  /** Shows `entries` (newest first) under `label`; the scroll position is kept. */
  show(entries: readonly DecisionEntry[], label: string): void {
    this.log.setLabel(` ${label} `);
    if (entries === this.shown) return;
    this.shown = entries;
    this.log.setContent(entries.map(decisionLine).join('\n'));
  }
}

/**
 * `16:40:12 r1 promoteNewcomer r6 (ready ...) → done`, coloured by kind (the
 * line `members` prints under "monitor:"); an advisory entry says so in
 * place of the replica.
 */
export function decisionLine(entry: DecisionEntry): string {
  const time = new Date(entry.at).toTimeString().slice(0, 8);
  const colour = COLOURS[entry.decision.kind];
  const who = entry.by === null ? '{gray-fg}advisory{/gray-fg}' : blessed.escape(entry.by);
  const outcome = entry.outcome === null || entry.decision.kind === 'wait' ? '' : ` → ${entry.outcome}`;
  return `{gray-fg}${time}{/gray-fg} ${who} {${colour}-fg}${blessed.escape(describeDecision(entry.decision) + outcome)}{/${colour}-fg}`;
}
