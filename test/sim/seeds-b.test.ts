// CI: safety and liveness over many seeds (part b of 3; ava runs the parts on both cores).
import test from 'ava';
import { assertBatchPasses, describeBatch, swarmBatches, type Batch } from './ci-batch.ts';

const batches: Batch[] = [...swarmBatches(341), { start: 60_001, count: 30, nodes: [3, 5, 7], steps: 1000, mix: 'elections' }];

for (const batch of batches) test(describeBatch(batch), (t) => assertBatchPasses(t, batch));
