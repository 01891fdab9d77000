/**
 * Drives a terminal program in a real pseudo-terminal through tmux: start it
 * in a detached session of a fixed size, type with send-keys, read the screen
 * with capture-pane. Each terminal uses its own tmux server socket, so tests
 * never touch anyone else's tmux.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** How often `waitFor` re-reads the screen. */
const POLL_MS = 200;

export interface Terminal {
  /** tmux send-keys arguments: literal text with `type`, key names (Enter, Tab, F2, C-c) with `keys`. */
  type(text: string): Promise<void>;
  keys(...names: string[]): Promise<void>;
  screen(): Promise<string>;
  /** Resolves with the screen once `pattern` matches it; rejects with the last screen after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  resize(columns: number, rows: number): Promise<void>;
  kill(): Promise<void>;
}

export async function openTerminal(name: string, command: string, options: { columns?: number; rows?: number; env?: Record<string, string> } = {}): Promise<Terminal> {
  const socket = `qc-ui-${name}-${process.pid}`;
  // -u: the captured screen is UTF-8 whatever the locale the tests run in.
  const tmux = (...args: string[]) => run('tmux', ['-u', '-L', socket, ...args], { maxBuffer: 4 * 1024 * 1024 });
  const env = Object.entries({ TERM: 'xterm-256color', LANG: 'C.UTF-8', ...options.env }).map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ');
  await tmux('-f', '/dev/null', 'new-session', '-d', '-s', 'ui', '-x', String(options.columns ?? 140), '-y', String(options.rows ?? 45), `env ${env} ${command}`);
  await tmux('set-option', '-t', 'ui', 'remain-on-exit', 'on');
  const screen = async (): Promise<string> => (await tmux('capture-pane', '-p', '-t', 'ui')).stdout;
  return {
    type: async (text) => void (await tmux('send-keys', '-t', 'ui', '-l', text)),
    keys: async (...names) => void (await tmux('send-keys', '-t', 'ui', ...names)),
    screen,
    waitFor: async (pattern, timeoutMs = 30_000) => {
      const deadline = Date.now() + timeoutMs;
      let last = '';
      while (Date.now() < deadline) {
        last = await screen();
        if (pattern.test(last)) return last;
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${pattern} on the screen:\n${last}`);
    },
    resize: async (columns, rows) => void (await tmux('resize-window', '-t', 'ui', '-x', String(columns), '-y', String(rows))),
    kill: async () => {
      await tmux('kill-server').catch(() => undefined);
    },
  };
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
