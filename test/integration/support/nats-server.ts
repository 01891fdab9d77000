/**
 * Starts a real nats-server on a free loopback port for a test, and stops it.
 * Restartable on the same port, for tests that restart the server under load.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect as tcpConnect } from 'node:net';

/** Where the system's nats-server lives (apt package); override with NATS_SERVER. */
export const NATS_SERVER_BIN = process.env.NATS_SERVER ?? '/usr/sbin/nats-server';
/** Waiting longer than this for the server to accept connections means it failed to start. */
const NATS_START_TIMEOUT_MS = 10_000;

export interface NatsServer {
  readonly port: number;
  readonly url: string;
  /** Stops the server (SIGTERM, then SIGKILL) and resolves once it has exited. */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
}

export interface NatsServerOptions {
  /** A nats-server configuration file (e.g. an authorization block); -a and -p still apply over it. */
  readonly configFile?: string;
}

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const server: NatsServer = {
    port,
    url: `nats://127.0.0.1:${port}`,
    async start() {
      if (child) return;
      const config = options.configFile === undefined ? [] : ['-c', options.configFile];
      child = spawn(NATS_SERVER_BIN, [...config, '-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
      await waitForPort(port, NATS_START_TIMEOUT_MS);
    },
    async stop() {
      const running = child;
      child = null;
      if (running) await killAndWait(running);
    },
  };
  await server.start();
  return server;
}

/** A port the kernel just handed out on loopback, free at the time of the call. */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** SIGTERM, then SIGKILL after a grace period; resolves when the process has exited. */
export async function killAndWait(child: ChildProcess, graceMs = 3_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect(port, '127.0.0.1');
      socket.once('connect', () => { socket.destroy(); resolve(true); });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nats-server did not accept connections on port ${port} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
