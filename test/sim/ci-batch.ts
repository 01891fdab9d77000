/**
 * Shared by the CI simulation tests: run a batch of seeds, print the figures,
 * and fail with every failing seed's replay command.
 */
import type { ExecutionContext } from 'ava';
import type { DiskMode } from './disk.ts';
import type { MixName } from './faults.ts';
import type { ReadMode } from './reads.ts';
import { runSeeds } from './run-seeds.ts';
import { runSimulation, type SimResult, type VariantName } from './simulation.ts';

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
const SWARM_SEEDS_PER_TEST = 85;
/** Swarm tests per CI file. */
const SWARM_TESTS_PER_FILE = 4;

/** One CI file's share of the swarm seeds: 4 batches of 85 seeds of 400 steps over 3/5/7 replicas. */
export function swarmBatches(firstSeed: number): Batch[] {
  return Array.from({ length: SWARM_TESTS_PER_FILE }, (_, k) => ({
    start: firstSeed + k * SWARM_SEEDS_PER_TEST,
    count: SWARM_SEEDS_PER_TEST,
    nodes: [3, 5, 7],
    steps: 400,
  }));
}

export function describeBatch(batch: Batch): string {
  return `${batch.mix ?? 'swarm'} faults on ${batch.nodes.join('/')} replicas, seeds ${batch.start}..${batch.start + batch.count - 1}, ${batch.steps} steps each`;
}

export function assertBatchPasses(t: ExecutionContext, batch: Batch): void {
  const summary = runSeeds({ ...batch, start: batch.start + SEED_OFFSET });
  t.log(
    `${summary.seeds} seeds of ${batch.steps} steps (${batch.mix ?? 'swarm'}, nodes ${batch.nodes.join(',')}): ` +
      `${summary.seedsPerSecond.toFixed(1)} seeds/s, ${Math.round(summary.stepsPerSecond)} steps/s, ${summary.acknowledged} proposals acknowledged, ${summary.readsServed} reads served, ` +
      `recovery median ${summary.recoveryMedianMs}ms max ${summary.recoveryMaxMs}ms`,
  );
  for (const failure of summary.failed) t.log(`FAIL ${failure.invariant}: ${failure.detail}\n  replay: ${failure.replay}`);
  t.is(summary.failed.length, 0, `failing seeds: ${summary.failed.map((f) => f.replay).join(' ; ')}`);
  t.is(summary.seeds, batch.count);
}

export interface Hunt {
  readonly variant?: VariantName;
  readonly disk?: DiskMode;
  readonly reads?: ReadMode;
  readonly mix: MixName;
  readonly nodes: readonly number[];
  readonly steps: number;
  /** Give up after this many seeds. */
  readonly maxSeeds: number;
}

const SAFETY_ONLY = new Set(['liveness', 'harness error', 'core crashed']);

/** Run seeds from 1 until one violates a safety invariant; returns it and how many seeds it took. */
export function huntForViolation(hunt: Hunt): { result: SimResult | null; seedsRun: number; otherFailures: SimResult[] } {
  const otherFailures: SimResult[] = [];
  for (let k = 0; k < hunt.maxSeeds; k++) {
    const result = runSimulation({
      seed: k + 1 + SEED_OFFSET,
      nodes: hunt.nodes[k % hunt.nodes.length]!,
      steps: hunt.steps,
      variant: hunt.variant,
      disk: hunt.disk,
      reads: hunt.reads,
      mix: hunt.mix,
    });
    if (result.violation === null) continue;
    if (SAFETY_ONLY.has(result.violation.invariant)) {
      otherFailures.push(result);
      continue;
    }
    return { result, seedsRun: k + 1, otherFailures };
  }
  return { result: null, seedsRun: hunt.maxSeeds, otherFailures };
}
