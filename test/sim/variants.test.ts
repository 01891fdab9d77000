// The harness must be able to fail: each deliberately broken core variant is
// caught within a bounded number of seeds, with the fault mix aimed at it,
// running under the real replica runtime.
import test from 'ava';
import { huntForViolation, type Hunt } from './ci-batch.ts';

const hunts: readonly (Hunt & { readonly title: string })[] = [
  {
    title: 'quorumOverReachable (a minority leader commits) is caught under partitions',
    coreVariant: 'quorumOverReachable',
    mix: 'partitions',
    nodes: [3, 5, 7],
    steps: 1000,
    maxSeeds: 150,
  },
  {
    title: 'ignoreDataIds (a wiped disk votes and counts under its old id) is caught when disks are lost',
    coreVariant: 'ignoreDataIds',
    mix: 'wipes',
    nodes: [3, 5],
    steps: 1000,
    maxSeeds: 150,
  },
  {
    title: 'voteWithoutLogCheck (a stale replica wins an election) is caught under election churn',
    coreVariant: 'voteWithoutLogCheck',
    mix: 'elections',
    nodes: [3, 5, 7],
    steps: 1000,
    maxSeeds: 150,
  },
];

for (const hunt of hunts) {
  test(hunt.title, async (t) => {
    const { result, seedsRun, otherFailures } = await huntForViolation(hunt);
    for (const other of otherFailures) t.log(`(not a safety violation) ${other.violation?.invariant}: ${other.replay}`);
    t.truthy(result, `no safety violation in ${seedsRun} seeds`);
    t.log(`found after ${seedsRun} seeds: ${result!.violation!.invariant}: ${result!.violation!.detail}\n  replay: ${result!.replay}`);
  });
}
