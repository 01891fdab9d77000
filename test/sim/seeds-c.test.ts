// CI: the real replica runtime under swarm faults over many seeds, plus a targeted mix (part c of 3;
// ava runs the files on both cores, the batches of one file in turn).
import test from 'ava';
import { assertBatchPasses, describeBatch, swarmBatches, type Batch } from './ci-batch.ts';

const batches: Batch[] = [...swarmBatches(673), { start: 70_001, count: 20, nodes: [3, 5], steps: 1000, mix: 'crashes' }, { start: 80_001, count: 30, nodes: [3, 5, 7], steps: 600, mix: 'membership' }];

for (const batch of batches) test.serial(describeBatch(batch), async (t) => await assertBatchPasses(t, batch));
