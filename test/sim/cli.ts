/**
 * `npm run sim -- ...`: run the deterministic simulation over one seed or many.
 *
 *   npm run sim -- --seed 123456 --nodes 5 --steps 400 [--variant quorumOverReachable] [--trace]
 *   npm run sim -- --seeds 500 [--start 1] [--nodes 3,5,7] [--steps 400]
 *
 * Exit code 1 when any seed fails; each failure prints one command that replays it.
 */
import { Command } from 'commander';
import { z } from 'zod';
import { DISK_MODES } from './disk.ts';
import { MIX_NAMES } from './faults.ts';
import { READ_MODES } from './reads.ts';
import { runSeeds, type SeedRunSummary } from './run-seeds.ts';
import { runSimulation, VARIANT_NAMES, type SimResult } from './simulation.ts';

const optionsSchema = z
  .object({
    seed: z.coerce.number().int().nonnegative().optional(),
    seeds: z.coerce.number().int().positive().optional(),
    start: z.coerce.number().int().nonnegative().default(1),
    nodes: z
      .string()
      .default('3,5,7')
      .transform((text) => text.split(',').map((part) => Number(part.trim())))
      .pipe(z.array(z.number().int().min(1).max(9)).min(1)),
    steps: z.coerce.number().int().nonnegative().default(400),
    variant: z.enum(VARIANT_NAMES as [string, ...string[]]).optional(),
    disk: z.enum(DISK_MODES).default('honest'),
    mix: z.enum(MIX_NAMES).default('swarm'),
    reads: z.enum(READ_MODES).default('correct'),
    trace: z.boolean().default(false),
    quiet: z.boolean().default(false),
  })
  .refine((o) => (o.seed === undefined) !== (o.seeds === undefined), { message: 'give exactly one of --seed N or --seeds COUNT' });

const program = new Command('sim')
  .description('Deterministic simulation of a quorumchat Raft cluster: one seed drives the network, clocks, disks, crashes and clients.')
  .option('--seed <n>', 'run this one seed, verbosely')
  .option('--seeds <count>', 'run this many consecutive seeds')
  .option('--start <n>', 'first seed of --seeds', '1')
  .option('--nodes <list>', 'cluster sizes, comma-separated; seed k uses the k-th in turn', '3,5,7')
  .option('--steps <n>', 'events executed in the fault phase of each seed', '400')
  .option('--variant <name>', `a deliberately broken core: ${VARIANT_NAMES.join(', ')}`)
  .option('--disk <mode>', `simulated disk: ${DISK_MODES.join(', ')}`, 'honest')
  .option('--mix <name>', `fault mix: ${MIX_NAMES.join(', ')}`, 'swarm')
  .option('--reads <mode>', `simulated runtime's reads: ${READ_MODES.join(', ')}`, 'correct')
  .option('--trace', 'with --seed: print the whole trace')
  .option('--quiet', 'print only failures and the summary')
  .parse();

const parsed = optionsSchema.safeParse(program.opts());
if (!parsed.success) {
  process.stderr.write(`sim: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || 'options'}: ${issue.message}`).join('; ')}\n`);
  process.exit(2);
}
const o = parsed.data;
const variant = o.variant as (typeof VARIANT_NAMES)[number] | undefined;

if (o.seed !== undefined) {
  const nodes = o.nodes[0]!;
  const result = runSimulation({ seed: o.seed, nodes, steps: o.steps, variant, disk: o.disk, mix: o.mix, reads: o.reads, keepTrace: o.trace });
  if (result.trace !== null) process.stdout.write(result.trace.join('\n') + '\n');
  printResult(result);
  process.exit(result.ok ? 0 : 1);
} else {
  const summary = runSeeds({
    start: o.start,
    count: o.seeds!,
    nodes: o.nodes,
    steps: o.steps,
    variant,
    disk: o.disk,
    mix: o.mix,
    reads: o.reads,
    onResult: (result) => {
      if (!result.ok) printResult(result);
      else if (!o.quiet) process.stdout.write(`ok   seed ${result.options.seed} (${result.options.nodes} nodes) ${result.stats.acknowledged} acked, recovered in ${result.recoveryMs}ms\n`);
    },
  });
  printSummary(summary);
  process.exit(summary.failed.length === 0 ? 0 : 1);
}

function printResult(result: SimResult): void {
  const { options, stats } = result;
  const head = `seed ${options.seed} (${options.nodes} nodes, ${result.steps}+${result.healSteps} steps, ${result.simTimeMs.toFixed(0)}ms simulated, mix ${result.mix.name})`;
  if (result.ok) {
    process.stdout.write(
      `ok   ${head}\n     trace ${result.traceHash}; ${stats.proposed} proposed, ${stats.acknowledged} acknowledged, ${stats.leaderTerms} leader terms, ` +
        `${stats.crashes} crashes, ${stats.snapshotsTaken} snapshots taken, ${stats.snapshotsInstalled} installed, ${stats.readsServed} reads served, ${stats.configsCommitted} membership changes; recovered ${result.recoveryMs}ms after heal, all caught up ${result.catchUpMs === null ? 'NOT within the bound' : `after ${result.catchUpMs}ms`}\n`,
    );
    return;
  }
  const v = result.violation!;
  process.stdout.write(
    `FAIL ${head}\n     ${v.invariant} violated at step ${v.step}, ${v.timeMs.toFixed(2)}ms: ${v.detail}\n` +
      `     trace tail:\n${v.traceTail.map((line) => `       ${line}`).join('\n')}\n` +
      `     trace ${result.traceHash}\n     replay: ${result.replay}\n`,
  );
}

function printSummary(summary: SeedRunSummary): void {
  const bySize = Object.entries(summary.bySize)
    .map(([size, count]) => `${count}x${size}`)
    .join(' ');
  process.stdout.write(
    `\n${summary.seeds} seeds (${bySize} nodes), ${summary.seeds - summary.failed.length} passed, ${summary.failed.length} failed, ` +
      `in ${(summary.wallMs / 1000).toFixed(1)}s: ${summary.seedsPerSecond.toFixed(1)} seeds/s, ${Math.round(summary.stepsPerSecond)} steps/s; ` +
      `${summary.acknowledged} proposals acknowledged, ${summary.readsServed} linearizable reads served; recovery after heal: median ${summary.recoveryMedianMs}ms, max ${summary.recoveryMaxMs}ms simulated\n`,
  );
  if (summary.laggingSeeds.length > 0) {
    process.stdout.write(`  ${summary.laggingSeeds.length} seeds left a member replica behind the acknowledged writes at the bound (not a failure): ${summary.laggingSeeds.slice(0, 10).join(', ')}\n`);
  }
  for (const failure of summary.failed) process.stdout.write(`  FAIL ${failure.invariant}: ${failure.replay}\n`);
}
