/**
 * The health monitor in a running replica (docs/operators.md, "The
 * monitor"): every replica runs this loop on its clock port, and only the
 * leader acts, so the monitor fails over with leadership. Each look builds
 * the ClusterView from what the leader's core already knows (last contact,
 * match index, commit index), asks the pure policy (actors/monitor `decide`),
 * and carries out at most one configuration change through the same path as
 * an operator's request; replacement requests go to whoever provisions
 * replicas. Every decision is a structured log line and is kept for the
 * status reply, `members` and the dashboard.
 *
 * The loop's memory (silences, steadiness, replacements asked for) lives on
 * the leader and starts over when the term changes: a new leader restarts
 * every grace period, so it waits, it never hurries.
 */
import type { ReplicaId } from '../raft/types.ts';
import { decide, EMPTY_MEMORY, type ClusterView, type Decision, type MonitorMemory, type MonitorSettings } from '../monitor/index.ts';
import type { LearnerIntent, MembersRequest, ReplacementNotice } from '../protocol/index.ts';
import type { RuntimeClock, RuntimeLogger, WireReply } from './ports.ts';

/** Decisions kept for the status reply: a screenful, and the reply stays small. */
export const MAX_DECISIONS_KEPT = 32;
/** Learners' intents kept: far more than any cluster has learners; a flood of announcements cannot grow memory. */
export const MAX_INTENTS_KEPT = 64;

/** One decision as the loop took it. */
export interface DecisionRecord {
  /** Runtime clock time of the look that took it. */
  readonly at: number;
  readonly term: number;
  readonly decision: Decision;
  /** What became of a change or request: `done`, `not carried out (monitor disabled)`, or why it failed. */
  readonly outcome: string | null;
}

export interface MonitorLoopDeps {
  readonly clock: Pick<RuntimeClock, 'now' | 'sleep'>;
  readonly settings: MonitorSettings;
  readonly intervalMs: number;
  /** false: decide and show, never act (docs/configuration.md `monitor.enabled`). */
  readonly enabled: boolean;
  /** The leader's view with these intents; null while this replica does not lead. */
  view(intents: ReadonlyMap<ReplicaId, LearnerIntent>): ClusterView | null;
  term(): number;
  /** Makes one membership change as the leader (requests.ts `changeMembers`); `notLeader` once it no longer leads. */
  change(request: MembersRequest): Promise<WireReply | 'notLeader'>;
  /** Hands a replacement request to whoever provisions replicas (publish, provision command). */
  replace(notice: ReplacementNotice): void;
  readonly log: Pick<RuntimeLogger, 'info' | 'warn'>;
}

export interface MonitorLoop {
  /** One look (the loop calls it every interval; tests call it directly on a fake clock). */
  step(): Promise<void>;
  /** Runs `step` every interval until `stop`. */
  run(): Promise<void>;
  stop(): void;
  /** A learner said what it wants to be. */
  recordIntent(id: ReplicaId, intent: LearnerIntent): void;
  intents(): ReadonlyMap<ReplicaId, LearnerIntent>;
  /** The latest decisions, oldest first. */
  recent(): readonly DecisionRecord[];
}

export function createMonitorLoop(deps: MonitorLoopDeps): MonitorLoop {
  const { clock, settings, log } = deps;
  let memory: MonitorMemory = EMPTY_MEMORY;
  let memoryTerm = -1;
  let lastWaitKey: string | null = null;
  let stopped = false;
  const intents = new Map<ReplicaId, LearnerIntent>();
  const decisions: DecisionRecord[] = [];
  // Ids suggested for replacements already: never suggest one twice, even if it has not joined yet.
  const suggested = new Set<ReplicaId>();

  const keep = (record: DecisionRecord): void => {
    decisions.push(record);
    if (decisions.length > MAX_DECISIONS_KEPT) decisions.splice(0, decisions.length - MAX_DECISIONS_KEPT);
  };

  const carryOut = async (decision: Decision, view: ClusterView, term: number): Promise<string> => {
    if (!deps.enabled) return 'not carried out (monitor disabled)';
    switch (decision.kind) {
      case 'wait':
        return 'nothing to do';
      case 'requestReplacement': {
        const suggestedId = nextReplicaId([...view.voters, ...view.learners, ...suggested]);
        suggested.add(suggestedId);
        deps.replace({ replaces: decision.replaces, suggestedId, reason: decision.reason, leader: view.leader ?? '', term });
        return `asked for ${suggestedId}`;
      }
      case 'promoteStandby':
      case 'promoteNewcomer':
      case 'removeDead': {
        const request: MembersRequest = { action: decision.kind === 'removeDead' ? 'remove' : 'promote', id: decision.id };
        try {
          const reply = await deps.change(request);
          if (reply === 'notLeader') return 'not carried out (leadership moved)';
          return reply.ok ? 'done' : `refused: ${reply.error.code}: ${reply.error.message}`;
        } catch (error) {
          return `failed: ${error instanceof Error ? error.message : String(error)}`;
        }
      }
    }
  };

  const step = async (): Promise<void> => {
    const term = deps.term();
    const view = deps.view(intents);
    if (view === null) {
      // Not the leader: forget, so a later term of ours starts every period afresh.
      memory = EMPTY_MEMORY;
      memoryTerm = -1;
      return;
    }
    if (term !== memoryTerm) {
      memory = EMPTY_MEMORY;
      memoryTerm = term;
      lastWaitKey = null;
    }
    const next = decide(view, settings, memory);
    memory = next.memory;
    for (const decision of next.decisions) {
      if (decision.kind === 'wait') {
        // A wait repeats every look: log and keep it only when it changes.
        const key = `${decision.why}`;
        if (key === lastWaitKey) continue;
        lastWaitKey = key;
        log.info({ monitor: decision, term }, `monitor: wait (${decision.why}): ${decision.reason}`);
        keep({ at: view.nowMs, term, decision, outcome: null });
        continue;
      }
      lastWaitKey = null;
      const outcome = await carryOut(decision, view, term);
      const subject = decision.kind === 'requestReplacement' ? decision.replaces : decision.id;
      (outcome === 'done' || outcome.startsWith('asked') ? log.info : log.warn).call(log, { monitor: decision, outcome, term }, `monitor: ${decision.kind} ${subject}: ${decision.reason} → ${outcome}`);
      keep({ at: view.nowMs, term, decision, outcome });
    }
  };

  return {
    step,
    async run() {
      while (!stopped) {
        await clock.sleep(deps.intervalMs);
        if (stopped) break;
        try {
          await step();
        } catch (error) {
          log.warn({ err: error }, 'monitor: a look failed; trying again next interval');
        }
      }
    },
    stop() {
      stopped = true;
    },
    recordIntent(id, intent) {
      if (!intents.has(id) && intents.size >= MAX_INTENTS_KEPT) {
        const oldest = intents.keys().next().value;
        if (oldest !== undefined) intents.delete(oldest);
      }
      intents.set(id, intent);
    },
    intents: () => intents,
    recent: () => [...decisions],
  };
}

/**
 * An id no member has and none suggested before: the common stem of the
 * ids (r in r1..r5) with one more than the highest number, e.g. r6.
 */
export function nextReplicaId(taken: readonly ReplicaId[]): ReplicaId {
  let stem = 'r';
  let highest = 0;
  for (const id of taken) {
    const match = /^(.*?)(\d+)$/.exec(id);
    if (match === null) continue;
    stem = match[1] ?? stem;
    highest = Math.max(highest, Number(match[2]));
  }
  let n = highest + 1;
  while (taken.includes(`${stem}${n}`)) n += 1;
  return `${stem}${n}`;
}
