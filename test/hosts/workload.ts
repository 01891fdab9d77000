/**
 * Writes flowing across the namespace hosts, for the partition tests and the
 * measurement script: closed-loop senders (one message at a time, through the
 * client library, each on one host's server) that never give up on a
 * message: when `send` throws `unavailable` they try again with the same
 * requestId, as a user's client would. Everything acknowledged is recorded
 * with its time, so the tests can compute ack rates and then check every
 * acknowledged message in the history read through every host's server.
 */
import { ChatClient, UnavailableError, type SendPolicyMode } from '../../actors/client/index.ts';
import { PREFIX, sleep, type Host, type Topology } from './topology.ts';

/**
 * One attempt waits at most this long for a reply (all of it with
 * `sendAttempts: 'fixed'`, as in the issue's measurements; the adaptive
 * policy usually much less): it outlasts the replicas' request deadline
 * (REQUEST_DEADLINE_MS), so a held request comes back as `unavailable`.
 */
export const ATTEMPT_TIMEOUT_MS = 3_000;
/** `send` retries one requestId this long before it surfaces `unavailable` (then the sender tries again). */
export const SEND_DEADLINE_MS = 5_000;
/** How long `stop` waits for the message in flight to be acknowledged: a heal plus an election, on a loaded machine. */
const STOP_TIMEOUT_MS = 30_000;
/** Setting up an account is retried through `unavailable` this long, this often (see `retried`). */
const SETUP_DEADLINE_MS = 30_000;
const SETUP_RETRY_MS = 250;
/**
 * A client connects through the same lossy links as everything else: with 2% loss a SYN or the
 * server's INFO can be lost, and TCP's first retransmission (1 s, then 3 s) outlasts one dial
 * attempt. Tries this many times, this far apart, before the connect error counts.
 */
const CONNECT_ATTEMPTS = 5;
const CONNECT_RETRY_MS = 200;
/** history's page size limit (actors/chat/limits.ts HISTORY_MAX_LIMIT). */
const HISTORY_PAGE = 1_000;
/**
 * A history page read after the heal is tried this many times: on a lossy link a read may
 * time out (`unavailable`) like any request, and the check is about what is stored, not about
 * availability (seen once in CI: `qc.api.history: timeout` under 2% loss).
 */
const HISTORY_READ_ATTEMPTS = 3;

export interface Ack {
  readonly requestId: string;
  readonly text: string;
  readonly id: number;
  /** When the acknowledgement arrived (Date.now()). */
  readonly at: number;
  /** `send` calls that ended in `unavailable` before this one succeeded, all with the same requestId. */
  readonly unavailableBefore: number;
  /** The replica that answered, and the leader it named (docs/protocol.md §1.1). */
  readonly answeredBy: string;
}

export class ClosedLoopSender {
  readonly acks: Ack[] = [];
  /** Times at which a `send` gave up with `unavailable` (to be retried with the same requestId). */
  readonly unavailable: number[] = [];
  /** Anything else that went wrong: a test failure. */
  readonly errors: string[] = [];
  private running = false;
  private loop: Promise<void> | null = null;
  private next = 0;

  private constructor(
    readonly name: string,
    readonly host: Host,
    private readonly client: ChatClient,
    private readonly token: string,
    private readonly to: string,
  ) {}

  /** Registers a sender and a recipient account (through the host's server) and logs in. */
  static async create(host: Host, name: string, sendAttempts: SendPolicyMode = 'adaptive'): Promise<ClosedLoopSender> {
    const client = await connectThroughLoss(() =>
      ChatClient.connect({ servers: host.natsUrl, prefix: PREFIX, timeoutMs: ATTEMPT_TIMEOUT_MS, sendDeadlineMs: SEND_DEADLINE_MS, sendAttempts, name }),
    );
    try {
      const password = `pw-${name}-secret`;
      const to = `${name}-to`;
      await retried(() => registered(client, name, password));
      await retried(() => registered(client, to, `pw-${to}-secret`));
      const login = await retried(() => client.login({ username: name, password }));
      return new ClosedLoopSender(name, host, client, login.token, to);
    } catch (err) {
      // A client left open reconnects forever and keeps the test process alive.
      await client.close();
      throw err;
    }
  }

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) await this.sendOne();
    })();
  }

  /** Stops after the message in flight is acknowledged (or STOP_TIMEOUT_MS passes, which `errors` records). */
  async stop(): Promise<void> {
    this.running = false;
    const timedOut = await Promise.race([this.loop?.then(() => false), sleep(STOP_TIMEOUT_MS).then(() => true)]);
    if (timedOut === true) this.errors.push(`${this.name}: the message in flight was not acknowledged within ${STOP_TIMEOUT_MS} ms of stopping`);
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  /** One message, retried with its requestId until acknowledged (or the sender stops while the cluster is unavailable). */
  private async sendOne(): Promise<void> {
    const n = this.next++;
    const requestId = `${this.name}-${n}`;
    const text = `${this.name} message ${n}`;
    let unavailableBefore = 0;
    for (;;) {
      try {
        const reply = await this.client.send({ token: this.token, to: this.to, text, requestId });
        const answer = this.client.lastAnswer;
        this.acks.push({ requestId, text, id: reply.message.id, at: Date.now(), unavailableBefore, answeredBy: `${answer?.replica ?? '?'}/${answer?.leader ?? '?'}` });
        return;
      } catch (err) {
        if (!(err instanceof UnavailableError)) {
          this.errors.push(`${this.name} ${requestId}: ${(err as Error).message}`);
          return;
        }
        this.unavailable.push(Date.now());
        unavailableBefore += 1;
      }
    }
  }

  /**
   * Reads the whole conversation through `host`'s server and returns what is
   * wrong: an acknowledged message missing or changed, a message stored twice,
   * or one stored that was never acknowledged (every send is retried until
   * acknowledged, so there are none).
   */
  async problemsSeenFrom(host: Host): Promise<string[]> {
    const reader = await connectThroughLoss(() => ChatClient.connect({ servers: host.natsUrl, prefix: PREFIX, timeoutMs: ATTEMPT_TIMEOUT_MS * 3, name: `${this.name}-reader` }));
    try {
      const stored: { id: number; text: string }[] = [];
      for (let afterId = 0; ;) {
        const page = await readPage(() => reader.history({ token: this.token, with: this.to, afterId, limit: HISTORY_PAGE }));
        stored.push(...page.messages);
        const last = page.messages.at(-1);
        if (!page.hasMore || last === undefined) break;
        afterId = last.id;
      }
      const problems: string[] = [];
      const byText = new Map<string, number[]>();
      for (const m of stored) byText.set(m.text, [...(byText.get(m.text) ?? []), m.id]);
      for (const ack of this.acks) {
        const ids = byText.get(ack.text) ?? [];
        if (ids.length === 0) problems.push(`${ack.requestId} (message ${ack.id}) was acknowledged but ${host.name} does not have it`);
        else if (ids.length > 1) problems.push(`${ack.requestId} is stored ${ids.length} times (${ids.join(',')}) on ${host.name}`);
        else if (ids[0] !== ack.id) problems.push(`${ack.requestId} was acknowledged as message ${ack.id} but ${host.name} has it as ${ids[0]}`);
      }
      if (stored.length !== this.acks.length) problems.push(`${host.name} stores ${stored.length} messages of ${this.name}, ${this.acks.length} were acknowledged`);
      return problems;
    } finally {
      await reader.close();
    }
  }
}

/**
 * Retries an idempotent setup request through `unavailable`: just after a
 * heal, routes come back over several seconds and the first requests can
 * time out. Only setup is retried this way; sends retry under their requestId.
 */
async function retried<T>(request: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + SETUP_DEADLINE_MS;
  for (;;) {
    try {
      return await request();
    } catch (err) {
      if (!(err instanceof UnavailableError) || Date.now() > deadline) throw err;
      await sleep(SETUP_RETRY_MS);
    }
  }
}

async function registered(client: ChatClient, username: string, password: string): Promise<void> {
  try {
    await client.register({ username, password });
  } catch (err) {
    if ((err as { code?: string }).code !== 'conflict') throw err;
  }
}

/** Acknowledgements per second in [from, to). */
export function ackRate(acks: readonly Ack[], from: number, to: number): number {
  return acks.filter((a) => a.at >= from && a.at < to).length / ((to - from) / 1_000);
}

/** The fraction of whole seconds in [from, to) that saw at least one acknowledgement. */
export function secondsWithAck(acks: readonly Ack[], from: number, to: number): number {
  const seconds = Math.floor((to - from) / 1_000);
  if (seconds <= 0) return 0;
  const hit = new Set(acks.filter((a) => a.at >= from && a.at < from + seconds * 1_000).map((a) => Math.floor((a.at - from) / 1_000)));
  return hit.size / seconds;
}

/** Milliseconds from `from` to the first acknowledgement at or after it; null if none. */
export function firstAckAfter(acks: readonly Ack[], from: number): number | null {
  const first = acks.find((a) => a.at >= from);
  return first === undefined ? null : first.at - from;
}

/** The longest stretch in [from, to) without an acknowledgement, in ms. */
export function longestGap(acks: readonly Ack[], from: number, to: number): number {
  const times = [from, ...acks.map((a) => a.at).filter((at) => at >= from && at < to).sort((a, b) => a - b), to];
  let gap = 0;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
  return gap;
}

/** Every acknowledgement of these senders, in time order. */
export function allAcks(senders: readonly ClosedLoopSender[]): Ack[] {
  return senders.flatMap((s) => s.acks).sort((a, b) => a.at - b.at);
}

/** One history page, tried again on `unavailable` (HISTORY_READ_ATTEMPTS). */
async function readPage<T>(read: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await read();
    } catch (error) {
      if (!(error instanceof UnavailableError) || attempt >= HISTORY_READ_ATTEMPTS) throw error;
    }
  }
}

/** Every problem any sender's history shows through any host's server. */
export async function historyProblems(topology: Topology, senders: readonly ClosedLoopSender[]): Promise<string[]> {
  const problems: string[] = [];
  for (const sender of senders) for (const host of topology.hosts) problems.push(...(await sender.problemsSeenFrom(host)));
  return problems;
}

/** `connect`, tried again (CONNECT_ATTEMPTS) when a dial is lost on a lossy link. */
async function connectThroughLoss(connect: () => Promise<ChatClient>): Promise<ChatClient> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect();
    } catch (err) {
      if (attempt >= CONNECT_ATTEMPTS) throw err;
      await sleep(CONNECT_RETRY_MS);
    }
  }
}
