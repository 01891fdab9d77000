/**
 * `npm run sim -- ...`: run the deterministic simulation of the real replica
 * runtime over one seed or many.
 *
 *   npm run sim -- --seed 123456 --nodes 5 --steps 400 [--variant replyBeforeApply] [--trace]
 *   npm run sim -- --seeds 500 [--start 1] [--nodes 3,5,7] [--steps 400]
 *
 * Exit code 1 when any seed fails; each failure prints one command that replays it.
 */
import { Command } from 'commander';
import { z } from 'zod';
import { MIX_NAMES } from './faults.ts';
import { runSeeds, type SeedRunSummary } from './run-seeds.ts';
import { CORE_VARIANTS, runRuntimeSimulation, RUNTIME_VARIANTS, type CoreVariant, type RuntimeSimResult, type RuntimeVariant } from './runtime-sim.ts';

const VARIANTS = [...RUNTIME_VARIANTS, ...CORE_VARIANTS] as const;

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
    variant: z.enum(VARIANTS).optional(),
    disk: z.enum(['honest', 'lying']).default('honest'),
    mix: z.enum(MIX_NAMES).default('swarm'),
    trace: z.boolean().default(false),
    quiet: z.boolean().default(false),
  })
  .refine((o) => (o.seed === undefined) !== (o.seeds === undefined), { message: 'give exactly one of --seed N or --seeds COUNT' });

const program = new Command('sim')
  .description('Deterministic simulation of a quorumchat cluster running the real replica runtime: one seed drives the network, clocks, disks, crashes and clients.')
  .option('--seed <n>', 'run this one seed, verbosely')
  .option('--seeds <count>', 'run this many consecutive seeds')
  .option('--start <n>', 'first seed of --seeds', '1')
  .option('--nodes <list>', 'cluster sizes, comma-separated; seed k uses the k-th in turn', '3,5,7')
  .option('--steps <n>', 'events executed in the fault phase of each seed', '400')
  .option('--variant <name>', `a deliberately broken runtime, store or core: ${VARIANTS.join(', ')}`)
  .option('--disk <mode>', 'simulated disk: honest, lying', 'honest')
  .option('--mix <name>', `fault mix: ${MIX_NAMES.join(', ')}`, 'swarm')
  .option('--trace', 'with --seed: print the whole trace')
  .option('--quiet', 'print only failures and the summary')
  .parse();

const parsed = optionsSchema.safeParse(program.opts());
if (!parsed.success) {
  process.stderr.write(`sim: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || 'options'}: ${issue.message}`).join('; ')}\n`);
  process.exit(2);
}
const o = parsed.data;
const variant = (RUNTIME_VARIANTS as readonly string[]).includes(o.variant ?? '') ? (o.variant as RuntimeVariant) : undefined;
const coreVariant = (CORE_VARIANTS as readonly string[]).includes(o.variant ?? '') ? (o.variant as CoreVariant) : undefined;

if (o.seed !== undefined) {
  const result = await runRuntimeSimulation({ seed: o.seed, nodes: o.nodes[0]!, steps: o.steps, variant, coreVariant, disk: o.disk, mix: o.mix, keepTrace: o.trace });
  if (result.trace !== null) process.stdout.write(result.trace.join('\n') + '\n');
  printResult(result);
  process.exit(result.ok ? 0 : 1);
} else {
  const summary = await runSeeds({
    start: o.start,
    count: o.seeds!,
    nodes: o.nodes,
    steps: o.steps,
    variant,
    coreVariant,
    disk: o.disk,
    mix: o.mix,
    onResult: (result) => {
      if (!result.ok) printResult(result);
      else if (!o.quiet) process.stdout.write(`ok   seed ${result.options.seed} (${result.options.nodes} nodes) ${result.stats.acknowledged} sends acknowledged, ${result.stats.reads} reads\n`);
    },
  });
  printSummary(summary);
  process.exit(summary.failed.length === 0 ? 0 : 1);
}

function printResult(result: RuntimeSimResult): void {
  const { options, stats } = result;
  const head = `seed ${options.seed} (${options.nodes} nodes, ${result.steps}+${result.healSteps} steps, ${result.simTimeMs.toFixed(0)}ms simulated, mix ${options.mix ?? 'swarm'})`;
  if (result.ok) {
    process.stdout.write(
      `ok   ${head}\n     trace ${result.traceHash}; ${stats.sends} sends, ${stats.acknowledged} acknowledged, ${stats.reads} reads, ${stats.leaderTerms} leader terms, ${stats.crashes} crashes, ${stats.batchedProposals} multi-proposal core events\n`,
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
      `in ${(summary.wallMs / 1000).toFixed(1)}s (${(summary.cpuMs / 1000).toFixed(1)}s CPU): ${summary.seedsPerSecond.toFixed(1)} seeds/s, ` +
      `${(summary.seeds / Math.max(summary.cpuMs / 1000, Number.EPSILON)).toFixed(1)} seeds per CPU-second, ${Math.round(summary.stepsPerSecond)} steps/s; ` +
      `${summary.acknowledged} sends acknowledged, ${summary.reads} linearizable reads checked, ${summary.batchedProposals} multi-proposal core events\n`,
  );
  for (const failure of summary.failed) process.stdout.write(`  FAIL ${failure.invariant}: ${failure.replay}\n`);
}
