/**
 * Runs the `quorumchat` command as a child process, as an operator would:
 * one-shot commands to completion, long-running ones (up) with their output
 * captured and a way to wait for a line. Every child is killed in teardown.
 */
import type { ExecutionContext } from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const QUORUMCHAT_BIN = fileURLToPath(new URL('../../../cli/quorumchat.mjs', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  readonly env?: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** Stop the command after this long: SIGTERM (so `up`/`bench` stop their children), SIGKILL if it lingers. */
  readonly timeoutMs?: number;
}

/** A one-shot command to completion. */
export async function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  const child = spawnCli(args, options);
  let killTimer: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    child.process.kill('SIGTERM');
    killTimer = setTimeout(() => child.process.kill('SIGKILL'), TEARDOWN_GRACE_MS);
  }, options.timeoutMs ?? 120_000);
  try {
    return await child.done;
  } finally {
    clearTimeout(timer);
    clearTimeout(killTimer);
  }
}

export interface CliChild {
  readonly process: ChildProcess;
  /** Everything written so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout+stderr match, rejects if the process exits first or on timeout. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<string>;
  readonly done: Promise<CliResult>;
}

export function spawnCli(args: readonly string[], options: RunOptions = {}): CliChild {
  const child = spawn(process.execPath, [QUORUMCHAT_BIN, ...args], {
    cwd: options.cwd ?? process.cwd(),
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  const notify = (): void => listeners.forEach((l) => l());
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => ((stdout += chunk), notify()));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => ((stderr += chunk), notify()));
  const done = new Promise<CliResult>((resolve) => {
    child.once('close', (code, signal) => {
      resolve({ code, signal, stdout, stderr });
      notify();
    });
  });
  let exited = false;
  void done.then(() => (exited = true));
  return {
    process: child,
    stdout: () => stdout,
    stderr: () => stderr,
    done,
    waitFor(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const text = stdout + stderr;
          const match = pattern.exec(text);
          if (match) return finish(() => resolve(match[0]));
          if (exited) finish(() => reject(new Error(`exited before ${pattern}:\n${text}`)));
        };
        const timer = setTimeout(() => finish(() => reject(new Error(`timed out waiting for ${pattern}:\n${stdout}${stderr}`))), timeoutMs);
        const finish = (then: () => void): void => {
          clearTimeout(timer);
          listeners.delete(check);
          then();
        };
        listeners.add(check);
        check();
      });
    },
  };
}

/** A temp directory removed in teardown. */
export function tempDir(t: ExecutionContext, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `quorumchat-${name}-`));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** True if a process with this pid exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** How long a teardown lets `up` or `bench` stop their own children before it kills everything. */
const TEARDOWN_GRACE_MS = 30_000;

/**
 * Teardown for a command that runs a cluster (`up`, `bench`): SIGTERM first,
 * so it stops its replicas and nats-server itself (a SIGKILL would orphan
 * them); if it has not exited within the grace period, SIGKILL it and every
 * pid it printed on a "pids" line.
 */
export function stopClusterCommandInTeardown(t: ExecutionContext, child: CliChild): void {
  t.teardown(async () => {
    let exited = child.process.exitCode !== null || child.process.signalCode !== null;
    if (!exited) {
      child.process.kill('SIGTERM');
      exited = await Promise.race([
        child.done.then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), TEARDOWN_GRACE_MS)),
      ]);
    }
    if (!exited) child.process.kill('SIGKILL');
    for (const pid of printedPids(child.stdout() + child.stderr())) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  });
}

/** Every pid on the "pids ..." lines that `up` and `bench` print. */
export function printedPids(output: string): number[] {
  return [...output.matchAll(/pids\s+(.*)$/gm)].flatMap((line) => [...(line[1] ?? '').matchAll(/ (\d+)/g)].map((m) => Number(m[1])));
}
