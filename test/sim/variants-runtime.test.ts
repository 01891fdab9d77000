// The harness must be able to fail (the runtime): each deliberately broken
// runtime or store (an UNSAFE option only the simulation sets) is caught
// within a bounded number of seeds. The bounds are about twice what the
// variant needed when written (docs/simulation.md, "Broken variants").
import test from 'ava';
import { huntForViolation, type Hunt } from './ci-batch.ts';
import type { InvariantName } from './invariants.ts';

const hunts: readonly (Hunt & { readonly title: string; readonly expected: readonly InvariantName[] })[] = [
  {
    title: '(a) a follower that acknowledges an append before it is durable is caught',
    variant: 'ackBeforeDurable',
    nodes: [3, 5, 7],
    steps: 400,
    maxSeeds: 30,
    expected: ['commit without quorum', 'acknowledged write lost', 'leader completeness', 'state machine safety', 'log matching'],
  },
  {
    title: '(b) a replica that replies to a write before its entry is applied is caught',
    variant: 'replyBeforeApply',
    nodes: [3, 5, 7],
    steps: 400,
    maxSeeds: 30,
    expected: ['linearizability', 'acknowledged write lost'],
  },
  {
    title: '(c) a follower that serves a read without the read index is caught as non-linearizable',
    variant: 'readWithoutReadIndex',
    nodes: [3, 5, 7],
    steps: 400,
    maxSeeds: 60,
    expected: ['linearizability'],
  },
  {
    title: '(d) a store whose apply is not atomic with appliedIndex applies an entry twice after a crash, and is caught',
    variant: 'nonAtomicApply',
    nodes: [3],
    steps: 400,
    maxSeeds: 200,
    expected: ['state machine safety', 'exactly once'],
  },
];

for (const hunt of hunts) {
  test(hunt.title, async (t) => {
    const { result, seedsRun, otherFailures } = await huntForViolation(hunt);
    for (const other of otherFailures) t.log(`(not a safety violation) ${other.violation?.invariant}: ${other.replay}`);
    t.truthy(result, `no safety violation in ${seedsRun} seeds`);
    t.true(hunt.expected.includes(result!.violation!.invariant), result!.violation!.invariant);
    t.log(`found after ${seedsRun} seeds: ${result!.violation!.invariant}: ${result!.violation!.detail}\n  replay: ${result!.replay}`);
  });
}
