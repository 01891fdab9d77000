/**
 * The chat view's behaviour: turns what a person does (log in, open, send,
 * page back, delete) into protocol calls through a `ChatPort`, and every
 * reply, live frame and connection change into `ChatAction`s on the pure
 * model. The widgets (chat-view.ts) only render `state` and call these methods.
 */
import { randomUUID } from 'node:crypto';
import {
  initialChatState,
  newestId,
  olderCursor,
  readMarkNeeded,
  reduceChat,
  type ChatAction,
  type ChatState,
} from './chat-model.ts';
import type { ChatPort, LiveEvent } from './chat-port.ts';

/** Messages fetched per history page: a few screens' worth, far under the protocol's 1,000. */
export const HISTORY_PAGE = 50;
/** People listed per search; a person narrows the pattern rather than scrolling thousands. */
export const ACCOUNTS_PAGE = 200;
/** How often the header re-reads who leads (`cluster`), ms: often enough to show a failover within seconds. */
export const CLUSTER_POLL_MS = 2_000;
/** A status-bar notice stays this long: enough to read a sentence. */
export const NOTICE_MS = 6_000;

export class ChatController {
  private current: ChatState = initialChatState;
  private readonly listeners = new Set<(state: ChatState) => void>();
  private liveHandle: { close(): Promise<void> | void } | null = null;
  private readonly unsubscribe: (() => void)[] = [];
  private clusterTimer: NodeJS.Timeout | null = null;
  private noticeTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly port: ChatPort) {
    this.unsubscribe.push(port.onConnection((connection) => this.dispatch({ type: 'connectionChanged', connection })));
    this.unsubscribe.push(port.onAnswered((replica) => {
      if (replica !== this.current.replica) this.dispatch({ type: 'replicaAnswered', replica });
    }));
    this.clusterTimer = setInterval(() => void this.refreshCluster(), CLUSTER_POLL_MS);
    this.clusterTimer.unref();
    void this.refreshCluster();
  }

  get state(): ChatState {
    return this.current;
  }

  subscribe(listener: (state: ChatState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  dispatch(action: ChatAction): void {
    const next = reduceChat(this.current, action);
    if (next === this.current) return;
    const noticeChanged = next.notice !== this.current.notice;
    this.current = next;
    if (noticeChanged) this.expireNotice();
    for (const l of this.listeners) l(next);
  }

  async register(username: string, password: string): Promise<void> {
    await this.port.register({ username, password });
    await this.login(username, password);
  }

  async login(username: string, password: string): Promise<void> {
    const { token, username: name } = await this.port.login({ username, password });
    this.dispatch({ type: 'loggedIn', username: name, token });
    await this.liveHandle?.close();
    this.liveHandle = this.port.live({ token, username: name }, (event) => this.onLive(event));
    await this.refreshConversations();
  }

  async logout(): Promise<void> {
    const session = this.current.session;
    await this.stopLive();
    this.dispatch({ type: 'loggedOut' });
    // Ending the session server-side is best effort: the screen is already logged out.
    if (session) await this.port.logout({ token: session.token }).catch(() => undefined);
  }

  async refreshConversations(): Promise<void> {
    const token = this.token();
    const { conversations } = await this.port.conversations({ token });
    this.dispatch({ type: 'conversationsLoaded', conversations });
  }

  async open(withUser: string): Promise<void> {
    const token = this.token();
    const { messages, hasMore } = await this.port.history({ token, with: withUser, limit: HISTORY_PAGE });
    this.dispatch({ type: 'conversationOpened', with: withUser, messages, hasOlder: hasMore });
    await this.markReadIfNeeded();
  }

  /** Pages back one screen of history; does nothing at the start of the conversation. */
  async loadOlder(): Promise<void> {
    const open = this.current.open;
    const beforeId = olderCursor(this.current);
    if (open === null || beforeId === null || open.loadingOlder) return;
    this.dispatch({ type: 'olderRequested' });
    try {
      const { messages, hasMore } = await this.port.history({ token: this.token(), with: open.with, beforeId, limit: HISTORY_PAGE });
      this.dispatch({ type: 'olderLoaded', with: open.with, messages, hasOlder: hasMore });
    } catch (err) {
      this.dispatch({ type: 'olderLoaded', with: open.with, messages: [], hasOlder: true });
      throw err;
    }
  }

  /**
   * Sends to the open conversation. The message shows at once as pending;
   * the port retries it with the same requestId through a failover, so it
   * commits once and replaces the pending line once.
   */
  async send(text: string): Promise<void> {
    const open = this.current.open;
    if (open === null || text.trim() === '') return;
    const requestId = randomUUID();
    this.dispatch({ type: 'sendStarted', requestId, to: open.with, text });
    try {
      const { message } = await this.port.send({ token: this.token(), to: open.with, text, requestId }, (attempt) =>
        this.dispatch({ type: 'sendRetrying', requestId, attempt }),
      );
      this.dispatch({ type: 'sendSucceeded', requestId, message });
    } catch (err) {
      this.dispatch({ type: 'sendFailed', requestId, error: messageOf(err) });
    }
  }

  /** Accounts matching a glob (`*` any run, `?` one character), without the caller. */
  async findPeople(pattern: string): Promise<string[]> {
    const { accounts } = await this.port.accounts({ token: this.token(), pattern, limit: ACCOUNTS_PAGE });
    const me = this.current.session?.username;
    return accounts.filter((a) => a !== me);
  }

  async deleteMessages(ids: number[], forEveryone: boolean): Promise<number> {
    const { deleted } = await this.port.deleteMessages({ token: this.token(), ids, forEveryone });
    this.dispatch({ type: 'messagesDeleted', ids });
    return deleted;
  }

  async deleteAccount(password: string): Promise<void> {
    await this.port.deleteAccount({ token: this.token(), password });
    await this.stopLive();
    this.dispatch({ type: 'loggedOut' });
  }

  /** Tells the cluster the open conversation is read up to its newest message from the other person. */
  async markReadIfNeeded(): Promise<void> {
    const open = this.current.open;
    const upToId = readMarkNeeded(this.current);
    if (open === null || upToId === null) return;
    await this.port.markRead({ token: this.token(), with: open.with, upToId });
    this.dispatch({ type: 'markedRead', with: open.with, upToId });
  }

  notify(level: 'info' | 'error', text: string): void {
    this.dispatch({ type: 'notice', notice: { level, text } });
  }

  /** Clears a notice once it has been on screen long enough to read, unless a newer one replaced it. */
  private expireNotice(): void {
    const notice = this.current.notice;
    if (notice === null) return;
    if (this.noticeTimer) clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => {
      if (this.current.notice === notice) this.dispatch({ type: 'notice', notice: null });
    }, NOTICE_MS);
    this.noticeTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.clusterTimer) clearInterval(this.clusterTimer);
    if (this.noticeTimer) clearTimeout(this.noticeTimer);
    for (const u of this.unsubscribe) u();
    await this.stopLive();
    this.listeners.clear();
  }

  private onLive(event: LiveEvent): void {
    switch (event.type) {
      case 'message':
        this.dispatch({ type: 'messageReceived', message: event.message });
        if (this.current.open?.with === event.message.from) void this.markReadIfNeeded().catch(() => undefined);
        return;
      case 'read':
        if (event.by === this.current.session?.username) this.dispatch({ type: 'markedRead', with: event.with, upToId: event.upToId });
        else this.dispatch({ type: 'peerRead', by: event.by, upToId: event.upToId });
        return;
      case 'deleted':
        if (this.current.open?.with === event.with) this.dispatch({ type: 'messagesDeleted', ids: event.ids });
        return;
      case 'revoked':
        void this.stopLive().then(() => {
          this.dispatch({ type: 'loggedOut' });
          this.notify('info', 'this session ended (logged out elsewhere, or the account was deleted)');
        });
        return;
      case 'repaired':
        void this.afterRepair().catch(() => undefined);
        return;
    }
  }

  /** After a reconnect the client refilled messages; re-read what frames could not repair (read marks, deletions). */
  private async afterRepair(): Promise<void> {
    await this.refreshConversations();
    const open = this.current.open;
    if (open === null) return;
    const { messages } = await this.port.history({ token: this.token(), with: open.with, afterId: Math.max(0, (open.messages[0]?.id ?? 1) - 1), limit: HISTORY_PAGE });
    if (newestId(this.current) > 0) this.dispatch({ type: 'newerLoaded', with: open.with, messages });
  }

  private async refreshCluster(): Promise<void> {
    if (this.closed) return;
    try {
      const info = await this.port.cluster();
      this.dispatch({ type: 'replicaAnswered', replica: this.current.replica, leader: info.leader, reachable: { up: info.reachableVoters, of: info.voters } });
    } catch {
      this.dispatch({ type: 'replicaAnswered', replica: this.current.replica, leader: null, reachable: null });
    }
  }

  private async stopLive(): Promise<void> {
    const handle = this.liveHandle;
    this.liveHandle = null;
    await handle?.close();
  }

  private token(): string {
    const session = this.current.session;
    if (session === null) throw new NotLoggedInError();
    return session.token;
  }
}

export class NotLoggedInError extends Error {
  override readonly name = 'NotLoggedInError';
  constructor() {
    super('log in first');
  }
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
