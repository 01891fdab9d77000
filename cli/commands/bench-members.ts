/**
 * `quorumchat bench-members`: the self-healing figures of issue 11 (a
 * voter killed → five healthy voters again; a new replica joining a
 * cluster with many messages → voter, and the longest heartbeat gap
 * meanwhile), on clusters it starts itself as `up` does (cli/bench/
 * membership.ts). A command of its own so `bench` stays as it is.
 *
 * Large counts are seeded (cli/bench/seed.ts): the voters' data directories
 * are built offline through the storage layer before the cluster starts,
 * because real sends load only 500 to 800 messages a second here.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { DEFAULT_PREFIX } from '../../config/defaults.ts';
import { DEFAULT_DEAD_AFTER_MS, DEFAULT_STABLE_AFTER_MS } from '../../actors/monitor/index.ts';
import { runMembershipBench, SEED_ABOVE_MESSAGES, type LoadReport, type MembershipSample } from '../bench/membership.ts';
import { formatTable } from '../format/table.ts';
import { DurationSchema, PrefixSchema, parseFlag } from '../options.ts';

/** Message counts measured by default: an empty chat and the million (seeded). */
const DEFAULT_MESSAGE_COUNTS = '0,1000000';
/**
 * The largest figure. Each replica of a million-message cluster holds
 * about 350 MB (database, snapshot, log) and a run has up to seven: beyond it
 * a small disk fills up, and seeding alone takes minutes.
 */
const MAX_MESSAGES = 1_000_000;
const LOADINGS = ['auto', 'sends', 'seed'] as const;

const MessageCountsSchema = z
  .string()
  .transform((text) => text.split(',').map((s) => Number(s.trim())))
  .pipe(z.array(z.number().int().min(0).max(MAX_MESSAGES)).min(1));
const LoadingSchema = z.enum(LOADINGS);

export function registerBenchMembersCommand(program: Command): void {
  program
    .command('bench-members')
    .description('self-healing figures: voter killed → five healthy voters; --join → voter and the longest heartbeat gap')
    .option('--messages <counts>', 'message counts to measure at, comma-separated, each on a fresh cluster', DEFAULT_MESSAGE_COUNTS)
    .option('--dead-after <duration>', "the monitor's grace period before a silent voter is dead", `${DEFAULT_DEAD_AFTER_MS / 1_000}s`)
    .option('--stable-after <duration>', 'how long a caught-up learner stays so before it may vote', `${DEFAULT_STABLE_AFTER_MS / 1_000}s`)
    .option('--load <how>', `how the messages get there: sends (real sends through the cluster), seed (data directories built offline through the storage layer), auto (seed above ${SEED_ABOVE_MESSAGES})`, 'auto')
    .option('--prefix <prefix>', 'subject prefix of the clusters it starts', DEFAULT_PREFIX)
    .option('--json', 'print JSON instead of a table', false)
    .option('--keep-data', 'keep the data directories and logs', false)
    .addHelpText('after', `\nSeeded counts: every voter's data directory is built before the cluster starts, through the production store and chat state machine (not the network), with the log compacted into a snapshot; see docs/operators.md.` +
      '\n\nExamples:\n  quorumchat bench-members\n  quorumchat bench-members --messages 0,20000 --dead-after 5s --stable-after 2s\n  quorumchat bench-members --messages 100000 --load sends')
    .action(async (raw: Record<string, unknown>) => {
      const samples = await runMembershipBench({
        messageCounts: parseFlag('messages', MessageCountsSchema, raw['messages']),
        deadAfterMs: parseFlag('dead-after', DurationSchema, raw['deadAfter']),
        stableAfterMs: parseFlag('stable-after', DurationSchema, raw['stableAfter']),
        loading: parseFlag('load', LoadingSchema, raw['load']),
        prefix: parseFlag('prefix', PrefixSchema, raw['prefix']),
        keepData: raw['keepData'] === true,
        progress: (line) => process.stderr.write(`${line}\n`),
      });
      process.stdout.write((raw['json'] === true ? JSON.stringify(samples, null, 2) : formatSamples(samples)) + '\n');
    });
}

export function formatSamples(samples: readonly MembershipSample[]): string {
  return formatTable(
    [
      { header: 'messages', value: (s: MembershipSample) => s.messages, align: 'right' },
      { header: 'loaded', value: (s) => describeLoad(s.load), align: 'right' },
      { header: 'killed → 5 healthy voters', value: (s) => `${(s.healMs / 1_000).toFixed(1)} s (${s.killed} → ${s.replacement ?? '?'})`, align: 'right' },
      { header: 'join → voter', value: (s) => `${(s.joinToVoterMs / 1_000).toFixed(1)} s`, align: 'right' },
      { header: 'joiner snapshot', value: (s) => s.joinerSnapshotIndex, align: 'right' },
      { header: 'longest heartbeat gap', value: (s) => `${s.longestGapAfterMs} ms (before join ${s.longestGapBeforeMs}, loaded ${s.longestGapLoadedMs})`, align: 'right' },
    ],
    samples,
  );
}

function describeLoad(load: LoadReport): string {
  const seconds = (ms: number): string => `${(ms / 1_000).toFixed(1)} s`;
  if (load.how === 'sends') return `sent in ${seconds(load.ms)}`;
  return `seeded in ${seconds(load.ms)} + ${seconds(load.copyMs)} copies; snapshot ${(load.snapshotBytes / 2 ** 20).toFixed(0)} MiB`;
}
