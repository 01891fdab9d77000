// Client bursts in the simulation: requests sent at one instant that reach one
// replica arrive as one bus message and are handed over side by side, as nats.js
// hands over one socket read; under the real runtime they reach the leader's
// core as proposeMany events.
import test from 'ava';
import { EventQueue } from '../../actors/transport/sim-clock.ts';
import { SeededRandom } from '../../actors/transport/sim-random.ts';
import { SimulatedNetwork } from '../../actors/transport/simulated.ts';
import { describeBusWire, SimulatedBus, type BusWire } from './sim-bus.ts';
import { runRuntimeSimulation } from './runtime-sim.ts';

function bus(): { queue: EventQueue; bus: SimulatedBus; wires: string[] } {
  const queue = new EventQueue();
  const wires: string[] = [];
  const network = new SimulatedNetwork<BusWire>(queue, new SeededRandom(3), undefined, (wire) => {
    wires.push(describeBusWire(wire));
    return describeBusWire(wire);
  });
  return { queue, bus: new SimulatedBus(queue, new SeededRandom(4), network, ['client', 'r1']), wires };
}

test('a burst for one node travels as one message, and its requests are all handed over before any is awaited', async (t) => {
  const { queue, bus: simBus } = bus();
  const log: string[] = [];
  simBus.forNode('r1', () => true).serve('app.api.*', 'app', async ({ data }) => {
    const text = new TextDecoder().decode(data);
    log.push(`start ${text}`);
    await null;
    log.push(`end ${text}`);
    return `re:${text}`;
  });
  const replies = simBus.requestBurst('client', 'app.api.send', ['a', 'b', 'c'], 1_000);
  let deliveries = 0;
  while (queue.runNext() !== null) {
    deliveries += 1;
    await new Promise((resolve) => setImmediate(resolve));
  }
  t.deepEqual(await Promise.all(replies), ['re:a', 're:b', 're:c']);
  t.deepEqual(log, ['start a', 'start b', 'start c', 'end a', 'end b', 'end c']);
  t.is(deliveries, 4, 'one burst in, three replies out');
});

test('a single request is still a plain request on the wire', async (t) => {
  const { queue, bus: simBus, wires } = bus();
  simBus.forNode('r1', () => true).serve('app.api.*', 'app', async () => 'ok');
  const reply = simBus.request('client', 'app.api.send', 'x', 1_000);
  while (queue.runNext() !== null) await new Promise((resolve) => setImmediate(resolve));
  t.is(await reply, 'ok');
  t.true(wires[0]!.startsWith('req#'), wires[0]);
  t.false(wires.some((w) => w.startsWith('burst')));
});

test('with no responders every request of a burst fails', async (t) => {
  const { bus: simBus } = bus();
  const replies = simBus.requestBurst('client', 'app.api.send', ['a', 'b'], 1_000);
  for (const reply of replies) await t.throwsAsync(reply, { name: 'NoRespondersError' });
});

test('under the real runtime, client bursts reach the leader as proposeMany events, and every invariant holds', async (t) => {
  // Twelve swarm seeds as `npm run sim -- --seeds 12` runs them. Without bursts these seeds give 7 such
  // events in all (clients one at a time rarely line two proposals up in one turn); with them, 27.
  let batched = 0;
  for (let seed = 1; seed <= 12; seed++) {
    const result = await runRuntimeSimulation({ seed, nodes: [3, 5, 7][(seed - 1) % 3]!, steps: 1000 });
    t.true(result.ok, result.violation?.detail);
    batched += result.stats.batchedProposals;
  }
  t.true(batched >= 20, `${batched} multi-proposal core events in twelve seeds`);
});
