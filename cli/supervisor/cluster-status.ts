/**
 * Asks every replica for its status on `<prefix>.replica.<id>.status`
 * (PROTOCOL.md, "Per-replica status") and summarises the answers: who leads,
 * each replica's indices and how far it lags. Used by `up` (to wait for a
 * leader), `status`, `bench` and the operator dashboard.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import { apiSubject, ClusterReply, statusSubject, StatusReply } from '../../actors/protocol/index.ts';

/** A healthy replica answers its status subject in milliseconds; one that takes longer than this counts as not answering. */
export const STATUS_TIMEOUT_MS = 1_500;
/** How often `waitForLeader` asks again. */
export const LEADER_POLL_INTERVAL_MS = 250;

/** One replica's row: either its answer (plus the lag we computed) or why it did not answer. */
export type ReplicaStatusRow =
  | { readonly id: string; readonly answered: true; readonly status: StatusReply; readonly lag: number }
  | { readonly id: string; readonly answered: false; readonly error: string };

export interface ClusterStatus {
  /** The replica that answers as leader in the highest term, if any. */
  readonly leader: string | null;
  readonly term: number | null;
  /** The highest commitIndex any replica reported: the reference for `lag`. */
  readonly commitIndex: number | null;
  readonly replicas: readonly ReplicaStatusRow[];
}

/** One request to one replica's status subject. Never throws: a failure is a row with answered=false. */
export async function queryReplicaStatus(
  nc: NatsConnection,
  prefix: string,
  id: string,
  timeoutMs: number = STATUS_TIMEOUT_MS,
): Promise<{ id: string; status: StatusReply } | { id: string; error: string }> {
  try {
    const reply = await nc.request(statusSubject(prefix, id), '{}', { timeout: timeoutMs });
    const body: unknown = JSON.parse(reply.string());
    if (typeof body === 'object' && body !== null && 'ok' in body && body.ok === false) {
      return { id, error: `refused: ${JSON.stringify((body as { error?: unknown }).error ?? null)}` };
    }
    const parsed = StatusReply.safeParse(body);
    if (!parsed.success) return { id, error: `unexpected reply: ${parsed.error.issues[0]?.message ?? 'invalid'}` };
    return { id, status: parsed.data };
  } catch (err) {
    return { id, error: describeRequestError(err) };
  }
}

/**
 * Asks `ids` in parallel, then also any replica named in an answer's voters
 * or learners that was not asked (so a cluster that grew is shown whole).
 */
export async function collectClusterStatus(
  nc: NatsConnection,
  prefix: string,
  ids: readonly string[],
  timeoutMs: number = STATUS_TIMEOUT_MS,
): Promise<ClusterStatus> {
  const answers = await Promise.all(ids.map((id) => queryReplicaStatus(nc, prefix, id, timeoutMs)));
  const asked = new Set(ids);
  const named = new Set<string>();
  for (const a of answers) {
    if ('status' in a) for (const m of [...a.status.voters, ...a.status.learners]) if (!asked.has(m)) named.add(m);
  }
  if (named.size > 0) answers.push(...(await Promise.all([...named].map((id) => queryReplicaStatus(nc, prefix, id, timeoutMs)))));
  return summarise(answers);
}

/** Builds the summary from raw answers (pure; exported for tests). */
export function summarise(answers: readonly ({ id: string; status: StatusReply } | { id: string; error: string })[]): ClusterStatus {
  let commitIndex: number | null = null;
  let leader: StatusReply | null = null;
  for (const a of answers) {
    if (!('status' in a)) continue;
    commitIndex = Math.max(commitIndex ?? 0, a.status.commitIndex);
    // Raft §5.1: at most one leader per term; a stale leader of an older term may still think it leads.
    if (a.status.role === 'leader' && (leader === null || a.status.term > leader.term)) leader = a.status;
  }
  const replicas = answers
    .map((a): ReplicaStatusRow =>
      'status' in a
        ? { id: a.id, answered: true, status: a.status, lag: Math.max(0, (commitIndex ?? 0) - a.status.appliedIndex) }
        : { id: a.id, answered: false, error: a.error },
    )
    .sort((x, y) => x.id.localeCompare(y.id, 'en', { numeric: true }));
  return { leader: leader?.id ?? null, term: leader?.term ?? null, commitIndex, replicas };
}

export class LeaderWaitTimeoutError extends Error {
  override readonly name = 'LeaderWaitTimeoutError';
  constructor(readonly timeoutMs: number, readonly last: ClusterStatus | null) {
    super(`no leader was elected within ${timeoutMs < 1_000 ? `${timeoutMs} ms` : `${Math.round(timeoutMs / 1_000)} s`}`);
  }
}

export interface WaitForLeaderOptions {
  readonly timeoutMs: number;
  /** Called between polls; throw from it to give up early (e.g. every replica process has exited). */
  readonly check?: () => void;
  /** Accept the leader only if at least this many replicas answered (default: any). */
  readonly minAnswered?: number;
  readonly signal?: AbortSignal;
}

/** Polls the status subjects until some replica answers as leader. */
export async function waitForLeader(
  nc: NatsConnection,
  prefix: string,
  ids: readonly string[],
  options: WaitForLeaderOptions,
): Promise<ClusterStatus> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    options.check?.();
    options.signal?.throwIfAborted();
    const last = await collectClusterStatus(nc, prefix, ids, Math.min(STATUS_TIMEOUT_MS, Math.max(1, deadline - Date.now())));
    const answered = last.replicas.filter((r) => r.answered).length;
    if (last.leader !== null && answered >= (options.minAnswered ?? 1)) return last;
    if (Date.now() >= deadline) throw new LeaderWaitTimeoutError(options.timeoutMs, last);
    await new Promise((resolve) => setTimeout(resolve, LEADER_POLL_INTERVAL_MS));
  }
}

function describeRequestError(err: unknown): string {
  if (err instanceof Error) {
    const name = err.name;
    if (name === 'TimeoutError' || /timeout/i.test(err.message)) return 'no answer (timeout)';
    if (name === 'NoRespondersError' || /no responders/i.test(err.message)) return 'not running (no responders)';
    if (err instanceof SyntaxError) return 'unreadable reply (not JSON)';
    return err.message;
  }
  return String(err);
}

/** After an election, followers learn the leader with its first heartbeat; a few seconds covers a loaded machine. */
export const SETTLE_TIMEOUT_MS = 10_000;

/**
 * Polls until every replica that answers names the same leader and the
 * leader's first entry is committed (commitIndex ≥ 1), or the time is up;
 * returns the last status either way. Used only to print a coherent table.
 */
export async function waitForSettled(
  nc: NatsConnection,
  prefix: string,
  ids: readonly string[],
  timeoutMs: number = SETTLE_TIMEOUT_MS,
): Promise<ClusterStatus> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await collectClusterStatus(nc, prefix, ids);
    if (isSettled(status) || Date.now() >= deadline) return status;
    await new Promise((resolve) => setTimeout(resolve, LEADER_POLL_INTERVAL_MS));
  }
}

/** Every replica answered, all name the leader, and something is committed. */
export function isSettled(status: ClusterStatus): boolean {
  return (
    status.leader !== null &&
    (status.commitIndex ?? 0) >= 1 &&
    status.replicas.every((r) => r.answered && r.status.leader === status.leader)
  );
}

/** The `cluster` op's success reply (PROTOCOL.md); extra fields are kept. */
export const ClusterAnswer = ClusterReply.extend({ ok: z.literal(true) }).loose();
export type ClusterAnswer = z.infer<typeof ClusterAnswer>;

/** The leader's `cluster` answer, or null when there is no leader (or it did not answer in time). */
export async function askCluster(nc: NatsConnection, prefix: string, timeoutMs: number): Promise<ClusterAnswer | null> {
  try {
    const reply = await nc.request(apiSubject(prefix, 'cluster'), '{}', { timeout: timeoutMs });
    const parsed = ClusterAnswer.safeParse(JSON.parse(reply.string()));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
