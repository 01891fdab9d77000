/**
 * Availability figures across five network-namespace hosts, for
 * docs/notebook.md and issue 9: healthy ack rate, the ack rate and the
 * fraction of seconds with an ack while the leader's host is cut off and
 * during a 3|2 split, the time to the first ack after a heal, and failover,
 * on clean links and on lossy ones (and with netem latency where the kernel
 * has it). Needs root.
 *
 *   node --import tsx test/hosts/measure.ts            # the generated nats-server settings
 *   node --import tsx test/hosts/measure.ts --compare  # also nats-server's default pings (2 min × 2)
 *   node --import tsx test/hosts/measure.ts --fault-seconds 15  # faults as long as issue 9's measurement
 */
import { parseArgs } from 'node:util';
import { describeResult, FAULT_MS, runScenario, type Fault, type ScenarioResult } from './scenarios.ts';
import { missingPrivilege, Topology, type Host } from './topology.ts';

/** The loss and latency of the lossy run: issue 9's "40 ms RTT, 2% loss". */
const LOSS_PERCENT = 2;
const DELAY_EACH_WAY_MS = 20;
/** nats-server's own defaults, to compare with what `quorumchat nats-config` generates. */
const NATS_DEFAULT_PINGS = { pingInterval: '2m', pingMax: 2 } as const;

async function isolateLeader(topology: Topology, leader: Host): Promise<Fault> {
  await topology.split([[leader.name], topology.hosts.filter((h) => h !== leader).map((h) => h.name)]);
  return { minority: [leader.name], description: `leader's host ${leader.name} cut off` };
}

async function splitThreeTwo(topology: Topology, leader: Host): Promise<Fault> {
  const minority = topology.hosts.filter((h) => h !== leader).slice(-2).map((h) => h.name);
  await topology.split([topology.hosts.map((h) => h.name).filter((n) => !minority.includes(n)), minority]);
  return { minority, description: `3|2 split, ${minority.join(' and ')} on the minority side` };
}

async function measure(label: string, faultMs: number, natsOverrides?: typeof NATS_DEFAULT_PINGS): Promise<ScenarioResult[]> {
  process.stdout.write(`\n== ${label}\n`);
  const topology = await Topology.create({ ...(natsOverrides === undefined ? {} : { natsOverrides }) });
  const results: ScenarioResult[] = [];
  const run = async (name: string, fault: (t: Topology, leader: Host) => Promise<Fault>): Promise<void> => {
    const result = await runScenario(topology, { label: name, fault, faultMs });
    results.push(result);
    process.stdout.write(describeResult(result) + '\n');
  };
  try {
    await run('isolated', isolateLeader);
    await run('split', splitThreeTwo);
    topology.impair({ lossPercent: LOSS_PERCENT, delayMs: DELAY_EACH_WAY_MS });
    process.stdout.write(topology.netemAvailable ? `lossy: ${LOSS_PERCENT}% loss, ${2 * DELAY_EACH_WAY_MS} ms RTT\n` : `lossy: ${LOSS_PERCENT}% loss; no netem in this kernel, so no added latency\n`);
    await run('lossy', isolateLeader);
  } finally {
    await topology.destroy();
  }
  return results;
}

const { values } = parseArgs({ options: { compare: { type: 'boolean', default: false }, 'fault-seconds': { type: 'string', default: String(FAULT_MS / 1_000) } } });
const faultMs = Number(values['fault-seconds']) * 1_000;
if (!(faultMs > 0)) {
  process.stderr.write(`measure: --fault-seconds ${values['fault-seconds']}: must be a positive number\n`);
  process.exit(2);
}
const why = missingPrivilege();
if (why !== null) {
  process.stderr.write(`measure: ${why}\n`);
  process.exit(2);
}
await measure('nats-server configured by `quorumchat nats-config` (pings 1 s × 3)', faultMs);
if (values.compare === true) await measure("nats-server's default pings (2 min × 2)", faultMs, NATS_DEFAULT_PINGS);
