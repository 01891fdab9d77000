// The harness must be able to fail (continued): Raft Figure 8 and a disk that
// lies about fsync, under the real replica runtime.
import test from 'ava';
import { huntForViolation } from './ci-batch.ts';

test('commitEarlierTermByCount (Raft Figure 8) is caught when new and just-committed leaders die young', async (t) => {
  const { result, seedsRun, otherFailures } = await huntForViolation({
    coreVariant: 'commitEarlierTermByCount',
    mix: 'crashes',
    nodes: [3],
    steps: 3000,
    maxSeeds: 150,
  });
  for (const other of otherFailures) t.log(`(not a safety violation) ${other.violation?.invariant}: ${other.replay}`);
  t.truthy(result, `no safety violation in ${seedsRun} seeds`);
  t.log(`found after ${seedsRun} seeds: ${result!.violation!.invariant}: ${result!.violation!.detail}\n  replay: ${result!.replay}`);
});

test('a lying disk (acknowledges writes it has not flushed) is caught', async (t) => {
  const { result, seedsRun } = await huntForViolation({ disk: 'lying', nodes: [3, 5, 7], steps: 1000, maxSeeds: 50 });
  t.truthy(result, `no safety violation in ${seedsRun} seeds`);
  t.log(`found after ${seedsRun} seeds: ${result!.violation!.invariant}: ${result!.violation!.detail}\n  replay: ${result!.replay}`);
});
