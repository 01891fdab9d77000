/**
 * Throughput of the consensus core alone (no disk, no network): a cluster
 * of cores over an in-memory FIFO, a leader taking proposals in bursts.
 * Prints figures; asserts nothing. Run: npx tsx test/scenarios/bench-core.ts
 */
import { SimulatedClock } from 'xstate';
import { createRaftActor, viewOf, DEFAULT_LIMITS, DEFAULT_TIMING } from '../../actors/raft/index.ts';
import type { Message, RaftActor } from '../../actors/raft/index.ts';

/** Proposals per measured run: enough for a stable rate, small enough to run in seconds. */
const PROPOSALS = Number(process.env.BENCH_PROPOSALS ?? 20_000);
/** Proposals sent before the messages they cause are delivered (models a busy leader). */
const BURST = 64;
const PAYLOAD_BYTES = 200;

function bench(size: number): void {
  const ids = Array.from({ length: size }, (_, i) => `r${i + 1}`);
  const clock = new SimulatedClock();
  const queue: Message[] = [];
  let steps = 0;
  let readies = 0;
  const actors = new Map<string, RaftActor>();
  ids.forEach((id, i) => {
    const actor = createRaftActor(
      { id, hardState: { term: 0, votedFor: null }, snapshot: { index: 0, term: 0, config: { voters: ids, learners: [] } }, entries: [], commitIndex: 0, timing: DEFAULT_TIMING, limits: DEFAULT_LIMITS, seed: i + 1 },
      { clock },
    );
    actor.on('ready', (e) => {
      readies += 1;
      queue.push(...e.ready.messages);
    });
    actor.start();
    actors.set(id, actor);
  });
  const pump = () => {
    while (queue.length > 0) {
      const m = queue.shift()!;
      steps += 1;
      actors.get(m.to)!.send({ type: 'message', message: m });
    }
  };
  for (let t = 0; t < 2000 && ![...actors.values()].some((a) => viewOf(a.getSnapshot()).role === 'leader'); t += 10) {
    clock.increment(10);
    pump();
  }
  const leader = [...actors.values()].find((a) => viewOf(a.getSnapshot()).role === 'leader')!;
  const data = new Uint8Array(PAYLOAD_BYTES);
  steps = 0;
  readies = 0;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < PROPOSALS; i += BURST) {
    for (let j = 0; j < BURST; j += 1) leader.send({ type: 'propose', id: `p${i + j}`, data });
    steps += BURST;
    pump();
  }
  const ms = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const commit = viewOf(leader.getSnapshot()).commitIndex;
  console.log(
    `${size} replicas: ${PROPOSALS} proposals of ${PAYLOAD_BYTES} B in bursts of ${BURST}: ${ms.toFixed(0)} ms, ` +
      `${Math.round((PROPOSALS / ms) * 1000)} proposals/s; CPU ${cpuMs.toFixed(0)} ms = ${Math.round((PROPOSALS / cpuMs) * 1000)} proposals per CPU-second, ` +
      `${steps} steps (${((cpuMs * 1000) / steps).toFixed(1)} CPU-µs/step), ${readies} Readies, commit ${commit}`,
  );
}

for (const size of [3, 5]) bench(size);
