/**
 * Peer messages per committed proposal at one writer, the consensus core
 * alone over the in-memory cluster: one proposal at a time, every message
 * delivered before the next, the clock advancing between sends so
 * heartbeats happen at their real rate. Prints messages per send (split
 * into appends, their answers and heartbeat rounds) and how long followers
 * take to learn each commit. Asserts nothing.
 * Run: npx tsx test/scenarios/bench-messages.ts
 */
import { DEFAULT_TIMING, viewOf } from '../../actors/raft/index.ts';
import { countMessages, type MessageCounts } from './message-counts.ts';
import { memCluster } from './mem-cluster.ts';

/** Sends per measured run: enough for heartbeats to average out. */
const SENDS = Number(process.env.BENCH_SENDS ?? 400);
/** Simulated time between sends: a single writer waiting for each reply (a few ms per send on a LAN). */
const SEND_GAP_MS = Number(process.env.BENCH_SEND_GAP_MS ?? 10);
/** The clock's step while waiting for followers to learn a commit. */
const LAG_STEP_MS = 1;

function bench(size: number): void {
  const ids = Array.from({ length: size }, (_, i) => `r${i + 1}`);
  const counts: MessageCounts = countMessages();
  const c = memCluster(ids, (_, ready) => counts.add(ready.messages));
  const leader = c.electLeader();
  c.run(DEFAULT_TIMING.electionMaxMs);
  counts.reset();
  const leaderId = viewOf(leader.getSnapshot()).id;
  const lags: number[] = [];
  let lagging: { index: number; since: number }[] = [];
  let now = 0;
  const data = new Uint8Array(200);
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < SENDS; i += 1) {
    leader.send({ type: 'propose', id: `p${i}`, data });
    c.pump();
    const commit = viewOf(leader.getSnapshot()).commitIndex;
    lagging.push({ index: commit, since: now });
    for (let t = 0; t < SEND_GAP_MS; t += LAG_STEP_MS) {
      const slowest = Math.min(...c.views().filter((v) => v.id !== leaderId).map((v) => v.commitIndex));
      lags.push(...lagging.filter((l) => l.index <= slowest).map((l) => now - l.since));
      lagging = lagging.filter((l) => l.index > slowest);
      c.clock.increment(LAG_STEP_MS);
      now += LAG_STEP_MS;
      c.pump();
    }
  }
  const cpu = process.cpuUsage(cpuStart);
  const cpuMsPerSend = (cpu.user + cpu.system) / 1000 / SENDS;
  const perSend = (n: number) => (n / SENDS).toFixed(2);
  lags.sort((a, b) => a - b);
  const pct = (p: number) => lags[Math.min(lags.length - 1, Math.floor((lags.length * p) / 100))] ?? NaN;
  console.log(
    `${size} replicas, ${SENDS} sends ${SEND_GAP_MS} ms apart (heartbeat ${DEFAULT_TIMING.heartbeatMs} ms): ` +
      `${perSend(counts.total)} messages per send = ${perSend(counts.appends)} appends + ${perSend(counts.appendAnswers)} answers ` +
      `+ ${perSend(counts.commitOnly)} commit-only appends + ${perSend(counts.commitOnlyAnswers)} their answers ` +
      `+ ${perSend(counts.heartbeats)} heartbeats + ${perSend(counts.heartbeatAnswers)} their answers; ` +
      `slowest follower learns a commit after p50 ${pct(50)} ms, p99 ${pct(99)} ms, max ${lags.at(-1) ?? NaN} ms; ` +
      `core CPU ${cpuMsPerSend.toFixed(2)} ms per send (all replicas, with the bench's own checks)`,
  );
}

for (const size of [3, 5]) bench(size);
