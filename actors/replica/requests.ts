/**
 * Serving the client protocol (PROTOCOL.md): any replica takes any request.
 *
 * Everything only a leader can do (propose a write, confirm a read index,
 * describe the cluster, change members, transfer leadership) goes through
 * ONE loop, `untilLeader`: act as leader, else forward to the known leader
 * and relay its reply, else wait for a leader; until the deadline, then
 * `unavailable`. "This replica cannot do it now, try again" is the typed value
 * `RETRY_ELSEWHERE`, never a reply body (on the forward subject between
 * replicas it travels as `{ok: false, retry: true}`, decoded at the edge).
 *
 * Writes: the leader prepares the command (the application decides ts,
 * salts, tokens once), proposes it and answers once the entry is applied
 * locally. Reads are linearizable (thesis §6.4): a read index from the
 * leader, wait until this replica has applied it, then read.
 *
 * Sealing (docs/protocol.md §2.5): a client request with a usable `replyKey`
 * gets every reply, success or error, as `{"sealed": envelope}` bound to its
 * reply subject; only what is refused before the key can be read (in-flight
 * limit, shutting down, too large, not JSON, a bad `replyKey`) is answered
 * in the clear, and none of it carries anything but the refusal. A write
 * forwarded for such a request asks the leader to seal its reply to this
 * replica's own key, since that reply crosses an `_INBOX` subject too.
 */
import { z } from 'zod';
import type { Configuration, DataId, Index, ReplicaId } from '../raft/types.ts';
import { nextConfiguration, parseAdminRequest, quorumProblem, rejoinConfiguration } from './admin.ts';
import {
  BadSealKeyError,
  forwardSubject,
  JoinRequest,
  MembersRequest,
  Opener,
  parseJsonBody,
  parseJsonObjectBytes,
  requestedReplyKey,
  SealError,
  Sealer,
  sealKeyPairFrom,
  SEAL_KEY_BYTES,
  TransferRequest,
  type LearnerIntent,
  type SealedEnvelope,
  type SealTarget,
} from '../protocol/index.ts';
import { BadRequest, Internal, isProtocolError, isWrite, TooLarge, Unavailable, type ChatRequest, type ProtocolError, type ReadRequest, type WriteRequest } from '../chat/index.ts';
import { wireReply, type CommandReply } from './apply.ts';
import { NotLeaderError, ProposalLostError, StoppingError, UnavailableError } from './errors.ts';
import { withTimeout, type ClientBus, type ReplicaApplication, type RuntimeClock, type RuntimeLogger, type RuntimeRandom, type UnsafeRuntimeVariants, type WireReply } from './ports.ts';
import type { Waiters } from './waiters.ts';

/** Pause between attempts while no leader is known or a proposal was lost: a few per election, not a busy loop. */
export const RETRY_PAUSE_MS = 25;
/** Extra time a forwarding replica waits beyond the leader's deadline, so the leader's own `unavailable` arrives first. */
export const FORWARD_GRACE_MS = 250;
/** Requests handled at once per replica; beyond this new ones get `unavailable` at once instead of queueing without bound. */
export const MAX_REQUESTS_IN_FLIGHT = 5_000;

/** The leader's position as the request layer needs it. */
export interface RoleView {
  readonly leader: boolean;
  readonly leaderId: string | null;
  /**
   * `ready`: this leader has committed an entry of its own term, so its commitIndex covers
   * everything committed before it took office (thesis §6.4).
   */
  readonly ready: boolean;
  readonly term: number;
  /**
   * Leader only: once appliedIndex reaches this, the applied state holds every
   * write acknowledged by anyone before this request (earlier terms' writes
   * up to the commit index this leader saw when ready; this term's writes
   * are acknowledged by this leader only after it applied them).
   */
  readonly applyBarrier: Index;
}

/** What the request layer needs from the running replica. */
export interface RequestContext {
  readonly id: string;
  readonly prefix: string;
  /** Forwarding to the leader (request/reply with a timeout). */
  readonly bus: Pick<ClientBus, 'request'>;
  readonly clock: RuntimeClock;
  readonly random: Pick<RuntimeRandom, 'uuid' | 'bytes'>;
  readonly application: Pick<ReplicaApplication<unknown>, 'parse' | 'prepare' | 'read'>;
  readonly waiters: Waiters<CommandReply>;
  readonly requestDeadlineMs: number;
  readonly maxRequestBytes: number;
  role(): RoleView;
  /** Hand a proposal to the core (the caller registered its id with the waiters first). */
  propose(id: string, data: Uint8Array): void;
  readIndex(id: string): void;
  proposeConfig(id: string, config: Configuration): void;
  transferLeadership(to: string): void;
  configuration(): Configuration;
  /** The `cluster` reply body (without `ok`), leader only. */
  clusterBody(): Record<string, unknown>;
  /** Leader only: the members it heard from within an election timeout that hold the log (matchIndex above 0), itself included. */
  votersInStep(): ReadonlySet<ReplicaId>;
  /** A learner said what it wants to be (join, addLearner with an intent): the monitor keeps it. */
  recordIntent?(id: string, intent: LearnerIntent): void;
  readonly log: Pick<RuntimeLogger, 'warn' | 'error' | 'debug'>;
  stopping(): boolean;
  /** UNSAFE broken variants, simulation only (ports.ts). */
  readonly unsafe?: UnsafeRuntimeVariants | undefined;
}

/** A reply as it leaves a replica: who answered and the leader it knew of (docs/protocol.md §1.1). */
export type StampedReply = WireReply & { readonly replica: string; readonly leader: string | null };
/** docs/protocol.md §2.5: a reply sealed to the request's `replyKey` (the stamped reply's JSON inside). */
export interface SealedReply {
  readonly sealed: SealedEnvelope;
}
/** What a client request is answered with. */
export type ClientReply = StampedReply | SealedReply;

/** A client request read as far as sealing needs: its body and where a sealed reply goes, or the clear refusal. */
type OpenedRequest = { readonly kind: 'open'; readonly body: unknown; readonly sealTo: SealTo | null } | { readonly kind: 'refused'; readonly reply: WireReply };

/** Where a sealed reply goes: the client's key, checked, and the subject it is bound to. */
interface SealTo {
  readonly target: SealTarget;
  readonly subject: string;
}

/** "This replica cannot do that now (it does not lead, or lost the proposal): try again, here or at the leader." */
export const RETRY_ELSEWHERE: unique symbol = Symbol('retry elsewhere');
export type RetryElsewhere = typeof RETRY_ELSEWHERE;


const ForwardRequest = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('write'),
    op: z.string(),
    body: z.unknown(),
    deadlineMs: z.number().int().positive(),
    /** The forwarder's key and the client's reply subject: the leader seals its reply to them (purpose `forward`). Absent: a clear reply. */
    seal: z.object({ key: z.string(), subject: z.string().min(1) }).optional(),
  }),
  z.object({ kind: z.literal('readIndex'), deadlineMs: z.number().int().positive() }),
  z.object({ kind: z.literal('cluster') }),
  z.object({ kind: z.literal('members'), request: MembersRequest, deadlineMs: z.number().int().positive() }),
  z.object({ kind: z.literal('transfer'), request: TransferRequest, deadlineMs: z.number().int().positive() }),
  z.object({ kind: z.literal('join'), request: JoinRequest, deadlineMs: z.number().int().positive() }),
]);
type ForwardRequest = z.infer<typeof ForwardRequest>;

/** On the forward subject only: the wire form of RETRY_ELSEWHERE (docs/replica.md, "The forward subject"). */
const FORWARD_RETRY_WIRE = { ok: false, retry: true } as const;
const ForwardRetryWire = z.object({ ok: z.literal(false), retry: z.literal(true) });
const ReadIndexWire = z.object({ ok: z.literal(true), index: z.number().int().nonnegative() });
/** The least a relayed reply must be: a JSON object with a boolean `ok`. */
const WireReplyShape = z.looseObject({ ok: z.boolean() });

/** A forward reply: a protocol reply, a read index, or retry. */
type ForwardReply = WireReply | { readonly ok: true; readonly index: Index } | RetryElsewhere;
/** A forward reply as it travels on the forward subject. */
export type ForwardWireReply = Exclude<ForwardReply, RetryElsewhere> | typeof FORWARD_RETRY_WIRE;

/** One job only a leader can do, as `untilLeader` runs it. */
interface LeaderWork<T> {
  /** For `unavailable` at the deadline: "could not <what> within the deadline". */
  readonly what: string;
  /** As the leader. RETRY_ELSEWHERE (or a NotLeaderError / ProposalLostError) means: pause and look again. */
  asLeader(deadline: number): Promise<T | RetryElsewhere>;
  /** What to ask the leader on the forward subject; null when this work must not be forwarded (it arrived forwarded). */
  forward: ((deadlineMs: number) => ForwardRequest) | null;
  /** The leader's reply, decoded (RETRY_ELSEWHERE when the leader could not do it). */
  decode(reply: unknown): T | RetryElsewhere;
}

export class RequestHandler {
  private inFlight = 0;
  /** Seals replies (to clients, and to forwarders); its key pair is made on first use from the runtime's randomness. */
  private readonly sealer: Sealer;
  /** This replica's own key for the leader's sealed replies to its forwards; made on first use, so a run that never seals draws no randomness for it. */
  private forwardOpener: Opener | null = null;

  constructor(private readonly ctx: RequestContext) {
    this.sealer = new Sealer({ randomBytes: (n) => ctx.random.bytes(n), now: () => ctx.clock.now() });
  }

  get requestsInFlight(): number {
    return this.inFlight;
  }

  /**
   * A client request on `<prefix>.api.<op>`: always resolves to a reply, never throws.
   * Every reply, success or error, names this replica (docs/protocol.md §1.1).
   */
  async handleClient(op: string, data: Uint8Array, replyTo?: string): Promise<ClientReply> {
    if (this.inFlight >= MAX_REQUESTS_IN_FLIGHT) return this.answered(new Unavailable(`replica ${this.ctx.id} has ${this.inFlight} requests in flight; retry`).toReply());
    this.inFlight += 1;
    try {
      const opened = this.openClientRequest(data, replyTo);
      if (opened.kind === 'refused') return this.answered(opened.reply);
      let reply: WireReply;
      try {
        reply = await this.clientRequest(op, opened.body, opened.sealTo);
      } catch (error) {
        reply = this.failure(error, op);
      }
      return opened.sealTo === null ? this.answered(reply) : this.sealed(this.answered(reply), 'reply', opened.sealTo);
    } finally {
      this.inFlight -= 1;
    }
  }

  /** A request from another replica on our forward subject: the reply's wire form (sealed when the forwarder asked). */
  async handleForward(data: Uint8Array): Promise<ForwardWireReply | SealedReply> {
    let reply: ForwardReply;
    let sealTo: SealTo | null = null;
    try {
      const request = this.openForwardRequest(data);
      if (request.kind === 'refused') {
        reply = request.reply;
      } else {
        sealTo = request.sealTo;
        reply = this.ctx.role().leader ? await this.leaderWork(request.request) : RETRY_ELSEWHERE;
      }
    } catch (error) {
      reply = error instanceof NotLeaderError ? RETRY_ELSEWHERE : this.failure(error, 'forward');
    }
    // "Try again elsewhere" says nothing about the request: it goes in the clear, so the forwarder need not open it.
    if (reply === RETRY_ELSEWHERE) return FORWARD_RETRY_WIRE;
    return sealTo === null ? reply : this.sealed(reply, 'forward', sealTo);
  }

  /** An operator request on `<prefix>.admin.<op>` (admin.ts): always resolves to a reply, naming this replica like a client reply. */
  async handleAdmin(op: string, data: Uint8Array): Promise<StampedReply> {
    try {
      return this.answered(await this.adminRequest(op, data));
    } catch (error) {
      return this.answered(this.failure(error, `admin.${op}`));
    }
  }

  private async adminRequest(op: string, data: Uint8Array): Promise<WireReply> {
    const refused = this.refuse(data);
    if (refused) return refused;
    const body = parseJsonObjectBytes(data);
    if (isProtocolError(body)) return body.toReply();
    const request = parseAdminRequest(op, body);
    if (isProtocolError(request)) return request.toReply();
    const forward = (deadlineMs: number): ForwardRequest =>
      request.op === 'members'
        ? { kind: 'members', request: request.members, deadlineMs }
        : request.op === 'join'
          ? { kind: 'join', request: request.join, deadlineMs }
          : { kind: 'transfer', request: request.transfer, deadlineMs };
    return await this.untilLeaderOrUnavailable(this.deadlineIn(this.ctx.requestDeadlineMs), {
      what: `carry out ${op}`,
      asLeader: async (deadline) => await this.leaderWork(forward(this.remaining(deadline))),
      forward,
      decode: decodeWireReply,
    });
  }

  /**
   * What must be known before a client request is worked on, each refusal in the clear
   * (nothing secret in it, and no usable key to seal it to): the body as JSON, and where a
   * sealed reply goes when it carries `replyKey`. The JSON is parsed once, here.
   */
  private openClientRequest(data: Uint8Array, replyTo: string | undefined): OpenedRequest {
    const refused = this.refuse(data);
    if (refused) return { kind: 'refused', reply: refused };
    const body = parseJsonBody(data);
    if (body instanceof BadRequest) return { kind: 'refused', reply: body.toReply() };
    const key = requestedReplyKey(body);
    if (key === null) return { kind: 'open', body, sealTo: null };
    if (isProtocolError(key)) return { kind: 'refused', reply: key.toReply() };
    if (replyTo === undefined || replyTo === '') return { kind: 'refused', reply: new BadRequest('replyKey: the request has no reply subject to seal the reply to').toReply() };
    const target = this.sealer.target(key);
    if (target instanceof BadSealKeyError) return { kind: 'refused', reply: new BadRequest(`replyKey ${target.message}`).toReply() };
    return { kind: 'open', body, sealTo: { target, subject: replyTo } };
  }

  /**
   * `body` as a sealed reply. JSON of a reply cannot fail (it was built from JSON), but if
   * sealing ever did, the answer is a bodiless `internal`, never the reply in the clear.
   */
  private sealed(body: WireReply | StampedReply | Exclude<ForwardReply, RetryElsewhere>, purpose: 'reply' | 'forward', to: SealTo): SealedReply | StampedReply {
    try {
      return { sealed: this.sealer.seal(to.target, purpose, to.subject, JSON.stringify(body)) };
    } catch (error) {
      this.ctx.log.error({ err: error }, 'could not seal a reply');
      return this.answered(new Internal(`replica ${this.ctx.id} could not seal its reply`).toReply());
    }
  }

  private async clientRequest(op: string, body: unknown, sealTo: SealTo | null): Promise<WireReply> {
    const deadline = this.deadlineIn(this.ctx.requestDeadlineMs);
    if (op === 'cluster') {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) return new BadRequest('the request body must be a JSON object').toReply();
      return await this.untilLeaderOrUnavailable(deadline, {
        what: 'describe the cluster (no leader)',
        asLeader: async () => this.clusterReply(),
        forward: () => ({ kind: 'cluster' }),
        decode: decodeWireReply,
      });
    }
    const request = this.ctx.application.parse(op, body);
    if (isProtocolError(request)) return request.toReply();
    return isWrite(request) ? await this.untilLeaderOrUnavailable(deadline, this.writeWork(request, { sealFor: sealTo?.subject ?? null })) : await this.read(request, deadline);
  }

  /** Shutting down, or a body over the size limit: the answer before any parsing. */
  private refuse(data: Uint8Array): WireReply | null {
    if (this.ctx.stopping()) return new Unavailable(`replica ${this.ctx.id} is shutting down; retry`).toReply();
    if (data.byteLength > this.ctx.maxRequestBytes) return new TooLarge(`request body is ${data.byteLength} bytes, over the limit of ${this.ctx.maxRequestBytes}`).toReply();
    return null;
  }

  /** A forwarded request, and where its reply is sealed to when the forwarder asked; or the clear refusal. */
  private openForwardRequest(data: Uint8Array): { readonly kind: 'open'; readonly request: ForwardRequest; readonly sealTo: SealTo | null } | { readonly kind: 'refused'; readonly reply: WireReply } {
    let raw: unknown;
    try {
      raw = JSON.parse(new TextDecoder().decode(data));
    } catch {
      return { kind: 'refused', reply: new BadRequest('forwarded request is not JSON').toReply() };
    }
    const parsed = ForwardRequest.safeParse(raw);
    if (!parsed.success) return { kind: 'refused', reply: new BadRequest(`forwarded request is malformed: ${parsed.error.issues[0]?.message ?? 'invalid'}`).toReply() };
    const seal = parsed.data.kind === 'write' ? parsed.data.seal : undefined;
    if (seal === undefined) return { kind: 'open', request: parsed.data, sealTo: null };
    const target = this.sealer.target(seal.key);
    if (target instanceof BadSealKeyError) return { kind: 'refused', reply: new BadRequest(`forwarded request: seal.key ${target.message}`).toReply() };
    return { kind: 'open', request: parsed.data, sealTo: { target, subject: seal.subject } };
  }

  /** What the leader does for a (possibly forwarded) request; RETRY_ELSEWHERE once it no longer leads. */
  private async leaderWork(request: ForwardRequest): Promise<ForwardReply> {
    const deadline = 'deadlineMs' in request ? this.deadlineIn(Math.min(request.deadlineMs, this.ctx.requestDeadlineMs)) : 0;
    switch (request.kind) {
      case 'cluster':
        return this.clusterReply();
      case 'readIndex':
        return { ok: true, index: await this.localReadIndex(deadline) };
      case 'members':
        return await this.untilLeader(deadline, this.membersWork(request.request));
      case 'transfer':
        return await this.transfer(request.request.to, deadline);
      case 'join':
        return await this.untilLeader(deadline, this.joinWork(request.request));
      case 'write': {
        const parsed = this.ctx.application.parse(request.op, request.body);
        if (isProtocolError(parsed)) return parsed.toReply();
        if (!isWrite(parsed)) return new BadRequest(`${request.op} is not a write`).toReply();
        return await this.untilLeader(deadline, this.writeWork(parsed, null));
      }
    }
  }

  /**
   * The one loop (see the file comment). Returns the work's result, or
   * RETRY_ELSEWHERE when this replica does not lead and the work must not be
   * forwarded; throws UnavailableError at the deadline.
   */
  private async untilLeader<T>(deadline: number, work: LeaderWork<T>): Promise<T | RetryElsewhere> {
    for (;;) {
      const role = this.ctx.role();
      if (role.leader) {
        const result = await this.attemptAsLeader(work, deadline);
        if (result !== RETRY_ELSEWHERE) return result;
      } else if (work.forward === null) {
        return RETRY_ELSEWHERE;
      } else if (role.leaderId !== null) {
        const result = await this.askLeader(role.leaderId, work.forward(this.remaining(deadline)), deadline, work.decode);
        if (result !== RETRY_ELSEWHERE) return result;
      }
      await this.pauseOrGiveUp(deadline, work.what);
    }
  }

  /** `untilLeader` for work that may be forwarded, so it never comes back as RETRY_ELSEWHERE. */
  private async untilLeaderOrUnavailable<T>(deadline: number, work: LeaderWork<T>): Promise<T> {
    const result = await this.untilLeader(deadline, work);
    if (result === RETRY_ELSEWHERE) throw new UnavailableError(`could not ${work.what} within the deadline; retry`);
    return result;
  }

  private async attemptAsLeader<T>(work: LeaderWork<T>, deadline: number): Promise<T | RetryElsewhere> {
    try {
      return await work.asLeader(deadline);
    } catch (error) {
      if (!(error instanceof ProposalLostError || error instanceof NotLeaderError)) throw error;
      this.ctx.log.debug({ what: work.what, reason: error.message }, 'the leader could not do it this time; retrying');
      return RETRY_ELSEWHERE;
    }
  }

  /**
   * A write until the deadline. A lost proposal (overwritten by a new leader) is
   * retried; a send repeated with the same requestId is applied once (the
   * application answers it from the applied state). `forwarding` null: it arrived
   * forwarded and must not be forwarded again; `sealFor`: the client's reply subject
   * when its reply is sealed, so the leader seals its reply to this replica too.
   */
  private writeWork(request: WriteRequest, forwarding: { readonly sealFor: string | null } | null): LeaderWork<WireReply> {
    const { op, ...body } = request;
    const sealFor = forwarding?.sealFor ?? null;
    return {
      what: `commit ${request.op}`,
      asLeader: async (deadline) => await this.proposeAsLeader(request, deadline),
      forward:
        forwarding === null
          ? null
          : (deadlineMs) => ({ kind: 'write', op, body, deadlineMs, ...(sealFor === null ? {} : { seal: { key: this.ownForwardOpener().publicKey, subject: sealFor } }) }),
      decode: sealFor === null ? decodeWireReply : (reply) => decodeWireReply(this.openForwardReply(reply, sealFor)),
    };
  }

  private ownForwardOpener(): Opener {
    this.forwardOpener ??= new Opener(sealKeyPairFrom(this.ctx.random.bytes(SEAL_KEY_BYTES)));
    return this.forwardOpener;
  }

  /**
   * The leader's reply to a forward that asked for sealing, opened. A clear reply is taken
   * as it is: only a leader older than sealing sends one (a rolling upgrade; docs/security.md
   * says what that exposes). One that does not open is a broken peer: try again.
   */
  private openForwardReply(reply: unknown, subject: string): unknown {
    if (typeof reply !== 'object' || reply === null || !('sealed' in reply)) return reply;
    const opened = this.ownForwardOpener().open((reply as { sealed: unknown }).sealed, 'forward', subject);
    if (opened instanceof SealError) {
      this.ctx.log.warn({ reason: opened.message }, 'the leader\'s sealed reply to a forward did not open; retrying');
      return RETRY_ELSEWHERE;
    }
    try {
      return JSON.parse(opened.toString('utf8')) as unknown;
    } catch {
      return RETRY_ELSEWHERE;
    }
  }

  private async proposeAsLeader(request: WriteRequest, deadline: number): Promise<WireReply | RetryElsewhere> {
    const role = this.ctx.role();
    // Not ready: its commitIndex may not cover earlier terms' commits yet; validating now could miss them.
    if (!role.ready) return RETRY_ELSEWHERE;
    // Validate against the state that holds every write acknowledged before this request arrived.
    await this.beforeDeadline(this.ctx.waiters.untilApplied(role.applyBarrier), deadline, null, `leader ${this.ctx.id} did not apply up to ${role.applyBarrier} in time`);
    const prepared = await this.ctx.application.prepare(request, this.ctx.clock.now(), (n) => this.ctx.random.bytes(n));
    if (prepared.kind === 'answer') return prepared.reply;
    const id = this.ctx.random.uuid();
    const applied = this.ctx.waiters.expectProposal(id);
    this.ctx.propose(id, prepared.data);
    if (this.ctx.unsafe?.replyBeforeApply === true) {
      // UNSAFE variant: acknowledged before it is committed; a new leader may overwrite it.
      this.ctx.waiters.abandon(id);
      return { ok: true };
    }
    const reply = wireReply(await this.beforeDeadline(applied, deadline, id, `${request.op} was not committed in time`));
    return reply.ok && prepared.reveal !== undefined ? { ...reply, ...prepared.reveal } : reply;
  }

  /**
   * The leader's own membership change (the monitor's): the same work as an
   * operator's request, never forwarded. RETRY_ELSEWHERE once this replica
   * no longer leads; throws UnavailableError at the deadline.
   */
  async changeMembers(request: MembersRequest): Promise<WireReply | RetryElsewhere> {
    return await this.untilLeader(this.deadlineIn(this.ctx.requestDeadlineMs), this.membersWork(request));
  }

  /**
   * Leader only: a new replica asking in. A member already is answered with the
   * configuration as it is, unless it comes with a data directory other than
   * the one recorded for it: then it comes back as a learner (admin.ts `rejoinConfiguration`).
   */
  private joinWork(request: JoinRequest): LeaderWork<WireReply> {
    const { id, dataId } = request;
    const members = this.membersWork({ action: 'addLearner', id, intent: request.intent }, dataId);
    const rejoin = this.configWork(`take ${id} back as a learner with data directory ${dataId ?? '?'}`, (current) => rejoinConfiguration(current, id, dataId ?? ''));
    return {
      ...members,
      what: `add ${id} (joining)`,
      asLeader: async (deadline) => {
        this.ctx.recordIntent?.(id, request.intent);
        const current = this.ctx.configuration();
        const recorded = current.dataIds?.[id];
        const member = current.voters.includes(id) || current.learners.includes(id);
        const replaced = member && dataId !== undefined && recorded !== undefined && recorded !== dataId;
        if (member && !replaced) return { ok: true, voters: current.voters, learners: current.learners, added: false };
        if (replaced) this.ctx.log.warn({ id, recorded, dataId }, 'a member rejoins with another data directory: it comes back as a learner');
        const reply = await (replaced ? rejoin : members).asLeader(deadline);
        return reply === RETRY_ELSEWHERE || !reply.ok ? reply : { ...reply, added: true };
      },
    };
  }

  /** Leader only: one membership change, answered once the config entry is applied here. */
  private membersWork(request: MembersRequest, dataId?: DataId): LeaderWork<WireReply> {
    const what = `${request.action} ${request.id}`;
    return this.configWork(what, (current) => {
      if (request.intent !== undefined) this.ctx.recordIntent?.(request.id, request.intent);
      const next = nextConfiguration(current, request, dataId);
      if (isProtocolError(next) || request.action === 'addLearner') return next;
      // Removing or promoting changes the voters: refuse a set a lost leader could not be replaced in.
      return quorumProblem(next, this.ctx.votersInStep(), what) ?? next;
    });
  }

  /** Leader only: the configuration `next` makes of the current one, proposed and answered once applied here. */
  private configWork(what: string, next: (current: Configuration) => Configuration | ProtocolError): LeaderWork<WireReply> {
    return {
      what,
      asLeader: async (deadline) => {
        const proposed = next(this.ctx.configuration());
        if (isProtocolError(proposed)) return proposed.toReply();
        // Refused (the previous change is not committed yet) or lost: ProposalLostError, so the loop tries again.
        const id = this.ctx.random.uuid();
        const applied = this.ctx.waiters.expectProposal(id);
        this.ctx.proposeConfig(id, proposed);
        await this.beforeDeadline(applied, deadline, id, 'the configuration change was not committed in time');
        const now = this.ctx.configuration();
        return { ok: true, voters: now.voters, learners: now.learners };
      },
      forward: null,
      decode: decodeWireReply,
    };
  }

  /** Leader only: hand leadership to `to` (thesis §3.10) and answer once it leads. */
  private async transfer(to: string, deadline: number): Promise<WireReply> {
    if (!this.ctx.configuration().voters.includes(to)) return new BadRequest(`${to} is not a voter; only a voter can lead`).toReply();
    if (to !== this.ctx.id) this.ctx.transferLeadership(to);
    while (this.ctx.role().leaderId !== to) await this.pauseOrGiveUp(deadline, `move leadership to ${to}`);
    return { ok: true, leader: to };
  }

  private clusterReply(): WireReply {
    return { ok: true, ...this.ctx.clusterBody() };
  }

  private async read(request: ReadRequest, deadline: number): Promise<WireReply> {
    // UNSAFE variant: whatever this replica has applied, however stale.
    if (this.ctx.unsafe?.readWithoutReadIndex === true) return await this.ctx.application.read(request, this.ctx.clock.now());
    const index = await this.untilLeaderOrUnavailable(deadline, {
      what: 'confirm a read index (no leader or no quorum)',
      asLeader: async (until) => await this.localReadIndex(until),
      forward: (deadlineMs) => ({ kind: 'readIndex', deadlineMs }),
      decode: (reply) => {
        const parsed = ReadIndexWire.safeParse(reply);
        if (parsed.success) return parsed.data.index;
        throw new UnavailableError(`the leader refused a read index: ${JSON.stringify(reply)}`);
      },
    });
    await this.beforeDeadline(this.ctx.waiters.untilApplied(index), deadline, null, `replica ${this.ctx.id} did not catch up to read index ${index} in time`);
    return await this.ctx.application.read(request, this.ctx.clock.now());
  }

  private async localReadIndex(deadline: number): Promise<Index> {
    const id = this.ctx.random.uuid();
    const answer = this.ctx.waiters.expectRead(id);
    this.ctx.readIndex(id);
    return await this.beforeDeadline(answer, deadline, id, 'the leader could not confirm its leadership in time');
  }

  /**
   * One forwarded request to the leader: its decoded reply, or RETRY_ELSEWHERE
   * when the leader did not take it (not leader anymore, unreachable, timed out).
   */
  private async askLeader<T>(leader: string, request: ForwardRequest, deadline: number, decode: (reply: unknown) => T | RetryElsewhere): Promise<T | RetryElsewhere> {
    const timeout = deadline - this.ctx.clock.now() + FORWARD_GRACE_MS;
    if (timeout <= FORWARD_GRACE_MS) return RETRY_ELSEWHERE;
    const term = this.ctx.role().term;
    const answer = (async (): Promise<unknown> => {
      try {
        const reply = JSON.parse(await this.ctx.bus.request(forwardSubject(this.ctx.prefix, leader), JSON.stringify(request), timeout)) as unknown;
        return ForwardRetryWire.safeParse(reply).success ? RETRY_ELSEWHERE : reply;
      } catch (error) {
        // No responders, timeout or a disconnect: the leader may have died; find the next one.
        this.ctx.log.debug({ leader, err: error }, 'forward to leader failed');
        return RETRY_ELSEWHERE;
      }
    })();
    // A leader that died holding our request never answers: stop waiting once another leader (or term) takes over.
    let watching = true;
    const superseded = (async (): Promise<RetryElsewhere> => {
      while (watching) {
        await this.ctx.clock.sleep(RETRY_PAUSE_MS);
        const now = this.ctx.role();
        if (now.term !== term || (now.leaderId !== null && now.leaderId !== leader) || this.ctx.stopping()) break;
      }
      return RETRY_ELSEWHERE;
    })();
    try {
      const reply = await Promise.race([answer, superseded]);
      return reply === RETRY_ELSEWHERE ? RETRY_ELSEWHERE : decode(reply);
    } finally {
      watching = false;
    }
  }

  private async beforeDeadline<T>(promise: Promise<T>, deadline: number, abandonId: string | null, message: string): Promise<T> {
    try {
      return await withTimeout(this.ctx.clock, promise, deadline - this.ctx.clock.now(), () => new UnavailableError(message));
    } catch (error) {
      if (abandonId !== null) this.ctx.waiters.abandon(abandonId);
      throw error;
    }
  }

  private async pauseOrGiveUp(deadline: number, what: string): Promise<void> {
    if (this.ctx.stopping()) throw new StoppingError();
    if (this.ctx.clock.now() + RETRY_PAUSE_MS >= deadline) throw new UnavailableError(`could not ${what} within the deadline (no leader or no quorum); retry`);
    await this.ctx.clock.sleep(RETRY_PAUSE_MS);
  }

  private deadlineIn(ms: number): number {
    return this.ctx.clock.now() + ms;
  }

  /**
   * Whole milliseconds left until `deadline`, at least 1: the forward request's schema wants a positive
   * integer, and a clock may tell fractional time (the simulation's does; found by it).
   */
  private remaining(deadline: number): number {
    return Math.max(1, Math.ceil(deadline - this.ctx.clock.now()));
  }

  /** Stamps a reply with who answered it; never throws, so the handlers' "always a reply" holds. */
  private answered(body: WireReply): StampedReply {
    let leader: string | null = null;
    try {
      leader = this.ctx.role().leaderId;
    } catch (error) {
      this.ctx.log.error({ err: error }, 'could not read the role to stamp a reply');
    }
    return stampReply(body, this.ctx.id, leader);
  }

  private failure(error: unknown, op: string): WireReply {
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
export function stampReply(body: WireReply, replica: string, leader: string | null): StampedReply {
  return { leader, ...body, replica } as StampedReply;
}

/** A relayed leader's reply: relayed as it is when it looks like a protocol reply; anything else means try again. */
function decodeWireReply(reply: unknown): WireReply | RetryElsewhere {
  return WireReplyShape.safeParse(reply).success ? (reply as WireReply) : RETRY_ELSEWHERE;
}


export type { ChatRequest };
