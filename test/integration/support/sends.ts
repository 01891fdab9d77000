/**
 * A stream of `send` requests from one account, through the typed client
 * (actors/client), recording what the cluster acknowledged, for checking
 * afterwards that nothing acknowledged was lost.
 */
import { isProtocolError } from '../../../actors/client/index.ts';
import type { ReplicaCluster, Reply } from './replica-cluster.ts';

export interface AckedMessage {
  readonly id: number;
  readonly text: string;
  readonly requestId: string;
}

/** How long one send keeps retrying (`unavailable`, no reply) under its requestId. */
export const SEND_RETRY_DEADLINE_MS = 30_000;

export class SendStream {
  readonly acked: AckedMessage[] = [];
  readonly failures: Reply[] = [];
  /** Attempts that failed retryably (`unavailable`, NATS timeout) and were repeated with the same requestId. */
  retries = 0;
  private running = false;
  private loop: Promise<void> | null = null;
  private next = 0;

  constructor(
    private readonly cluster: ReplicaCluster,
    private readonly token: string,
    private readonly to: string,
    private readonly tag: string,
  ) {}

  /** Sends one message at a time, in order, until stopped. */
  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) await this.sendOne();
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  /**
   * One message through the typed client's `send` (retrying `unavailable`
   * and timeouts under one requestId until SEND_RETRY_DEADLINE_MS); the
   * outcome as the harness's Reply.
   */
  async sendOne(): Promise<Reply> {
    const n = this.next++;
    const requestId = `${this.tag}-${n}`;
    const text = `${this.tag} message ${n}`;
    const client = await this.cluster.chatClient();
    try {
      const reply = await client.send({ token: this.token, to: this.to, text, requestId }, { deadlineMs: SEND_RETRY_DEADLINE_MS, onRetry: () => (this.retries += 1) });
      this.acked.push({ id: reply.message.id, text: reply.message.text, requestId });
      return { ...reply, ok: true };
    } catch (error) {
      // The client's errors are the protocol's (actors/client/errors.ts): their wire form is the harness's Reply.
      const failure: Reply = isProtocolError(error) ? error.toReply() : { ok: false, error: { code: 'client', message: String(error) } };
      this.failures.push(failure);
      return failure;
    }
  }

  /** Resolves once `count` more sends than now have been acknowledged. */
  async ackedAtLeast(count: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.acked.length < count) {
      if (Date.now() > deadline) throw new Error(`only ${this.acked.length} of ${count} sends acknowledged after ${timeoutMs} ms; failures: ${JSON.stringify(this.failures.slice(-3))}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Every message of the conversation, oldest first, paging through history. */
export async function wholeHistory(cluster: ReplicaCluster, token: string, other: string): Promise<{ id: number; text: string }[]> {
  const out: { id: number; text: string }[] = [];
  let afterId = 0;
  for (;;) {
    const reply = await cluster.request('history', { token, with: other, afterId, limit: 1000 });
    if (!reply.ok) throw new Error(`history failed: ${JSON.stringify(reply)}`);
    const messages = reply['messages'] as { id: number; text: string }[];
    out.push(...messages);
    const last = messages[messages.length - 1];
    if (!reply['hasMore'] || !last) return out;
    afterId = last.id;
  }
}
