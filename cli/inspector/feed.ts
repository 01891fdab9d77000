/**
 * The inspector's live source: subscribes to `<prefix>.inspect.*` on NATS
 * and folds every inspection record into `InspectorState`. Records that do
 * not read are counted (`rejected`) and the latest reason kept, never thrown:
 * one replica publishing a bad record must not stop the inspector.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { ANY_TOKEN, inspectSubject } from '../../actors/protocol/index.ts';
import { initialInspectorState, InspectionFormatError, parseInspection, reduceInspector, type InspectorAction, type InspectorState } from './model.ts';

export class InspectorFeed {
  private current: InspectorState = initialInspectorState;
  private readonly listeners = new Set<(state: InspectorState) => void>();
  private subscription: Subscription | null = null;
  /** Why the latest rejected record was rejected, for the views' status line. */
  lastRejection: string | null = null;

  get state(): InspectorState {
    return this.current;
  }

  /** Starts listening on NATS; the returned feed keeps updating until `close`. */
  static attach(nc: NatsConnection, prefix: string): InspectorFeed {
    const feed = new InspectorFeed();
    const subject = inspectSubject(prefix, ANY_TOKEN);
    const depth = subject.split('.').length - 1;
    feed.subscription = nc.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return;
        const replica = msg.subject.split('.')[depth] ?? 'unknown';
        feed.receive(msg.string(), replica, Date.now());
      },
    });
    return feed;
  }

  /** Reads one raw record (exposed for tests and for feeding from other sources). */
  receive(raw: string, replica: string, now: number): void {
    try {
      this.dispatch({ type: 'transition', transition: parseInspection(raw, replica, now) });
    } catch (err) {
      this.lastRejection = err instanceof InspectionFormatError ? err.message : String(err);
      this.dispatch({ type: 'rejected' });
    }
  }

  dispatch(action: InspectorAction): void {
    const next = reduceInspector(this.current, action);
    if (next === this.current) return;
    this.current = next;
    for (const l of this.listeners) l(next);
  }

  subscribe(listener: (state: InspectorState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.subscription?.unsubscribe();
    this.subscription = null;
    this.listeners.clear();
  }
}
