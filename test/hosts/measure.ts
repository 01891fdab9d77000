/**
 * Availability figures across five network-namespace hosts, for
 * docs/notebook.md and issue 9: the healthy ack rate; the ack rate, the
 * fraction of seconds with an ack and the longest gap during a 3|2 split, an
 * isolated leader, one cut route and a non-transitive split; the time to the
 * first ack after each heal (majority side, and every client); failover on
 * clean links and with 2% loss and 40 ms RTT (netem where the kernel has it,
 * the delay relays on the routes otherwise). Each run ends with a Markdown
 * table of the medians over the runs, with the load average. Needs root.
 *
 *   node --import tsx test/hosts/measure.ts                  # the generated nats-server settings
 *   node --import tsx test/hosts/measure.ts --runs 3         # medians of three topologies
 *   node --import tsx test/hosts/measure.ts --fixed-attempts # clients wait their whole 3 s per attempt, as before issue 9
 *   node --import tsx test/hosts/measure.ts --compare        # also nats-server's default pings (2 min × 2)
 *   node --import tsx test/hosts/measure.ts --fault-seconds 15
 *   node --import tsx test/hosts/measure.ts --only isolated,split --ping-interval 500ms --ping-max 2 --write-deadline 1s
 *   node --import tsx test/hosts/measure.ts --tcp-retries2 3   # hosts drop connections after ~3 s unacknowledged (FAST_TCP_RETRIES2)
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { cutLeaderRoute, describeResult, FAULT_MS, isolateLeader, nonTransitive, runScenario, splitThreeTwo, type Fault, type ScenarioResult } from './scenarios.ts';
import { missingPrivilege, Topology, type Host, type TopologyOptions } from './topology.ts';

/** The loss and latency of the lossy run: issue 9's "40 ms RTT, 2% loss". */
const LOSS_PERCENT = 2;
const DELAY_EACH_WAY_MS = 20;
/** nats-server's own defaults, to compare with what `quorumchat nats-config` generates. */
const NATS_DEFAULT_PINGS = { pingInterval: '2m', pingMax: 2 } as const;

type NatsOverrides = NonNullable<TopologyOptions['natsOverrides']>;

type FaultOf = (t: Topology, leader: Host) => Promise<Fault>;

/** The scenarios, in the order run; `lossy` ones run with loss and latency. */
const SCENARIOS: readonly { readonly name: string; readonly fault: FaultOf; readonly lossy: boolean }[] = [
  { name: 'split', fault: splitThreeTwo, lossy: false },
  { name: 'isolated', fault: isolateLeader, lossy: false },
  { name: 'route', fault: cutLeaderRoute, lossy: false },
  { name: 'nontrans', fault: nonTransitive, lossy: false },
  { name: 'lossy', fault: isolateLeader, lossy: true },
];

interface Row {
  readonly name: string;
  readonly result: ScenarioResult;
  /** 1-minute load average when the scenario ended. */
  readonly load: number;
}

async function measureOnce(run: number, faultMs: number, natsOverrides?: NatsOverrides): Promise<Row[]> {
  const tcpRetries2 = values['tcp-retries2'] === undefined ? undefined : Number(values['tcp-retries2']);
  const scenarios = SCENARIOS.filter((s) => only === null || only.includes(s.name));
  const topology = await Topology.create({ ...(natsOverrides === undefined ? {} : { natsOverrides }), ...(tcpRetries2 === undefined ? {} : { tcpRetries2 }) });
  const rows: Row[] = [];
  try {
    for (const scenario of scenarios) {
      if (scenario.lossy) {
        topology.impair({ lossPercent: LOSS_PERCENT, delayMs: DELAY_EACH_WAY_MS });
        process.stdout.write(`lossy: ${LOSS_PERCENT}% loss, ${2 * DELAY_EACH_WAY_MS} ms RTT by ${topology.latencyBy}\n`);
      }
      const result = await runScenario(topology, { label: `${scenario.name.slice(0, 2)}${run}`, fault: scenario.fault, faultMs, sendAttempts });
      rows.push({ name: scenario.name, result, load: loadavg()[0] ?? 0 });
      process.stdout.write(`${describeResult(result)}\n  load average ${(loadavg()[0] ?? 0).toFixed(1)}\n`);
    }
  } finally {
    await topology.destroy();
  }
  return rows;
}

function median(values: readonly (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null).sort((a, b) => a - b);
  if (known.length === 0) return null;
  const mid = Math.floor(known.length / 2);
  return known.length % 2 === 1 ? known[mid]! : (known[mid - 1]! + known[mid]!) / 2;
}

/** One Markdown row per scenario: the median over the runs of each figure, and the range of the load average. */
function table(runs: readonly Row[][]): string {
  const ms = (v: number | null): string => (v === null ? '-' : `${Math.round(v)}`);
  const lines = [
    '| fault | healthy acks/s | fault rate % of healthy | seconds with ack % | longest gap ms | first ack after heal ms (majority) | every client acked after heal ms | election ms | load |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const scenario of SCENARIOS) {
    if (only !== null && !only.includes(scenario.name)) continue;
    const rows = runs.flatMap((r) => r.filter((row) => row.name === scenario.name));
    const pick = (f: (r: ScenarioResult) => number | null): number | null => median(rows.map((row) => f(row.result)));
    const loads = rows.map((r) => r.load);
    lines.push(
      `| ${scenario.name} | ${pick((r) => r.healthyRate)?.toFixed(1) ?? '-'} | ${ms(pick((r) => (r.healthyRate > 0 ? (100 * r.faultRate) / r.healthyRate : null)))}` +
        ` | ${ms(pick((r) => 100 * r.secondsWithAck))} | ${ms(pick((r) => r.longestGapMs))} | ${ms(pick((r) => r.firstAckAfterHealMs))}` +
        ` | ${ms(pick((r) => r.allAckedAfterHealMs))} | ${ms(pick((r) => r.electionMs))} | ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} |`,
    );
  }
  return lines.join('\n');
}

async function measure(label: string, runs: number, faultMs: number, natsOverrides?: NatsOverrides): Promise<void> {
  process.stdout.write(`\n== ${label}\n`);
  const all: Row[][] = [];
  for (let run = 1; run <= runs; run++) {
    process.stdout.write(`-- run ${run} of ${runs}\n`);
    all.push(await measureOnce(run, faultMs, natsOverrides));
  }
  process.stdout.write(`\nmedians of ${runs} run(s), ${faultMs / 1_000} s faults:\n${table(all)}\n`);
}

const { values } = parseArgs({
  options: {
    compare: { type: 'boolean', default: false },
    'fault-seconds': { type: 'string', default: String(FAULT_MS / 1_000) },
    runs: { type: 'string', default: '1' },
    only: { type: 'string' },
    'fixed-attempts': { type: 'boolean', default: false },
    'ping-interval': { type: 'string' },
    'ping-max': { type: 'string' },
    'write-deadline': { type: 'string' },
    'tcp-retries2': { type: 'string' },
  },
});
const sendAttempts = values['fixed-attempts'] === true ? 'fixed' : 'adaptive';
/** Scenario names to run (comma-separated); null: all. */
const only = values.only?.split(',') ?? null;
const tuned: NatsOverrides = {
  ...(values['ping-interval'] === undefined ? {} : { pingInterval: values['ping-interval'] }),
  ...(values['ping-max'] === undefined ? {} : { pingMax: Number(values['ping-max']) }),
  ...(values['write-deadline'] === undefined ? {} : { writeDeadline: values['write-deadline'] }),
};
const faultMs = Number(values['fault-seconds']) * 1_000;
const runs = Number(values.runs);
if (!(faultMs > 0) || !Number.isInteger(runs) || runs < 1) {
  process.stderr.write(`measure: --fault-seconds must be a positive number and --runs a positive integer\n`);
  process.exit(2);
}
const why = missingPrivilege();
if (why !== null) {
  process.stderr.write(`measure: ${why}\n`);
  process.exit(2);
}
const tunedLabel = `${Object.keys(tuned).length === 0 ? '' : ` with ${JSON.stringify(tuned)}`}, ${sendAttempts} send attempts, tcp_retries2 ${values['tcp-retries2'] ?? 'of Linux (15)'}`;
await measure(`nats-server configured by \`quorumchat nats-config\`${tunedLabel}`, runs, faultMs, Object.keys(tuned).length === 0 ? undefined : tuned);
if (values.compare === true) await measure("nats-server's default pings (2 min × 2)", runs, faultMs, NATS_DEFAULT_PINGS);
