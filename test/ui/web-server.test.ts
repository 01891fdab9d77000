import test from 'ava';
import { raftMachine } from '../../actors/raft/index.ts';
import { InspectorFeed } from '../../cli/inspector/feed.ts';
import { stateGraphOf } from '../../cli/inspector/graph.ts';
import { layoutChart } from '../../cli/inspector/layout.ts';
import { startInspectorWeb } from '../../cli/inspector/web.ts';

async function start(t: import('ava').ExecutionContext) {
  const feed = new InspectorFeed();
  const graph = stateGraphOf(raftMachine);
  const web = await startInspectorWeb({ graph, layout: layoutChart(graph), source: feed, port: 0, title: 'inspector <test>' });
  t.teardown(() => web.close());
  return { feed, web };
}

test('the page is self-contained and bound to loopback', async (t) => {
  const { web } = await start(t);
  t.regex(web.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
  const res = await fetch(web.url);
  t.is(res.status, 200);
  const html = await res.text();
  t.notRegex(html, /(src|href)\s*=\s*["']?(https?:)?\/\//i, 'no external scripts, styles or fonts');
  t.regex(html, /inspector &#60;test&#62;/, 'the title is escaped');
  t.is((await fetch(new URL('/nope', web.url))).status, 404);
  t.is((await fetch(web.url, { method: 'POST' })).status, 405);
});

test('events stream the chart first, then each change', async (t) => {
  const { feed, web } = await start(t);
  feed.receive(JSON.stringify({ replica: 'r1', value: 'follower', from: null, event: 'xstate.init', term: 0, at: 1 }), 'r1', 1);
  const controller = new AbortController();
  t.teardown(() => controller.abort());
  const res = await fetch(new URL('/events', web.url), { signal: controller.signal });
  t.is(res.headers.get('content-type'), 'text/event-stream');
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const nextEvent = async (): Promise<{ event: string; data: unknown }> => {
    for (;;) {
      const end = buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? '';
        const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? 'null') as unknown;
        return { event, data };
      }
      const { value, done } = await reader.read();
      if (done) throw new Error('stream ended');
      buffer += decoder.decode(value, { stream: true });
    }
  };
  const init = (await nextEvent()) as { event: string; data: { layout: { boxes: unknown[] }; state: { replicas: Record<string, unknown> } } };
  t.is(init.event, 'init');
  t.is(init.data.layout.boxes.length, 5);
  t.deepEqual(Object.keys(init.data.state.replicas), ['r1']);

  feed.receive(JSON.stringify({ replica: 'r1', value: 'pre-candidate', from: 'follower', event: 'xstate.after.electionTimeout.raft.follower', term: 0, at: 2 }), 'r1', 2);
  const update = (await nextEvent()) as { event: string; data: { log: { to: string; event: string }[]; observed: Record<string, unknown> } };
  t.is(update.event, 'state');
  t.like(update.data.log.at(-1), { to: 'pre-candidate', event: 'after electionTimeout' });
  t.truthy(update.data.observed['follower>pre-candidate']);

  const state = (await (await fetch(new URL('/state.json', web.url))).json()) as { replicas: Record<string, { top: string }> };
  t.is(state.replicas.r1?.top, 'pre-candidate');
});

test('an unreadable record is counted, not fatal', async (t) => {
  const { feed } = await start(t);
  feed.receive('not json', 'r2', 0);
  t.is(feed.state.rejected, 1);
  t.regex(feed.lastRejection ?? '', /not JSON/);
});
