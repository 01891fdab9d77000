/**
 * What the inspector knows: each replica's current machine state and a
 * bounded log of transitions with the events that caused them. Inspection
 * records arrive as JSON on `<prefix>.inspect.<replicaId>`; `parseInspection`
 * turns one into an `InspectedTransition` (or explains why not) and
 * `reduceInspector` folds it in. Pure, so both views and the tests share it.
 */
import { z } from 'zod';
import type { StateValue } from 'xstate';
import { formatStateValue, prettyEvent, topStateOf } from './graph.ts';

export interface InspectedTransition {
  readonly replica: string;
  /** Sender's clock (ms since the epoch) when present, else the receiver's. */
  readonly at: number;
  /** Formatted state before, when the record says (or when the inspector saw the previous one). */
  readonly from: string | null;
  readonly to: string;
  readonly value: StateValue;
  /** The event that caused it, prettified; "init" for the first snapshot. */
  readonly event: string;
  readonly term: number | null;
}

export interface ReplicaMachineState {
  readonly replica: string;
  readonly value: StateValue;
  /** Top-level state, i.e. the role. */
  readonly top: string | null;
  readonly term: number | null;
  readonly since: number;
  /** When its latest record was sent (keep-alives included), to tell a silent replica from a quiet one. */
  readonly heardAt: number;
  readonly transitions: number;
}

export interface InspectorState {
  readonly replicas: Readonly<Record<string, ReplicaMachineState>>;
  /** Newest last, at most `INSPECTOR_LOG_LENGTH`. */
  readonly log: readonly InspectedTransition[];
  /** Records that could not be read; counted so a format mismatch is visible, not silent. */
  readonly rejected: number;
  /** Role changes seen live, keyed "from>to" over top-level states: how often, and the latest cause. */
  readonly observed: Readonly<Record<string, { readonly count: number; readonly lastEvent: string }>>;
}

/**
 * A replica not heard from for this long is shown as silent: replicas re-send
 * their state every 2 s (actors/replica/inspect.ts), so three missed keep-alives
 * mean it is stopped, partitioned or its NATS link is down.
 */
export const INSPECTOR_SILENT_MS = 6_000;

export function isSilent(replica: ReplicaMachineState, now: number): boolean {
  return now - replica.heardAt > INSPECTOR_SILENT_MS;
}

/** Transitions kept in the log: enough to scroll back through a few elections without growing forever. */
export const INSPECTOR_LOG_LENGTH = 500;

/** Largest inspection record read; bigger ones are counted as rejected unread. */
export const MAX_INSPECTION_BYTES = 64 * 1024;

export const initialInspectorState: InspectorState = { replicas: {}, log: [], rejected: 0, observed: {} };

export type InspectorAction =
  | { readonly type: 'transition'; readonly transition: InspectedTransition }
  | { readonly type: 'rejected' };

export function reduceInspector(state: InspectorState, action: InspectorAction): InspectorState {
  if (action.type === 'rejected') return { ...state, rejected: state.rejected + 1 };
  const t = action.transition;
  const before = state.replicas[t.replica];
  const to = formatStateValue(t.value);
  // Snapshots that repeat the same state (events handled without leaving it) update the
  // replica's term but are not transitions; the log shows only real changes.
  // A replica first heard from mid-life (a keep-alive record) has joined the view, not changed state.
  const changed = before === undefined ? t.from === null || t.from !== to : formatStateValue(before.value) !== to;
  const replica: ReplicaMachineState = {
    replica: t.replica,
    value: t.value,
    top: topStateOf(t.value),
    term: t.term ?? before?.term ?? null,
    since: changed ? t.at : (before?.since ?? t.at),
    heardAt: Math.max(t.at, before?.heardAt ?? 0),
    transitions: (before?.transitions ?? 0) + (changed ? 1 : 0),
  };
  const replicas = { ...state.replicas, [t.replica]: replica };
  if (!changed) return { ...state, replicas };
  const entry: InspectedTransition = { ...t, to, from: t.from ?? (before ? formatStateValue(before.value) : null) };
  const log = [...state.log, entry];
  let observed = state.observed;
  const fromTop = before ? topStateOf(before.value) : null;
  if (fromTop !== null && replica.top !== null && fromTop !== replica.top) {
    const key = `${fromTop}>${replica.top}`;
    observed = { ...observed, [key]: { count: (observed[key]?.count ?? 0) + 1, lastEvent: t.event } };
  }
  return { ...state, replicas, observed, log: log.length > INSPECTOR_LOG_LENGTH ? log.slice(log.length - INSPECTOR_LOG_LENGTH) : log };
}

const stateValue: z.ZodType<StateValue> = z.union([z.string(), z.record(z.string(), z.lazy(() => z.union([stateValue, z.undefined()])))]) as z.ZodType<StateValue>;
const eventField = z.union([z.string(), z.object({ type: z.string() }).loose()]);

/**
 * The record as the replica runtime publishes it. Lenient on purpose: it
 * accepts the state value as `value`, `state`, `to` or `snapshot.value`, the
 * cause as `event` (a string or an event object) or `eventType`, so the
 * raw shape of an XState `@xstate.snapshot` inspection event reads too.
 */
const inspectionRecord = z
  .object({
    replica: z.string().optional(),
    id: z.string().optional(),
    value: stateValue.optional(),
    state: stateValue.optional(),
    to: stateValue.optional(),
    from: stateValue.nullable().optional(),
    snapshot: z.object({ value: stateValue.optional(), context: z.object({ term: z.number().optional() }).loose().optional() }).loose().optional(),
    event: eventField.optional(),
    eventType: z.string().optional(),
    term: z.number().nullable().optional(),
    at: z.number().optional(),
    ts: z.number().optional(),
    time: z.number().optional(),
  })
  .loose();

export class InspectionFormatError extends Error {
  override readonly name = 'InspectionFormatError';
}

/**
 * Reads one inspection record. `subjectReplica` is the last token of the
 * subject it came on, used when the record does not name its replica.
 */
export function parseInspection(raw: string, subjectReplica: string, now: number): InspectedTransition {
  if (raw.length > MAX_INSPECTION_BYTES) throw new InspectionFormatError(`inspection record of ${raw.length} bytes is over ${MAX_INSPECTION_BYTES}`);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new InspectionFormatError('inspection record is not JSON');
  }
  const parsed = inspectionRecord.safeParse(json);
  if (!parsed.success) throw new InspectionFormatError(`inspection record has an unexpected shape: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const r = parsed.data;
  const value = r.value ?? r.state ?? r.to ?? r.snapshot?.value;
  if (value === undefined) throw new InspectionFormatError('inspection record carries no state value');
  const eventName = typeof r.event === 'string' ? r.event : r.event !== undefined ? describeEvent(r.event) : (r.eventType ?? 'unknown');
  return {
    replica: r.replica ?? r.id ?? subjectReplica,
    at: r.at ?? r.ts ?? r.time ?? now,
    from: r.from === undefined || r.from === null ? null : formatStateValue(r.from),
    to: formatStateValue(value),
    value,
    event: eventName === 'xstate.init' ? 'init' : prettyEvent(eventName.replace(/^message:/, 'message ')),
    term: r.term ?? r.snapshot?.context?.term ?? null,
  };
}

/** A Raft peer message names its kind and sender: "message RequestVoteResponse from r2". */
function describeEvent(event: { type: string; [k: string]: unknown }): string {
  const message = event['message'];
  if (event.type === 'message' && typeof message === 'object' && message !== null) {
    const m = message as { type?: unknown; from?: unknown };
    if (typeof m.type === 'string') return `message ${m.type}${typeof m.from === 'string' ? ` from ${m.from}` : ''}`;
  }
  return event.type;
}
