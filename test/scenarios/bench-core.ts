/**
 * Throughput of the consensus core alone (no disk, no network): a cluster
 * of cores over an in-memory FIFO, a leader taking proposals in bursts,
 * each burst proposed one by one or as one `proposeMany` (as the runtime
 * gathers a turn's proposals). Prints figures; asserts nothing.
 * Run: npx tsx test/scenarios/bench-core.ts
 */
import { viewOf } from '../../actors/raft/index.ts';
import { memCluster } from './mem-cluster.ts';

/** Proposals per measured run: enough for a stable rate, small enough to run in seconds. */
const PROPOSALS = Number(process.env.BENCH_PROPOSALS ?? 20_000);
/** Proposals sent before the messages they cause are delivered (models a busy leader). */
const BURST = 64;
const PAYLOAD_BYTES = 200;

type Mode = 'one by one' | 'proposeMany';

function bench(size: number, mode: Mode): void {
  const ids = Array.from({ length: size }, (_, i) => `r${i + 1}`);
  let steps = 0;
  let readies = 0;
  // Every message sent is delivered (one step each) before the bench reads the counters.
  const c = memCluster(ids, (_, ready) => {
    readies += 1;
    steps += ready.messages.length;
  });
  const leader = c.electLeader();
  const data = new Uint8Array(PAYLOAD_BYTES);
  steps = 0;
  readies = 0;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < PROPOSALS; i += BURST) {
    if (mode === 'proposeMany') leader.send({ type: 'proposeMany', proposals: Array.from({ length: BURST }, (_, j) => ({ id: `p${i + j}`, data })) });
    else for (let j = 0; j < BURST; j += 1) leader.send({ type: 'propose', id: `p${i + j}`, data });
    steps += BURST;
    c.pump();
  }
  const ms = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const commit = viewOf(leader.getSnapshot()).commitIndex;
  console.log(
    `${size} replicas, ${mode}: ${PROPOSALS} proposals of ${PAYLOAD_BYTES} B in bursts of ${BURST}: ${ms.toFixed(0)} ms, ` +
      `${Math.round((PROPOSALS / ms) * 1000)} proposals/s; CPU ${cpuMs.toFixed(0)} ms = ${Math.round((PROPOSALS / cpuMs) * 1000)} proposals per CPU-second, ` +
      `${steps} steps (${((cpuMs * 1000) / steps).toFixed(1)} CPU-µs/step), ${readies} Readies, commit ${commit}`,
  );
}

for (const size of [3, 5]) for (const mode of ['one by one', 'proposeMany'] as const) bench(size, mode);
