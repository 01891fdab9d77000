// CI: the real replica runtime under swarm faults over many seeds, plus a targeted mix (part a of 3;
// ava runs the files on both cores, the batches of one file in turn).
import test from 'ava';
import { assertBatchPasses, describeBatch, swarmBatches, type Batch } from './ci-batch.ts';

const batches: Batch[] = [
  ...swarmBatches(1),
  { start: 50_001, count: 30, nodes: [3, 5, 7], steps: 600, mix: 'partitions' },
  // A voter's disk lost under its old id, taken back with join (actors/raft/identity.ts).
  { start: 90_001, count: 60, nodes: [3, 5], steps: 1000, mix: 'wipes' },
];

for (const batch of batches) test.serial(describeBatch(batch), async (t) => await assertBatchPasses(t, batch));
