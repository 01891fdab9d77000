/**
 * The chat view's `ChatPort` over NATS, built from actors/client's pieces
 * (subjects, zod reply schemas, typed errors, live-frame decoding) following
 * docs/protocol.md: request/reply per op, `send` retried with the same
 * requestId on `unavailable` until its deadline, live delivery subscribed
 * before the baseline, de-duplicated by id, and repaired from `history` after
 * every reconnect.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { apiSubject, liveSubject, sessionKeyOf } from '../../actors/client/subjects.ts';
import { OPS, ErrorReplySchema, type Op, type ReplyOf } from '../../actors/client/protocol.ts';
import { errorFromCode, UnavailableError } from '../../actors/client/errors.ts';
import { decodeLiveFrame } from '../../actors/client/live-frames.ts';
import type { ChatMessage, Connection } from './chat-model.ts';
import type { ChatPort, ClusterInfo, LiveEvent } from './chat-port.ts';

/** Longer than the replicas' own request deadline (5 s), so a held request comes back as `unavailable` with a reason. */
export const REQUEST_TIMEOUT_MS = 10_000;
/** A send keeps retrying (same requestId) through failovers for this long before it is shown as failed. */
export const SEND_DEADLINE_MS = 30_000;
/** Pause between send retries: an election takes a few hundred ms; no need to hammer the cluster. */
export const SEND_RETRY_PAUSE_MS = 250;
/** Messages read per history page while repairing gaps. */
const REPAIR_PAGE = 500;

export class NatsChatPort implements ChatPort {
  private readonly connectionHandlers = new Set<(c: Connection) => void>();
  private readonly answeredHandlers = new Set<(replica: string) => void>();
  private readonly reconnectHandlers = new Set<() => void>();
  private closed = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly prefix: string,
  ) {
    void this.watchStatus();
  }

  register(req: { username: string; password: string }) {
    return this.call('register', req);
  }
  login(req: { username: string; password: string }) {
    return this.call('login', req);
  }
  logout(req: { token: string }) {
    return this.call('logout', req);
  }
  accounts(req: { token: string; pattern?: string; limit?: number; after?: string }) {
    return this.call('accounts', req);
  }
  history(req: { token: string; with: string; beforeId?: number; afterId?: number; limit?: number }) {
    return this.call('history', req);
  }
  conversations(req: { token: string }) {
    return this.call('conversations', req);
  }
  markRead(req: { token: string; with: string; upToId: number }) {
    return this.call('markRead', req);
  }
  deleteMessages(req: { token: string; ids: number[]; forEveryone?: boolean }) {
    return this.call('deleteMessages', req);
  }
  deleteAccount(req: { token: string; password: string }) {
    return this.call('deleteAccount', req);
  }
  async cluster(): Promise<ClusterInfo> {
    const reply = await this.call('cluster', {});
    return { leader: reply.leader, term: reply.term };
  }

  /** PROTOCOL.md: exactly-once per (sender, requestId), so repeating after `unavailable` is safe. */
  async send(req: { token: string; to: string; text: string; requestId: string }, onRetry: () => void): Promise<{ message: ChatMessage }> {
    const deadline = Date.now() + SEND_DEADLINE_MS;
    for (;;) {
      try {
        return await this.call('send', req);
      } catch (err) {
        if (!(err instanceof UnavailableError) || Date.now() + SEND_RETRY_PAUSE_MS > deadline || this.closed) throw err;
        onRetry();
        await new Promise((resolve) => setTimeout(resolve, SEND_RETRY_PAUSE_MS));
      }
    }
  }

  live(session: { token: string; username: string }, handler: (event: LiveEvent) => void): { close(): void } {
    const { token, username: me } = session;
    const confirmed = new Map<string, number>();
    const seen = new Map<string, Set<number>>();
    let stopped = false;
    const show = (m: ChatMessage): void => {
      const other = m.from === me ? m.to : m.from;
      if (m.id <= (confirmed.get(other) ?? 0)) return;
      let ids = seen.get(other);
      if (ids === undefined) seen.set(other, (ids = new Set()));
      if (ids.has(m.id)) return;
      ids.add(m.id);
      handler({ type: 'message', message: m });
    };
    // docs/protocol.md §2.4: subscribe first, then the baseline, so nothing falls between.
    const sub = this.nc.subscribe(liveSubject(this.prefix, sessionKeyOf(token)), {
      callback: (err, msg) => {
        if (err || stopped) return;
        const decoded = decodeLiveFrame(msg.data);
        if (decoded.kind !== 'frame') return;
        const frame = decoded.frame;
        if (frame.type === 'message') {
          show(frame.message);
        } else if (frame.type === 'read') handler({ type: 'read', by: frame.by, with: frame.with, upToId: frame.upToId });
        else if (frame.type === 'deleted') handler({ type: 'deleted', with: frame.with, ids: frame.ids });
        else handler({ type: 'revoked' });
      },
    });
    const repair = async (): Promise<void> => {
      const { conversations } = await this.call('conversations', { token });
      for (const c of conversations) {
        let after = confirmed.get(c.with);
        if (after === undefined) {
          // First sight of this conversation (the baseline): what exists now is history, not news.
          confirmed.set(c.with, c.lastId);
          continue;
        }
        while (c.lastId > after) {
          const page = await this.call('history', { token, with: c.with, afterId: after, limit: REPAIR_PAGE });
          for (const m of page.messages) {
            show(m);
            after = Math.max(after, m.id);
          }
          if (!page.hasMore || page.messages.length === 0) break;
        }
        confirmed.set(c.with, after);
        for (const id of seen.get(c.with) ?? []) if (id <= after) seen.get(c.with)?.delete(id);
      }
    };
    const repairUntilDone = async (announce: boolean): Promise<void> => {
      for (let pause = 250; !stopped; pause = Math.min(pause * 2, 5_000)) {
        try {
          await repair();
          if (announce) handler({ type: 'repaired' });
          return;
        } catch {
          await new Promise((resolve) => setTimeout(resolve, pause));
        }
      }
    };
    void repairUntilDone(false);
    const onReconnect = (): void => void repairUntilDone(true);
    this.reconnectHandlers.add(onReconnect);
    return {
      close: () => {
        stopped = true;
        this.reconnectHandlers.delete(onReconnect);
        sub.unsubscribe();
      },
    };
  }

  onConnection(handler: (connection: Connection) => void): () => void {
    this.connectionHandlers.add(handler);
    return () => this.connectionHandlers.delete(handler);
  }

  onAnswered(handler: (replica: string) => void): () => void {
    this.answeredHandlers.add(handler);
    return () => this.answeredHandlers.delete(handler);
  }

  close(): void {
    this.closed = true;
  }

  private async call<O extends Op>(op: O, body: unknown): Promise<ReplyOf<O>> {
    let raw: string;
    try {
      const reply = await this.nc.request(apiSubject(this.prefix, op), JSON.stringify(body), { timeout: REQUEST_TIMEOUT_MS });
      raw = reply.string();
    } catch (err) {
      this.setConnection('reconnecting');
      throw errorFromCode('unavailable', `the cluster did not answer ${op}: ${err instanceof Error ? err.message : String(err)}`, err);
    }
    const json: unknown = JSON.parse(raw);
    const failed = ErrorReplySchema.safeParse(json);
    if (failed.success) {
      if (failed.data.error.code === 'unavailable') this.setConnection('reconnecting');
      throw errorFromCode(failed.data.error.code, failed.data.error.message);
    }
    this.setConnection('connected');
    const replica = (json as { replica?: unknown }).replica;
    if (typeof replica === 'string') for (const h of this.answeredHandlers) h(replica);
    const parsed = OPS[op].reply.safeParse(json);
    if (!parsed.success) throw errorFromCode('internal', `unexpected ${op} reply: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    return parsed.data as ReplyOf<O>;
  }

  private last: Connection = 'connected';
  private setConnection(c: Connection): void {
    if (c === this.last) return;
    this.last = c;
    for (const h of this.connectionHandlers) h(c);
  }

  private async watchStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnecting') this.setConnection('reconnecting');
      else if (s.type === 'reconnect') {
        this.setConnection('connected');
        for (const h of this.reconnectHandlers) h();
      } else if (s.type === 'close') this.setConnection('disconnected');
    }
  }
}
