/**
 * Property: any sequence of valid persist steps, issued in random bursts so
 * that some group-commit together, leaves the log and hard state equal to a
 * simple in-memory model; reopening gives the same.
 */
import test from 'ava';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { HardState } from '../../actors/raft/types.ts';
import { openReplicaStore, type PersistRequest } from '../../storage/replica-store.ts';
import { makeEntries, tempDir, TEST_CONFIG, testMigrations } from '../storage/helpers.ts';

/** Runs of the property: each opens a fresh store, so keep it modest. */
const RUNS = 25;

const stepArb = fc.record({
  newTerm: fc.boolean(),
  /** How far back from the end to truncate (0: no truncation). */
  truncateBack: fc.nat({ max: 4 }),
  count: fc.nat({ max: 4 }),
  /** Await everything issued so far after this step. */
  barrier: fc.boolean(),
});

test('persist bursts match an in-memory model of the log', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(stepArb, { minLength: 1, maxLength: 30 }), async (steps) => {
      const dataDir = await tempDir(t);
      const open = () => openReplicaStore({ dataDir, replicaId: 'r1', migrations: testMigrations, initialConfig: TEST_CONFIG });
      const store = await open();
      let hardState: HardState = { term: 1, votedFor: null };
      let terms: number[] = [];
      const inFlight: Promise<void>[] = [store.persist({ hardState, entries: [] })];
      for (const step of steps) {
        let request: PersistRequest = { entries: [] };
        if (step.newTerm) {
          hardState = { term: hardState.term + 1, votedFor: 'r2' };
          request = { ...request, hardState };
        }
        if (step.truncateBack > 0 && step.truncateBack <= terms.length) {
          const from = terms.length - step.truncateBack + 1;
          terms = terms.slice(0, from - 1);
          request = { ...request, truncateFrom: from };
        }
        const entries = makeEntries(terms.length + 1, terms.length + step.count, hardState.term);
        terms.push(...entries.map((e) => e.term));
        inFlight.push(store.persist({ ...request, entries }));
        if (step.barrier) await Promise.all(inFlight.splice(0));
      }
      await Promise.all(inFlight);
      const check = async (s: typeof store) => {
        const loaded = await s.load();
        // node:assert throws, so fast-check sees the failure and shrinks it.
        assert.deepStrictEqual(loaded.hardState, hardState);
        assert.deepStrictEqual(loaded.entries.map((e) => e.term), terms);
        assert.deepStrictEqual(loaded.entries.map((e) => e.index), terms.map((_, i) => i + 1));
      };
      await check(store);
      await store.close();
      const again = await open();
      await check(again);
      await again.close();
    }),
    { numRuns: RUNS },
  );
  t.pass();
});
