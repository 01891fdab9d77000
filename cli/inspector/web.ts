/**
 * The web inspector: a local page (node:http, loopback only) that draws the
 * replica machine's chart as SVG and updates it live over Server-Sent
 * Events. Everything the page needs is inline (page.html): it loads nothing
 * from the internet.
 *
 *   GET /            the page
 *   GET /events      SSE: `init` once (chart layout + state), then `state` on change
 *   GET /state.json  the current state, for scripts
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StateGraph } from './graph.ts';
import type { ChartLayout } from './layout.ts';
import type { InspectorState } from './model.ts';

/** The page binds to loopback only: it shows cluster internals and has no authentication. */
export const INSPECTOR_WEB_HOST = '127.0.0.1';
/** State pushes are coalesced to at most one per this many ms: a busy leader emits a snapshot per message. */
export const PUSH_INTERVAL_MS = 100;
/** Log entries sent per push: the page shows the newest; the full log stays in the process. */
export const PUSHED_LOG_ENTRIES = 200;
/** At most this many pages watching at once; each holds one open response. */
export const MAX_WATCHERS = 32;

export interface InspectorSource {
  readonly state: InspectorState;
  subscribe(listener: (state: InspectorState) => void): () => void;
}

export interface InspectorWebOptions {
  readonly graph: StateGraph;
  readonly layout: ChartLayout;
  readonly source: InspectorSource;
  /** 0 picks a free port. */
  readonly port: number;
  readonly title?: string;
}

export interface InspectorWeb {
  readonly url: string;
  close(): Promise<void>;
}

const PAGE_TEMPLATE = readFileSync(new URL('./page.html', import.meta.url), 'utf8');

export async function startInspectorWeb(options: InspectorWebOptions): Promise<InspectorWeb> {
  const watchers = new Set<ServerResponse>();
  const page = PAGE_TEMPLATE.replaceAll('__TITLE__', escapeHtml(options.title ?? 'quorumchat inspector'));

  let pending: NodeJS.Timeout | null = null;
  const push = (): void => {
    pending = null;
    const data = `event: state\ndata: ${JSON.stringify(wireState(options.source.state))}\n\n`;
    for (const res of watchers) res.write(data);
  };
  const unsubscribe = options.source.subscribe(() => {
    if (pending === null && watchers.size > 0) pending = setTimeout(push, PUSH_INTERVAL_MS);
  });

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end('only GET\n');
    } else if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(page);
    } else if (path === '/state.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(wireState(options.source.state)));
    } else if (path === '/events') {
      if (watchers.size >= MAX_WATCHERS) {
        res.writeHead(503).end('too many inspector pages open\n');
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      const init = { graph: options.graph, layout: options.layout, state: wireState(options.source.state) };
      res.write(`event: init\ndata: ${JSON.stringify(init)}\n\n`);
      watchers.add(res);
      req.on('close', () => watchers.delete(res));
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, INSPECTOR_WEB_HOST, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${INSPECTOR_WEB_HOST}:${port}/`,
    close: async () => {
      unsubscribe();
      if (pending) clearTimeout(pending);
      for (const res of watchers) res.end();
      watchers.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function wireState(state: InspectorState): unknown {
  return { replicas: state.replicas, observed: state.observed, rejected: state.rejected, log: state.log.slice(-PUSHED_LOG_ENTRIES) };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
