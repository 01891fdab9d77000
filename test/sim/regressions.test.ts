// Core bugs the simulation found, kept as regression tests at the seed that
// found them. A bug not fixed yet is registered with `test.failing` (it passes
// while the bug is there, and ava flags it the moment the core is fixed).
// A seed replays one build of the harness: a change to how faults are drawn
// reshuffles every seed, so such a change must re-find a seed for each bug here.
import test from 'ava';
import { runSimulation } from './simulation.ts';

test('liveness (fixed): a replica promoted to voter in an entry it has not received yet still grants votes, so a leader is elected', (t) => {
  // r4 leads t3 and proposes removing itself (index 156) after r1 and r2 were promoted to voters in entries
  // they never received (they lag at 122 and 110 and still see themselves as learners). Voters per 156 are
  // r1, r2, r3, r5: r3 and r5 need a third vote, but onRequestVote grants only if isVoter(own config), so
  // r1 and r2 refused, r4 no longer campaigned, and the cluster never elected again (etcd-io/etcd#10998).
  // Fixed in actors/raft/election.ts: a replica answers vote requests whatever its own configuration says.
  const result = runSimulation({ seed: 700010, nodes: 5, steps: 20000 });
  t.log(result.violation === null ? 'passed' : `${result.violation.invariant}: ${result.violation.detail.slice(0, 400)}\n  replay: ${result.replay}`);
  t.true(result.ok);
});
