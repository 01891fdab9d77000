/**
 * Shared by the CI simulation tests: run a batch of seeds, print the figures,
 * and fail with every failing seed's replay command.
 */
import type { ExecutionContext } from 'ava';
import type { MixName } from './faults.ts';
import { runSeeds } from './run-seeds.ts';
import { runRuntimeSimulation, type CoreVariant, type RuntimeSimResult, type RuntimeVariant } from './runtime-sim.ts';

/** Shifts every CI seed (e.g. SIM_SEED_OFFSET=100000 explores new seeds); failures still print exact replay commands. */
export const SEED_OFFSET = Number(process.env.SIM_SEED_OFFSET ?? 0);

export interface Batch {
  readonly start: number;
  readonly count: number;
  readonly nodes: readonly number[];
  readonly steps: number;
  readonly mix?: MixName;
}

/** Swarm seeds per CI test: small enough that each test reports within ava's timeout on a loaded machine. */
const SWARM_SEEDS_PER_TEST = 84;
/** Swarm tests per CI file (three files: 3 × 4 × 84 = 1,008 seeds). */
const SWARM_TESTS_PER_FILE = 4;
/** Fault-phase steps of a CI seed: with the heal phase, a few simulated seconds of a real runtime per seed. */
export const CI_STEPS = 200;

/** One CI file's share of the swarm seeds: 4 batches of 84 seeds over 3/5/7 replicas. */
export function swarmBatches(firstSeed: number): Batch[] {
  return Array.from({ length: SWARM_TESTS_PER_FILE }, (_, k) => ({
    start: firstSeed + k * SWARM_SEEDS_PER_TEST,
    count: SWARM_SEEDS_PER_TEST,
    nodes: [3, 5, 7],
    steps: CI_STEPS,
  }));
}

export function describeBatch(batch: Batch): string {
  return `real runtime, ${batch.mix ?? 'swarm'} faults on ${batch.nodes.join('/')} replicas, seeds ${batch.start}..${batch.start + batch.count - 1}, ${batch.steps} steps each`;
}

export async function assertBatchPasses(t: ExecutionContext, batch: Batch): Promise<void> {
  const summary = await runSeeds({ ...batch, start: batch.start + SEED_OFFSET });
  t.log(
    `${summary.seeds} seeds of ${batch.steps} steps (${batch.mix ?? 'swarm'}, nodes ${batch.nodes.join(',')}): ` +
      `${summary.seedsPerSecond.toFixed(1)} seeds/s (${(summary.cpuMs / 1000).toFixed(1)} s CPU), ${Math.round(summary.stepsPerSecond)} steps/s, ${summary.acknowledged} sends acknowledged, ${summary.reads} reads` +
      (summary.wipes > 0 ? `, ${summary.wipes} disks wiped` : ''),
  );
  // A wipes batch in which no disk was lost would test nothing it claims to.
  if (batch.mix === 'wipes') t.true(summary.wipes > 0, 'no seed of the batch wiped a disk');
  for (const failure of summary.failed) t.log(`FAIL ${failure.invariant}: ${failure.detail}\n  replay: ${failure.replay}`);
  t.is(summary.failed.length, 0, `failing seeds: ${summary.failed.map((f) => f.replay).join(' ; ')}`);
  t.is(summary.seeds, batch.count);
}

export interface Hunt {
  readonly variant?: RuntimeVariant;
  readonly coreVariant?: CoreVariant;
  readonly disk?: 'honest' | 'lying';
  readonly mix?: MixName;
  readonly nodes: readonly number[];
  readonly steps: number;
  /** Give up after this many seeds. */
  readonly maxSeeds: number;
}

/** Not safety violations: a broken variant may also stall or stop a replica on the way. */
const NOT_SAFETY = new Set(['liveness', 'harness error', 'core crashed']);

/** Run seeds from 1 until one violates a safety invariant; returns it and how many seeds it took. */
export async function huntForViolation(hunt: Hunt): Promise<{ result: RuntimeSimResult | null; seedsRun: number; otherFailures: RuntimeSimResult[] }> {
  const otherFailures: RuntimeSimResult[] = [];
  for (let k = 0; k < hunt.maxSeeds; k++) {
    const result = await runRuntimeSimulation({
      seed: k + 1 + SEED_OFFSET,
      nodes: hunt.nodes[k % hunt.nodes.length]!,
      steps: hunt.steps,
      variant: hunt.variant,
      coreVariant: hunt.coreVariant,
      disk: hunt.disk,
      mix: hunt.mix,
    });
    if (result.violation === null) continue;
    if (NOT_SAFETY.has(result.violation.invariant)) {
      otherFailures.push(result);
      continue;
    }
    return { result, seedsRun: k + 1, otherFailures };
  }
  return { result: null, seedsRun: hunt.maxSeeds, otherFailures };
}
