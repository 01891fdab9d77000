/**
 * The monitor's real decisions, as `members` and the dashboard show them:
 * what the leader's monitor loop decided and when (actors/replica/
 * monitor-loop.ts keeps the latest 32 and puts them in the `cluster` reply
 * and in every replica's status). A replica records decisions only while it
 * leads, so the statuses of former leaders still running carry theirs: the
 * merge of all of them is the cluster's history as far as it is still known.
 */
import { z } from 'zod';
import type { Decision } from '../../actors/monitor/index.ts';

/** One decision a leader's monitor took (monitor-loop.ts `DecisionRecord`), with who took it. */
export interface TakenDecision {
  /** The replica whose monitor took it (it led in `term`). */
  readonly by: string;
  /** Its clock (wall-clock ms in a real replica). */
  readonly at: number;
  readonly term: number;
  readonly decision: Decision;
  /** `done`, `asked for r6`, `not carried out (...)`, `refused: ...`; null for a wait. */
  readonly outcome: string | null;
}

const DECISION_KINDS = ['wait', 'promoteStandby', 'promoteNewcomer', 'requestReplacement', 'removeDead'] as const;

/** Loose: a newer replica may add fields; a decision of a kind this version does not know is skipped, not fatal. */
const DecisionRecordWire = z.looseObject({
  at: z.number(),
  term: z.number(),
  decision: z.looseObject({ kind: z.string(), reason: z.string() }),
  outcome: z.string().nullable(),
});

/** The `monitor` field of the status and `cluster` replies (actors/replica/replica.ts `monitorBody`). */
export const MonitorWire = z.looseObject({
  enabled: z.boolean(),
  decisions: z.array(z.unknown()),
});
export type MonitorWire = z.infer<typeof MonitorWire>;

/** The `monitor` field of a reply, or null when it has none (an older replica, or one run without the monitor). */
export function monitorOf(reply: unknown): MonitorWire | null {
  if (typeof reply !== 'object' || reply === null || !('monitor' in reply)) return null;
  const parsed = MonitorWire.safeParse(reply.monitor);
  return parsed.success ? parsed.data : null;
}

/** The decisions `by` reported, oldest first as it keeps them; unreadable entries skipped. */
export function decisionsOf(by: string, monitor: MonitorWire): TakenDecision[] {
  return monitor.decisions.flatMap((raw): TakenDecision[] => {
    const parsed = DecisionRecordWire.safeParse(raw);
    if (!parsed.success || !(DECISION_KINDS as readonly string[]).includes(parsed.data.decision.kind)) return [];
    const { at, term, outcome } = parsed.data;
    return [{ by, at, term, outcome, decision: parsed.data.decision as unknown as Decision }];
  });
}

/**
 * Every source's decisions in one list, newest first, each once (the same
 * record arrives from the `cluster` reply and the leader's status, and again
 * on every poll), at most `limit`.
 */
export function mergeDecisions(lists: readonly (readonly TakenDecision[])[], limit: number): TakenDecision[] {
  const byKey = new Map<string, TakenDecision>();
  for (const list of lists) for (const d of list) byKey.set(decisionKey(d), d);
  return [...byKey.values()].sort(newestFirst).slice(0, limit);
}

/** What identifies one record: a replica takes at most one decision of a kind per subject in one look. */
export function decisionKey(d: TakenDecision): string {
  return `${d.by}|${d.term}|${d.at}|${d.decision.kind}|${subjectOf(d.decision)}`;
}

function newestFirst(a: TakenDecision, b: TakenDecision): number {
  return b.at - a.at || b.term - a.term || a.by.localeCompare(b.by, 'en', { numeric: true });
}

/** The member a decision is about, or its reason for a wait. */
export function subjectOf(decision: Decision): string {
  return decision.kind === 'wait' ? decision.why : decision.kind === 'requestReplacement' ? decision.replaces : decision.id;
}

/** Whether `decision` is about member `id`. */
export function concerns(decision: Decision, id: string): boolean {
  return decision.kind !== 'wait' && subjectOf(decision) === id;
}

/** `16:32:44 r1 promoteNewcomer r6 (ready: caught up for 10 s) → done` (the time on this machine's clock). */
export function describeTaken(d: TakenDecision): string {
  const time = new Date(d.at).toTimeString().slice(0, 8);
  return `${time} ${d.by} ${describeDecision(d.decision)}${d.outcome === null || d.decision.kind === 'wait' ? '' : ` → ${d.outcome}`}`;
}

/** `promoteNewcomer r6 (reason)`, `wait grace (reason)`, `requestReplacement for r3 (reason)`. */
export function describeDecision(decision: Decision): string {
  const subject = decision.kind === 'wait' ? decision.why : decision.kind === 'requestReplacement' ? `for ${decision.replaces}` : decision.id;
  return `${decision.kind} ${subject} (${decision.reason})`;
}
