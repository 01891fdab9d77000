/**
 * Test helper: a private nats-server on a free loopback port, started for
 * one test file and always stopped (register `stop` with t.teardown).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

const NATS_SERVER_BIN = '/usr/sbin/nats-server';
/** How long a nats-server may take to print "Server is ready" on a busy 2-core machine. */
const START_TIMEOUT_MS = 15_000;

export class TestNatsServer {
  readonly port: number;
  #process: ChildProcess | null = null;

  private constructor(port: number) {
    this.port = port;
  }

  /** Starts a server on a free port (or on `port`, e.g. to restart one at the same address). */
  static async start(port?: number): Promise<TestNatsServer> {
    const server = new TestNatsServer(port ?? (await freePort()));
    await server.restart();
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.#process !== null;
  }

  /** Starts the process again on the same port (after `stop`). */
  async restart(): Promise<void> {
    if (this.#process !== null) throw new Error('nats-server is already running');
    const child = spawn(NATS_SERVER_BIN, ['-a', '127.0.0.1', '-p', String(this.port)], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.#process = child;
    await new Promise<void>((resolve, reject) => {
      let log = '';
      const timer = setTimeout(() => fail(new Error(`nats-server did not start within ${START_TIMEOUT_MS} ms:\n${log}`)), START_TIMEOUT_MS);
      const onExit = (code: number | null) => fail(new Error(`nats-server exited with ${code}:\n${log}`));
      const onData = (data: Buffer) => {
        log += data.toString();
        if (log.includes('Server is ready')) {
          clearTimeout(timer);
          child.stderr?.off('data', onData);
          child.stderr?.resume();
          child.off('exit', onExit);
          resolve();
        }
      };
      const fail = (err: Error) => {
        clearTimeout(timer);
        child.off('exit', onExit);
        child.kill('SIGKILL');
        if (this.#process === child) this.#process = null;
        reject(err);
      };
      child.stderr?.on('data', onData);
      child.once('exit', onExit);
    });
  }

  /** Stops the process and waits for it to exit. Safe to call when stopped. */
  async stop(): Promise<void> {
    const child = this.#process;
    if (child === null) return;
    this.#process = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it is true or `timeoutMs` passes; for conditions, never for timing claims. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 20_000, everyMs = 20): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return check();
}
