/**
 * A test double of the cluster's request/reply side for the client library's
 * tests: answers `<prefix>.api.<op>` and one status subject on a real
 * nats-server from an in-memory message store, and publishes live frames on
 * demand. It is not the chat state machine (the real cluster tests are the
 * runtime's); it implements only what the client tests need. Like a replica
 * (docs/protocol.md §2.5) it seals every object reply to a request's
 * `replyKey` and every frame to a session that logged in with `liveKey`,
 * unless a test turns that off to play a replica older than sealing.
 */
import { randomBytes } from 'node:crypto';
import type { Msg, Subscription } from '@nats-io/transport-node';
import type { ExecutionContext } from 'ava';
import { NatsLink } from '../../actors/transport/nats-connection.ts';
import { TestNatsServer } from '../transport/nats-server.ts';
import { ChatClient, encodeLiveFrame, liveSubject, sealedFrame, Sealer, SealError, sessionKeyOf, type ChatMessage, type LiveFrame } from '../../actors/client/index.ts';

export type Handler = (body: Record<string, unknown>, raw: Uint8Array) => unknown;

export class FakeCluster {
  readonly link: NatsLink;
  readonly prefix: string;
  /** Every request's subject, in order (a request aimed at one replica names it). */
  readonly subjects: string[] = [];
  /** Every request body received, per op, in order. */
  readonly requests = new Map<string, Record<string, unknown>[]>();
  /** Per op: a handler returning the reply object (or 'silence' for no reply). */
  readonly handlers = new Map<string, Handler>();
  readonly messages: ChatMessage[] = [];
  /** false: answer and publish in the clear, as a replica older than sealing would. */
  sealing = true;
  /** token → the liveKey its login carried. */
  readonly liveKeys = new Map<string, string>();
  readonly #sealer = new Sealer({ randomBytes, now: Date.now });
  #nextId = 1;
  #subscription: Subscription | null = null;

  private constructor(link: NatsLink, prefix: string) {
    this.link = link;
    this.prefix = prefix;
  }

  static async start(url: string, prefix: string): Promise<FakeCluster> {
    const link = await NatsLink.connect({ servers: url, name: 'fake-cluster' });
    const fake = new FakeCluster(link, prefix);
    fake.#subscription = link.nc.subscribe(`${prefix}.>`, { callback: (_err, msg) => fake.#answer(msg) });
    await link.nc.flush();
    fake.handlers.set('conversations', () => ({ ok: true, conversations: fake.conversationsOf('me') }));
    fake.handlers.set('history', (b) => ({ ok: true, ...fake.historyOf('me', String(b.with), Number(b.afterId ?? 0), Number(b.limit ?? 100)) }));
    return fake;
  }

  /** Stores a message (as if committed) and returns it; does not publish it. */
  commit(from: string, to: string, text: string): ChatMessage {
    const message: ChatMessage = { id: this.#nextId++, from, to, text, ts: 1_700_000_000_000 + this.#nextId, read: false };
    this.messages.push(message);
    return message;
  }

  /** Publishes a frame (or raw text, for malformed frames) to the session of `token`. */
  publish(token: string, frame: LiveFrame | Record<string, unknown> | string): void {
    const subject = liveSubject(this.prefix, sessionKeyOf(token));
    const liveKey = this.liveKeys.get(token);
    if (typeof frame !== 'string' && this.sealing && liveKey !== undefined) {
      this.link.nc.publish(subject, JSON.stringify(sealedFrame(this.#sealer.seal(this.#target(liveKey), 'live', subject, JSON.stringify(frame)))));
      return;
    }
    const bytes = typeof frame === 'string' ? new TextEncoder().encode(frame) : encodeLiveFrame(frame as LiveFrame);
    this.link.nc.publish(subject, bytes);
  }

  conversationsOf(me: string): { with: string; lastId: number; unread: number }[] {
    const byPartner = new Map<string, number>();
    for (const m of this.messages) {
      if (m.from !== me && m.to !== me) continue;
      const partner = m.from === me ? m.to : m.from;
      byPartner.set(partner, Math.max(byPartner.get(partner) ?? 0, m.id));
    }
    return [...byPartner].map(([partner, lastId]) => ({ with: partner, lastId, unread: 0 }));
  }

  historyOf(me: string, partner: string, afterId: number, limit: number): { messages: ChatMessage[]; hasMore: boolean } {
    const all = this.messages.filter((m) => m.id > afterId && ((m.from === me && m.to === partner) || (m.from === partner && m.to === me)));
    return { messages: all.slice(0, limit), hasMore: all.length > limit };
  }

  count(op: string): number {
    return this.requests.get(op)?.length ?? 0;
  }

  async stop(): Promise<void> {
    this.#subscription?.unsubscribe();
    await this.link.close();
  }

  #answer(msg: Msg): void {
    // `<prefix>.replica.<id>.api.<op>` is the same request aimed at one replica (docs/protocol.md §1.2).
    const aimed = new RegExp(`^${this.prefix}\\.replica\\.([^.]+)\\.api\\.([^.]+)$`).exec(msg.subject);
    const op = aimed ? (aimed[2] ?? '') : msg.subject.startsWith(`${this.prefix}.api.`) ? msg.subject.slice(this.prefix.length + 5) : msg.subject.slice(this.prefix.length + 1);
    if (msg.reply === undefined || msg.reply === '') return;
    this.subjects.push(msg.subject);
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(new TextDecoder().decode(msg.data)) as Record<string, unknown>;
    } catch {
      // handlers see {} and can inspect raw
    }
    this.requests.set(op, [...(this.requests.get(op) ?? []), body]);
    const handler = this.handlers.get(op);
    if (handler === undefined) return;
    const reply = handler(body, msg.data);
    if (reply === 'silence') return;
    if (op === 'login' && typeof body['liveKey'] === 'string' && typeof (reply as { token?: unknown }).token === 'string') {
      this.liveKeys.set((reply as { token: string }).token, body['liveKey']);
    }
    const replyKey = body['replyKey'];
    if (this.sealing && typeof replyKey === 'string' && !(reply instanceof Uint8Array)) {
      msg.respond(JSON.stringify({ sealed: this.#sealer.seal(this.#target(replyKey), 'reply', msg.reply, JSON.stringify(reply)) }));
      return;
    }
    msg.respond(reply instanceof Uint8Array ? reply : JSON.stringify(reply));
  }

  #target(key: string) {
    const target = this.#sealer.target(key);
    if (target instanceof SealError) throw target;
    return target;
  }
}

/** A nats-server, a FakeCluster on it and a typed client, all torn down with the test. */
export async function fakeClusterWithClient(t: ExecutionContext, prefix: string, timeoutMs: number): Promise<{ server: TestNatsServer; fake: FakeCluster; client: ChatClient }> {
  const server = await TestNatsServer.start();
  t.teardown(() => server.stop());
  const fake = await FakeCluster.start(server.url, prefix);
  t.teardown(() => fake.stop());
  const client = await ChatClient.connect({ servers: server.url, prefix, timeoutMs });
  t.teardown(() => client.close());
  return { server, fake, client };
}
