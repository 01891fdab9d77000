/**
 * Network partitions across five real hosts (network namespaces, one
 * nats-server and one replica each, a NATS cluster over routes; clients in
 * the root namespace): test/hosts/topology.ts builds them, and
 * test/hosts/scenarios.ts runs each fault with a closed-loop sender on every
 * host's server. Every scenario checks, after the heal, one appliedIndex and
 * one digest on all five replicas and every acknowledged message exactly once
 * in the history read through every host's server; the figures go to t.log.
 *
 * Availability during a fault (ack rates, seconds with an ack, time to the
 * first ack after a heal) is measured and logged, not asserted: raising it is
 * the client-routing work of issue 9, and these figures are its yardstick.
 *
 * One topology for the whole file, so the tests run serially. Building it
 * needs root (CI runs as root); without root the tests are skipped.
 */
import test from 'ava';
import type { ExecutionContext } from 'ava';
import { missingPrivilege, Topology, type Host } from './topology.ts';
import { allBut, cutLeaderRoute, describeResult, isolateLeader, nonTransitive, runScenario, splitThreeTwo, type ScenarioResult } from './scenarios.ts';

/**
 * An election across hosts takes about one election timeout (400–800 ms,
 * HOST_TIMING) plus the time to notice; ten processes on two loaded cores
 * can stretch that several times over.
 */
const ELECTION_BOUND_MS = 8_000;
/** Check-quorum steps an isolated leader down after about one election timeout without a majority's replies. */
const STEP_DOWN_BOUND_MS = 5_000;
/** netem's 40 ms RTT and 2% loss slow elections and the detection of dead routes. */
const LOSSY_ELECTION_BOUND_MS = 12_000;

const why = missingPrivilege();
const serial = why === null ? test.serial : test.serial.skip;
let topology: Topology | undefined;

if (why === null) {
  test.before(async () => {
    topology = await Topology.create();
  });
  test.after.always(async () => {
    await topology?.destroy();
  });
}

function hosts(): Topology {
  if (topology === undefined) throw new Error('the topology was not built');
  return topology;
}

/** Hosts other than the leader's, in order. */
function followers(t: Topology, leader: Host): string[] {
  return allBut(t, leader.name);
}

/** What every scenario must show: nothing acknowledged lost or duplicated, and one state on all five. */
function assertSafe(t: ExecutionContext, r: ScenarioResult): void {
  t.log(describeResult(r));
  t.deepEqual(r.problems, []);
  t.is(r.converged.length, 5);
  t.is(new Set(r.converged.map((s) => `${s.appliedIndex}/${s.digest}`)).size, 1, 'one appliedIndex and one digest');
  t.not(r.allAckedAfterHealMs, null, 'every sender was acknowledged again after the heal');
}

serial("the leader's host cut off: the majority elects, the old leader steps down, nothing acknowledged is lost", async (t) => {
  const r = await runScenario(hosts(), { label: 'a', fault: isolateLeader });
  assertSafe(t, r);
  t.not(r.electionMs, null, 'the majority elected a leader');
  t.true((r.electionMs ?? Infinity) <= ELECTION_BOUND_MS, `elected within ${ELECTION_BOUND_MS} ms`);
  t.not(r.stepDownMs, null, 'the old leader stepped down');
  t.true((r.stepDownMs ?? Infinity) <= STEP_DOWN_BOUND_MS, `stepped down within ${STEP_DOWN_BOUND_MS} ms (check-quorum)`);
  t.is(r.minorityAcksDuringFault, 0, 'nothing acknowledged on the minority side');
});

serial('a 3|2 split with the leader on the majority side: the minority commits nothing, nothing acknowledged is lost', async (t) => {
  const r = await runScenario(hosts(), { label: 'b', fault: splitThreeTwo });
  assertSafe(t, r);
  t.is(r.minorityAcksDuringFault, 0, `nothing acknowledged on the minority side: ${r.minorityAckSamples.join('; ')}`);
});

serial('a non-transitive split (one host sees both sides): nothing acknowledged is lost, one state after the heal', async (t) => {
  const r = await runScenario(hosts(), { label: 'c', fault: nonTransitive });
  assertSafe(t, r);
});

serial("a cut NATS route between the leader's host and a follower's: nothing lost, the follower catches up", async (t) => {
  const r = await runScenario(hosts(), { label: 'd', fault: cutLeaderRoute });
  assertSafe(t, r);
});

serial("a client whose own server is on the minority side gets `unavailable`, then succeeds after the heal with the same requestId", async (t) => {
  const r = await runScenario(hosts(), {
    label: 'e',
    fault: async (topo, leader) => {
      // The old leader goes with it: the minority once had a leader, and its clients were mid-send.
      const mate = followers(topo, leader)[0]!;
      await topo.split([[leader.name, mate], allBut(topo, leader.name, mate)]);
      return { minority: [leader.name, mate], description: `2|3 split, the leader's host ${leader.name} and ${mate} on the minority side` };
    },
  });
  assertSafe(t, r);
  t.true(r.minorityUnavailable > 0, 'minority-side clients were told `unavailable`');
  t.is(r.minorityAcksDuringFault, 0, 'and were not acknowledged while the split lasted');
  t.true(r.minorityRetriedAcks > 0, 'after the heal, a message that had got `unavailable` was acknowledged under its requestId');
});

serial('2% loss on every link and 20 ms each way (netem, or relays on the routes without it): still correct; throughput and failover measured', async (t) => {
  const topo = hosts();
  topo.impair({ lossPercent: 2, delayMs: 20 });
  try {
    const r = await runScenario(topo, { label: 'f', fault: isolateLeader });
    t.log(topo.netemAvailable ? 'netem: 40 ms RTT between hosts' : 'no netem in this kernel: 40 ms RTT on the NATS routes through the delay relays (client links undelayed)');
    assertSafe(t, r);
    t.not(r.electionMs, null, 'the majority elected a leader');
    t.true((r.electionMs ?? Infinity) <= LOSSY_ELECTION_BOUND_MS, `elected within ${LOSSY_ELECTION_BOUND_MS} ms`);
    t.is(r.minorityAcksDuringFault, 0, 'nothing acknowledged on the minority side');
  } finally {
    topo.unimpair();
  }
});
