import test from 'ava';
import { EventQueue, SimulatedClock } from '../../actors/transport/sim-clock.ts';
import { SeededRandom } from '../../actors/transport/sim-random.ts';
import { SimulatedNetwork } from '../../actors/transport/simulated.ts';

test('SeededRandom: the same seed gives the same sequence, another seed another', (t) => {
  const draw = (seed: number) => {
    const random = new SeededRandom(seed);
    return Array.from({ length: 20 }, () => random.nextUint32());
  };
  t.deepEqual(draw(42), draw(42));
  t.notDeepEqual(draw(42), draw(43));
  t.notDeepEqual(draw(2 ** 40), draw(2 ** 40 + 1), 'the high half of a seed matters too');
});

test('SeededRandom: int stays in range and reaches both ends; weighted respects zero weights', (t) => {
  const random = new SeededRandom(7);
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const n = random.int(3, 6);
    t.true(n >= 3 && n <= 6);
    seen.add(n);
  }
  t.deepEqual([...seen].sort(), [3, 4, 5, 6]);
  for (let i = 0; i < 500; i++) t.not(random.weighted([1, 0, 2]), 1);
  t.throws(() => random.int(5, 4), { instanceOf: RangeError });
  t.throws(() => random.pick([]), { instanceOf: RangeError });
  t.throws(() => new SeededRandom(1.5), { instanceOf: RangeError });
});

test('SeededRandom: fork gives an independent stream', (t) => {
  const a = new SeededRandom(9);
  const b = new SeededRandom(9);
  const forkA = a.fork();
  const forkB = b.fork();
  a.nextUint32(); // drawing from the parent must not shift the fork
  t.deepEqual([forkA.nextUint32(), forkA.nextUint32()], [forkB.nextUint32(), forkB.nextUint32()]);
});

test('EventQueue runs events in (time, sequence) order and skips cancelled ones', (t) => {
  const queue = new EventQueue();
  const ran: string[] = [];
  queue.schedule(10, 'b', () => ran.push('b'));
  queue.schedule(5, 'a', () => ran.push('a'));
  queue.schedule(10, 'c', () => ran.push('c'));
  const cancelled = queue.schedule(7, 'x', () => ran.push('x'));
  queue.cancel(cancelled);
  t.is(queue.size, 3);
  while (queue.runNext() !== null);
  t.deepEqual(ran, ['a', 'b', 'c']);
  t.is(queue.now, 10);
  t.is(queue.peekTime(), null);
  t.throws(() => queue.schedule(-1, 'bad', () => {}), { instanceOf: RangeError });
});

test('EventQueue: an event scheduled with delay 0 runs after everything already due now', (t) => {
  const queue = new EventQueue();
  const ran: string[] = [];
  queue.schedule(1, 'first', () => {
    ran.push('first');
    queue.schedule(0, 'nested', () => ran.push('nested'));
  });
  queue.schedule(1, 'second', () => ran.push('second'));
  while (queue.runNext() !== null);
  t.deepEqual(ran, ['first', 'second', 'nested']);
});

test('SimulatedClock: timers fire on the queue, can be cleared, stretched by rate and moved by a jump', (t) => {
  const queue = new EventQueue();
  let fired = 0;
  const clock = new SimulatedClock(queue, 'r1', () => fired++);
  const times: Record<string, number> = {};
  clock.setTimeout(() => (times.plain = queue.now), 100);
  const cleared = clock.setTimeout(() => (times.cleared = queue.now), 50);
  clock.clearTimeout(cleared);
  clock.rate = 2;
  clock.setTimeout(() => (times.slow = queue.now), 100);
  clock.jump(30); // every pending timer fires 30 ms sooner
  t.is(clock.pendingTimers, 2);
  while (queue.runNext() !== null);
  t.deepEqual(times, { plain: 70, slow: 170 });
  t.is(fired, 2);
  t.throws(() => (clock.rate = 0), { instanceOf: RangeError });
});

test('SimulatedClock: a stopped (crashed) clock cancels its timers and refuses new ones', (t) => {
  const queue = new EventQueue();
  const clock = new SimulatedClock(queue, 'r1');
  let ran = false;
  clock.setTimeout(() => (ran = true), 10);
  clock.stop();
  while (queue.runNext() !== null);
  t.false(ran);
  t.throws(() => clock.setTimeout(() => {}, 1), { message: /stopped/ });
});

function network(seed: number) {
  const queue = new EventQueue();
  const net = new SimulatedNetwork<string>(queue, new SeededRandom(seed));
  const inbox: string[] = [];
  for (const id of ['a', 'b', 'c']) net.attach(id, (message, from) => inbox.push(`${from}->${id}:${message}`));
  const drain = () => {
    while (queue.runNext() !== null);
  };
  return { queue, net, inbox, drain };
}

test('SimulatedNetwork delivers within the delay range on a calm network', (t) => {
  const { queue, net, inbox, drain } = network(1);
  net.setConditions({ minDelayMs: 2, maxDelayMs: 4 });
  net.send('a', 'b', 'hello');
  const event = queue.runNext();
  t.truthy(event);
  t.true(queue.now >= 2 && queue.now <= 4);
  drain();
  t.deepEqual(inbox, ['a->b:hello']);
  t.is(net.stats.delivered, 1);
});

test('SimulatedNetwork: symmetric partition, one-way cut, isolation and heal', (t) => {
  const { net, inbox, drain } = network(2);
  net.partition([['a'], ['b', 'c']]);
  net.send('a', 'b', '1');
  net.send('b', 'a', '2');
  net.send('b', 'c', '3');
  drain();
  t.deepEqual(inbox, ['b->c:3']);
  net.heal();
  net.cutLink('a', 'b');
  net.send('a', 'b', '4');
  net.send('b', 'a', '5');
  drain();
  t.deepEqual(inbox.slice(1), ['b->a:5']);
  net.heal();
  net.isolate('c', ['a', 'b', 'c']);
  t.deepEqual(net.cutLinks(), ['a>c', 'b>c', 'c>a', 'c>b']);
  net.heal();
  t.deepEqual(net.cutLinks(), []);
});

test('SimulatedNetwork: a partition formed while a message is in flight loses it, and onLost reports it', (t) => {
  const { queue, net, inbox, drain } = network(3);
  let lost = 0;
  net.send('a', 'b', 'late', () => lost++);
  net.partition([['a'], ['b']]);
  drain();
  t.deepEqual(inbox, []);
  t.is(lost, 1);
  net.heal();
  net.detach('b');
  net.send('a', 'b', 'nobody home', () => lost++);
  drain();
  t.is(lost, 2);
  t.is(net.stats.undeliverable, 1);
  t.is(queue.size, 0);
});

test('SimulatedNetwork drops and duplicates at about the configured rates, reproducibly', (t) => {
  const run = (seed: number) => {
    const { net, inbox, drain } = network(seed);
    net.setConditions({ dropRate: 0.2, duplicateRate: 0.1, reorderRate: 0.5, reorderDelayMs: 50 });
    for (let i = 0; i < 2000; i++) net.send('a', 'b', String(i));
    drain();
    return { inbox, stats: { ...net.stats } };
  };
  const first = run(11);
  t.deepEqual(run(11), first, 'same seed, same deliveries in the same order');
  t.true(first.stats.dropped > 300 && first.stats.dropped < 500, `dropped ${first.stats.dropped} of 2000`);
  t.true(first.stats.duplicated > 100 && first.stats.duplicated < 260, `duplicated ${first.stats.duplicated}`);
  const order = first.inbox.map((line) => Number(line.split(':')[1]));
  t.true(order.some((n, i) => i > 0 && n < order[i - 1]!), 'some messages overtake others');
  t.throws(() => network(1).net.setConditions({ dropRate: 2 }), { instanceOf: RangeError });
});
