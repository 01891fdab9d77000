// Replays are exact: the same seed and options give the identical trace, and
// the printed replay command reproduces a failure, though the runtime under
// test is async (the loop drains every microtask after each event).
import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { huntForViolation } from './ci-batch.ts';
import { runRuntimeSimulation, runtimeReplayCommand } from './runtime-sim.ts';

const run = promisify(execFile);

test('the same seed gives an identical trace; another seed a different one', async (t) => {
  const options = { seed: 4242, nodes: 5, steps: 400, keepTrace: true };
  const first = await runRuntimeSimulation(options);
  const second = await runRuntimeSimulation(options);
  t.true(first.ok, first.violation?.detail);
  t.is(first.traceHash, second.traceHash);
  t.deepEqual(first.trace, second.trace);
  t.true(first.trace!.length > 400);
  t.not((await runRuntimeSimulation({ ...options, seed: 4243 })).traceHash, first.traceHash);
  t.not((await runRuntimeSimulation({ ...options, nodes: 3 })).traceHash, first.traceHash);
});

test('the replay command names every option that shapes the run', (t) => {
  t.is(runtimeReplayCommand({ seed: 7, nodes: 5, steps: 400 }), 'npm run sim -- --seed 7 --nodes 5 --steps 400');
  t.is(
    runtimeReplayCommand({ seed: 7, nodes: 3, steps: 900, coreVariant: 'voteWithoutLogCheck', disk: 'lying', mix: 'elections' }),
    'npm run sim -- --seed 7 --nodes 3 --steps 900 --variant voteWithoutLogCheck --disk lying --mix elections',
  );
  t.is(runtimeReplayCommand({ seed: 8, nodes: 3, steps: 400, variant: 'replyBeforeApply' }), 'npm run sim -- --seed 8 --nodes 3 --steps 400 --variant replyBeforeApply');
});

test('a failing seed replays from its printed command to the same violation and trace', async (t) => {
  const { result } = await huntForViolation({ disk: 'lying', nodes: [3, 5, 7], steps: 400, maxSeeds: 50 });
  t.truthy(result, 'a lying disk gives a failing seed to replay');
  const args = result!.replay.replace(/^npm run sim -- /, '').split(' ');
  const error = await t.throwsAsync(run('node', ['--import', 'tsx', 'test/sim/cli.ts', ...args], { encoding: 'utf8' }));
  const out = (error as unknown as { stdout: string; code: number }).stdout;
  t.is((error as unknown as { code: number }).code, 1, 'a failing seed exits non-zero');
  t.true(out.includes(`${result!.violation!.invariant} violated at step ${result!.violation!.step}`), out);
  t.true(out.includes(`trace ${result!.traceHash}`), out);
  t.true(out.includes(`replay: ${result!.replay}`), out);
});

test('the CLI runs many seeds, prints seeds/s and exits 0 when all pass', async (t) => {
  const { stdout } = await run('node', ['--import', 'tsx', 'test/sim/cli.ts', '--seeds', '6', '--start', '9000', '--nodes', '3,5', '--steps', '200'], { encoding: 'utf8' });
  t.regex(stdout, /6 seeds \(3x3 3x5 nodes\), 6 passed, 0 failed, in [\d.]+s \([\d.]+s CPU\): [\d.]+ seeds\/s/);
});

test('the CLI refuses bad options with a clear message', async (t) => {
  const error = await t.throwsAsync(run('node', ['--import', 'tsx', 'test/sim/cli.ts', '--seed', '1', '--variant', 'nonsense'], { encoding: 'utf8' }));
  t.is((error as unknown as { code: number }).code, 2);
  t.regex((error as unknown as { stderr: string }).stderr, /variant/);
});
