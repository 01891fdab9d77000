/**
 * Serving the client protocol (PROTOCOL.md): any replica takes any request.
 *
 * Writes: the leader prepares the command (decides ts, salts, tokens once),
 * proposes it and answers once the entry is applied locally; a follower
 * forwards the request to the leader and relays the reply. While no leader is
 * known the request is held and retried until its deadline, then `unavailable`.
 *
 * Reads are linearizable (thesis §6.4): get a read index from the leader
 * (locally, or over the forward subject), wait until this replica has applied
 * it, then read the local tables.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import type { Configuration, Index } from '../raft/types.ts';
import { nextConfiguration, parseAdminRequest } from './admin.ts';
import { forwardSubject, MembersRequest, TransferRequest } from '../protocol/index.ts';
import {
  AlreadyApplied,
  BadRequest,
  executeRead,
  Internal,
  isProtocolError,
  isWrite,
  parseRequest,
  parseRequestBytes,
  prepareCommand,
  TooLarge,
  Unavailable,
  encodeCommand,
  type ChatRequest,
  type ScryptCost,
  type WriteRequest,
} from '../chat/index.ts';
import type { ReplicaStore } from '../../storage/index.ts';
import { wireReply, type CommandReply } from './apply.ts';
import { NotLeaderError, ProposalLostError, StoppingError, UnavailableError } from './errors.ts';
import type { Waiters } from './waiters.ts';

/** Pause between attempts while no leader is known or a proposal was lost: a few per election, not a busy loop. */
export const RETRY_PAUSE_MS = 25;
/** Extra time a forwarding replica waits beyond the leader's deadline, so the leader's own `unavailable` arrives first. */
export const FORWARD_GRACE_MS = 250;
/** Requests handled at once per replica; beyond this new ones get `unavailable` at once instead of queueing without bound. */
export const MAX_REQUESTS_IN_FLIGHT = 5_000;

/** What the request layer needs from the running replica. */
export interface RequestContext {
  readonly id: string;
  readonly prefix: string;
  readonly nc: NatsConnection;
  readonly store: ReplicaStore;
  readonly waiters: Waiters<CommandReply>;
  readonly requestDeadlineMs: number;
  readonly maxRequestBytes: number;
  readonly passwordCost: ScryptCost | undefined;
  /**
   * `ready`: this leader has committed an entry of its own term, so its commitIndex covers
   * everything committed before it took office (thesis §6.4).
   */
  role(): {
    readonly leader: boolean;
    readonly leaderId: string | null;
    readonly ready: boolean;
    readonly term: number;
    /**
     * Leader only: once appliedIndex reaches this, the local tables hold every
     * write acknowledged by anyone before this request (earlier terms' writes
     * up to the commit index this leader saw when ready; this term's writes
     * are acknowledged by this leader only after it applied them).
     */
    readonly applyBarrier: Index;
  };
  /** Hand a proposal to the core (the caller registered its id with the waiters first). */
  propose(id: string, data: Uint8Array): void;
  readIndex(id: string): void;
  proposeConfig(id: string, config: Configuration): void;
  transferLeadership(to: string): void;
  configuration(): Configuration;
  /** The `cluster` reply body, leader only. */
  clusterBody(): object;
  readonly log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void; debug(obj: object, msg: string): void };
  stopping(): boolean;
}

const ForwardRequest = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('write'), op: z.string(), body: z.unknown(), deadlineMs: z.number().int().positive() }),
  z.object({ kind: z.literal('readIndex'), deadlineMs: z.number().int().positive() }),
  z.object({ kind: z.literal('cluster') }),
  z.object({ kind: z.literal('members'), request: MembersRequest, deadlineMs: z.number().int().positive() }),
  z.object({ kind: z.literal('transfer'), request: TransferRequest, deadlineMs: z.number().int().positive() }),
]);
type ForwardRequest = z.infer<typeof ForwardRequest>;

/** A forwarded request reached a replica that does not (or no longer) lead: the sender retries elsewhere. */
const RETRY = { ok: false, retry: true } as const;
const ForwardRetry = z.object({ ok: z.literal(false), retry: z.literal(true) });
const ReadIndexReply = z.object({ ok: z.literal(true), index: z.number().int().nonnegative() });

export class RequestHandler {
  private inFlight = 0;

  constructor(private readonly ctx: RequestContext) {}

  get requestsInFlight(): number {
    return this.inFlight;
  }

  /**
   * A client request on `<prefix>.api.<op>`: always resolves to a reply body, never throws.
   * Every reply, success or error, names this replica (docs/protocol.md §1.1).
   */
  async handleClient(op: string, data: Uint8Array): Promise<object> {
    if (this.inFlight >= MAX_REQUESTS_IN_FLIGHT) return this.answered(new Unavailable(`replica ${this.ctx.id} has ${this.inFlight} requests in flight; retry`).toReply());
    this.inFlight += 1;
    try {
      return this.answered(await this.clientRequest(op, data));
    } catch (error) {
      return this.answered(this.failure(error, op));
    } finally {
      this.inFlight -= 1;
    }
  }

  /** A request from another replica on our forward subject. */
  async handleForward(data: Uint8Array): Promise<object> {
    try {
      let raw: unknown;
      try {
        raw = JSON.parse(new TextDecoder().decode(data));
      } catch {
        return new BadRequest('forwarded request is not JSON').toReply();
      }
      const parsed = ForwardRequest.safeParse(raw);
      if (!parsed.success) return new BadRequest(`forwarded request is malformed: ${parsed.error.issues[0]?.message ?? 'invalid'}`).toReply();
      return await this.forwarded(parsed.data);
    } catch (error) {
      if (error instanceof NotLeaderError) return RETRY;
      return this.failure(error, 'forward');
    }
  }

  /** An operator request on `<prefix>.admin.<op>` (admin.ts): always resolves to a reply body, naming this replica like a client reply. */
  async handleAdmin(op: string, data: Uint8Array): Promise<object> {
    return this.answered(await this.adminRequest(op, data));
  }

  private async adminRequest(op: string, data: Uint8Array): Promise<object> {
    try {
      if (this.ctx.stopping()) return new Unavailable(`replica ${this.ctx.id} is shutting down; retry`).toReply();
      if (data.byteLength > this.ctx.maxRequestBytes) return new TooLarge(`request body is ${data.byteLength} bytes, over the limit of ${this.ctx.maxRequestBytes}`).toReply();
      const body = parseJsonObject(data);
      if (isProtocolError(body)) return body.toReply();
      const request = parseAdminRequest(op, body);
      if (isProtocolError(request)) return request.toReply();
      const deadline = Date.now() + this.ctx.requestDeadlineMs;
      const forward: ForwardRequest =
        request.op === 'members'
          ? { kind: 'members', request: request.members, deadlineMs: this.ctx.requestDeadlineMs }
          : { kind: 'transfer', request: request.transfer, deadlineMs: this.ctx.requestDeadlineMs };
      for (;;) {
        const role = this.ctx.role();
        if (role.leader) {
          let reply: object;
          try {
            reply = await this.forwarded({ ...forward, deadlineMs: Math.max(1, deadline - Date.now()) });
          } catch (error) {
            if (!(error instanceof NotLeaderError)) throw error;
            reply = RETRY;
          }
          if (!ForwardRetry.safeParse(reply).success) return reply;
        } else if (role.leaderId !== null) {
          const reply = await this.askLeader(role.leaderId, { ...forward, deadlineMs: Math.max(1, deadline - Date.now()) }, deadline);
          if (reply !== null) return reply;
        }
        await this.pauseOrGiveUp(deadline, `could not carry out ${op}`);
      }
    } catch (error) {
      return this.failure(error, `admin.${op}`);
    }
  }

  private async clientRequest(op: string, data: Uint8Array): Promise<object> {
    if (this.ctx.stopping()) return new Unavailable(`replica ${this.ctx.id} is shutting down; retry`).toReply();
    if (data.byteLength > this.ctx.maxRequestBytes) {
      return new TooLarge(`request body is ${data.byteLength} bytes, over the limit of ${this.ctx.maxRequestBytes}`).toReply();
    }
    const deadline = Date.now() + this.ctx.requestDeadlineMs;
    if (op === 'cluster') {
      const body = parseJsonObject(data);
      if (isProtocolError(body)) return body.toReply();
      return await this.cluster(deadline);
    }
    const request = parseRequestBytes(op, data);
    if (isProtocolError(request)) return request.toReply();
    return isWrite(request) ? await this.write(request, deadline) : await this.read(request, deadline);
  }

  private async forwarded(request: ForwardRequest): Promise<object> {
    const role = this.ctx.role();
    if (!role.leader) return RETRY;
    switch (request.kind) {
      case 'cluster':
        return { ok: true, ...this.ctx.clusterBody() };
      case 'readIndex': {
        const deadline = Date.now() + Math.min(request.deadlineMs, this.ctx.requestDeadlineMs);
        return { ok: true, index: await this.localReadIndex(deadline) };
      }
      case 'members':
        return await this.changeMembers(request.request, Date.now() + Math.min(request.deadlineMs, this.ctx.requestDeadlineMs));
      case 'transfer':
        return await this.transfer(request.request.to, Date.now() + Math.min(request.deadlineMs, this.ctx.requestDeadlineMs));
      case 'write': {
        const parsed = parseRequest(request.op, request.body);
        if (isProtocolError(parsed)) return parsed.toReply();
        if (!isWrite(parsed)) return new BadRequest(`${request.op} is not a write`).toReply();
        const deadline = Date.now() + Math.min(request.deadlineMs, this.ctx.requestDeadlineMs);
        return await this.proposeUntil(parsed, deadline, false);
      }
    }
  }

  /** Leader only: one membership change, answered once the config entry is applied here. */
  private async changeMembers(request: MembersRequest, deadline: number): Promise<object> {
    for (;;) {
      if (!this.ctx.role().leader) return RETRY;
      const next = nextConfiguration(this.ctx.configuration(), request);
      if (isProtocolError(next)) return next.toReply();
      const id = randomUUID();
      const applied = this.ctx.waiters.expectProposal(id);
      this.ctx.proposeConfig(id, next);
      try {
        await this.beforeDeadline(applied, deadline, id, `the configuration change was not committed in time`);
        const now = this.ctx.configuration();
        return { ok: true, voters: now.voters, learners: now.learners };
      } catch (error) {
        // Lost, or refused because the previous change is not committed yet: try again until the deadline.
        if (!(error instanceof ProposalLostError)) throw error;
        this.ctx.log.debug({ reason: error.message }, 'configuration change not accepted yet; retrying');
      }
      await this.pauseOrGiveUp(deadline, `could not ${request.action} ${request.id}`);
    }
  }

  /** Leader only: hand leadership to `to` (thesis §3.10) and answer once it leads. */
  private async transfer(to: string, deadline: number): Promise<object> {
    if (!this.ctx.configuration().voters.includes(to)) return new BadRequest(`${to} is not a voter; only a voter can lead`).toReply();
    if (to === this.ctx.id) return { ok: true, leader: to };
    this.ctx.transferLeadership(to);
    for (;;) {
      const role = this.ctx.role();
      if (role.leaderId === to) return { ok: true, leader: to };
      await this.pauseOrGiveUp(deadline, `leadership did not move to ${to}`);
    }
  }

  /** PROTOCOL.md `cluster`: the leader's view, fetched from the leader when this replica follows. */
  private async cluster(deadline: number): Promise<object> {
    for (;;) {
      const role = this.ctx.role();
      if (role.leader) return { ok: true, ...this.ctx.clusterBody() };
      if (role.leaderId !== null) {
        const reply = await this.askLeader(role.leaderId, { kind: 'cluster' }, deadline);
        if (reply !== null) return reply;
      }
      await this.pauseOrGiveUp(deadline, 'no leader to describe the cluster');
    }
  }

  private async write(request: WriteRequest, deadline: number): Promise<object> {
    return await this.proposeUntil(request, deadline, true);
  }

  /**
   * Until the deadline: propose as leader, or forward to the leader, or wait
   * for one. A lost proposal (overwritten by a new leader) is retried; a
   * send repeated with the same requestId is applied once (AlreadyApplied).
   */
  private async proposeUntil(request: WriteRequest, deadline: number, mayForward: boolean): Promise<object> {
    for (;;) {
      const role = this.ctx.role();
      if (role.leader) {
        if (role.ready) {
          try {
            return await this.proposeAsLeader(request, deadline);
          } catch (error) {
            if (!(error instanceof ProposalLostError || error instanceof NotLeaderError)) throw error;
            this.ctx.log.debug({ op: request.op, reason: error.message }, 'proposal lost; retrying');
          }
        }
      } else if (!mayForward) {
        return RETRY;
      } else if (role.leaderId !== null) {
        const { op, ...body } = request;
        const reply = await this.askLeader(role.leaderId, { kind: 'write', op, body, deadlineMs: Math.max(1, deadline - Date.now()) }, deadline);
        if (reply !== null) return reply;
      }
      await this.pauseOrGiveUp(deadline, `could not commit ${request.op}`);
    }
  }

  private async proposeAsLeader(request: WriteRequest, deadline: number): Promise<object> {
    // Validate against tables that hold every write acknowledged before this request arrived.
    const barrier = this.ctx.role().applyBarrier;
    await this.beforeDeadline(this.ctx.waiters.untilApplied(barrier), deadline, null, `leader ${this.ctx.id} did not apply up to ${barrier} in time`);
    const prepared = await prepareCommand(request, {
      db: this.ctx.store.reader,
      now: Date.now(),
      randomBytes: (n) => randomBytes(n),
      ...(this.ctx.passwordCost ? { passwordCost: this.ctx.passwordCost } : {}),
    });
    if (prepared instanceof AlreadyApplied) return prepared.reply;
    if (isProtocolError(prepared)) return prepared.toReply();
    const id = randomUUID();
    const applied = this.ctx.waiters.expectProposal(id);
    this.ctx.propose(id, encodeCommand(prepared));
    const reply = await this.beforeDeadline(applied, deadline, id, `${request.op} was not committed in time`);
    return wireReply(reply);
  }

  private async read(request: Exclude<ChatRequest, WriteRequest>, deadline: number): Promise<object> {
    const index = await this.readIndex(deadline);
    await this.beforeDeadline(this.ctx.waiters.untilApplied(index), deadline, null, `replica ${this.ctx.id} did not catch up to read index ${index} in time`);
    const reply = await executeRead(this.ctx.store.reader, request, Date.now());
    return isProtocolError(reply) ? reply.toReply() : reply;
  }

  /** A read index from the leader: ours if we lead, else asked of the leader. */
  private async readIndex(deadline: number): Promise<Index> {
    for (;;) {
      const role = this.ctx.role();
      if (role.leader) {
        try {
          return await this.localReadIndex(deadline);
        } catch (error) {
          if (!(error instanceof NotLeaderError || error instanceof ProposalLostError)) throw error;
        }
      } else if (role.leaderId !== null) {
        const reply = await this.askLeader(role.leaderId, { kind: 'readIndex', deadlineMs: Math.max(1, deadline - Date.now()) }, deadline);
        const parsed = ReadIndexReply.safeParse(reply);
        if (parsed.success) return parsed.data.index;
        if (reply !== null) throw new UnavailableError(`leader ${role.leaderId} refused a read index: ${JSON.stringify(reply)}`);
      }
      await this.pauseOrGiveUp(deadline, 'no leader confirmed a read index');
    }
  }

  private async localReadIndex(deadline: number): Promise<Index> {
    const id = randomUUID();
    const answer = this.ctx.waiters.expectRead(id);
    this.ctx.readIndex(id);
    return await this.beforeDeadline(answer, deadline, id, 'the leader could not confirm its leadership in time');
  }

  /**
   * One forwarded request to the leader. Returns its reply, or null when the
   * leader did not take it (not leader anymore, unreachable, timed out).
   */
  private async askLeader(leader: string, request: ForwardRequest, deadline: number): Promise<object | null> {
    const timeout = deadline - Date.now() + FORWARD_GRACE_MS;
    if (timeout <= FORWARD_GRACE_MS) return null;
    const term = this.ctx.role().term;
    const answer = (async (): Promise<object | null> => {
      try {
        const msg = await this.ctx.nc.request(forwardSubject(this.ctx.prefix, leader), JSON.stringify(request), { timeout });
        const reply = JSON.parse(msg.string()) as unknown;
        if (ForwardRetry.safeParse(reply).success) return null;
        if (typeof reply !== 'object' || reply === null) return null;
        return reply;
      } catch (error) {
        // No responders, timeout or a disconnect: the leader may have died; find the next one.
        this.ctx.log.debug({ leader, err: error }, 'forward to leader failed');
        return null;
      }
    })();
    // A leader that died holding our request never answers: stop waiting once another leader (or term) takes over.
    let watching = true;
    const superseded = (async (): Promise<null> => {
      while (watching) {
        await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
        const now = this.ctx.role();
        if (now.term !== term || (now.leaderId !== null && now.leaderId !== leader) || this.ctx.stopping()) return null;
      }
      return null;
    })();
    try {
      return await Promise.race([answer, superseded]);
    } finally {
      watching = false;
    }
  }

  private async beforeDeadline<T>(promise: Promise<T>, deadline: number, abandonId: string | null, message: string): Promise<T> {
    const remaining = deadline - Date.now();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new UnavailableError(message)), Math.max(0, remaining));
    });
    try {
      return await Promise.race([promise, expired]);
    } catch (error) {
      if (abandonId !== null) this.ctx.waiters.abandon(abandonId);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  private async pauseOrGiveUp(deadline: number, what: string): Promise<void> {
    if (this.ctx.stopping()) throw new StoppingError();
    if (Date.now() + RETRY_PAUSE_MS >= deadline) throw new UnavailableError(`${what} within the deadline (no leader or no quorum); retry`);
    await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
  }

  /** Stamps a reply with who answered it; never throws, so the handlers' "always a reply" holds. */
  private answered(body: object): object {
    let leader: string | null = null;
    try {
      leader = this.ctx.role().leaderId;
    } catch (error) {
      this.ctx.log.error({ err: error }, 'could not read the role to stamp a reply');
    }
    return stampReply(body, this.ctx.id, leader);
  }

  private failure(error: unknown, op: string): object {
    if (error instanceof UnavailableError) return new Unavailable(error.message).toReply();
    if (error instanceof StoppingError) return new Unavailable(`replica ${this.ctx.id} is shutting down; retry`).toReply();
    if (isProtocolError(error)) return error.toReply();
    this.ctx.log.error({ err: error, op }, 'request failed with a bug');
    return new Internal(`replica ${this.ctx.id} failed to handle ${op}: ${error instanceof Error ? error.message : String(error)}`).toReply();
  }
}

/**
 * docs/protocol.md §1.1, a compatible extension of PROTOCOL.md: `replica` is
 * the replica that answered (the one that received the client's request, also
 * when it forwarded the work to the leader, since it is the one replying);
 * `leader` is the leader that replica knew of when it replied, unless the body
 * already has its own `leader` (`cluster`, `transfer`), which is kept. A
 * `replica` in the body (a relayed leader's reply) is overwritten.
 */
export function stampReply(body: object, replica: string, leader: string | null): object {
  return { leader, ...body, replica };
}

function parseJsonObject(data: Uint8Array): Record<string, unknown> | BadRequest {
  let value: unknown;
  try {
    value = data.byteLength === 0 ? {} : JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data));
  } catch (error) {
    return new BadRequest(`request body is not UTF-8 JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return new BadRequest('the request body must be a JSON object');
  return value as Record<string, unknown>;
}

/** Exported for tests of the wire shape. */
export type { CommandReply };
