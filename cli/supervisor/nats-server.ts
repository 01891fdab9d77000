/**
 * The embedded NATS server that `quorumchat up` and `quorumchat bench` start:
 * find the binary, make sure the port is free, start it on loopback, wait
 * until it accepts connections, stop it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, openSync, closeSync, existsSync, fstatSync, readSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { delimiter, join } from 'node:path';

/** Where Debian/Ubuntu's `nats-server` package puts the binary, which is often not on a user's PATH. */
export const DEFAULT_NATS_FALLBACK_DIRS: readonly string[] = ['/usr/sbin'];
/** The embedded server only ever listens on loopback: it is a local development cluster. */
export const LOOPBACK_HOST = '127.0.0.1';
/** nats-server starts in well under a second; 10 s leaves room for a loaded 2-core machine. */
export const NATS_START_TIMEOUT_MS = 10_000;
/** nats-server drains and exits promptly on SIGTERM; after this we SIGKILL it. */
export const NATS_STOP_TIMEOUT_MS = 5_000;
/** Error messages quote at most this much of a log's end: enough for a stack trace, never a whole log. */
const LOG_TAIL_BYTES = 16 * 1024;
/** How often to probe the port while waiting for the server to listen. */
const READY_PROBE_INTERVAL_MS = 50;

export const NATS_INSTALL_HINT =
  'sudo apt-get install -y nats-server' +
  ' (or download a release from https://github.com/nats-io/nats-server/releases and put nats-server on your PATH)';

/** nats-server is neither on PATH nor in any fallback directory. */
export class NatsServerNotFoundError extends Error {
  override readonly name = 'NatsServerNotFoundError';
  constructor(readonly searched: readonly string[], detail?: string) {
    const where = detail ?? `looked on PATH${searched.length > 0 ? ` and in ${searched.join(', ')}` : ''}`;
    super(`nats-server was not found (${where}). Install it with: ${NATS_INSTALL_HINT}`);
  }
}

/** Something else already listens on the port the embedded server should use. */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
  constructor(readonly host: string, readonly port: number) {
    super(`port ${port} on ${host} is already in use (another nats-server or quorumchat up?). Stop it, or choose another port with --port.`);
  }
}

/** The server process exited or did not listen in time. */
export class NatsServerStartError extends Error {
  override readonly name = 'NatsServerStartError';
}

export interface FindNatsServerOptions {
  /** Use exactly this binary (no search); it must be executable. */
  readonly binary?: string;
  /** The PATH to search; defaults to process.env.PATH. */
  readonly searchPath?: string;
  /** Searched after PATH. */
  readonly fallbackDirs?: readonly string[];
}

/** Returns the absolute path of an executable nats-server, or throws NatsServerNotFoundError. */
export function findNatsServer(options: FindNatsServerOptions = {}): string {
  if (options.binary !== undefined) {
    if (isExecutable(options.binary)) return options.binary;
    throw new NatsServerNotFoundError([], `${options.binary} is not an executable file`);
  }
  const searchPath = options.searchPath ?? process.env['PATH'] ?? '';
  const fallbackDirs = options.fallbackDirs ?? DEFAULT_NATS_FALLBACK_DIRS;
  const dirs = [...searchPath.split(delimiter).filter((d) => d.length > 0), ...fallbackDirs];
  for (const dir of dirs) {
    const candidate = join(dir, 'nats-server');
    if (isExecutable(candidate)) return candidate;
  }
  throw new NatsServerNotFoundError(fallbackDirs);
}

/** Throws PortInUseError unless `port` on `host` can be bound right now. */
export async function assertPortFree(host: string, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' || err.code === 'EACCES' ? new PortInUseError(host, port) : err);
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
}

/** A port the OS says is free on `host` now (it may be taken by the time it is used; callers handle that). */
export async function findFreePort(host: string = LOOPBACK_HOST): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host, port: 0 }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('the OS gave no port'))));
    });
  });
}

export interface NatsServerStartOptions {
  readonly binary: string;
  readonly port: number;
  /** The server's own log goes here (nats-server -l). */
  readonly logFile: string;
  readonly host?: string;
  readonly startTimeoutMs?: number;
  /** A nats-server configuration file (e.g. the authorization `up` writes); -a and -p still apply over it. */
  readonly configFile?: string;
}

/** A running nats-server child process. */
export class NatsServerProcess {
  private exited: Promise<void>;
  private hasExited = false;

  private constructor(
    private readonly child: ChildProcess,
    readonly host: string,
    readonly port: number,
    readonly logFile: string,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        this.hasExited = true;
        resolve();
      });
    });
  }

  get url(): string {
    return `nats://${this.host}:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return !this.hasExited;
  }

  /** Starts the server and resolves once it accepts TCP connections. */
  static async start(options: NatsServerStartOptions): Promise<NatsServerProcess> {
    const host = options.host ?? LOOPBACK_HOST;
    await assertPortFree(host, options.port);
    const logFd = openSync(options.logFile, 'a');
    let child: ChildProcess;
    try {
      // Own process group (detached): a Ctrl-C in the terminal reaches only
      // `quorumchat up`, which then stops the replicas before this server.
      const config = options.configFile === undefined ? [] : ['-c', options.configFile];
      child = spawn(options.binary, [...config, '-a', host, '-p', String(options.port)], {
        stdio: ['ignore', logFd, logFd],
        detached: true,
      });
    } finally {
      closeSync(logFd);
    }
    const server = new NatsServerProcess(child, host, options.port, options.logFile);
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    try {
      await server.waitUntilListening(options.startTimeoutMs ?? NATS_START_TIMEOUT_MS, spawnError);
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  /** SIGTERM, then SIGKILL after NATS_STOP_TIMEOUT_MS. Idempotent. */
  async stop(): Promise<void> {
    if (this.hasExited) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), NATS_STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }

  /** For a process 'exit' hook: no waiting possible there. */
  killNow(): void {
    if (!this.hasExited) this.child.kill('SIGKILL');
  }

  private async waitUntilListening(timeoutMs: number, spawnError: Promise<Error>): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let failure: Error | null = null;
    void spawnError.then((err) => {
      failure = new NatsServerStartError(`could not run ${this.child.spawnfile}: ${err.message}`);
    });
    while (Date.now() < deadline) {
      if (failure !== null) throw failure;
      if (this.hasExited) throw this.exitError();
      if (await canConnect(this.host, this.port)) return;
      await sleep(READY_PROBE_INTERVAL_MS);
    }
    throw new NatsServerStartError(`nats-server did not listen on ${this.host}:${this.port} within ${timeoutMs} ms; see ${this.logFile}`);
  }

  private exitError(): Error {
    const tail = logTail(this.logFile);
    if (/address already in use/i.test(tail)) return new PortInUseError(this.host, this.port);
    return new NatsServerStartError(`nats-server exited during start-up; the end of ${this.logFile}:\n${tail}`);
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function canConnect(host: string, port: number): Promise<boolean> {
  return await new Promise<boolean>((resolve) => {
    const socket = tcpConnect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** The last few lines of a log file, for error messages. */
export function logTail(path: string, lines = 12): string {
  if (!existsSync(path)) return '(no log)';
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, LOG_TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    return buffer.toString('utf8').split('\n').slice(-lines - 1).join('\n').trimEnd();
  } finally {
    closeSync(fd);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
