/**
 * Five "hosts" made of Linux network namespaces, for the partition tests and
 * the measurement script: each host is a namespace with one veth link to a
 * bridge in the root namespace, runs its own nats-server (configured by
 * `quorumchat nats-config`, so the tests run what docs/deploy.md recommends)
 * routed to the other four, and one `quorumchat replica` connected to its own
 * server. Clients run in the root namespace and reach every host over the
 * bridge.
 *
 * Faults are nftables rules inside the host namespaces, dropping packets on
 * input, so a cut behaves like a real one (TCP retransmits into silence)
 * rather than failing sends locally: a cut between two hosts, a cut of only
 * their NATS route (the cluster port), and random loss. Latency uses
 * `tc netem` where the kernel has it; where it does not (this development
 * VM's kernel has no `sch_netem`), every server dials its routes through a
 * delay relay in its own namespace (test/hosts/delay-relay.ts), so route
 * traffic, though not client traffic, gets the latency. `latencyBy` tells
 * which.
 *
 * Addresses come only from 198.18.0.0/15, the range reserved for benchmark
 * networks (RFC 2544). Every name starts with a fixed prefix and the pid of
 * the process that made it, so a later run removes what a killed run left
 * behind (`sweepStale`) without touching a topology another test process is
 * using. Cleanup also runs from a process 'exit' hook.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { StatusReply } from '../../actors/client/index.ts';
import { renderNatsConfig } from '../../cli/format/nats-config.ts';
import { isAlive } from '../integration/support/cli.ts';

const QUORUMCHAT_BIN = fileURLToPath(new URL('../../cli/quorumchat.mjs', import.meta.url));
const DELAY_RELAY = fileURLToPath(new URL('./delay-relay.ts', import.meta.url));
/** Host n's relay listens on 127.0.0.1:RELAY_PORT_BASE+m for the route to host m (its own loopback, so no address outside 127.0.0.0/8 and 198.18.0.0/15). */
const RELAY_PORT_BASE = 7_000;
/**
 * System tools are looked up only in the system directories: under `npx`,
 * PATH starts with node_modules/.bin, where `nft` is @vercel/nft (a file
 * tracer), not nftables.
 */
const SYSTEM_DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin'];
export const NATS_SERVER_BIN = process.env['NATS_SERVER'] ?? '/usr/sbin/nats-server';

/** Namespaces are `qch-<pid>-h<n>`; links `qcb<pid>` (bridge) and `qcv<pid>h<n>` (veth, ≤ 15 characters for pids up to 7 digits). */
const NETNS_PREFIX = 'qch-';
const BRIDGE_PREFIX = 'qcb';
const VETH_PREFIX = 'qcv';
const STALE_NETNS = /^qch-(\d+)-h\d+$/;
const STALE_LINK = /^qc[bv](\d+)(h\d+)?(@\S+)?$/;
/** 198.18.0.0/15 only: RFC 2544's benchmark range, never routed on the Internet. The third octet picks one /24 per topology. */
const SUBNET_BASE = '198.18';
/** Third octets tried: 198.18.1.0/24 to 198.18.250.0/24. */
const FIRST_SUBNET = 1;
const SUBNET_CHOICES = 250;
/** Host n gets .10+n: .11 to .15 for five hosts, clear of the bridge's .1. */
const HOST_OCTET_BASE = 10;
export const CLIENT_PORT = 4222;
export const CLUSTER_PORT = 6222;
export const HTTP_PORT = 8222;
/** The subject prefix of the test cluster. */
export const PREFIX = 'qc';
/**
 * Short Raft timings so an election across hosts takes about a second, yet an
 * election timeout spans 8 heartbeats: the 2-core CI machine runs ten server
 * and replica processes here, and a late heartbeat must not depose a leader.
 */
export const HOST_TIMING = { heartbeatMs: 50, electionMinMs: 400, electionMaxMs: 800 } as const;
/** Requests are held at most this long inside the cluster; clients wait a bit longer for the `unavailable` reply. */
export const REQUEST_DEADLINE_MS = 2_500;
/**
 * `net.ipv4.tcp_retries2` that makes the kernel give up on a connection after
 * about 3 s of unacknowledged data (200 ms × (2⁴ − 1)) instead of Linux's
 * ~15 minutes. A server cut off from the others keeps writing to its dead
 * routes, which keeps nats-server from pinging them; only TCP can close
 * them, and with the default it does so after a heal, seconds late, while
 * the server refuses the new routes as duplicates (docs/notebook.md,
 * "Staying available"). Opt-in (`tcpRetries2`), not the hosts' default:
 * two of four measurement runs with it aborted while setting up senders
 * (no responders, a connect timeout), which no run without it did, and
 * that is not understood yet.
 */
export const FAST_TCP_RETRIES2 = 3;
/** Starting nats-server, a replica, or the whole cluster on a loaded machine; failures show up well before. */
const START_TIMEOUT_MS = 60_000;
const POLL_MS = 100;
/** SIGTERM grace before SIGKILL on teardown: replicas close SQLite in well under this. */
const STOP_GRACE_MS = 3_000;

export interface Host {
  /** h1..h5. */
  readonly name: string;
  readonly replicaId: string;
  readonly netns: string;
  readonly address: string;
  readonly natsUrl: string;
  readonly dir: string;
}

export interface TopologyOptions {
  readonly hosts?: number;
  /** Overrides of the generated nats-server configuration, e.g. the ping settings for a comparison. */
  readonly natsOverrides?: { readonly pingInterval?: string; readonly pingMax?: number; readonly writeDeadline?: string };
  /**
   * The hosts' `net.ipv4.tcp_retries2` (per namespace), e.g.
   * FAST_TCP_RETRIES2; unset, Linux's default (15).
   */
  readonly tcpRetries2?: number;
  /** Keep the logs directory (printed) instead of removing it. */
  readonly keepLogs?: boolean;
}

/** What runs in a host: its nats-server, its replica, and (without netem) its route delay relay. */
type ProcessKind = 'nats' | 'replica' | 'relay';

/** A replica's status reply (PROTOCOL.md "Per-replica status"). */
export type Status = StatusReply;

/** Why the topology cannot be built here; null when it can. Tests skip (non-root) or fail (anything else) on it. */
export function missingPrivilege(): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'network namespaces need root (CI runs as root)';
  return null;
}

export class Topology {
  readonly hosts: Host[];
  readonly root: string;
  private readonly bridge: string;
  private readonly children = new Set<ChildProcess>();
  private readonly servers = new Map<string, ChildProcess>();
  private readonly replicas = new Map<string, ChildProcess>();
  private readonly connections = new Map<string, NatsConnection>();
  private readonly crashed: string[] = [];
  private readonly exitHook = (): void => this.destroySync();
  private destroyed = false;
  netemAvailable = false;
  /** The delay relays' stdin, per host (only without netem): `delay <ms>` lines set their one-way delay. */
  private readonly relays = new Map<string, NodeJS.WritableStream>();

  /** How `impair` adds latency: netem on every host's egress, or relays on the NATS routes only. */
  get latencyBy(): 'netem' | 'route relays' {
    return this.netemAvailable ? 'netem' : 'route relays';
  }

  private constructor(
    readonly subnet: string,
    count: number,
    private readonly options: TopologyOptions,
  ) {
    const pid = process.pid;
    this.root = mkdtempSync(join(tmpdir(), 'quorumchat-hosts-'));
    this.bridge = `${BRIDGE_PREFIX}${pid}`;
    this.hosts = Array.from({ length: count }, (_, i) => {
      const name = `h${i + 1}`;
      const address = `${subnet}.${HOST_OCTET_BASE + i + 1}`;
      return { name, replicaId: `r${i + 1}`, netns: `${NETNS_PREFIX}${pid}-${name}`, address, natsUrl: `nats://${address}:${CLIENT_PORT}`, dir: join(this.root, name) };
    });
  }

  /** Builds the namespaces and links, starts five nats-servers and replicas, and waits for routes and a leader. */
  static async create(options: TopologyOptions = {}): Promise<Topology> {
    const why = missingPrivilege();
    if (why !== null) throw new Error(why);
    for (const tool of [IP, NFT, TC]) tool();
    sweepStale();
    const topology = new Topology(freeSubnet(), options.hosts ?? 5, options);
    process.once('exit', topology.exitHook);
    try {
      topology.buildNetwork();
      if (!topology.netemAvailable) for (const host of topology.hosts) topology.startRelay(host);
      for (const host of topology.hosts) topology.startServer(host);
      await topology.waitForRoutes();
      writeFileSync(join(topology.root, 'replica.json'), JSON.stringify({ timing: HOST_TIMING, requestDeadlineMs: REQUEST_DEADLINE_MS, logLevel: 'info' }));
      for (const host of topology.hosts) topology.startReplica(host);
      await topology.waitForLeader();
    } catch (err) {
      await topology.destroy();
      throw err;
    }
    return topology;
  }

  host(name: string): Host {
    const host = this.hosts.find((h) => h.name === name || h.replicaId === name);
    if (host === undefined) throw new Error(`no host ${name}`);
    return host;
  }

  /** A root-namespace NATS connection to the host's own server (reachable whatever is cut between hosts). */
  async connection(name: string): Promise<NatsConnection> {
    const host = this.host(name);
    let nc = this.connections.get(host.name);
    if (nc === undefined || nc.isClosed()) {
      nc = await connect({ servers: host.natsUrl, name: `topology-${host.name}`, maxReconnectAttempts: -1, reconnectTimeWait: POLL_MS });
      this.connections.set(host.name, nc);
    }
    return nc;
  }

  /** The replica's status, asked through its own host's server; null if it does not answer in time. */
  async status(name: string, timeoutMs = 1_000): Promise<Status | null> {
    const host = this.host(name);
    try {
      const nc = await this.connection(host.name);
      const reply = await nc.request(`${PREFIX}.replica.${host.replicaId}.status`, '{}', { timeout: timeoutMs });
      const status = JSON.parse(reply.string()) as Status & { ok?: boolean };
      return status.ok === false ? null : status;
    } catch {
      return null;
    }
  }

  async statuses(): Promise<(Status | null)[]> {
    return await Promise.all(this.hosts.map((h) => this.status(h.name)));
  }

  /**
   * The leader that a majority of replicas (asked through their own servers)
   * agree on, in the highest term any of them reports; null if none.
   */
  async agreedLeader(among: readonly string[] = this.hosts.map((h) => h.name)): Promise<Status | null> {
    const statuses = (await Promise.all(among.map((h) => this.status(h)))).filter((s): s is Status => s !== null);
    const top = statuses.filter((s) => s.role === 'leader').sort((a, b) => b.term - a.term)[0];
    if (top === undefined) return null;
    const agree = statuses.filter((s) => s.leader === top.id && s.term === top.term).length;
    return agree * 2 > this.hosts.length ? top : null;
  }

  /** Host of the agreed leader, waiting for one. */
  async waitForLeader(among?: readonly string[], timeoutMs = START_TIMEOUT_MS): Promise<Host> {
    const leader = await this.waitFor(`a leader among ${(among ?? []).join(',') || 'all hosts'}`, () => this.agreedLeader(among), timeoutMs);
    return this.host(leader.id);
  }

  /** Waits for all replicas to report one appliedIndex (= commitIndex) and one digest; returns them. */
  async waitForConvergence(timeoutMs = START_TIMEOUT_MS): Promise<Status[]> {
    return await this.waitFor('one appliedIndex and one digest on every replica', async () => {
      const statuses = await this.statuses();
      if (statuses.some((s) => s === null)) return null;
      const all = statuses as Status[];
      const first = all[0]!;
      const same = all.every((s) => s.appliedIndex === first.appliedIndex && s.commitIndex === first.appliedIndex && s.digest === first.digest);
      return same ? all : null;
    }, timeoutMs);
  }

  async waitFor<T>(what: string, probe: () => Promise<T | null>, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.crashed.length > 0) throw new Error(`a process crashed while waiting for ${what}:\n${this.crashed.join('\n')}`);
      const value = await probe();
      if (value !== null) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(POLL_MS);
    }
  }

  // ---- faults -------------------------------------------------------------

  /**
   * Cuts every pair of hosts in different groups (hosts not named keep all
   * their links). All hosts' rules change at once, so the split does not pass
   * through partial, non-transitive states while it is applied.
   */
  async split(groups: readonly (readonly string[])[]): Promise<void> {
    const pairs: [string, string][] = [];
    for (const [i, group] of groups.entries()) {
      for (const other of groups.slice(i + 1)) for (const a of group) for (const b of other) pairs.push([a, b]);
    }
    await this.cutPairs('cut', pairs);
  }

  /** Cuts all traffic between two hosts, both ways. Their links to the root namespace (clients) stay up. */
  async cut(a: string, b: string): Promise<void> {
    await this.cutPairs('cut', [[a, b]]);
  }

  /** Cuts only the NATS route between two hosts' servers (their cluster port), both ways. */
  async cutRoute(a: string, b: string): Promise<void> {
    await this.cutPairs('cut_route', [[a, b]]);
  }

  /** Removes every cut (impairments stay). */
  async heal(): Promise<void> {
    await Promise.all(this.hosts.map((h) => this.nftAsync(h, 'flush set inet qc cut\nflush set inet qc cut_route\n')));
  }

  /** Adds each pair's addresses to each other's set: one nft transaction per host, all hosts in parallel. */
  private async cutPairs(set: 'cut' | 'cut_route', pairs: readonly (readonly [string, string])[]): Promise<void> {
    const peers = new Map<string, string[]>();
    for (const [a, b] of pairs) {
      peers.set(a, [...(peers.get(a) ?? []), this.host(b).address]);
      peers.set(b, [...(peers.get(b) ?? []), this.host(a).address]);
    }
    await Promise.all([...peers].map(([name, addresses]) => this.nftAsync(this.host(name), `add element inet qc ${set} { ${addresses.join(', ')} }\n`)));
  }

  /**
   * Random loss on every host's input (so each direction of each link loses
   * about `lossPercent`), and `delayMs` each way: with netem on every host's
   * egress (so a round trip between two hosts takes 2 × delayMs more),
   * without it on every NATS route through the relays (`latencyBy`).
   */
  impair(options: { readonly lossPercent: number; readonly delayMs: number }): void {
    const perMille = Math.round(options.lossPercent * 10);
    for (const host of this.hosts) {
      this.nft(host, `flush chain inet qc loss\nadd rule inet qc loss numgen random mod 1000 < ${perMille} drop\n`);
      if (this.netemAvailable) run(TC(), ['-n', host.netns, 'qdisc', 'replace', 'dev', 'eth0', 'root', 'netem', 'delay', `${options.delayMs}ms`], 'netem');
      else this.relays.get(host.name)?.write(`delay ${Math.round(options.delayMs)}\n`);
    }
  }

  /** Removes loss and delay. */
  unimpair(): void {
    for (const host of this.hosts) {
      this.nft(host, 'flush chain inet qc loss\n');
      if (this.netemAvailable) tryRun(TC(), ['-n', host.netns, 'qdisc', 'del', 'dev', 'eth0', 'root']);
      else this.relays.get(host.name)?.write('delay 0\n');
    }
  }

  /** nats-server's view of its routes (/routez): how many are up. */
  async routeCount(name: string): Promise<number> {
    const host = this.host(name);
    try {
      const response = await fetch(`http://${host.address}:${HTTP_PORT}/routez`, { signal: AbortSignal.timeout(1_000) });
      const body = (await response.json()) as { num_routes?: number };
      return body.num_routes ?? 0;
    } catch {
      return -1;
    }
  }

  /** Waits until every server has a route to every other one. */
  async waitForRoutes(timeoutMs = START_TIMEOUT_MS): Promise<void> {
    const want = this.hosts.length - 1;
    await this.waitFor('a full mesh of NATS routes', async () => {
      const counts = await Promise.all(this.hosts.map((h) => this.routeCount(h.name)));
      return counts.every((c) => c === want) ? true : null;
    }, timeoutMs);
  }

  logOf(name: string, kind: ProcessKind): string {
    try {
      return readFileSync(join(this.host(name).dir, `${kind}.log`), 'utf8');
    } catch {
      return '';
    }
  }

  // ---- teardown -----------------------------------------------------------

  /** Stops every process (SIGTERM, then SIGKILL), closes connections, removes namespaces, links and logs. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    await Promise.all([...this.connections.values()].map((nc) => nc.close().catch(() => undefined)));
    await Promise.all([...this.replicas.values()].map((c) => stopChild(c)));
    await Promise.all([...this.children].map((c) => stopChild(c)));
    this.destroySync();
  }

  /** What can be done synchronously (also from the 'exit' hook): SIGKILL what still runs, delete namespaces and links. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    process.removeListener('exit', this.exitHook);
    for (const child of this.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const host of this.hosts) {
      // Deleting the root end removes the pair at once; the namespace's own
      // teardown is deferred by the kernel and can outlive `ip netns del`.
      tryRun(IP(), ['link', 'del', vethOf(host)]);
      removeNetns(host.netns);
    }
    tryRun(IP(), ['link', 'del', this.bridge]);
    if (this.options.keepLogs === true) process.stderr.write(`topology logs kept in ${this.root}\n`);
    else rmSync(this.root, { recursive: true, force: true });
  }

  // ---- building -----------------------------------------------------------

  private buildNetwork(): void {
    run(IP(), ['link', 'add', this.bridge, 'type', 'bridge'], 'bridge');
    run(IP(), ['addr', 'add', `${this.subnet}.1/24`, 'dev', this.bridge], 'bridge address');
    run(IP(), ['link', 'set', this.bridge, 'up'], 'bridge up');
    for (const host of this.hosts) {
      mkdirSync(host.dir, { recursive: true });
      const veth = vethOf(host);
      run(IP(), ['netns', 'add', host.netns], 'netns');
      run(IP(), ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.netns], 'veth');
      run(IP(), ['link', 'set', veth, 'master', this.bridge, 'up'], 'veth up');
      run(IP(), ['-n', host.netns, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0'], 'host address');
      run(IP(), ['-n', host.netns, 'link', 'set', 'eth0', 'up'], 'eth0 up');
      run(IP(), ['-n', host.netns, 'link', 'set', 'lo', 'up'], 'lo up');
      if (this.options.tcpRetries2 !== undefined) {
        run(IP(), ['netns', 'exec', host.netns, systemBinary('sysctl'), '-qw', `net.ipv4.tcp_retries2=${this.options.tcpRetries2}`], 'tcp_retries2');
      }
      // Input-side drops: the sender's TCP sees silence, as across a real cut, not a local error.
      this.nft(host, [
        'add table inet qc',
        'add set inet qc cut { type ipv4_addr; }',
        'add set inet qc cut_route { type ipv4_addr; }',
        'add chain inet qc partition { type filter hook input priority 0; policy accept; }',
        'add rule inet qc partition ip saddr @cut drop',
        `add rule inet qc partition ip saddr @cut_route tcp dport ${CLUSTER_PORT} drop`,
        `add rule inet qc partition ip saddr @cut_route tcp sport ${CLUSTER_PORT} drop`,
        'add chain inet qc loss { type filter hook input priority 10; policy accept; }',
        '',
      ].join('\n'));
    }
    const first = this.hosts[0];
    if (first !== undefined) {
      this.netemAvailable = tryRun(TC(), ['-n', first.netns, 'qdisc', 'add', 'dev', 'eth0', 'root', 'netem', 'delay', '0ms']);
      if (this.netemAvailable) tryRun(TC(), ['-n', first.netns, 'qdisc', 'del', 'dev', 'eth0', 'root']);
    }
  }

  private startServer(host: Host): void {
    const file = join(host.dir, 'nats.conf');
    writeFileSync(
      file,
      renderNatsConfig({
        host: host.address,
        hosts: this.hosts.map((h) => h.address),
        name: host.name,
        listen: host.address,
        port: CLIENT_PORT,
        clusterPort: CLUSTER_PORT,
        httpPort: HTTP_PORT,
        clusterName: PREFIX,
        ...(this.relays.has(host.name) ? { routes: this.others(host).map((h) => `nats-route://127.0.0.1:${this.relayPort(h)}`) } : {}),
        ...this.options.natsOverrides,
      }),
    );
    this.servers.set(host.name, this.spawnIn(host, 'nats', NATS_SERVER_BIN, ['-c', file]));
  }

  private others(host: Host): Host[] {
    return this.hosts.filter((h) => h !== host);
  }

  private relayPort(to: Host): number {
    return RELAY_PORT_BASE + this.hosts.indexOf(to) + 1;
  }

  /** The host's delay relay: one port per other host, forwarding to its cluster port. */
  private startRelay(host: Host): void {
    const pairs = this.others(host).map((h) => `127.0.0.1:${this.relayPort(h)}=${h.address}:${CLUSTER_PORT}`);
    const child = this.spawnIn(host, 'relay', process.execPath, ['--import', 'tsx', DELAY_RELAY, ...pairs], 'pipe');
    if (child.stdin !== null) this.relays.set(host.name, child.stdin);
  }

  private startReplica(host: Host): void {
    const args = [
      QUORUMCHAT_BIN, 'replica', '--id', host.replicaId, '--peers', this.hosts.map((h) => h.replicaId).join(','),
      '--nats', host.natsUrl, '--data', join(host.dir, 'data'), '--prefix', PREFIX, '--config', join(this.root, 'replica.json'),
    ];
    this.replicas.set(host.name, this.spawnIn(host, 'replica', process.execPath, args));
  }

  /** Runs a program inside the host's namespace (`ip netns exec` execs it, so the child's pid is the program's). */
  private spawnIn(host: Host, kind: ProcessKind, program: string, args: readonly string[], stdin: 'ignore' | 'pipe' = 'ignore'): ChildProcess {
    const log = createWriteStream(join(host.dir, `${kind}.log`), { flags: 'a' });
    const child = spawn(IP(), ['netns', 'exec', host.netns, program, ...args], { stdio: [stdin, 'pipe', 'pipe'] });
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    this.children.add(child);
    child.once('exit', (code, signal) => {
      if (!this.destroyed) this.crashed.push(`${kind} on ${host.name} exited (${code ?? signal}):\n${this.logOf(host.name, kind).slice(-2_000)}`);
      setTimeout(() => log.end(), POLL_MS);
    });
    return child;
  }

  private nft(host: Host, script: string): void {
    execFileSync(IP(), ['netns', 'exec', host.netns, NFT(), '-f', '-'], { input: script, stdio: ['pipe', 'ignore', 'pipe'] });
  }

  private async nftAsync(host: Host, script: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const child = execFile(IP(), ['netns', 'exec', host.netns, NFT(), '-f', '-'], (err, _stdout, stderr) => (err ? reject(new Error(`nft on ${host.name}: ${stderr || err.message}`)) : resolve()));
      child.stdin?.end(script);
    });
  }
}

/** The root namespace's end of the host's veth pair. */
function vethOf(host: Host): string {
  return `${VETH_PREFIX}${process.pid}${host.name}`;
}

/** Removes namespaces and links left by test processes that no longer run (killed by a timeout, say). */
export function sweepStale(): void {
  const netns = execFileSync(IP(), ['netns', 'list'], { encoding: 'utf8' });
  for (const line of netns.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const match = STALE_NETNS.exec(name);
    if (match !== null && !isAlive(Number(match[1]))) removeNetns(name);
  }
  const links = execFileSync(IP(), ['-o', 'link', 'show'], { encoding: 'utf8' });
  for (const line of links.split('\n')) {
    const name = (line.split(': ')[1] ?? '').trim();
    const match = STALE_LINK.exec(name);
    if (match !== null && !isAlive(Number(match[1]))) tryRun(IP(), ['link', 'del', name.split('@')[0] ?? name]);
  }
}

/** Kills every process still inside the namespace, then deletes it (its veth end and nft rules go with it). */
function removeNetns(name: string): void {
  let pids: string;
  try {
    pids = execFileSync(IP(), ['netns', 'pids', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return; // already gone
  }
  for (const pid of pids.split('\n').map(Number).filter((p) => p > 0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
  tryRun(IP(), ['netns', 'del', name]);
}

/** The first 198.18.x.0/24 no interface of the root namespace uses, starting at a pid-dependent place so concurrent runs rarely collide. */
function freeSubnet(): string {
  const used = execFileSync(IP(), ['-4', '-o', 'addr', 'show'], { encoding: 'utf8' });
  for (let i = 0; i < SUBNET_CHOICES; i++) {
    const octet = FIRST_SUBNET + ((process.pid + i) % SUBNET_CHOICES);
    const subnet = `${SUBNET_BASE}.${octet}`;
    if (!used.includes(` ${subnet}.`)) return subnet;
  }
  throw new Error('no free /24 in 198.18.0.0/15');
}

export function systemBinary(name: string): string {
  const found = SYSTEM_DIRS.map((dir) => join(dir, name)).find((path) => existsSync(path));
  if (found === undefined) throw new Error(`${name} is not installed (looked in ${SYSTEM_DIRS.join(', ')}); run cli/setup.sh`);
  return found;
}
const IP = (): string => systemBinary('ip');
const NFT = (): string => systemBinary('nft');
const TC = (): string => systemBinary('tc');


function run(program: string, args: readonly string[], what: string): void {
  try {
    execFileSync(program, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim() ?? '';
    throw new Error(`${what}: ${program} ${args.join(' ')} failed: ${stderr || (err as Error).message}`, { cause: err });
  }
}

function tryRun(program: string, args: readonly string[]): boolean {
  try {
    execFileSync(program, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
