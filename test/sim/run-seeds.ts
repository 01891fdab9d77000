/**
 * Run many seeds in a row (the CLI's `--seeds` and the CI tests), timing
 * them and summarizing; seed k of a run uses the k-th cluster size in turn.
 */
import type { DiskMode } from './disk.ts';
import type { MixName } from './faults.ts';
import type { ReadMode } from './reads.ts';
import type { InvariantName } from './invariants.ts';
import { runSimulation, type SimResult, type VariantName } from './simulation.ts';

export interface SeedRun {
  readonly start: number;
  readonly count: number;
  readonly nodes: readonly number[];
  readonly steps: number;
  readonly variant?: VariantName | undefined;
  readonly disk?: DiskMode | undefined;
  readonly mix?: MixName | undefined;
  readonly reads?: ReadMode | undefined;
  /** Stop at the first failing seed (for "how many seeds until the bug shows"). */
  readonly stopAtFirstFailure?: boolean | undefined;
  readonly onResult?: ((result: SimResult) => void) | undefined;
}

export interface SeedRunSummary {
  readonly seeds: number;
  readonly bySize: Readonly<Record<number, number>>;
  readonly failed: readonly { readonly seed: number; readonly invariant: InvariantName; readonly detail: string; readonly replay: string }[];
  readonly wallMs: number;
  readonly seedsPerSecond: number;
  readonly stepsPerSecond: number;
  readonly acknowledged: number;
  readonly readsServed: number;
  readonly recoveryMedianMs: number | null;
  readonly recoveryMaxMs: number | null;
  /** Seeds where some member replica had not applied every acknowledged proposal within the liveness bound. */
  readonly laggingSeeds: readonly number[];
}

export function runSeeds(run: SeedRun): SeedRunSummary {
  if (run.nodes.length === 0) throw new RangeError('runSeeds needs at least one cluster size');
  const bySize: Record<number, number> = {};
  const failed: { seed: number; invariant: InvariantName; detail: string; replay: string }[] = [];
  const recoveries: number[] = [];
  const laggingSeeds: number[] = [];
  let steps = 0;
  let acknowledged = 0;
  let readsServed = 0;
  let seeds = 0;
  const began = performance.now();
  for (let k = 0; k < run.count; k++) {
    const seed = run.start + k;
    const nodes = run.nodes[k % run.nodes.length]!;
    const result = runSimulation({ seed, nodes, steps: run.steps, variant: run.variant, disk: run.disk, mix: run.mix, reads: run.reads });
    seeds++;
    bySize[nodes] = (bySize[nodes] ?? 0) + 1;
    steps += result.steps + result.healSteps;
    acknowledged += result.stats.acknowledged;
    readsServed += result.stats.readsServed;
    if (result.recoveryMs !== null) recoveries.push(result.recoveryMs);
    if (result.ok && result.catchUpMs === null) laggingSeeds.push(seed);
    if (result.violation !== null) failed.push({ seed, invariant: result.violation.invariant, detail: result.violation.detail, replay: result.replay });
    run.onResult?.(result);
    if (!result.ok && run.stopAtFirstFailure === true) break;
  }
  const wallMs = performance.now() - began;
  recoveries.sort((a, b) => a - b);
  return {
    seeds,
    bySize,
    failed,
    wallMs,
    seedsPerSecond: seeds / (wallMs / 1000),
    stepsPerSecond: steps / (wallMs / 1000),
    acknowledged,
    readsServed,
    recoveryMedianMs: recoveries.length === 0 ? null : Math.round(recoveries[Math.floor(recoveries.length / 2)]!),
    recoveryMaxMs: recoveries.length === 0 ? null : Math.round(recoveries.at(-1)!),
    laggingSeeds,
  };
}
