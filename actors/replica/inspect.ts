/**
 * Publishes the core's XState inspection events for the live inspector
 * (cli/inspector), as compact JSON records on `<prefix>.inspect.<id>`:
 *
 *   { replica, at, from, value, event, term }
 *
 * Only snapshots whose state value or term changed are published (every
 * heartbeat would otherwise be a record), plus one keep-alive record every
 * INSPECT_KEEPALIVE_MS so an inspector that starts late sees the state. A
 * token bucket caps the rate; what it drops is counted in the status reply.
 */
import type { InspectionEvent } from 'xstate';

/** Records per second on average: role changes are rare, so this only bites during election storms. */
export const INSPECT_RATE_PER_SECOND = 20;
/** Burst allowance: one election's pre-vote, vote and leader transitions on every replica fit. */
export const INSPECT_BURST = 50;
/** Re-publish the unchanged state this often, so a late inspector catches up without asking. */
export const INSPECT_KEEPALIVE_MS = 2_000;

export interface InspectionRecord {
  readonly replica: string;
  readonly at: number;
  readonly from: unknown;
  readonly value: unknown;
  readonly event: string;
  readonly term: number | null;
}

export interface InspectionPublisher {
  observe(event: InspectionEvent): void;
  dropped(): number;
  close(): void;
}

export function createInspectionPublisher(options: { readonly id: string; readonly publish: (record: InspectionRecord) => void; readonly now: () => number }): InspectionPublisher {
  const now = options.now;
  let tokens = INSPECT_BURST;
  let refilledAt = now();
  let dropped = 0;
  let closed = false;
  let lastKey: string | null = null;
  let lastValue: unknown = null;
  let lastPublishedAt = 0;

  const take = (): boolean => {
    const t = now();
    tokens = Math.min(INSPECT_BURST, tokens + ((t - refilledAt) / 1_000) * INSPECT_RATE_PER_SECOND);
    refilledAt = t;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };

  return {
    observe(event) {
      if (closed || event.type !== '@xstate.snapshot') return;
      const snapshot = event.snapshot as { value?: unknown; context?: { term?: unknown } };
      const value = snapshot.value ?? null;
      const term = typeof snapshot.context?.term === 'number' ? snapshot.context.term : null;
      const key = `${JSON.stringify(value)}@${term ?? ''}`;
      const t = now();
      if (key === lastKey && t - lastPublishedAt < INSPECT_KEEPALIVE_MS) return;
      if (!take()) {
        dropped += 1;
        return;
      }
      const record: InspectionRecord = { replica: options.id, at: t, from: lastValue, value, event: describeEvent(event.event), term };
      lastKey = key;
      lastValue = value;
      lastPublishedAt = t;
      options.publish(record);
    },
    dropped: () => dropped,
    close() {
      closed = true;
    },
  };
}

/** The event's type, with a peer message's type and sender, e.g. `message:RequestVote from r2`. */
function describeEvent(event: unknown): string {
  if (typeof event !== 'object' || event === null) return 'unknown';
  const e = event as { type?: unknown; message?: { type?: unknown; from?: unknown } };
  const type = typeof e.type === 'string' ? e.type : 'unknown';
  if (type === 'message' && e.message && typeof e.message.type === 'string') {
    return `message:${e.message.type}${typeof e.message.from === 'string' ? ` from ${e.message.from}` : ''}`;
  }
  return type;
}
