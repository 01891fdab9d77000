/**
 * Read-index throughput of the consensus core alone (no disk, no network):
 * a cluster of cores over an in-memory FIFO, the leader taking readIndex
 * requests in bursts, every message delivered between bursts. Prints reads/s
 * and heartbeat messages per read; asserts nothing.
 * Run: npx tsx test/scenarios/bench-reads.ts
 */
import { SimulatedClock } from 'xstate';
import { createRaftActor, viewOf, DEFAULT_LIMITS, DEFAULT_TIMING } from '../../actors/raft/index.ts';
import type { Message, RaftActor } from '../../actors/raft/index.ts';

/** Reads per measured run: enough for a stable rate, small enough to run in seconds. */
const READS = Number(process.env.BENCH_READS ?? 20_000);
/** Reads sent before the messages they cause are delivered (models a busy leader). */
const BURST = 64;

function bench(size: number): void {
  const ids = Array.from({ length: size }, (_, i) => `r${i + 1}`);
  const clock = new SimulatedClock();
  const queue: Message[] = [];
  let messages = 0;
  let answered = 0;
  const actors = new Map<string, RaftActor>();
  ids.forEach((id, i) => {
    const actor = createRaftActor(
      { id, hardState: { term: 0, votedFor: null }, snapshot: { index: 0, term: 0, config: { voters: ids, learners: [] } }, entries: [], commitIndex: 0, timing: DEFAULT_TIMING, limits: DEFAULT_LIMITS, seed: i + 1 },
      { clock },
    );
    actor.on('ready', (e) => {
      messages += e.ready.messages.length;
      answered += e.ready.reads.filter((r) => r.ok).length;
      queue.push(...e.ready.messages);
    });
    actor.start();
    actors.set(id, actor);
  });
  const pump = () => {
    while (queue.length > 0) {
      const m = queue.shift()!;
      actors.get(m.to)!.send({ type: 'message', message: m });
    }
  };
  for (let t = 0; t < 2000 && ![...actors.values()].some((a) => viewOf(a.getSnapshot()).role === 'leader'); t += 10) {
    clock.increment(10);
    pump();
  }
  const leader = [...actors.values()].find((a) => viewOf(a.getSnapshot()).role === 'leader')!;
  pump();
  messages = 0;
  answered = 0;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  let sent = 0;
  while (sent < READS) {
    for (let j = 0; j < BURST && sent < READS; j += 1) leader.send({ type: 'readIndex', id: `q${sent++}` });
    pump();
  }
  const ms = performance.now() - start;
  const cpu = process.cpuUsage(cpuStart);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  console.log(
    `${size} replicas: ${sent} reads in bursts of ${BURST}: ${answered} answered, ${ms.toFixed(0)} ms, ` +
      `${Math.round((answered / ms) * 1000)} reads/s; CPU ${cpuMs.toFixed(0)} ms; ${(messages / sent).toFixed(2)} messages per read`,
  );
}

for (const size of [3, 5]) bench(size);
