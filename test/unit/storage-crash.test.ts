/**
 * Crash consistency: a child process persists, applies and snapshots in a
 * loop; we SIGKILL it at random moments, reopen the store and check that
 * what is on disk is exactly the state after some prefix of the child's
 * steps that contains every acknowledged one, and that the store's
 * invariants hold (contiguous checksummed log, applied ≤ last index, the
 * state machine table matches appliedIndex, the digest recomputes).
 */
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import type { HardState } from '../../actors/raft/types.ts';
import { openReplicaStore } from '../../storage/replica-store.ts';
import { independentDigest, makeEntries, segmentFiles, tempDir, TEST_CONFIG, testMigrations } from '../storage/helpers.ts';

/** How many times the child is killed: enough crash points to hit each kind of step, within ~60 s on 2 shared cores. */
const KILLS = 30;
/** The child process script. */
const CHILD = fileURLToPath(new URL('../storage/crash-child.ts', import.meta.url));
/** The child runs this long (ms) after it is ready, at most, before the kill. */
const MAX_RUN_MS = 400;

type Step =
  | { kind: 'persist'; hardState?: HardState; truncateFrom?: number; entries: [number, number][] }
  | { kind: 'apply'; to: number }
  | { kind: 'snapshot' };

interface Model {
  /** Term of every index ever written (compacted ones too), so the digest can be recomputed from scratch. */
  terms: number[];
  lastIndex: number;
  hardState: HardState;
  applied: number;
}

test('the store survives SIGKILL at random points with nothing acknowledged lost', async (t) => {
  t.timeout(180_000);
  const dataDir = await tempDir(t);
  let model: Model = { terms: [0], lastIndex: 0, hardState: { term: 0, votedFor: null }, applied: 0 };
  const seeds: number[] = [];
  for (let kill = 0, seed = 0x5eed; kill < KILLS; kill++) seeds.push((seed = (seed * 1103515245 + 12345) >>> 0));
  const stats = { steps: 0, unacked: 0, snapshots: 0, childMs: 0, checkMs: 0 };
  let next = startChild(t, dataDir, seeds[0]!);
  for (const [kill, seed] of seeds.entries()) {
    const current = next;
    // Start the next child while this one runs: its module loading overlaps the run and the check.
    const prewarm = (): void => {
      const nextSeed = seeds[kill + 1];
      if (nextSeed !== undefined) next = startChild(t, dataDir, nextSeed);
    };
    const runStarted = performance.now();
    const { steps, acked } = await runAndKill(t, current, seed % MAX_RUN_MS, prewarm);
    const checkStarted = performance.now();
    stats.childMs += checkStarted - runStarted;
    stats.steps += acked;
    stats.unacked += steps.length - acked;
    stats.snapshots += steps.slice(0, acked).filter((s) => s.kind === 'snapshot').length;
    model = await checkAfterCrash(t, dataDir, model, steps, acked, `kill ${kill} (seed ${seed})`);
    stats.checkMs += performance.now() - checkStarted;
  }
  t.log(`${KILLS} kills, ${stats.steps} acknowledged steps, ${stats.unacked} in flight at a kill, ${stats.snapshots} snapshots; final log ${model.lastIndex}, applied ${model.applied}; ${Math.round(stats.childMs / 1000)} s in children, ${Math.round(stats.checkMs / 1000)} s checking`);
  t.true(model.applied > 0 && stats.snapshots > 0, 'the run applied entries and took snapshots');
  t.log(`${(await segmentFiles(dataDir)).length} log segments left (the child rolls them every 4 KiB; compaction deletes the older ones)`);
});

interface Child {
  readonly process: ChildProcess;
  readonly stderr: () => string;
  readonly exited: Promise<void>;
}

/** Spawn a child; it loads its modules, then waits for GO before touching the store. */
function startChild(t: ExecutionContext, dataDir: string, seed: number): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir, String(seed)], { stdio: ['pipe', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return { process: child, stderr: () => stderr, exited };
}

/** Let the child run until `runMs` after it is ready, SIGKILL it, and return the steps it announced and how many it acknowledged. */
async function runAndKill(t: ExecutionContext, child: Child, runMs: number, onReady: () => void): Promise<{ steps: Step[]; acked: number }> {
  const steps: Step[] = [];
  let acked = 0;
  let timer: NodeJS.Timeout | undefined;
  child.process.stdin?.write('GO\n');
  for await (const line of createInterface({ input: child.process.stdout! })) {
    if (line === 'READY') {
      timer = setTimeout(() => child.process.kill('SIGKILL'), runMs);
      onReady();
    } else if (line.startsWith('INTENT ')) steps.push(JSON.parse(line.slice('INTENT '.length)) as Step);
    else if (line === 'ACK') acked++;
  }
  await child.exited;
  clearTimeout(timer);
  if (child.process.signalCode !== 'SIGKILL') t.fail(`child exited on its own (${child.process.exitCode}): ${child.stderr()}`);
  return { steps, acked };
}

/** Reopen the store and find the prefix of `steps` (at least `acked` long) whose state is on disk; check every invariant. */
async function checkAfterCrash(t: ExecutionContext, dataDir: string, before: Model, steps: readonly Step[], acked: number, label: string): Promise<Model> {
  const store = await openReplicaStore({ dataDir, replicaId: 'r1', migrations: testMigrations, initialConfig: TEST_CONFIG });
  try {
    const loaded = await store.load(); // verifies checksums and contiguity
    const status = store.status();
    const snapshotIndex = loaded.snapshot?.meta.index ?? 0;
    const candidates: Model[] = [];
    let model = before;
    for (let k = 0; k <= steps.length; k++) {
      const step = steps[k];
      if (k >= acked) candidates.push(model, ...(step ? partialSteps(model, step) : []));
      if (step) model = applyStep(model, step);
    }
    const match = candidates.find(
      (m) =>
        m.lastIndex === status.lastIndex &&
        m.applied === loaded.applied.index &&
        m.hardState.term === loaded.hardState.term &&
        m.hardState.votedFor === loaded.hardState.votedFor &&
        loaded.entries.every((e) => m.terms[e.index] === e.term),
    );
    if (match === undefined) {
      t.fail(`${label}: disk state matches no prefix of the steps with all ${acked} acknowledged ones: ${JSON.stringify({ status, hardState: loaded.hardState, steps: steps.slice(acked) })}`);
      return before;
    }
    // Invariants, beyond "equals a legal prefix".
    const expectedEntries = (from: number, to: number) => {
      const out = [];
      for (let i = from; i <= to; i++) out.push(makeEntries(i, i, match.terms[i]!)[0]!);
      return out;
    };
    t.true(loaded.applied.index <= status.lastIndex, `${label}: applied ≤ last index`);
    t.deepEqual(loaded.entries.map((e) => e.index), range(snapshotIndex + 1, status.lastIndex), `${label}: log contiguous after the snapshot`);
    t.deepEqual(loaded.entries.map(plain), expectedEntries(snapshotIndex + 1, status.lastIndex).map(plain), `${label}: entries are the ones written`);
    t.is(loaded.applied.digest, independentDigest(expectedEntries(1, loaded.applied.index)), `${label}: digest recomputes`);
    if (loaded.snapshot) {
      t.true(snapshotIndex <= loaded.applied.index, `${label}: snapshot ≤ applied`);
      t.is(loaded.snapshot.digest, independentDigest(expectedEntries(1, snapshotIndex)), `${label}: snapshot digest recomputes`);
      const stream = await store.openSnapshot(); // verifies the file's sha256
      await stream?.close();
    }
    const rows = (await store.reader('test_rows').select('idx', 'term', 'body').orderBy('idx')) as { idx: number; term: number; body: Buffer }[];
    const expectedRows = expectedEntries(1, loaded.applied.index).flatMap((e) => (e.kind === 'command' ? [{ idx: e.index, term: e.term, body: Buffer.from(e.data) }] : []));
    t.deepEqual(rows, expectedRows, `${label}: test table matches appliedIndex exactly`);
    return match;
  } finally {
    await store.close();
  }
}

function applyStep(model: Model, step: Step): Model {
  switch (step.kind) {
    case 'persist': {
      const terms = [...model.terms];
      let lastIndex = step.truncateFrom === undefined ? model.lastIndex : Math.min(model.lastIndex, step.truncateFrom - 1);
      for (const [index, term] of step.entries) {
        terms[index] = term;
        lastIndex = index;
      }
      return { ...model, terms, lastIndex, hardState: step.hardState ?? model.hardState };
    }
    case 'apply':
      return { ...model, applied: step.to };
    case 'snapshot':
      return model;
  }
}

/**
 * The states an unacknowledged persist can leave when the kill cuts its write
 * short: its records (hard state, then truncation, then entries) are a prefix
 * of one write, so the hard state may be on disk without the rest, or the
 * truncation without the entries. Raft is fine with either (nothing of it was
 * acknowledged), and the log must still be one of these.
 */
function partialSteps(model: Model, step: Step): Model[] {
  if (step.kind !== 'persist') return [];
  const withHardState = step.hardState ? { ...model, hardState: step.hardState } : model;
  const truncated = step.truncateFrom === undefined ? withHardState : applyStep(withHardState, { kind: 'persist', truncateFrom: step.truncateFrom, entries: [] });
  return [withHardState, truncated];
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

function plain(entry: { kind: string }): unknown {
  return 'data' in entry ? { ...entry, data: Array.from(entry.data as Uint8Array) } : entry;
}
