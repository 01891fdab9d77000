/**
 * One partition scenario across the namespace hosts, shared by the tests
 * (which assert on the result) and test/hosts/measure.ts (which prints it):
 * a closed-loop sender on every host's server, a healthy stretch, a fault for
 * a fixed time while the cluster's roles are watched, a heal, then the checks
 * every scenario needs: every sender acknowledged again, one appliedIndex and
 * one digest on all five replicas, and every acknowledged message exactly
 * once in the history read through every host's server.
 */
import type { SendPolicyMode } from '../../actors/client/index.ts';
import type { Host, Status, Topology } from './topology.ts';
import { sleep } from './topology.ts';
import { ackRate, allAcks, ClosedLoopSender, firstAckAfter, historyProblems, longestGap, secondsWithAck } from './workload.ts';

/** Healthy traffic before the fault; the first second is left out of the healthy rate (connections and first requests warm up). */
export const HEALTHY_MS = 4_000;
const WARM_UP_MS = 1_000;
/** How long a fault lasts: several dead-route detections (about 4 s with the generated ping settings) and elections. */
export const FAULT_MS = 10_000;
/** Traffic kept flowing after every sender has acknowledged again, so the heal is seen under load. */
const AFTER_HEAL_MS = 1_000;
/** Every sender must be acknowledged again within this long of a heal (routes reconnect, elections settle, on a loaded machine). */
const RECOVERY_TIMEOUT_MS = 30_000;
/** How often roles are sampled during the fault. */
const WATCH_MS = 100;

export interface Fault {
  /** Hosts that cannot reach a majority while the fault lasts (their clients cannot commit). */
  readonly minority: readonly string[];
  /** What was cut, for the log. */
  readonly description: string;
}

export interface ScenarioOptions {
  /** Short, unique per topology: account names are `<label><host>`. */
  readonly label: string;
  /** Applies the fault given the current leader's host; returns what it did. */
  readonly fault: (topology: Topology, leader: Host) => Promise<Fault>;
  readonly faultMs?: number;
  /** The senders' attempt policy (actors/client/send-policy.ts); default adaptive. */
  readonly sendAttempts?: SendPolicyMode;
}

export interface ScenarioResult {
  readonly label: string;
  readonly fault: Fault;
  readonly leaderBefore: string;
  readonly leaderAfter: string;
  /** Acks/s of the majority-side senders while healthy, and while the fault lasted. */
  readonly healthyRate: number;
  readonly faultRate: number;
  /** Acks/s of all senders while healthy: the cluster's throughput. */
  readonly totalHealthyRate: number;
  /** Fraction of the fault's whole seconds in which a majority-side sender was acknowledged. */
  readonly secondsWithAck: number;
  /** The longest stretch of the fault without a majority-side ack, ms. */
  readonly longestGapMs: number;
  /** From the fault until a majority-side replica led in a newer term; null if the leader kept its term. */
  readonly electionMs: number | null;
  /** From the fault until the old leader no longer called itself leader; null if it stayed leader (it kept a majority). */
  readonly stepDownMs: number | null;
  /** From the heal until the first ack of any majority-side sender, and until every sender (minority too) had one. */
  readonly firstAckAfterHealMs: number | null;
  readonly allAckedAfterHealMs: number | null;
  /** From the heal until every server had all its routes again. */
  readonly routesBackMs: number | null;
  /** The first few of those, with their times relative to the fault and who answered: evidence when there are any. */
  readonly minorityAckSamples: readonly string[];
  /** Acks to minority-side senders between the old leader's step-down (or the fault) plus one election timeout and the heal: must be 0. */
  readonly minorityAcksDuringFault: number;
  /** `unavailable` answers minority-side senders got during the fault, and their acks after the heal of messages that had got one. */
  readonly minorityUnavailable: number;
  readonly minorityRetriedAcks: number;
  /** Acks each host's sender got while the fault lasted, by host name. */
  readonly faultAcksByHost: Readonly<Record<string, number>>;
  /** The five replicas after the heal: one appliedIndex and one digest. */
  readonly converged: readonly Status[];
  /** Acknowledged messages missing, changed or duplicated, and sender errors: must be empty. */
  readonly problems: readonly string[];
}

/**
 * An ack that left a minority host's server after its side lost the leader is
 * impossible; one that arrives just after the cut can be an entry committed
 * just before it. This margin (well over an election timeout, HOST_TIMING)
 * separates the two.
 */
const IN_FLIGHT_MARGIN_MS = 1_500;

export async function runScenario(topology: Topology, options: ScenarioOptions): Promise<ScenarioResult> {
  // A scenario starts from a whole cluster: every route up (the last heal's take seconds to return) and a leader.
  await topology.waitForRoutes();
  await topology.waitForLeader();
  const created = await Promise.allSettled(topology.hosts.map((h) => ClosedLoopSender.create(h, `${options.label}${h.name}`, options.sendAttempts)));
  const senders = created.flatMap((c) => (c.status === 'fulfilled' ? [c.value] : []));
  try {
    const failed = created.find((c) => c.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const tStart = Date.now();
    for (const s of senders) s.start();
    await sleep(HEALTHY_MS);

    // Asked only now: on lossy links the leadership can move during the healthy stretch.
    const leader = await topology.waitForLeader();
    const leaderStatus = await topology.status(leader.name);
    const fault = await options.fault(topology, leader);
    // From when every rule is in place: applying them takes a moment on a loaded machine.
    const tFault = Date.now();
    const majorityHosts = topology.hosts.filter((h) => !fault.minority.includes(h.name)).map((h) => h.name);
    const watch = await watchRoles(topology, leader, leaderStatus?.term ?? 0, majorityHosts, tFault, options.faultMs ?? FAULT_MS);

    await topology.heal();
    const tHeal = Date.now();
    const routesBack = topology.waitForRoutes(RECOVERY_TIMEOUT_MS).then(() => Date.now() - tHeal, () => null);
    const allAcked = await waitUntil(() => senders.every((s) => s.acks.some((a) => a.at >= tHeal)), RECOVERY_TIMEOUT_MS);
    const allAckedAfterHealMs = allAcked ? Math.max(...senders.map((s) => firstAckAfter(s.acks, tHeal) ?? 0)) : null;
    await sleep(AFTER_HEAL_MS);
    await Promise.all(senders.map((s) => s.stop()));
    const routesBackMs = await routesBack;

    const converged = await topology.waitForConvergence();
    const leaderAfter = await topology.waitForLeader();
    const problems = [...senders.flatMap((s) => s.errors), ...(await historyProblems(topology, senders))];

    const majority = senders.filter((s) => majorityHosts.includes(s.host.name));
    const minority = senders.filter((s) => fault.minority.includes(s.host.name));
    const majorityAcks = allAcks(majority);
    const minorityAcks = allAcks(minority);
    const quietFrom = tFault + (watch.stepDownMs ?? 0) + IN_FLIGHT_MARGIN_MS;
    return {
      label: options.label,
      fault,
      leaderBefore: leader.name,
      leaderAfter: leaderAfter.name,
      healthyRate: ackRate(majorityAcks, tStart + WARM_UP_MS, tFault),
      faultRate: ackRate(majorityAcks, tFault, tHeal),
      totalHealthyRate: ackRate(allAcks(senders), tStart + WARM_UP_MS, tFault),
      secondsWithAck: secondsWithAck(majorityAcks, tFault, tHeal),
      longestGapMs: longestGap(majorityAcks, tFault, tHeal),
      electionMs: watch.electionMs,
      stepDownMs: watch.stepDownMs,
      firstAckAfterHealMs: firstAckAfter(majorityAcks, tHeal),
      allAckedAfterHealMs,
      routesBackMs,
      minorityAcksDuringFault: minorityAcks.filter((a) => a.at >= quietFrom && a.at < tHeal).length,
      minorityAckSamples: minorityAcks.filter((a) => a.at >= quietFrom && a.at < tHeal).slice(0, 5).map((a) => `${a.requestId} +${a.at - tFault} ms by ${a.answeredBy}`),
      minorityUnavailable: minority.flatMap((s) => s.unavailable).filter((at) => at >= tFault && at < tHeal).length,
      minorityRetriedAcks: minorityAcks.filter((a) => a.at >= tHeal && a.unavailableBefore > 0).length,
      faultAcksByHost: Object.fromEntries(senders.map((s) => [s.host.name, s.acks.filter((a) => a.at >= tFault && a.at < tHeal).length])),
      converged,
      problems,
    };
  } finally {
    await Promise.all(senders.map((s) => s.close()));
  }
}

/**
 * Samples every replica's role (through its own server) until the fault has
 * lasted `faultMs`: when a majority-side replica first leads in a newer term,
 * and when the old leader first stops calling itself leader.
 */
async function watchRoles(
  topology: Topology,
  oldLeader: Host,
  oldTerm: number,
  majorityHosts: readonly string[],
  tFault: number,
  faultMs: number,
): Promise<{ electionMs: number | null; stepDownMs: number | null }> {
  let electionMs: number | null = null;
  let stepDownMs: number | null = null;
  while (Date.now() < tFault + faultMs) {
    const [majority, old] = await Promise.all([
      electionMs === null ? Promise.all(majorityHosts.map((h) => topology.status(h, WATCH_MS * 5))) : [],
      stepDownMs === null ? topology.status(oldLeader.name, WATCH_MS * 5) : null,
    ]);
    const now = Date.now() - tFault;
    // A leader exists only by a majority's votes, so one replica saying so is enough.
    if (majority.some((s) => s !== null && s.role === 'leader' && s.term > oldTerm)) electionMs = now;
    if (old !== null && old.role !== 'leader') stepDownMs = now;
    await sleep(WATCH_MS);
  }
  return { electionMs, stepDownMs };
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await sleep(WATCH_MS);
  }
  return true;
}

/** One line of figures for t.log and the measurement script. */
export function describeResult(r: ScenarioResult): string {
  const ms = (v: number | null): string => (v === null ? '-' : `${v} ms`);
  return [
    `${r.label}: ${r.fault.description}; leader ${r.leaderBefore} -> ${r.leaderAfter}`,
    `  healthy ${r.healthyRate.toFixed(1)} acks/s majority-side (${r.totalHealthyRate.toFixed(1)} all), during fault ${r.faultRate.toFixed(1)} acks/s` +
      ` (${pct(r.faultRate, r.healthyRate)} of healthy), ${(r.secondsWithAck * 100).toFixed(0)}% of seconds with an ack, longest gap ${ms(r.longestGapMs)}`,
    `  election ${ms(r.electionMs)}, old leader stepped down ${ms(r.stepDownMs)}; after heal: first ack ${ms(r.firstAckAfterHealMs)},` +
      ` every client acked ${ms(r.allAckedAfterHealMs)}, routes back ${ms(r.routesBackMs)}`,
    `  minority side: ${r.minorityUnavailable} unavailable, ${r.minorityAcksDuringFault} acks during the fault, ${r.minorityRetriedAcks} acked after heal with the same requestId;` +
      ` converged at appliedIndex ${r.converged[0]?.appliedIndex ?? '-'}, ${r.problems.length} problems`,
    `  acks during the fault by client's host: ${Object.entries(r.faultAcksByHost).map(([h, n]) => `${h} ${n}`).join(', ')}`,
  ].join('\n');
}

function pct(part: number, whole: number): string {
  return whole > 0 ? `${((part / whole) * 100).toFixed(0)}%` : '-';
}

// ---- the faults of issue 9, shared by partitions.test.ts and measure.ts ----

/** The names of every host but these. */
export function allBut(t: Topology, ...names: string[]): string[] {
  return t.hosts.map((h) => h.name).filter((n) => !names.includes(n));
}

/** The leader's host cut off from the other four. */
export async function isolateLeader(t: Topology, leader: Host): Promise<Fault> {
  await t.split([[leader.name], allBut(t, leader.name)]);
  return { minority: [leader.name], description: `leader's host ${leader.name} cut off from the other four` };
}

/** A 3|2 split, the leader on the majority side. */
export async function splitThreeTwo(t: Topology, leader: Host): Promise<Fault> {
  const [, , x, y] = allBut(t, leader.name);
  await t.split([allBut(t, x!, y!), [x!, y!]]);
  return { minority: [x!, y!], description: `3|2 split, ${x} and ${y} on the minority side` };
}

/** Sides {leader, a} and {b, c} cut from each other; one host sees both. */
export async function nonTransitive(t: Topology, leader: Host): Promise<Fault> {
  const [a, bridge, b, c] = allBut(t, leader.name);
  const sideA = [leader.name, a!];
  const sideB = [b!, c!];
  await t.split([sideA, sideB]);
  return { minority: [], description: `${sideA.join(',')} | ${sideB.join(',')} cut, ${bridge} sees both sides` };
}

/** Only the NATS route (cluster port) between the leader's host and a follower's. */
export async function cutLeaderRoute(t: Topology, leader: Host): Promise<Fault> {
  const other = allBut(t, leader.name)[0]!;
  await t.cutRoute(leader.name, other);
  return { minority: [], description: `NATS route ${leader.name}–${other} cut (cluster port only)` };
}
