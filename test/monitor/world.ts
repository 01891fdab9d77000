/**
 * A small model of a cluster for the monitor's tests: members up or down,
 * a clock, and the leader's view built from them. The monitor's decisions
 * are carried out at once (a configuration change commits before the next
 * step), and replacements arrive, when a provisioner is on, as new learners
 * after a delay, caught up after another.
 */
import { hasQuorum } from '../../actors/raft/quorum.ts';
import {
  DEFAULT_MONITOR_SETTINGS,
  EMPTY_MEMORY,
  decide,
  type ClusterView,
  type Decision,
  type MemberView,
  type MonitorMemory,
  type MonitorSettings,
} from '../../actors/monitor/index.ts';

export interface WorldOptions {
  readonly voters?: number;
  readonly standbys?: number;
  /** A replacement's learner appears this long after it was asked for; undefined: nobody provisions. */
  readonly provisionAfterMs?: number;
  /** A new learner is caught up this long after it appears. */
  readonly catchUpAfterMs?: number;
  readonly settings?: Partial<MonitorSettings>;
}

const COMMIT_INDEX = 1_000;

export class World {
  nowMs = 0;
  leader: string | null = 'r1';
  voters: string[];
  learners: string[] = [];
  standbys: string[] = [];
  changeInFlight = false;
  readonly settings: MonitorSettings;
  /** Members that are down, with when they went down. */
  readonly downSince = new Map<string, number>();
  /** Learners that are still catching up, with when they will have caught up. */
  readonly caughtUpAt = new Map<string, number>();
  /** Every decision taken, with its time. */
  readonly history: { readonly atMs: number; readonly decision: Decision }[] = [];
  private memory: MonitorMemory = EMPTY_MEMORY;
  private nextId: number;
  private readonly arrivals: { atMs: number; id: string }[] = [];

  constructor(readonly options: WorldOptions = {}) {
    const voterCount = options.voters ?? 5;
    const standbyCount = options.standbys ?? 0;
    this.voters = ids(1, voterCount);
    this.standbys = ids(voterCount + 1, standbyCount);
    this.learners = [...this.standbys];
    this.nextId = voterCount + standbyCount + 1;
    this.settings = { ...DEFAULT_MONITOR_SETTINGS, ...options.settings };
  }

  kill(id: string): void {
    if (!this.downSince.has(id)) this.downSince.set(id, this.nowMs);
  }

  revive(id: string): void {
    this.downSince.delete(id);
  }

  isLive(id: string): boolean {
    return !this.downSince.has(id);
  }

  /** Whether the current voters have a live quorum. */
  hasLiveQuorum(): boolean {
    return hasQuorum(this.voters, (id) => this.isLive(id));
  }

  view(): ClusterView {
    const members: Record<string, MemberView> = {};
    for (const id of [...this.voters, ...this.learners]) {
      const down = this.downSince.get(id);
      const caughtUp = (this.caughtUpAt.get(id) ?? 0) <= this.nowMs;
      members[id] = {
        reachable: down === undefined,
        lastContactMs: id === this.leader ? 0 : down === undefined ? 0 : this.nowMs - down,
        matchIndex: caughtUp ? COMMIT_INDEX : 0,
      };
    }
    return {
      nowMs: this.nowMs,
      leader: this.leader,
      commitIndex: COMMIT_INDEX,
      voters: [...this.voters],
      learners: [...this.learners],
      standbys: [...this.standbys],
      changeInFlight: this.changeInFlight,
      members,
    };
  }

  /** Advances the clock, lets replacements arrive, asks the monitor once and carries out what it decides. */
  step(advanceMs: number): readonly Decision[] {
    this.nowMs += advanceMs;
    for (const arrival of this.arrivals.filter((a) => a.atMs <= this.nowMs)) {
      this.arrivals.splice(this.arrivals.indexOf(arrival), 1);
      this.learners.push(arrival.id);
      this.caughtUpAt.set(arrival.id, this.nowMs + (this.options.catchUpAfterMs ?? 5_000));
    }
    const step = decide(this.view(), this.settings, this.memory);
    this.memory = step.memory;
    for (const decision of step.decisions) {
      this.history.push({ atMs: this.nowMs, decision });
      this.carryOut(decision);
    }
    return step.decisions;
  }

  private carryOut(decision: Decision): void {
    switch (decision.kind) {
      case 'promoteStandby':
      case 'promoteNewcomer':
        this.learners = this.learners.filter((id) => id !== decision.id);
        this.standbys = this.standbys.filter((id) => id !== decision.id);
        this.voters.push(decision.id);
        return;
      case 'removeDead':
        this.voters = this.voters.filter((id) => id !== decision.id);
        return;
      case 'requestReplacement':
        if (this.options.provisionAfterMs !== undefined) this.arrivals.push({ atMs: this.nowMs + this.options.provisionAfterMs, id: `r${this.nextId++}` });
        return;
      case 'wait':
        return;
    }
  }
}

/** One decision as a transcript line: `kind id` or `wait why`. */
export function line(decision: Decision): string {
  switch (decision.kind) {
    case 'wait':
      return `wait ${decision.why}`;
    case 'requestReplacement':
      return `requestReplacement for ${decision.replaces}`;
    default:
      return `${decision.kind} ${decision.id}`;
  }
}

/** Runs `steps` ([advance, action?]) and returns the transcript: `t=12s decision` per decision that is not a repeated wait. */
export function transcript(world: World, steps: readonly (readonly [number, ((w: World) => void)?])[]): string[] {
  const out: string[] = [];
  let last = '';
  for (const [advanceMs, act] of steps) {
    act?.(world);
    for (const decision of world.step(advanceMs)) {
      const text = line(decision);
      if (decision.kind === 'wait' && text === last) continue;
      last = text;
      out.push(`t=${world.nowMs / 1_000}s ${text}`);
    }
  }
  return out;
}

function ids(from: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `r${from + i}`);
}
