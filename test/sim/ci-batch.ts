/**
 * Shared by the CI simulation tests: run a batch of seeds, print the figures,
 * and fail with every failing seed's replay command.
 */
import type { ExecutionContext } from 'ava';
import type { DiskMode } from './disk.ts';
import type { MixName } from './faults.ts';
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

export function assertBatchPasses(t: ExecutionContext, batch: Batch): void {
  const summary = runSeeds({ ...batch, start: batch.start + SEED_OFFSET });
  t.log(
    `${summary.seeds} seeds of ${batch.steps} steps (${batch.mix ?? 'swarm'}, nodes ${batch.nodes.join(',')}): ` +
      `${summary.seedsPerSecond.toFixed(1)} seeds/s, ${Math.round(summary.stepsPerSecond)} steps/s, ${summary.acknowledged} proposals acknowledged, ` +
      `recovery median ${summary.recoveryMedianMs}ms max ${summary.recoveryMaxMs}ms`,
  );
  for (const failure of summary.failed) t.log(`FAIL ${failure.invariant}: ${failure.detail}\n  replay: ${failure.replay}`);
  t.is(summary.failed.length, 0, `failing seeds: ${summary.failed.map((f) => f.replay).join(' ; ')}`);
  t.is(summary.seeds, batch.count);
}

export interface Hunt {
  readonly variant?: VariantName;
  readonly disk?: DiskMode;
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
