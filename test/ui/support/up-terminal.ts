/**
 * `quorumchat up` in a tmux pseudo-terminal, as the UI tests drive it: a
 * fresh data root and port, a clean stop at the end (Ctrl-C, every replica
 * and nats-server exited), a forced one in teardown if the test failed
 * first; and saving screens under test/artifacts/ for the docs.
 */
import type { ExecutionContext } from 'ava';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../integration/support/nats-server.ts';
import { openTerminal, type Terminal } from './tmux.ts';

export const BIN = fileURLToPath(new URL('../../../cli/quorumchat.mjs', import.meta.url));
const ARTIFACTS = new URL('../../artifacts/', import.meta.url);
/** Unicode line drawing instead of the terminal's alternate character set, so captured screens read as text. */
export const UI_ENV = { NCURSES_NO_UTF8_ACS: '1' };

/** up says this once every replica and its nats-server have exited. */
const STOPPED = /stopped: every replica and nats-server have exited/;
/** Stopping replicas cleanly takes seconds; a loaded machine, more. */
const STOP_TIMEOUT_MS = 60_000;

export function saveScreen(name: string, screen: string): void {
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(new URL(`${name}.txt`, ARTIFACTS), screen);
}

export interface UpTerminal {
  readonly term: Terminal;
  /** nats://127.0.0.1:PORT of up's nats-server. */
  readonly natsUrl: string;
  readonly dataRoot: string;
  /** Ctrl-C, and wait until up says everything has exited. */
  stop(): Promise<void>;
}

export async function openUp(t: ExecutionContext, name: string, options: { args?: string; columns?: number; rows?: number } = {}): Promise<UpTerminal> {
  const dataRoot = mkdtempSync(join(tmpdir(), 'qc-ui-'));
  t.teardown(() => rmSync(dataRoot, { recursive: true, force: true }));
  const port = await freePort();
  const term = await openTerminal(name, `node ${BIN} up --data ${dataRoot} --port ${port} ${options.args ?? ''}`, { env: UI_ENV, columns: options.columns ?? 140, rows: options.rows ?? 45 });
  let stopped = false;
  t.teardown(async () => {
    if (!stopped) {
      await term.keys('C-c').catch(() => undefined);
      await term.waitFor(STOPPED, STOP_TIMEOUT_MS).catch(() => undefined);
    }
    await term.kill();
  });
  return {
    term,
    natsUrl: `nats://127.0.0.1:${port}`,
    dataRoot,
    stop: async () => {
      await term.keys('C-c');
      await term.waitFor(STOPPED, STOP_TIMEOUT_MS);
      stopped = true;
    },
  };
}
