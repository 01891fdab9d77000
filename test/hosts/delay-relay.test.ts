/**
 * The userspace stand-in for netem (test/hosts/delay-relay.ts): bytes pass
 * both ways unchanged and in order, each way after the delay set on stdin,
 * and a relay whose stdin closes exits. No root needed: it runs on loopback.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

const RELAY = fileURLToPath(new URL('./delay-relay.ts', import.meta.url));
const DELAY_MS = 60;
/** A free-enough port for the relay to listen on (the echo server takes an ephemeral one). */
const RELAY_PORT = 17_000 + (process.pid % 1_000);

function roundTrip(socket: Socket, payload: string): Promise<{ reply: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    let reply = '';
    const onData = (chunk: Buffer): void => {
      reply += chunk.toString();
      if (reply.length >= payload.length) {
        socket.off('data', onData);
        resolve({ reply, ms: performance.now() - started });
      }
    };
    socket.on('data', onData);
    socket.write(payload);
  });
}

test('bytes pass both ways in order, each way after the delay, which can change while running', async (t) => {
  const echo = createServer((s) => s.pipe(s));
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  t.teardown(() => echo.close());
  const target = `127.0.0.1:${(echo.address() as AddressInfo).port}`;
  const relay = spawn(process.execPath, ['--import', 'tsx', RELAY, `127.0.0.1:${RELAY_PORT}=${target}`], { stdio: ['pipe', 'ignore', 'inherit'] });
  t.teardown(() => relay.kill());

  // The relay takes a moment to start (tsx); retry the connect until it listens.
  let socket: Socket | undefined;
  for (let i = 0; i < 100 && socket === undefined; i++) {
    const attempt = connect(RELAY_PORT, '127.0.0.1');
    const ok = await new Promise<boolean>((resolve) => {
      attempt.once('connect', () => resolve(true));
      attempt.once('error', () => resolve(false));
    });
    if (ok) socket = attempt;
    else await new Promise((r) => setTimeout(r, 100));
  }
  if (socket === undefined) return t.fail('the relay never listened');
  t.teardown(() => socket.destroy());

  const fast = await roundTrip(socket, 'hello');
  t.is(fast.reply, 'hello');
  relay.stdin.write(`delay ${DELAY_MS}\n`);
  await new Promise((r) => setTimeout(r, 50));
  const payload = Array.from({ length: 2_000 }, (_, i) => `${i},`).join('');
  const slow = await roundTrip(socket, payload);
  t.is(slow.reply, payload, 'unchanged and in order');
  t.true(slow.ms >= 2 * DELAY_MS, `a round trip took ${slow.ms.toFixed(0)} ms, at least twice the one-way delay`);

  relay.stdin.end();
  const [code] = (await once(relay, 'exit')) as [number | null];
  t.is(code, 0, 'exits when its stdin closes');
});
