/**
 * Simulated time: ONE global event queue ordered by (time, sequence), run one
 * event at a time, and per-replica clock views over it that implement
 * XState's `Clock` (so a core's timers become queue events).
 *
 * Nothing here reads the wall clock; time only moves when the queue runs.
 */
import type { ActorOptions, AnyActorLogic } from 'xstate';

/** XState's timer interface (not exported by name from 'xstate'): what `createActor(..., { clock })` takes. */
export type Clock = NonNullable<ActorOptions<AnyActorLogic>['clock']>;

/** A scheduled event; `cancelled` events stay in the heap and are skipped when popped. */
export interface ScheduledEvent {
  readonly time: number;
  readonly seq: number;
  /** Short description for the simulation's trace, e.g. "timer r2" or "deliver r1->r3". */
  readonly label: string;
  readonly run: () => void;
  cancelled: boolean;
}

export class EventQueue {
  #now = 0;
  #seq = 0;
  #live = 0;
  readonly #heap: ScheduledEvent[] = [];

  /** Current simulated time, ms. */
  get now(): number {
    return this.#now;
  }

  /** Events scheduled and not yet run or cancelled. */
  get size(): number {
    return this.#live;
  }

  /** Run `run` after `delayMs` of simulated time (0 = after everything already due now). */
  schedule(delayMs: number, label: string, run: () => void): ScheduledEvent {
    if (!(delayMs >= 0) || !Number.isFinite(delayMs)) throw new RangeError(`delay must be finite and >= 0, got ${delayMs}`);
    const event: ScheduledEvent = { time: this.#now + delayMs, seq: this.#seq++, label, run, cancelled: false };
    this.#push(event);
    this.#live++;
    return event;
  }

  cancel(event: ScheduledEvent): void {
    if (event.cancelled) return;
    event.cancelled = true;
    this.#live--;
  }

  /** The time of the next live event, or null when nothing is scheduled. */
  peekTime(): number | null {
    this.#dropCancelled();
    return this.#heap[0]?.time ?? null;
  }

  /** Advance time to the next live event and run it; returns it, or null if the queue is empty. */
  runNext(): ScheduledEvent | null {
    this.#dropCancelled();
    const event = this.#pop();
    if (event === undefined) return null;
    event.cancelled = true; // a run event can no longer be cancelled
    this.#live--;
    this.#now = event.time;
    event.run();
    return event;
  }

  #dropCancelled(): void {
    while (this.#heap.length > 0 && this.#heap[0]!.cancelled) this.#pop();
  }

  #push(event: ScheduledEvent): void {
    const heap = this.#heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #pop(): ScheduledEvent | undefined {
    const heap = this.#heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined || heap.length === 0) return top;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && before(heap[left]!, heap[smallest]!)) smallest = left;
      if (right < heap.length && before(heap[right]!, heap[smallest]!)) smallest = right;
      if (smallest === i) break;
      [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
      i = smallest;
    }
    return top;
  }
}

function before(a: ScheduledEvent, b: ScheduledEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

/**
 * One replica's view of simulated time, handed to XState as its `clock`.
 * Faults: `rate` stretches or shrinks every new timer (a slow or fast clock),
 * `jump(ms)` makes every pending timer fire `ms` earlier (or later if negative).
 */
export class SimulatedClock implements Clock {
  readonly #queue: EventQueue;
  readonly #owner: string;
  readonly #onFire: (() => void) | undefined;
  readonly #pending = new Set<ScheduledEvent>();
  #rate = 1;
  #stopped = false;

  /** `onFire` runs just before each timer of this clock fires (the simulation uses it to see whom a step touched). */
  constructor(queue: EventQueue, owner: string, onFire?: () => void) {
    this.#queue = queue;
    this.#owner = owner;
    this.#onFire = onFire;
  }

  /** Timer length multiplier for new timers: 1 = true time, 0.5 = fires twice as early. */
  get rate(): number {
    return this.#rate;
  }

  set rate(rate: number) {
    if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`clock rate must be finite and > 0, got ${rate}`);
    this.#rate = rate;
  }

  /** Timers this clock has scheduled that have not fired or been cleared. */
  get pendingTimers(): number {
    return this.#pending.size;
  }

  setTimeout(fn: (...args: unknown[]) => void, timeout: number): ScheduledEvent {
    if (this.#stopped) throw new Error(`clock of ${this.#owner} was stopped (crashed replica) but a timer was set`);
    const delay = Math.max(0, timeout) * this.#rate;
    const event: ScheduledEvent = this.#queue.schedule(delay, `timer ${this.#owner}`, () => {
      this.#pending.delete(event);
      this.#onFire?.();
      fn();
    });
    this.#pending.add(event);
    return event;
  }

  clearTimeout(id: unknown): void {
    const event = id as ScheduledEvent;
    if (!this.#pending.delete(event)) return;
    this.#queue.cancel(event);
  }

  /** A clock jump: every pending timer fires `ms` sooner (never before now); negative ms delays them. */
  jump(ms: number): void {
    for (const event of [...this.#pending]) {
      this.#queue.cancel(event);
      this.#pending.delete(event);
      const remaining = Math.max(0, event.time - this.#queue.now - ms);
      const moved: ScheduledEvent = this.#queue.schedule(remaining, event.label, () => {
        this.#pending.delete(moved);
        event.run();
      });
      this.#pending.add(moved);
    }
  }

  /** Crash: cancel every pending timer and refuse new ones. */
  stop(): void {
    for (const event of this.#pending) this.#queue.cancel(event);
    this.#pending.clear();
    this.#stopped = true;
  }
}
