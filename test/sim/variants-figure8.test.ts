// The harness must be able to fail (continued): Raft Figure 8, a disk that lies
// about fsync, and a runtime that serves reads from its own state.
import test from 'ava';
import { huntForViolation } from './ci-batch.ts';

test('commitEarlierTermByCount (Raft Figure 8) is caught when new and just-committed leaders die young', (t) => {
  const { result, seedsRun, otherFailures } = huntForViolation({
    variant: 'commitEarlierTermByCount',
    mix: 'crashes',
    nodes: [3],
    steps: 3000,
    maxSeeds: 150,
  });
  for (const other of otherFailures) t.log(`(not a safety violation) ${other.violation?.invariant}: ${other.replay}`);
  t.truthy(result, `no safety violation in ${seedsRun} seeds`);
  t.log(`found after ${seedsRun} seeds: ${result!.violation!.invariant}: ${result!.violation!.detail}\n  replay: ${result!.replay}`);
});

test('a lying disk (acknowledges writes it has not flushed) is caught', (t) => {
  const { result, seedsRun } = huntForViolation({ disk: 'lying', mix: 'swarm', nodes: [3, 5, 7], steps: 1000, maxSeeds: 50 });
  t.truthy(result, `no safety violation in ${seedsRun} seeds`);
  t.log(`found after ${seedsRun} seeds: ${result!.violation!.invariant}: ${result!.violation!.detail}\n  replay: ${result!.replay}`);
});

test('a runtime serving reads from local state, without a read index, is caught as non-linearizable', (t) => {
  const { result, seedsRun } = huntForViolation({ reads: 'local', mix: 'swarm', nodes: [3, 5, 7], steps: 600, maxSeeds: 50 });
  t.truthy(result, `no violation in ${seedsRun} seeds`);
  t.is(result!.violation!.invariant, 'linearizability');
  t.log(`found after ${seedsRun} seeds: ${result!.violation!.detail}\n  replay: ${result!.replay}`);
});
