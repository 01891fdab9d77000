// CI: safety and liveness over many seeds (part c of 3; ava runs the parts on both cores).
import test from 'ava';
import { assertBatchPasses, describeBatch, swarmBatches, type Batch } from './ci-batch.ts';

const batches: Batch[] = [...swarmBatches(681), { start: 70_001, count: 20, nodes: [3, 5], steps: 2000, mix: 'crashes' }];

for (const batch of batches) test(describeBatch(batch), (t) => assertBatchPasses(t, batch));
