/**
 * Read-index throughput of the consensus core alone (no disk, no network):
 * a cluster of cores over an in-memory FIFO, the leader taking readIndex
 * requests in bursts, every message delivered between bursts. Prints reads/s
 * and heartbeat messages per read; asserts nothing.
 * Run: npx tsx test/scenarios/bench-reads.ts
 */
import { memCluster } from './mem-cluster.ts';

/** Reads per measured run: enough for a stable rate, small enough to run in seconds. */
const READS = Number(process.env.BENCH_READS ?? 20_000);
/** Reads sent before the messages they cause are delivered (models a busy leader). */
const BURST = 64;

function bench(size: number): void {
  const ids = Array.from({ length: size }, (_, i) => `r${i + 1}`);
  let messages = 0;
  let answered = 0;
  const c = memCluster(ids, (_, ready) => {
    messages += ready.messages.length;
    answered += ready.reads.filter((r) => r.ok).length;
  });
  const leader = c.electLeader();
  messages = 0;
  answered = 0;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  let sent = 0;
  while (sent < READS) {
    for (let j = 0; j < BURST && sent < READS; j += 1) leader.send({ type: 'readIndex', id: `q${sent++}` });
    c.pump();
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
