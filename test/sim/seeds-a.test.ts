// CI: the real replica runtime under swarm faults over many seeds (part a of 3; ava runs the files on both cores, the batches of one file in turn).
import test from 'ava';
import { assertBatchPasses, describeBatch, swarmBatches } from './ci-batch.ts';

for (const batch of swarmBatches(1)) test.serial(describeBatch(batch), async (t) => await assertBatchPasses(t, batch));
