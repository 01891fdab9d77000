// CI: safety and liveness over many seeds (part c of 3; the parts run on both cores).
import test from 'ava';
import { assertBatchPasses } from './ci-batch.ts';

const FIRST_SEED = 681;
const SEEDS_PER_TEST = 85;

for (let chunk = 0; chunk < 4; chunk++) {
  const start = FIRST_SEED + chunk * SEEDS_PER_TEST;
  test(`swarm faults on 3/5/7 replicas, seeds ${start}..${start + SEEDS_PER_TEST - 1}, 400 steps each`, (t) => {
    assertBatchPasses(t, { start, count: SEEDS_PER_TEST, nodes: [3, 5, 7], steps: 400 });
  });
}

test('leader-crash mix on 3/5 replicas, 20 seeds of 2000 steps', (t) => {
  assertBatchPasses(t, { start: 70_001, count: 20, nodes: [3, 5], steps: 2000, mix: 'crashes' });
});
