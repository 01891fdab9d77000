/**
 * The chat view (blessed): a login/register form, then the conversation list,
 * the open conversation and a message line, with a status bar (who you are,
 * which replica answered, who leads, the connection) and a footer of keys.
 * It renders `ChatController.state` and calls the controller; it holds only
 * view-local state (focus, the selected message, the login form's fields).
 */
import blessed from 'blessed';
import { messageRows, sendRetry, totalUnread, type ChatState, type MessageRow } from './chat-model.ts';
import { messageOf, type ChatController } from './chat-controller.ts';
import { choose, keyHints, LineInput, ModalGuard, pickFromList, prompt, showHelp } from './widgets.ts';
import { PASSWORD_MIN_CHARS, USERNAME_CHARSET, USERNAME_MAX_CHARS } from '../../actors/protocol/index.ts';

export const CHAT_HELP = `Chat keys

  Tab / Shift-Tab   move between conversations, messages and the message line
  Enter             open the selected conversation / send the message line
  Ctrl-N            find people (glob: * any run, ? one character) and start a chat
  Up / Down         in messages: select a message (at the top: load older ones)
  PgUp / PgDn       in messages: page; PgUp at the top loads older history
  End               in messages: jump to the newest message
  d or Delete       in messages: delete the selected message (for me / for everyone)
  Ctrl-R            refresh the conversation list
  F9                delete my account (asks for the password)
  F10               log out
  F1 or ?           this help          Ctrl-C  quit

Login form: Tab between fields, Enter to go on, Ctrl-R switches log in / register.
The status bar shows the replica that answered ("answered by r2"), the leader,
and "reconnecting…" while the connection is lost; while a send is repeated
through a failover it shows "reconnecting… (retry N, same request)", and the
message is delivered once when a new leader commits it.`;

type Focus = 'list' | 'messages' | 'input';

export class ChatView {
  readonly root: blessed.Widgets.BoxElement;
  private readonly statusBar: blessed.Widgets.BoxElement;
  private readonly footer: blessed.Widgets.BoxElement;
  private readonly loginBox: blessed.Widgets.BoxElement;
  private readonly loginFields: { username: LineInput; password: LineInput; confirm: LineInput };
  private readonly loginMessage: blessed.Widgets.BoxElement;
  private readonly mainBox: blessed.Widgets.BoxElement;
  private readonly list: blessed.Widgets.ListElement;
  private readonly messages: blessed.Widgets.BoxElement;
  private readonly input: LineInput;
  private registerMode = false;
  private selected: number | null = null;
  private readonly modals = new ModalGuard();
  private active = true;
  private lastOpen: string | null = null;
  private lastSession: string | null = null;

  constructor(
    private readonly screen: blessed.Widgets.Screen,
    parent: blessed.Widgets.Node,
    private readonly controller: ChatController,
    private readonly onQuit: () => void,
  ) {
    this.root = blessed.box({ parent, top: 0, left: 0, width: '100%', height: '100%' });
    this.statusBar = blessed.box({ parent: this.root, top: 0, left: 0, width: '100%', height: 1, tags: true, style: { bg: 'blue', fg: 'white' } });
    this.footer = blessed.box({ parent: this.root, bottom: 0, left: 0, width: '100%', height: 1, tags: true });

    // ---- login / register ----
    this.loginBox = blessed.box({
      parent: this.root,
      top: 'center',
      left: 'center',
      width: 54,
      height: 17,
      border: { type: 'line' },
      label: ' quorumchat ',
      tags: true,
      style: { border: { fg: 'cyan' } },
    });
    this.loginFields = {
      username: new LineInput({ parent: this.loginBox, top: 2, left: 2, width: 48, label: 'username', placeholder: 'letters, digits, _ . -' }),
      password: new LineInput({ parent: this.loginBox, top: 5, left: 2, width: 48, label: 'password', mask: true, placeholder: `at least ${PASSWORD_MIN_CHARS} characters` }),
      confirm: new LineInput({ parent: this.loginBox, top: 8, left: 2, width: 48, label: 'confirm password', mask: true, placeholder: 'type it again' }),
    };
    this.loginMessage = blessed.box({ parent: this.loginBox, top: 11, left: 2, width: 48, height: 3, tags: true });

    // ---- main ----
    this.mainBox = blessed.box({ parent: this.root, top: 1, left: 0, width: '100%', height: '100%-2', hidden: true });
    this.list = blessed.list({
      parent: this.mainBox,
      top: 0,
      left: 0,
      width: 28,
      height: '100%',
      label: ' conversations ',
      border: { type: 'line' },
      keys: true,
      vi: false,
      mouse: true,
      tags: true,
      style: { border: { fg: 'gray' }, focus: { border: { fg: 'cyan' } }, selected: { inverse: true } },
    } as blessed.Widgets.ListOptions<blessed.Widgets.ListElementStyle>);
    this.messages = blessed.box({
      parent: this.mainBox,
      top: 0,
      left: 28,
      width: '100%-28',
      height: '100%-3',
      border: { type: 'line' },
      label: ' no conversation open ',
      tags: true,
      scrollable: true,
      alwaysScroll: true,
      input: true,
      clickable: true,
      mouse: true,
      scrollbar: { ch: ' ', style: { bg: 'gray' } },
      style: { border: { fg: 'gray' }, focus: { border: { fg: 'cyan' } } },
    } as blessed.Widgets.BoxOptions);
    this.input = new LineInput({ parent: this.mainBox, top: '100%-3', left: 28, width: '100%-28', label: 'message', placeholder: 'type a message here; Enter sends' });
    this.wireLogin();
    this.wireMain();
    this.wireGlobalKeys();

    controller.subscribe((state) => this.render(state));
    this.render(controller.state);
    this.loginFields.username.focus();
  }

  /** Whether this view's keys are live (the app hides it behind another tab). */
  setActive(active: boolean): void {
    this.active = active;
    if (active) {
      this.root.show();
      this.focusDefault();
    } else {
      this.root.hide();
    }
    this.screen.render();
  }

  private focusDefault(): void {
    // After a log out the username stays filled in; only the password is asked again.
    if (this.controller.state.session === null) (this.loginFields.username.value === '' ? this.loginFields.username : this.loginFields.password).focus();
    else if (this.controller.state.open) this.input.focus();
    else this.list.focus();
  }

  // ---- rendering ----

  private render(state: ChatState): void {
    const loggedIn = state.session !== null;
    if (loggedIn) {
      this.loginBox.hide();
      this.mainBox.show();
    } else {
      this.mainBox.hide();
      this.loginBox.show();
    }
    if ((state.session?.username ?? null) !== this.lastSession) {
      this.lastSession = state.session?.username ?? null;
      if (this.active) this.focusDefault();
    }
    this.statusBar.setContent(statusLine(state));
    this.footer.setContent(loggedIn ? this.mainHints() : keyHints([['Tab', 'next field'], ['Enter', this.registerMode ? 'register' : 'log in'], ['^R', this.registerMode ? 'switch to log in' : 'switch to register'], ['F1', 'help'], ['^C', 'quit']]));
    if (loggedIn) this.renderMain(state);
    this.screen.render();
  }

  private mainHints(): string {
    return keyHints([
      ['Tab', 'focus'],
      ['Enter', 'open/send'],
      ['^N', 'new chat'],
      ['PgUp', 'older'],
      ['d', 'delete msg'],
      ['F9', 'delete account'],
      ['F10', 'log out'],
      ['F1', 'help'],
      ['^C', 'quit'],
    ]);
  }

  private renderMain(state: ChatState): void {
    const selectedIndex = (this.list as unknown as { selected: number }).selected ?? 0;
    const items = state.conversations.map((c) => {
      const name = blessed.escape(c.with);
      return c.unread > 0 ? `{bold}${name}{/bold} {yellow-fg}(${c.unread}){/yellow-fg}` : name;
    });
    this.list.setItems(items as unknown as blessed.Widgets.BlessedElement[]);
    const openIndex = state.conversations.findIndex((c) => c.with === state.open?.with);
    if (this.screen.focused !== this.list && openIndex >= 0) this.list.select(openIndex);
    else this.list.select(Math.min(selectedIndex, Math.max(0, items.length - 1)));
    this.list.setLabel(` chats ${state.conversations.length}${totalUnread(state) > 0 ? ` · ${totalUnread(state)} unread` : ''} `);

    const open = state.open;
    if (open === null) {
      this.messages.setLabel(' no conversation open ');
      this.messages.setContent('\n  {gray-fg}Pick a conversation on the left (Enter), or press Ctrl-N to find someone.{/gray-fg}');
      this.lastOpen = null;
      return;
    }
    if (open.with !== this.lastOpen) {
      this.lastOpen = open.with;
      this.selected = null;
    }
    const rows = messageRows(state);
    if (this.selected !== null) this.selected = Math.min(this.selected, rows.length - 1);
    if (this.selected !== null && this.selected < 0) this.selected = null;
    this.messages.setLabel(` ${open.with} `);
    const head = open.loadingOlder
      ? '{gray-fg}  … loading older messages{/gray-fg}'
      : open.hasOlder
        ? '{gray-fg}  ↑ PgUp for older messages{/gray-fg}'
        : '{gray-fg}  — start of the conversation —{/gray-fg}';
    const lines = [head, ...rows.map((row, i) => formatRow(row, i === this.selected))];
    this.messages.setContent(lines.join('\n'));
    if (this.selected === null) this.messages.setScrollPerc(100);
    // Line 0 is the history header; show it when the first message is selected, so "start of the conversation" is visible.
    else this.messages.scrollTo(this.selected === 0 ? 0 : this.selected + 1);
  }

  // ---- login ----

  private wireLogin(): void {
    const { username, password, confirm } = this.loginFields;
    const order = (): LineInput[] => (this.registerMode ? [username, password, confirm] : [username, password]);
    const next = (from: LineInput, delta: number): void => {
      const fields = order();
      const i = fields.indexOf(from);
      fields[(i + delta + fields.length) % fields.length]?.focus();
    };
    for (const field of [username, password, confirm]) {
      field.onSubmit(() => {
        const fields = order();
        if (fields.indexOf(field) < fields.length - 1) next(field, 1);
        else void this.submitLogin();
      });
      field.onOtherKey((full) => {
        if (full === 'tab' || full === 'down') next(field, 1);
        else if (full === 'S-tab' || full === 'up') next(field, -1);
        else if (full === 'C-r') this.toggleRegister();
        else return false;
        return true;
      });
    }
    this.toggleRegister(false);
  }

  private toggleRegister(to = !this.registerMode): void {
    this.registerMode = to;
    if (to) this.loginFields.confirm.box.show();
    else this.loginFields.confirm.box.hide();
    this.loginBox.setLabel(to ? ' quorumchat · register ' : ' quorumchat · log in ');
    this.setLoginMessage(to ? 'Choose a username and a password.' : 'Log in, or press Ctrl-R to register.', 'gray');
    if (this.loginFields.confirm.box === this.screen.focused && !to) this.loginFields.password.focus();
    this.render(this.controller.state);
  }

  private setLoginMessage(text: string, colour: 'gray' | 'red' | 'green' | 'yellow'): void {
    this.loginMessage.setContent(`{${colour}-fg}${blessed.escape(text)}{/${colour}-fg}`);
    this.screen.render();
  }

  private async submitLogin(): Promise<void> {
    const { username, password, confirm } = this.loginFields;
    const name = username.value.trim();
    if (!USERNAME_CHARSET.test(name) || name.length > USERNAME_MAX_CHARS) return this.setLoginMessage(`A username is 1 to ${USERNAME_MAX_CHARS} of A-Z a-z 0-9 _ . -`, 'red');
    if ([...password.value].length < PASSWORD_MIN_CHARS) return this.setLoginMessage(`A password has at least ${PASSWORD_MIN_CHARS} characters.`, 'red');
    if (this.registerMode && confirm.value !== password.value) {
      confirm.clear();
      confirm.focus();
      return this.setLoginMessage('The two passwords differ; type the confirmation again.', 'red');
    }
    this.setLoginMessage(this.registerMode ? 'registering…' : 'logging in…', 'yellow');
    try {
      if (this.registerMode) await this.controller.register(name, password.value);
      else await this.controller.login(name, password.value);
      password.clear();
      confirm.clear();
      this.toggleRegister(false);
    } catch (err) {
      this.setLoginMessage(messageOf(err), 'red');
    }
  }

  // ---- main ----

  private wireMain(): void {
    this.list.on('select', (_item: unknown, index: number) => {
      const c = this.controller.state.conversations[index];
      if (c) void this.run(async () => {
        await this.controller.open(c.with);
        this.input.focus();
      });
    });
    this.input.onSubmit((text) => {
      if (this.controller.state.open === null) {
        this.controller.notify('error', 'open a conversation first (Enter on the left, or Ctrl-N)');
        return;
      }
      if (text.trim() === '') return;
      this.input.clear();
      void this.controller.send(text);
    });
    this.input.onOtherKey((full) => {
      if (full === 'pageup' || full === 'up') {
        this.messages.focus();
        this.moveSelection(-1);
        return true;
      }
      return false;
    });
    this.messages.on('click', () => this.messages.focus());
    this.messages.on('keypress', (ch: string | undefined, key: blessed.Widgets.Events.IKeyEventArg) => {
      switch (key.full) {
        case 'up':
          return this.moveSelection(-1);
        case 'down':
          return this.moveSelection(1);
        case 'pageup':
          return this.moveSelection(-Math.max(1, Number(this.messages.height) - 3));
        case 'pagedown':
          return this.moveSelection(Math.max(1, Number(this.messages.height) - 3));
        case 'end':
          this.selected = null;
          return this.render(this.controller.state);
        case 'delete':
          return void this.deleteSelected();
      }
      if (ch === 'd') void this.deleteSelected();
    });
    this.messages.on('wheelup', () => this.moveSelection(-3));
    this.messages.on('wheeldown', () => this.moveSelection(3));
  }

  private moveSelection(delta: number): void {
    const rows = messageRows(this.controller.state);
    if (rows.length === 0) {
      if (delta < 0) void this.run(() => this.controller.loadOlder());
      return;
    }
    const from = this.selected ?? rows.length;
    const to = from + delta;
    if (to < 0) {
      this.selected = 0;
      void this.run(() => this.controller.loadOlder());
    } else if (to >= rows.length) {
      this.selected = null;
    } else {
      this.selected = to;
    }
    this.render(this.controller.state);
  }

  private async deleteSelected(): Promise<void> {
    const rows = messageRows(this.controller.state);
    const row = this.selected === null ? undefined : rows[this.selected];
    if (row === undefined) return this.controller.notify('info', 'select a message first (Up/Down in the messages pane)');
    if (row.kind === 'pending') {
      if (row.pending.status === 'failed') this.controller.dispatch({ type: 'sendDismissed', requestId: row.pending.requestId });
      return;
    }
    const choices = row.mine
      ? ([
          { key: 'm', label: 'for me', value: 'me' },
          { key: 'e', label: 'for everyone', value: 'everyone' },
        ] as const)
      : ([{ key: 'm', label: 'for me', value: 'me' }] as const);
    const preview = row.message.text.length > 50 ? `${row.message.text.slice(0, 50)}…` : row.message.text;
    const answer = await this.modals.run(() => choose(this.screen, 'delete message', `Delete "${preview}"?`, choices));
    if (answer === null) return;
    await this.run(async () => {
      await this.controller.deleteMessages([row.message.id], answer === 'everyone');
      this.controller.notify('info', answer === 'everyone' ? 'deleted for everyone' : 'deleted for you');
    });
  }

  private wireGlobalKeys(): void {
    const when = (fn: () => void) => () => {
      if (this.active && !this.modals.open) fn();
    };
    this.screen.key(['f1'], when(() => void this.modals.run(() => showHelp(this.screen, 'help', CHAT_HELP))));
    this.screen.key(['?'], when(() => {
      if (this.screen.focused === this.messages || this.screen.focused === this.list) void this.modals.run(() => showHelp(this.screen, 'help', CHAT_HELP));
    }));
    // Ctrl-C quits even from inside a dialog.
    this.screen.key(['C-c'], () => {
      if (this.active) this.onQuit();
    });
    const cycle = (delta: number) => when(() => {
      if (this.controller.state.session === null) return;
      const order: Focus[] = ['list', 'messages', 'input'];
      const now = this.screen.focused === this.list ? 0 : this.screen.focused === this.messages ? 1 : 2;
      this.focus(order[(now + delta + 3) % 3] ?? 'list');
    });
    this.screen.key(['tab'], cycle(1));
    this.screen.key(['S-tab'], cycle(-1));
    this.screen.key(['C-n'], when(() => void this.newConversation()));
    this.screen.key(['C-r'], when(() => {
      if (this.controller.state.session !== null) void this.run(() => this.controller.refreshConversations());
    }));
    this.screen.key(['f10'], when(() => {
      if (this.controller.state.session !== null) void this.run(() => this.controller.logout());
    }));
    this.screen.key(['f9'], when(() => void this.deleteAccount()));
  }

  private focus(target: Focus): void {
    if (target === 'list') this.list.focus();
    else if (target === 'messages') this.messages.focus();
    else this.input.focus();
    this.screen.render();
  }

  private async newConversation(): Promise<void> {
    if (this.controller.state.session === null) return;
    const pattern = await this.modals.run(() => prompt(this.screen, 'find people', 'Username or glob pattern (* any run, ? one character):', { initial: '*' }));
    if (pattern === null || pattern.trim() === '') return;
    await this.run(async () => {
      const people = await this.controller.findPeople(pattern.trim());
      if (people.length === 0) return this.controller.notify('info', `nobody matches ${pattern.trim()}`);
      const who = await this.modals.run(() => pickFromList(this.screen, `${people.length} found`, people));
      if (who === null) return;
      await this.controller.open(who);
      this.input.focus();
    });
  }

  private async deleteAccount(): Promise<void> {
    const session = this.controller.state.session;
    if (session === null) return;
    const password = await this.modals.run(() => prompt(this.screen, 'delete account', `Delete account ${session.username} and all its messages? Password:`, { mask: true }));
    if (password === null || password === '') return;
    const sure = await this.modals.run(() => choose(this.screen, 'delete account', `This cannot be undone. Delete ${session.username}?`, [{ key: 'y', label: 'yes, delete it', value: 'yes' }]));
    if (sure !== 'yes') return;
    await this.run(async () => {
      await this.controller.deleteAccount(password);
      this.setLoginMessage(`account ${session.username} deleted`, 'green');
    });
  }

  /** Runs an action and shows its failure in the status bar instead of throwing. */
  private async run(action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch (err) {
      this.controller.notify('error', messageOf(err));
    }
  }
}

// ---- helpers ----

/**
 * The status bar (blessed tags): who I am, the connection, which replica
 * answered, the leader, a notice. A send being retried shows its retry
 * number, from the client's own onRetry, until it is acknowledged or fails.
 */
export function statusLine(state: ChatState): string {
  const parts: string[] = ['{bold} quorumchat{/bold}'];
  if (state.session) parts.push(blessed.escape(state.session.username));
  const retry = sendRetry(state);
  const conn =
    retry !== null
      ? `{yellow-fg}● reconnecting… (retry ${retry}, same request){/yellow-fg}`
      : state.connection === 'connected'
        ? '{green-fg}● connected{/green-fg}'
        : state.connection === 'disconnected'
          ? '{red-fg}● disconnected{/red-fg}'
          : '{yellow-fg}● reconnecting…{/yellow-fg}';
  parts.push(conn);
  const via = state.replica ? `answered by ${blessed.escape(state.replica)}` : null;
  const reach = state.reachable ? ` · ${state.reachable.up}/${state.reachable.of} voters reachable` : '';
  const leader = state.leader ? `leader ${blessed.escape(state.leader)}${reach}` : '{yellow-fg}no leader (election)…{/yellow-fg}';
  parts.push([via, leader].filter((x) => x !== null).join(' · '));
  if (state.notice) {
    const colour = state.notice.level === 'error' ? 'red' : 'white';
    parts.push(`{${colour}-fg}${blessed.escape(state.notice.text)}{/${colour}-fg}`);
  }
  return parts.join(' │ ');
}

function formatRow(row: MessageRow, selected: boolean): string {
  let line: string;
  if (row.kind === 'message') {
    const m = row.message;
    const time = new Date(m.ts).toTimeString().slice(0, 5);
    const who = row.mine ? '{green-fg}me{/green-fg}' : `{cyan-fg}${blessed.escape(m.from)}{/cyan-fg}`;
    const tick = row.mine ? (m.read ? ' {green-fg}✓✓{/green-fg}' : ' {gray-fg}✓{/gray-fg}') : '';
    line = `{gray-fg}${time}{/gray-fg} ${who}: ${blessed.escape(m.text)}${tick}`;
  } else {
    const p = row.pending;
    const status =
      p.status === 'sending' ? 'sending…' : p.status === 'retrying' ? `waiting for the cluster, retry ${p.retries}…` : `not sent: ${p.error ?? 'failed'} (d dismisses)`;
    line = `{gray-fg}--:-- me: ${blessed.escape(p.text)}  (${blessed.escape(status)}){/gray-fg}`;
  }
  return selected ? `{inverse}${line}{/inverse}` : line;
}
