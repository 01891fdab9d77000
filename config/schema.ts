/**
 * zod schemas of the replica's and the cluster's configuration. Absent
 * settings take their defaults from defaults.ts; unknown settings are errors
 * (a misspelt key silently ignored is a misconfigured replica).
 */
import { z } from 'zod';
import { ReplicaIdSchema as ReplicaId } from '../actors/protocol/replica-id.ts';
import * as d from './defaults.ts';
import { NatsAuthSettings, NatsTlsSettings } from './nats-security.ts';
import { LearnerIntent } from '../actors/protocol/admin.ts';

/** Dot-separated subject tokens, e.g. `quorumchat` or `acme.chat`. */
export const PREFIX_PATTERN = /^[A-Za-z0-9_-]{1,64}(\.[A-Za-z0-9_-]{1,64}){0,7}$/;
/** `nats://host:port` (or tls/ws/wss), or plain `host:port`. */
const SERVER_PATTERN = /^((nats|tls|ws|wss):\/\/)?[A-Za-z0-9_.\-[\]:]+(:\d{1,5})?$/;

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const Prefix = z.string().regex(PREFIX_PATTERN, 'must be dot-separated words of A-Z a-z 0-9 _ - (no wildcards or spaces)');
const Ms = z.int().min(1).max(d.MAX_TIMING_MS);
const Count = z.int().min(1);
/** Lists may be given as arrays or, from a command line, as comma-separated strings. */
const list = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter((s) => s !== '') : v), z.array(item));

const Server = z.string().regex(SERVER_PATTERN, 'must be a NATS server address like nats://127.0.0.1:4222');

export const NatsSettings = z.strictObject({
  servers: list(Server).pipe(z.array(Server).min(1, 'must name at least one NATS server')).prefault([`nats://${d.DEFAULT_NATS_HOST}:${d.DEFAULT_NATS_PORT}`]),
  /** Absent: the environment's QUORUMCHAT_NATS_* or none (an open server); see config/nats-security.ts. */
  auth: NatsAuthSettings.optional(),
  tls: NatsTlsSettings.optional(),
});

export const TimingSettings = z.strictObject({
  heartbeatMs: Ms.prefault(d.DEFAULT_HEARTBEAT_MS),
  electionMinMs: Ms.prefault(d.DEFAULT_ELECTION_MIN_MS),
  electionMaxMs: Ms.prefault(d.DEFAULT_ELECTION_MAX_MS),
});

export const LimitSettings = z.strictObject({
  maxEntriesPerAppend: Count.prefault(d.DEFAULT_MAX_ENTRIES_PER_APPEND),
  maxBytesPerAppend: Count.prefault(d.DEFAULT_MAX_BYTES_PER_APPEND),
  maxInflightAppends: Count.prefault(d.DEFAULT_MAX_INFLIGHT_APPENDS),
  maxUncommittedEntries: Count.prefault(d.DEFAULT_MAX_UNCOMMITTED_ENTRIES),
  /** The one limit on a client request body (docs/protocol.md §3); above NATS's payload limit nothing could arrive. */
  maxRequestBytes: Count.max(d.MAX_REQUEST_BYTES_CEILING, `must be at most ${d.MAX_REQUEST_BYTES_CEILING} bytes (NATS's default max_payload): a larger body cannot arrive`).prefault(d.DEFAULT_MAX_REQUEST_BYTES),
  maxPeerMessageBytes: Count.prefault(d.DEFAULT_MAX_PEER_MESSAGE_BYTES),
  snapshotChunkBytes: Count.prefault(d.DEFAULT_SNAPSHOT_CHUNK_BYTES),
});

/** The health monitor (actors/monitor, docs/configuration.md): it acts only on the leader. */
export const MonitorConfig = z.strictObject({
  /** false: the monitor only watches (decisions are logged and shown, none carried out). */
  enabled: z.boolean().prefault(true),
  intervalMs: Ms.prefault(d.DEFAULT_MONITOR_INTERVAL_MS),
  targetVoters: z.int().min(1).max(d.MAX_MONITOR_TARGET_VOTERS).prefault(d.DEFAULT_MONITOR_TARGET_VOTERS),
  deadAfterMs: Ms.prefault(d.DEFAULT_MONITOR_DEAD_AFTER_MS),
  stableAfterMs: Ms.prefault(d.DEFAULT_MONITOR_STABLE_AFTER_MS),
  caughtUpLag: z.int().min(0).prefault(d.DEFAULT_MONITOR_CAUGHT_UP_LAG),
  replacementWaitMs: Ms.prefault(d.DEFAULT_MONITOR_REPLACEMENT_WAIT_MS),
  announceEveryMs: Ms.prefault(d.DEFAULT_MONITOR_ANNOUNCE_EVERY_MS),
});
export type MonitorConfig = z.output<typeof MonitorConfig>;

export const ReplicaConfig = z
  .strictObject({
    id: ReplicaId,
    /** Every initial voter's id, this replica's own included; not needed with `join`. */
    peers: list(ReplicaId).pipe(z.array(ReplicaId)).prefault([]),
    /** Ask the running cluster to add this replica as a learner instead of bootstrapping with `peers`. */
    join: z.boolean().prefault(false),
    /** With `join`: what the monitor makes of this learner (voter: promote once stable; standby; learner: never). */
    intent: LearnerIntent.prefault('voter'),
    /** Run on the leader for each replacement the monitor asks for ({id} {replaces} {nats} {prefix}); docs/operators.md. */
    provisionCmd: z.string().min(1).optional(),
    monitor: MonitorConfig.prefault({}),
    nats: NatsSettings.prefault({}),
    dataDir: z.string().min(1, 'must be a directory path'),
    prefix: Prefix.prefault(d.DEFAULT_PREFIX),
    timing: TimingSettings.prefault({}),
    snapshotEvery: Count.prefault(d.DEFAULT_SNAPSHOT_EVERY),
    limits: LimitSettings.prefault({}),
    requestDeadlineMs: Ms.prefault(d.DEFAULT_REQUEST_DEADLINE_MS),
    logLevel: z.enum(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(', ')}`).prefault(d.DEFAULT_LOG_LEVEL),
  })
  // `when: () => true`: run the cross-field checks even when a field failed, so
  // one load reports every problem; the checks therefore read fields defensively.
  .superRefine((c, ctx) => crossCheckReplica(c, (path, message) => ctx.addIssue({ code: 'custom', path, message })), { when: () => true });
export type ReplicaConfig = z.output<typeof ReplicaConfig>;
export type ReplicaConfigInput = z.input<typeof ReplicaConfig>;

export const ClusterConfig = z.strictObject({
  replicas: z.int().min(1).max(d.MAX_REPLICA_COUNT).prefault(d.DEFAULT_REPLICA_COUNT),
  dataRoot: z.string().min(1, 'must be a directory path').prefault(d.DEFAULT_DATA_ROOT),
  nats: z
    .strictObject({
      host: z.string().min(1).prefault(d.DEFAULT_NATS_HOST),
      port: z.int().min(1).max(65_535).prefault(d.DEFAULT_NATS_PORT),
    })
    .prefault({}),
  prefix: Prefix.prefault(d.DEFAULT_PREFIX),
  timing: TimingSettings.prefault({}),
  logLevel: z.enum(LOG_LEVELS, `must be one of ${LOG_LEVELS.join(', ')}`).prefault(d.DEFAULT_LOG_LEVEL),
  /** Passed to every replica; `targetVoters` defaults to `replicas`. */
  monitor: MonitorConfig.partial().optional(),
  /** Start a replacement (r6, r7, ...) whenever the leader's monitor asks for one. */
  heal: z.boolean().prefault(true),
}).superRefine((c, ctx) => checkTiming(record(c.timing), (path, message) => ctx.addIssue({ code: 'custom', path, message })), { when: () => true });
export type ClusterConfig = z.output<typeof ClusterConfig>;
export type ClusterConfigInput = z.input<typeof ClusterConfig>;

type Problem = (path: (string | number)[], message: string) => void;

/** Cross-field rules of a replica's configuration. Fields may be invalid here: each rule checks only valid ones. */
function crossCheckReplica(c: Record<string, unknown>, problem: Problem): void {
  const { id, peers, join } = c;
  if (join !== true && Array.isArray(peers) && peers.length === 0) problem(['peers'], 'must list at least this replica (or use --join to be added to a running cluster)');
  if (typeof id === 'string' && Array.isArray(peers) && peers.length > 0) {
    if (!peers.includes(id)) problem(['peers'], `must include this replica's own id '${id}'`);
    const seen = new Set<unknown>();
    for (const [i, p] of peers.entries()) {
      if (seen.has(p)) problem(['peers', i], `'${String(p)}' is listed twice`);
      seen.add(p);
    }
  }
  const timing = record(c.timing);
  checkTiming(timing, problem);
  const deadline = num(c.requestDeadlineMs);
  const electionMax = num(timing.electionMaxMs);
  if (deadline !== undefined && electionMax !== undefined && deadline <= electionMax) {
    problem(['requestDeadlineMs'], `must be longer than timing.electionMaxMs (${electionMax} ms), so a request outlasts one election`);
  }
  const limits = record(c.limits);
  const peerMax = num(limits.maxPeerMessageBytes);
  if (peerMax === undefined) return;
  for (const key of ['maxBytesPerAppend', 'snapshotChunkBytes'] as const) {
    const v = num(limits[key]);
    if (v !== undefined && v >= peerMax) {
      problem(['limits', key], `must be below limits.maxPeerMessageBytes (${peerMax}), or every such peer message would be dropped as oversized`);
    }
  }
}

/** Cross-field timing rules shared by both schemas (paths relative to the config root). */
function checkTiming(t: Record<string, unknown> | undefined, problem: Problem): void {
  const heartbeatMs = num(t?.heartbeatMs);
  const electionMinMs = num(t?.electionMinMs);
  const electionMaxMs = num(t?.electionMaxMs);
  if (heartbeatMs !== undefined && electionMinMs !== undefined) {
    const minElection = heartbeatMs * d.MIN_HEARTBEATS_PER_ELECTION;
    if (electionMinMs < minElection) {
      problem(['timing', 'electionMinMs'], `must be at least ${d.MIN_HEARTBEATS_PER_ELECTION} heartbeats (${minElection} ms with heartbeatMs ${heartbeatMs}), or one late heartbeat starts an election`);
    }
  }
  if (electionMinMs !== undefined && electionMaxMs !== undefined && electionMaxMs <= electionMinMs) {
    problem(['timing', 'electionMaxMs'], `must be greater than timing.electionMinMs (${electionMinMs} ms), so election timeouts are randomised`);
  }
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function record(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}
