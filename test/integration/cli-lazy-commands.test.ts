/**
 * cli/main.ts imports a subcommand's module only when it runs: a replica
 * process must not load the bench (and hdr-histogram's WebAssembly), the
 * chat or the members report. The child records every ES module it loads
 * through a module hook, so this reads what actually ran.
 */
import test, { type ExecutionContext } from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir } from './support/cli.ts';

const RECORDER = new URL('./support/record-modules.mjs', import.meta.url).href;

async function modulesLoadedBy(t: ExecutionContext, args: readonly string[]): Promise<string[]> {
  const file = join(tempDir(t, 'modules'), 'loaded.txt');
  const result = await runCli(args, { env: { NODE_OPTIONS: `--import=${RECORDER}`, RECORD_MODULES_FILE: file } });
  t.is(result.code, 0, result.stderr);
  return readFileSync(file, 'utf8').split('\n').filter((line) => line.length > 0);
}

test('`replica` loads its own command and none of the bench, chat or members code', async (t) => {
  const loaded = await modulesLoadedBy(t, ['replica', '--help']);
  t.true(loaded.some((url) => /\/cli\/commands\/replica\.(js|ts)$/.test(url)), 'the replica command itself');
  for (const unwanted of [/\/cli\/bench\//, /hdr-histogram-js/, /\/cli\/commands\/(chat|members|bench|dashboard)\.(js|ts)$/]) {
    t.deepEqual(loaded.filter((url) => unwanted.test(url)), [], `nothing matching ${unwanted}`);
  }
});

test('`bench` loads the bench; `--help` loads every command, so it can list them', async (t) => {
  t.true((await modulesLoadedBy(t, ['bench', '--help'])).some((url) => /\/cli\/bench\//.test(url)));
  const all = await modulesLoadedBy(t, ['--help']);
  for (const name of ['up', 'status', 'bench', 'replica', 'chat', 'members']) t.true(all.some((url) => new RegExp(`/cli/commands/${name}\\.(js|ts)$`).test(url)), name);
});
