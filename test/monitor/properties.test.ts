/**
 * Properties of the monitor's policy over random scripts of faults and time
 * (fast-check): it never leaves a configuration whose quorum exceeds its
 * live voters, never goes below three voters, never acts without a quorum,
 * and never flaps: a member silent for less than the grace period is never
 * replaced or removed.
 */
import test from 'ava';
import fc from 'fast-check';
import { MIN_VOTERS, DEFAULT_DEAD_AFTER_MS } from '../../actors/monitor/index.ts';
import { World } from './world.ts';

type Event = { readonly kind: 'kill' | 'revive'; readonly member: number } | { readonly kind: 'wait'; readonly ms: number };

const event: fc.Arbitrary<Event> = fc.oneof(
  fc.record({ kind: fc.constantFrom('kill' as const, 'revive' as const), member: fc.nat(9) }),
  fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 500, max: 40_000 }) }),
);

const scenario = fc.record({
  voters: fc.integer({ min: 3, max: 7 }),
  standbys: fc.integer({ min: 0, max: 3 }),
  provisionAfterMs: fc.option(fc.integer({ min: 1_000, max: 60_000 }), { nil: undefined }),
  events: fc.array(event, { maxLength: 60 }),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

/** Runs a scenario, calling `check` before and after each monitor step. */
function run(s: Scenario, check: (world: World, before: { quorum: boolean; voters: readonly string[] }) => void): World {
  const world = new World({ voters: s.voters, standbys: s.standbys, provisionAfterMs: s.provisionAfterMs, catchUpAfterMs: 3_000 });
  for (const e of s.events) {
    const members = [...world.voters, ...world.learners].filter((id) => id !== world.leader);
    const target = members[e.kind === 'wait' ? 0 : e.member % Math.max(1, members.length)];
    if (e.kind === 'kill' && target !== undefined) world.kill(target);
    if (e.kind === 'revive' && target !== undefined) world.revive(target);
    const before = { quorum: world.hasLiveQuorum(), voters: [...world.voters] };
    world.step(e.kind === 'wait' ? e.ms : 1_000);
    check(world, before);
  }
  return world;
}

test('no decision leaves a configuration whose quorum exceeds its live voters, or fewer than three voters', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(scenario, (s) => {
        run(s, (world, before) => {
          if (before.quorum && !world.hasLiveQuorum()) throw new Error(`quorum lost by a decision: voters ${world.voters.join(',')} at ${world.nowMs}`);
          if (world.voters.length < Math.min(MIN_VOTERS, s.voters)) throw new Error(`only ${world.voters.length} voters`);
        });
      }),
    ),
  );
});

test('without a quorum of live voters the configuration never changes', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(scenario, (s) => {
        run(s, (world, before) => {
          if (!before.quorum && world.voters.join() !== before.voters.join()) throw new Error(`changed without quorum at ${world.nowMs}`);
        });
      }),
    ),
  );
});

test('no flapping: a member never silent for the grace period is never replaced, removed, or given company', (t) => {
  // Every outage is cut short before the grace period: revive whoever has been down too long before time passes.
  const shortOutages = scenario.map((s) => ({ ...s, events: s.events.map((e) => (e.kind === 'wait' ? { ...e, ms: Math.min(e.ms, 4_000) } : e)) }));
  t.notThrows(() =>
    fc.assert(
      fc.property(shortOutages, (s) => {
        // The cluster starts at its target size, so nothing but a dead voter could justify a change.
        const world = new World({ voters: s.voters, standbys: s.standbys, provisionAfterMs: s.provisionAfterMs, settings: { targetVoters: s.voters } });
        for (const e of s.events) {
          for (const [id, since] of world.downSince) if (world.nowMs - since > DEFAULT_DEAD_AFTER_MS - 5_000) world.revive(id);
          const members = [...world.voters, ...world.learners].filter((id) => id !== world.leader);
          const target = members[e.kind === 'wait' ? 0 : e.member % Math.max(1, members.length)];
          if (e.kind === 'kill' && target !== undefined) world.kill(target);
          if (e.kind === 'revive' && target !== undefined) world.revive(target);
          world.step(e.kind === 'wait' ? e.ms : 1_000);
        }
        const acted = world.history.filter((h) => h.decision.kind === 'removeDead' || h.decision.kind === 'requestReplacement');
        if (acted.length > 0) throw new Error(`acted on a short outage: ${JSON.stringify(acted)}`);
        // Standbys are promoted only when a voter is dead, so the voters are exactly those we started with.
        if (world.voters.length !== s.voters) throw new Error(`voters changed: ${world.voters.join(',')}`);
      }),
    ),
  );
});

test('a member is never promoted while unreachable, and a live voter is never removed', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(scenario, (s) => {
        let seen = 0;
        run(s, (world) => {
          for (const h of world.history.slice(seen)) {
            const d = h.decision;
            if ((d.kind === 'promoteStandby' || d.kind === 'promoteNewcomer') && !world.isLive(d.id)) throw new Error(`promoted unreachable ${d.id}`);
            if (d.kind === 'removeDead' && world.isLive(d.id)) throw new Error(`removed live ${d.id}`);
          }
          seen = world.history.length;
        });
      }),
    ),
  );
});

test('with a provisioner and no further faults, two dead voters out of five are replaced and removed', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.uniqueArray(fc.constantFrom('r2', 'r3', 'r4', 'r5'), { minLength: 2, maxLength: 2 }), fc.integer({ min: 1_000, max: 60_000 }), (dead, provisionAfterMs) => {
        const world = new World({ provisionAfterMs, catchUpAfterMs: 3_000 });
        dead.forEach((id) => world.kill(id));
        for (let i = 0; i < 200; i++) world.step(2_000);
        const healthy = world.voters.filter((id) => world.isLive(id));
        if (healthy.length !== 5 || world.voters.length !== 5) throw new Error(`voters ${world.voters.join(',')}`);
      }),
    ),
  );
});
