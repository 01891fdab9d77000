/**
 * The leader's larger share of the client queue group.
 *
 * NATS hands each request on `<prefix>.api.*` to one subscription of the
 * queue group, chosen at random among the subscriptions (not among the
 * replicas). A follower that gets a write forwards it to the leader: two more
 * messages, two more process wake-ups and a second request/reply on the
 * critical path. So the leader holds LEADER_API_SUBSCRIPTIONS subscriptions
 * while it leads, and most writes reach it directly; followers keep one each,
 * so a request still finds a replica while there is no leader (it is held
 * there, or forwarded once one is elected). Nothing changes for clients: any
 * replica may still answer any request (PROTOCOL.md).
 */

/** With 4 followers holding one each, the leader receives 32 of every 36 requests (89%). */
export const LEADER_API_SUBSCRIPTIONS = 32;

export interface LeaderShare {
  /** Call on every role change; extra subscriptions are added on becoming leader and dropped on losing it. */
  update(leading: boolean): void;
  /** Drop the extra subscriptions (the replica stops serving). */
  stop(): void;
  /** Subscriptions held beyond the one every replica has (for tests and status). */
  readonly extra: number;
}

/** `subscribe` adds one more subscription to the client queue group and returns its stop function. */
export function createLeaderShare(subscribe: () => () => void, subscriptions = LEADER_API_SUBSCRIPTIONS): LeaderShare {
  let stops: (() => void)[] = [];
  let stopped = false;
  const drop = (): void => {
    for (const stop of stops) stop();
    stops = [];
  };
  return {
    update(leading) {
      if (stopped) return;
      if (leading && stops.length === 0) for (let i = 1; i < subscriptions; i += 1) stops.push(subscribe());
      if (!leading) drop();
    },
    stop() {
      stopped = true;
      drop();
    },
    get extra() {
      return stops.length;
    },
  };
}
