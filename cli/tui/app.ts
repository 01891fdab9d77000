/**
 * The terminal UI's entry: one blessed screen with the chat view and/or the
 * operator dashboard (with the inspector as its panel) as tabs. `quorumchat
 * chat`, `quorumchat dashboard` and `quorumchat up` all open it; `up` passes
 * its ClusterSupervisor so the dashboard can stop, start and restart replicas.
 */
import blessed from 'blessed';
import type { NatsConnection } from '@nats-io/transport-node';
import type { NatsSecuritySettings } from '../../config/nats-security.ts';
import { connectNats } from '../nats-access.ts';
import { raftMachine } from '../../actors/raft/index.ts';
import type { ClusterSupervisor } from '../supervisor/cluster-supervisor.ts';
import type { UpSession } from '../commands/up.ts';
import { InspectorFeed } from '../inspector/feed.ts';
import { stateGraphOf } from '../inspector/graph.ts';
import { ChatController } from './chat-controller.ts';
import { ChatView } from './chat-view.ts';
import { DashboardController } from './dashboard-controller.ts';
import { DashboardView } from './dashboard-view.ts';
import { ChatClient } from '../../actors/client/chat-client.ts';
import { chatPortOf } from './chat-client-port.ts';

export type Tab = 'chat' | 'dashboard';

export interface TuiOptions {
  readonly natsUrl: string;
  /** Credentials and TLS for both the chat client and the dashboard's connection. */
  readonly security: NatsSecuritySettings;
  readonly prefix: string;
  /** The tabs to show; the first is shown at start. */
  readonly tabs: readonly Tab[];
  /** Replicas the dashboard polls at first (more join as answers name them). */
  readonly replicaIds: readonly string[];
  readonly supervisor: ClusterSupervisor | null;
  /** Closes the UI from outside (up's Ctrl-C handling). */
  readonly shutdown?: AbortSignal;
}

/** Reconnect forever, quickly: a local cluster's NATS restarts in well under a second. */
export const NATS_RECONNECT_WAIT_MS = 250;

/** Opens the UI and resolves when the person quits (Ctrl-C) or `shutdown` fires. */
export async function runTui(options: TuiOptions): Promise<void> {
  const nc = await connectTuiNats(options.natsUrl, options.security, 'quorumchat-tui');
  const screen = blessed.screen({ smartCSR: true, fullUnicode: true, forceUnicode: true, title: 'quorumchat', autoPadding: true, warnings: false });
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const quit = (): void => finish();
  options.shutdown?.addEventListener('abort', quit, { once: true });

  const tabs = options.tabs;
  const tabBar = tabs.length > 1 ? blessed.box({ parent: screen, top: 0, left: 0, width: '100%', height: 1, tags: true, style: { bg: 'black' } }) : null;
  const body = blessed.box({ parent: screen, top: tabBar ? 1 : 0, left: 0, width: '100%', height: tabBar ? '100%-1' : '100%' });

  const cleanups: (() => Promise<void> | void)[] = [];
  let chatView: ChatView | null = null;
  let dashboardView: DashboardView | null = null;
  if (tabs.includes('chat')) {
    const client = await ChatClient.connect({ servers: options.natsUrl, security: options.security, prefix: options.prefix, name: 'quorumchat-chat' });
    const controller = new ChatController(chatPortOf(client));
    chatView = new ChatView(screen, body, controller, quit);
    cleanups.push(() => controller.close(), () => client.close());
  }
  if (tabs.includes('dashboard')) {
    const controller = new DashboardController(nc, options.prefix, options.replicaIds, options.supervisor);
    const feed = InspectorFeed.attach(nc, options.prefix);
    dashboardView = new DashboardView(screen, body, controller, { graph: stateGraphOf(raftMachine), source: feed }, quit);
    controller.start();
    cleanups.push(() => controller.stop(), () => feed.close());
  }

  const show = (tab: Tab): void => {
    chatView?.setActive(tab === 'chat');
    dashboardView?.setActive(tab === 'dashboard');
    if (tabBar) {
      tabBar.setContent(
        tabs
          .map((t, i) => {
            const label = ` F${i + 2} ${t === 'chat' ? 'Chat' : 'Dashboard'} `;
            return t === tab ? `{inverse}{bold}${label}{/bold}{/inverse}` : `{gray-fg}${label}{/gray-fg}`;
          })
          .join(' ') + `  {gray-fg}${blessed.escape(options.natsUrl)} · prefix ${blessed.escape(options.prefix)}{/gray-fg}`,
      );
    }
    screen.render();
  };
  tabs.forEach((tab, i) => screen.key([`f${i + 2}`], () => show(tab)));
  show(tabs[0] ?? 'chat');
  // Both views handle Ctrl-C while active; this catches it when neither does (e.g. during startup).
  screen.key(['C-c'], () => {
    if (!chatView && !dashboardView) quit();
  });

  try {
    await done;
  } finally {
    for (const c of cleanups) await c();
    screen.destroy();
    releaseStdin();
    await nc.close().catch(() => undefined);
  }
}

/**
 * blessed's destroy leaves the terminal's input stream flowing (and raw), which alone kept
 * `up` running after it had stopped every replica and printed so: hand it back.
 */
function releaseStdin(): void {
  if (process.stdin.isTTY) process.stdin.setRawMode(false);
  process.stdin.pause();
  // Paused, a TTY stream still holds the loop open; nothing reads the terminal after the UI.
  process.stdin.unref();
}

/** What `up` opens on a TTY: chat first, the dashboard as the second tab, driving up's supervisor. */
export async function openUpUi(session: UpSession): Promise<void> {
  await runTui({
    natsUrl: session.natsUrl,
    // up's own UI chats and operates: the operator role does both.
    security: session.security,
    prefix: session.prefix,
    tabs: ['chat', 'dashboard'],
    replicaIds: session.supervisor.replicaIds,
    supervisor: session.supervisor,
    shutdown: session.shutdown,
  });
}

export async function connectTuiNats(url: string, security: NatsSecuritySettings, name: string): Promise<NatsConnection> {
  return await connectNats(url, security, { name, reconnect: true, reconnectWaitMs: NATS_RECONNECT_WAIT_MS });
}
