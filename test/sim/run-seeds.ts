/**
 * Run many seeds in a row (the CLI's `--seeds` and the CI tests), timing
 * them and summarizing; seed k of a run uses the k-th cluster size in turn.
 */
import type { InvariantName } from './invariants.ts';
import { runRuntimeSimulation, type RuntimeSimOptions, type RuntimeSimResult } from './runtime-sim.ts';

/** The options every seed of the run shares, and which seeds on which cluster sizes. */
export interface SeedRun extends Omit<RuntimeSimOptions, 'seed' | 'nodes' | 'keepTrace'> {
  readonly start: number;
  readonly count: number;
  readonly nodes: readonly number[];
  /** Stop at the first failing seed (for "how many seeds until the bug shows"). */
  readonly stopAtFirstFailure?: boolean | undefined;
  readonly onResult?: ((result: RuntimeSimResult) => void) | undefined;
}

export interface SeedRunSummary {
  readonly seeds: number;
  readonly bySize: Readonly<Record<number, number>>;
  readonly failed: readonly { readonly seed: number; readonly invariant: InvariantName; readonly detail: string; readonly replay: string }[];
  readonly wallMs: number;
  /** CPU time of this process meanwhile (user + system): on a shared machine, the honest cost. */
  readonly cpuMs: number;
  readonly seedsPerSecond: number;
  readonly stepsPerSecond: number;
  readonly acknowledged: number;
  /** Disks lost (the `wipe` fault), summed over the seeds. */
  readonly wipes: number;
  readonly reads: number;
  /** Core events that carried several proposals (`proposeMany`), over every seed. */
  readonly batchedProposals: number;
}

export async function runSeeds(run: SeedRun): Promise<SeedRunSummary> {
  if (run.nodes.length === 0) throw new RangeError('runSeeds needs at least one cluster size');
  const bySize: Record<number, number> = {};
  const failed: { seed: number; invariant: InvariantName; detail: string; replay: string }[] = [];
  let steps = 0;
  let acknowledged = 0;
  let wipes = 0;
  let reads = 0;
  let batchedProposals = 0;
  let seeds = 0;
  const began = performance.now();
  const cpuBefore = process.cpuUsage();
  for (let k = 0; k < run.count; k++) {
    const seed = run.start + k;
    const nodes = run.nodes[k % run.nodes.length]!;
    const result = await runRuntimeSimulation({ seed, nodes, steps: run.steps, variant: run.variant, coreVariant: run.coreVariant, disk: run.disk, mix: run.mix });
    seeds++;
    bySize[nodes] = (bySize[nodes] ?? 0) + 1;
    steps += result.steps + result.healSteps;
    acknowledged += result.stats.acknowledged;
    wipes += result.stats.wipes;
    reads += result.stats.reads;
    batchedProposals += result.stats.batchedProposals;
    if (result.violation !== null) failed.push({ seed, invariant: result.violation.invariant, detail: result.violation.detail, replay: result.replay });
    run.onResult?.(result);
    if (!result.ok && run.stopAtFirstFailure === true) break;
  }
  const wallMs = performance.now() - began;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    seeds,
    bySize,
    failed,
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    seedsPerSecond: seeds / (wallMs / 1000),
    stepsPerSecond: steps / (wallMs / 1000),
    acknowledged,
    wipes,
    reads,
    batchedProposals,
  };
}
