/**
 * The simulated client-message bus: the NATS subset the runtime uses
 * (actors/replica/ports.ts `ClientBus`) over a seeded `SimulatedNetwork`, so
 * requests and replies are delayed, dropped, duplicated and cut like Raft
 * traffic. Queue groups deliver each request to one live member, chosen by
 * the seed; a request nobody serves fails at once (NATS "no responders"); a
 * request without a reply before its timeout fails with a timeout.
 */
import type { BusStatus, ClientBus } from '../../actors/replica/ports.ts';
import type { EventQueue } from '../../actors/transport/sim-clock.ts';
import type { SeededRandom } from '../../actors/transport/sim-random.ts';
import type { SimulatedNetwork } from '../../actors/transport/simulated.ts';

interface BusRequest {
  readonly id: number;
  readonly subject: string;
  readonly data: Uint8Array;
  readonly subscription: Subscription;
}

/**
 * `burst`: several requests for one node in one message, handled side by side on arrival, as
 * nats.js hands over every message parsed from one socket read in the same turn. It is what
 * lets the runtime's proposal batcher (actors/replica/proposal-batch.ts) gather more than one.
 */
export type BusWire =
  | ({ readonly kind: 'request' } & BusRequest)
  | { readonly kind: 'burst'; readonly requests: readonly BusRequest[] }
  | { readonly kind: 'reply'; readonly id: number; readonly data: string };

interface Subscription {
  readonly node: string;
  readonly pattern: string;
  readonly queue: string | null;
  readonly handle: (request: { subject: string; data: Uint8Array }) => Promise<string | null>;
  active: boolean;
}

interface PendingRequest {
  readonly from: string;
  settle(error: Error | null, data: string): void;
}

export class NoRespondersError extends Error {
  override readonly name = 'NoRespondersError';
}
export class BusTimeoutError extends Error {
  override readonly name = 'BusTimeoutError';
}

export function describeBusWire(wire: BusWire): string {
  if (wire.kind === 'burst') return `burst[${wire.requests.map((r) => `#${r.id}`).join(',')}] ${wire.requests[0]?.subject ?? ''}`;
  return wire.kind === 'request' ? `req#${wire.id} ${wire.subject}` : `reply#${wire.id}`;
}

export class SimulatedBus {
  readonly #queue: EventQueue;
  readonly #random: SeededRandom;
  readonly #network: SimulatedNetwork<BusWire>;
  readonly #subscriptions: Subscription[] = [];
  readonly #pending = new Map<number, PendingRequest>();
  #nextId = 1;

  constructor(queue: EventQueue, random: SeededRandom, network: SimulatedNetwork<BusWire>, nodes: readonly string[]) {
    this.#queue = queue;
    this.#random = random;
    this.#network = network;
    for (const node of nodes) network.attach(node, (wire, from) => this.#arrive(node, wire, from));
  }

  /** The bus as one node (replica) sees it; `alive()` false once it crashed: it serves and sends nothing more. */
  forNode(node: string, alive: () => boolean): ClientBus {
    return {
      serve: (pattern, queue, handle) => {
        const subscription: Subscription = { node, pattern, queue, handle, active: true };
        this.#subscriptions.push(subscription);
        return () => {
          subscription.active = false;
        };
      },
      request: async (subject, data, timeoutMs) => {
        if (!alive()) return await new Promise<string>(() => undefined); // a crashed process waits forever
        return await this.request(node, subject, data, timeoutMs);
      },
      publish: () => undefined,
      status: (): BusStatus => 'connected',
    };
  }

  /** A crashed node's subscriptions end with it. */
  dropNode(node: string): void {
    for (const subscription of this.#subscriptions) if (subscription.node === node) subscription.active = false;
    for (let i = this.#subscriptions.length - 1; i >= 0; i--) if (!this.#subscriptions[i]!.active) this.#subscriptions.splice(i, 1);
  }

  request(from: string, subject: string, data: string, timeoutMs: number): Promise<string> {
    return this.requestBurst(from, subject, [data], timeoutMs)[0]!;
  }

  /**
   * Requests sent at one instant: each goes to a queue member of its own (chosen by the seed),
   * and those bound for the same node travel as one burst.
   */
  requestBurst(from: string, subject: string, datas: readonly string[], timeoutMs: number): Promise<string>[] {
    const candidates = this.#subscriptions.filter((s) => s.active && matches(s.pattern, subject));
    if (candidates.length === 0) return datas.map(() => Promise.reject(new NoRespondersError(`no responders on ${subject}`)));
    const byNode = new Map<string, BusRequest[]>();
    const replies = datas.map((data) => {
      // A queue group delivers to one member; plain subscriptions all get it (here at most one per subject).
      const target = candidates[this.#random.int(0, candidates.length - 1)]!;
      const request: BusRequest = { id: this.#nextId++, subject, data: new TextEncoder().encode(data), subscription: target };
      const forNode = byNode.get(target.node) ?? [];
      forNode.push(request);
      byNode.set(target.node, forNode);
      return this.#awaitReply(from, request, timeoutMs);
    });
    for (const [node, requests] of byNode) {
      this.#network.send(from, node, requests.length === 1 ? { kind: 'request', ...requests[0]! } : { kind: 'burst', requests });
    }
    return replies;
  }

  #awaitReply(from: string, request: BusRequest, timeoutMs: number): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const timer = this.#queue.schedule(timeoutMs, `bus timeout #${request.id}`, () => {
        if (this.#pending.delete(request.id)) reject(new BusTimeoutError(`no reply on ${request.subject} within ${timeoutMs} ms`));
      });
      this.#pending.set(request.id, {
        from,
        settle: (error, reply) => {
          this.#queue.cancel(timer);
          if (error) reject(error);
          else resolve(reply);
        },
      });
    });
  }

  #arrive(node: string, wire: BusWire, from: string): void {
    if (wire.kind === 'reply') {
      const pending = this.#pending.get(wire.id);
      if (pending === undefined || pending.from !== node) return; // a duplicate, or timed out already
      this.#pending.delete(wire.id);
      pending.settle(null, wire.data);
      return;
    }
    // Every request of a burst is handed over before any of them is awaited.
    for (const request of wire.kind === 'burst' ? wire.requests : [wire]) this.#serve(node, from, request);
  }

  #serve(node: string, from: string, request: BusRequest): void {
    const subscription = request.subscription;
    if (!subscription.active) return; // crashed or unsubscribed while in flight: NATS would drop it too
    void subscription
      .handle({ subject: request.subject, data: request.data })
      .then((reply) => {
        if (reply !== null && subscription.active) this.#network.send(node, from, { kind: 'reply', id: request.id, data: reply });
      })
      .catch(() => undefined);
  }
}

function matches(pattern: string, subject: string): boolean {
  if (!pattern.endsWith('.*')) return pattern === subject;
  const stem = pattern.slice(0, -1);
  return subject.startsWith(stem) && !subject.slice(stem.length).includes('.');
}
