/** The UI commands as a person runs them: flags, refusals without a terminal, and `inspect --web` serving its page. */
import test from 'ava';
import { runCli, spawnCli } from '../integration/support/cli.ts';
import { startNatsServer } from '../integration/support/nats-server.ts';

test('chat, dashboard and terminal inspect refuse to draw into a pipe', async (t) => {
  for (const command of ['chat', 'dashboard', 'inspect']) {
    const result = await runCli([command, '--nats', 'nats://127.0.0.1:1']);
    t.is(result.code, 2, command);
    t.regex(result.stderr, new RegExp(`quorumchat ${command} needs a terminal`));
  }
});

test('bad flags are named in the error', async (t) => {
  const result = await runCli(['dashboard', '--replicas', 'r1,bad id']);
  t.is(result.code, 2);
  t.regex(result.stderr, /--replicas/);
  const port = await runCli(['inspect', '--web', '--port', '70000']);
  t.is(port.code, 2);
  t.regex(port.stderr, /--port/);
});

test('inspect --web prints its loopback address and serves the page until stopped', async (t) => {
  const nats = await startNatsServer();
  t.teardown(() => nats.stop());
  const child = spawnCli(['inspect', '--web', '--port', '0', '--nats', nats.url, '--prefix', 'webcmd']);
  t.teardown(() => child.process.kill('SIGKILL'));
  const line = await child.waitFor(/inspector: http:\/\/127\.0\.0\.1:\d+\//, 30_000);
  const url = line.replace('inspector: ', '');
  const page = await fetch(url);
  t.is(page.status, 200);
  t.regex(await page.text(), /quorumchat inspector · webcmd/);
  child.process.kill('SIGINT');
  const result = await child.done;
  t.is(result.code, 0, result.stderr);
});
