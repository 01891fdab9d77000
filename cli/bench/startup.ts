/**
 * Replica start-up and idle memory, compiled (dist/) against tsx: the figures
 * behind the compiled build (docs/notebook.md, "Compiled build"). For each
 * runtime it starts a five-replica cluster as `up` does and records
 *   - the cluster start: spawn of the replicas → a leader elected and settled;
 *   - restarts: a follower stopped cleanly, then spawn → its first answer on
 *     its status subject (what failover catch-up and `restart` wait for);
 *   - idle RSS of every replica after IDLE_SETTLE_MS with no load.
 * Prints figures; asserts nothing.
 *
 *   node --import tsx cli/bench/startup.ts [--restarts 5]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { isBuildFresh } from '../build/freshness.mjs';
import { DEFAULT_PREFIX } from '../../config/defaults.ts';
import { replicaIdsFor } from '../options.ts';
import { queryReplicaStatus } from '../supervisor/cluster-status.ts';
import { EXIT_WITH_PARENT_PRELOAD, QUORUMCHAT_BIN } from '../supervisor/cluster-supervisor.ts';
import { LocalCluster } from '../supervisor/local-cluster.ts';
import { findFreePort } from '../supervisor/nats-server.ts';
import { median } from './figures.ts';
import { readRss } from './proc.ts';

/** Long enough for start-up garbage to be collected and the heap to settle; a replica is then idle (heartbeats only). */
const IDLE_SETTLE_MS = 15_000;
/** Status polls while a replica starts: fine enough for figures of hundreds of ms. */
const POLL_INTERVAL_MS = 20;
const POLL_TIMEOUT_MS = 200;
/** A replica that has not answered in this long is broken, not slow. */
const START_GIVE_UP_MS = 120_000;
/** Between restarts, so the cluster is quiet again. */
const BETWEEN_RESTARTS_MS = 1_000;

const Args = z.object({ restarts: z.coerce.number().int().min(1).max(50).default(5) });

type Runtime = 'tsx' | 'compiled';

interface RuntimeFigures {
  readonly runtime: Runtime;
  readonly clusterStartMs: number;
  readonly restartMs: readonly number[];
  readonly idleRssMiB: readonly number[];
}

const flags = process.argv.slice(2);
const at = flags.indexOf('--restarts');
const args = Args.parse({ restarts: at >= 0 ? flags[at + 1] : undefined });
const root = fileURLToPath(new URL('../..', import.meta.url));
if (!isBuildFresh(root)) {
  process.stderr.write('startup: dist/ is not current; run `npm run build` first (the compiled figures must be of these sources)\n');
  process.exit(3);
}
const results: RuntimeFigures[] = [];
for (const runtime of ['tsx', 'compiled'] as const) results.push(await measure(runtime, args.restarts));
for (const r of results) {
  const rss = r.idleRssMiB;
  process.stdout.write(
    `${r.runtime.padEnd(8)}  cluster start ${(r.clusterStartMs / 1000).toFixed(1)} s;  ` +
      `restart → status answer median ${median(r.restartMs).toFixed(0)} ms (min ${Math.min(...r.restartMs).toFixed(0)}, max ${Math.max(...r.restartMs).toFixed(0)}, n ${r.restartMs.length});  ` +
      `idle RSS per replica median ${median(rss).toFixed(0)} MiB (min ${Math.min(...rss).toFixed(0)}, max ${Math.max(...rss).toFixed(0)})\n`,
  );
}

async function measure(runtime: Runtime, restarts: number): Promise<RuntimeFigures> {
  const dataRoot = mkdtempSync(join(tmpdir(), `quorumchat-startup-${runtime}-`));
  // `env` execs node in place, so the supervisor's pid is the replica's; the bin then honours QUORUMCHAT_RUNTIME.
  const launcher =
    runtime === 'tsx'
      ? { command: '/usr/bin/env', args: ['QUORUMCHAT_RUNTIME=tsx', process.execPath, '--import', EXIT_WITH_PARENT_PRELOAD, QUORUMCHAT_BIN] }
      : undefined;
  const ids = replicaIdsFor(5);
  const t0 = performance.now();
  const { cluster } = await LocalCluster.start({
    dataRoot,
    replicaIds: ids,
    port: await findFreePort(),
    prefix: DEFAULT_PREFIX,
    ...(launcher !== undefined ? { launcher } : {}),
    onProgress: (line) => process.stderr.write(`startup ${runtime}: ${line}\n`),
  });
  const clusterStartMs = performance.now() - t0;
  try {
    process.stderr.write(`startup ${runtime}: cluster up in ${(clusterStartMs / 1000).toFixed(1)} s; idle for ${IDLE_SETTLE_MS / 1000} s\n`);
    await sleep(IDLE_SETTLE_MS);
    const rss = readRss(new Map(cluster.supervisor.list().flatMap((r) => (r.pid === null ? [] : [[r.id, r.pid] as const]))));
    const idleRssMiB = [...rss.values()].map((kib) => kib / 1_024);
    const restartMs: number[] = [];
    for (let i = 0; i < restarts; i++) {
      // A follower: restarting the leader would time an election too.
      const status = await Promise.all(ids.map((id) => queryReplicaStatus(cluster.nc, cluster.prefix, id)));
      const follower = status.find((s) => 'status' in s && s.status.role === 'follower')?.id ?? ids[i % ids.length]!;
      await cluster.supervisor.stop(follower);
      const started = performance.now();
      cluster.supervisor.start(follower);
      for (;;) {
        const answer = await queryReplicaStatus(cluster.nc, cluster.prefix, follower, POLL_TIMEOUT_MS);
        if ('status' in answer) break;
        if (performance.now() - started > START_GIVE_UP_MS) throw new Error(`${follower} did not answer within ${START_GIVE_UP_MS / 1000} s`);
        await sleep(POLL_INTERVAL_MS);
      }
      restartMs.push(performance.now() - started);
      process.stderr.write(`startup ${runtime}: ${follower} answered ${restartMs.at(-1)!.toFixed(0)} ms after its spawn\n`);
      await sleep(BETWEEN_RESTARTS_MS);
    }
    return { runtime, clusterStartMs, restartMs, idleRssMiB };
  } finally {
    await cluster.stop();
    rmSync(dataRoot, { recursive: true, force: true });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
