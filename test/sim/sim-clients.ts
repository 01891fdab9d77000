/**
 * The simulated chat clients: they speak the client protocol through the
 * simulated bus (`<prefix>.api.send`, `history`) to any replica (queue
 * group), retry with the same requestId, and check what only a client can
 * see: exactly-once acknowledgements, ids increasing in real-time order, and
 * linearizable reads. What replicas hold is checked in runtime-sim.ts.
 */
import type { RaftTiming } from '../../actors/raft/types.ts';
import type { EventQueue } from '../../actors/transport/sim-clock.ts';
import type { SeededRandom } from '../../actors/transport/sim-random.ts';
import { TOKEN_PREFIX } from './chat-model.ts';
import type { FaultMix } from './faults.ts';
import { InvariantViolation } from './invariants.ts';
import type { SimulatedBus } from './sim-bus.ts';

/** Who the clients are: three users, so conversations overlap. */
export const USERS = ['ada', 'bob', 'cy'] as const;
/** The bus node the clients send from (outside every partition). */
export const CLIENT = 'client';
/** Sends in flight at once: a modest, bounded client population. */
const MAX_OUTSTANDING_SENDS = 16;
/** Share of client operations that are reads. */
const READ_SHARE = 0.3;
/**
 * Share of the remaining operations that issue several sends at one instant, as many writers
 * do under load: those that reach one replica arrive together (sim-bus.ts `burst`) and can be
 * proposed in one core event (`proposeMany`), which one-at-a-time clients almost never cause.
 */
const BURST_SHARE = 0.3;
/** Sends in one burst at most. */
const MAX_BURST_SENDS = 6;
/** A client waits this much longer than the request deadline before it retries (the replica's `unavailable` comes first). */
const CLIENT_TIMEOUT_GRACE_MS = 500;
/** Client retry pause range after an error reply or a timeout, ms. */
const CLIENT_RETRY_MS: readonly [number, number] = [5, 50];

export interface Send {
  readonly from: string;
  readonly to: string;
  readonly requestId: string;
  /** Unique text: a read finds the send by it. */
  readonly text: string;
  readonly issuedAt: number;
  /** The highest message id acknowledged before this send was first issued: its id must be higher. */
  readonly idFloor: number;
  ack: { readonly id: number | null; readonly at: number } | null;
  attempts: number;
}

export interface ClientWorld {
  readonly queue: EventQueue;
  readonly random: SeededRandom;
  readonly bus: SimulatedBus;
  readonly mix: FaultMix;
  readonly timing: RaftTiming;
  readonly prefix: string;
  /** The runtime's request deadline, ms. */
  readonly requestDeadlineMs: number;
  inFaultPhase(): boolean;
  record(line: string): void;
  /** A client saw a violation (reported at the end of the step). */
  fail(violation: InvariantViolation): void;
  /** A send was acknowledged as message `id`: replicas that applied it are checked again from there. */
  acknowledged(id: number): void;
}

export class SimulatedClients {
  readonly #w: ClientWorld;
  readonly sends: Send[] = [];
  /** Message id → the send acknowledged with it. */
  readonly byId = new Map<number, Send>();
  #maxAckedId = 0;
  reads = 0;

  constructor(world: ClientWorld) {
    this.#w = world;
  }

  /** Client operations at the mix's rate, during the fault phase. */
  schedule(): void {
    if (!this.#w.inFaultPhase()) return;
    const [low, high] = this.#w.mix.proposalIntervalMs;
    this.#w.queue.schedule(this.#w.random.int(low, high), 'client', () => {
      if (!this.#w.inFaultPhase()) return;
      const room = MAX_OUTSTANDING_SENDS - this.sends.filter((send) => send.ack === null).length;
      if (this.#w.random.chance(READ_SHARE)) this.#read();
      else if (room >= 2 && this.#w.random.chance(BURST_SHARE)) this.#newSends(this.#w.random.int(2, Math.min(room, MAX_BURST_SENDS)));
      else if (room >= 1) this.#newSends(1);
      this.schedule();
    });
  }

  #timeoutMs(): number {
    return this.#w.requestDeadlineMs + CLIENT_TIMEOUT_GRACE_MS;
  }


  #newSends(count: number): void {
    const sends: Send[] = [];
    for (let i = 0; i < count; i++) {
      const from = this.#w.random.pick(USERS);
      const to = this.#w.random.pick(USERS.filter((user) => user !== from));
      const requestId = `q${this.sends.length + 1}`;
      const send: Send = { from, to, requestId, text: `m-${requestId}`, issuedAt: this.#w.queue.now, idFloor: this.#maxAckedId, ack: null, attempts: 0 };
      this.sends.push(send);
      sends.push(send);
    }
    this.#attempt(sends);
  }

  /** One request per send, all at this instant; a send that fails is retried on its own. */
  #attempt(sends: readonly Send[]): void {
    const bodies = sends.map((send) => {
      send.attempts++;
      return JSON.stringify({ token: `${TOKEN_PREFIX}${send.from}`, to: send.to, text: send.text, requestId: send.requestId });
    });
    this.#w.bus.requestBurst(CLIENT, `${this.#w.prefix}.api.send`, bodies, this.#timeoutMs()).forEach((reply, i) =>
      reply.then(
        (text) => this.#onSendReply(sends[i]!, text),
        () => this.#retry(sends[i]!),
      ),
    );
  }

  #retry(send: Send): void {
    if (send.ack !== null) return;
    this.#w.queue.schedule(this.#w.random.int(...CLIENT_RETRY_MS), `client retry ${send.requestId}`, () => this.#attempt([send]));
  }

  #onSendReply(send: Send, text: string): void {
    const reply = JSON.parse(text) as { ok: boolean; message?: { id: number }; error?: { code: string; message: string } };
    if (!reply.ok) {
      if (reply.error?.code !== 'unavailable') this.#w.fail(new InvariantViolation('harness error', `send ${send.requestId} got ${reply.error?.code}: ${reply.error?.message}`));
      this.#retry(send);
      return;
    }
    const id = reply.message?.id ?? null;
    if (send.ack !== null) {
      // Exactly once: a retry with the same requestId answers with the same message.
      if (send.ack.id !== null && id !== null && send.ack.id !== id) this.#w.fail(new InvariantViolation('exactly once', `send ${send.from}/${send.requestId} acknowledged as message ${send.ack.id} and again as ${id}`));
      return;
    }
    send.ack = { id, at: this.#w.queue.now };
    this.#w.record(`  ack ${send.requestId} as #${id ?? '?'}`);
    if (id === null) return;
    // Ids strictly increasing in commit order: a send issued after another was acknowledged commits after it.
    if (id <= send.idFloor) this.#w.fail(new InvariantViolation('linearizability', `send ${send.requestId} got id ${id}, but id ${send.idFloor} was acknowledged before it was issued`));
    const other = this.byId.get(id);
    if (other !== undefined && other !== send) this.#w.fail(new InvariantViolation('exactly once', `message ${id} acknowledged for both ${other.requestId} and ${send.requestId}`));
    this.byId.set(id, send);
    this.#maxAckedId = Math.max(this.#maxAckedId, id);
    this.#w.acknowledged(id);
  }

  /** A linearizable read sees every send acknowledged before it was issued. */
  #read(): void {
    const user = this.#w.random.pick(USERS);
    const other = this.#w.random.pick(USERS.filter((u) => u !== user));
    const issuedAt = this.#w.queue.now;
    const mustSee = this.sends.filter((send) => send.ack !== null && ((send.from === user && send.to === other) || (send.from === other && send.to === user)));
    this.reads++;
    const body = JSON.stringify({ token: `${TOKEN_PREFIX}${user}`, with: other });
    this.#w.bus.request(CLIENT, `${this.#w.prefix}.api.history`, body, this.#timeoutMs()).then(
      (text) => {
        const reply = JSON.parse(text) as { ok: boolean; messages?: { text: string }[]; replica?: string };
        if (!reply.ok) return;
        const seen = new Set((reply.messages ?? []).map((m) => m.text));
        const missing = mustSee.find((send) => !seen.has(send.text));
        if (missing) this.#w.fail(new InvariantViolation('linearizability', `a history read of ${user}/${other} issued at ${issuedAt.toFixed(2)} ms, served by ${reply.replica}, misses ${missing.requestId}, acknowledged at ${missing.ack!.at.toFixed(2)} ms`));
      },
      () => undefined,
    );
  }
}
