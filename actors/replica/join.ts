/**
 * `replica --join`: before opening its store, a new replica asks the
 * cluster (the `join` admin op, answered by the leader through any replica)
 * to add it as a learner, and learns the configuration it joins. It retries
 * while the cluster has no leader or NATS has no responders, until
 * JOIN_DEADLINE_MS. The configuration it gets back is its starting one: it
 * is a learner there, so it never campaigns before the leader reaches it.
 */
import { z } from 'zod';
import type { Configuration, DataId, ReplicaId } from '../raft/types.ts';
import { adminSubject, type LearnerIntent } from '../protocol/index.ts';
import { JoinRefusedError } from './errors.ts';
import type { ClientBus, RuntimeClock, RuntimeLogger } from './ports.ts';

/** A new replica keeps asking this long: long enough for an election or a nats-server restart, short enough to fail a wrong command visibly. */
export const JOIN_DEADLINE_MS = 120_000;
/** Each attempt waits this long for the answer: beyond a replica's request deadline (5 s), so the cluster's own `unavailable` arrives first. */
export const JOIN_ATTEMPT_TIMEOUT_MS = 10_000;
/** Between attempts: a few per election, not a busy loop. */
export const JOIN_RETRY_PAUSE_MS = 500;

const JoinAnswer = z.union([
  z.object({ ok: z.literal(true), voters: z.array(z.string()), learners: z.array(z.string()), added: z.boolean() }),
  z.object({ ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }) }),
]);

export interface Joined {
  /** The configuration after joining (this replica in it). */
  readonly configuration: Configuration;
  /** false: it was a member already (a restart with --join); nothing changed. */
  readonly added: boolean;
}

/** Asks to be added as a learner; throws JoinRefusedError when refused or out of time. */
export async function requestJoin(args: {
  readonly bus: Pick<ClientBus, 'request'>;
  readonly clock: Pick<RuntimeClock, 'now' | 'sleep'>;
  readonly prefix: string;
  readonly id: ReplicaId;
  readonly intent: LearnerIntent;
  /** The data directory's identity: a member whose recorded one differs comes back as a learner. */
  readonly dataId: DataId;
  readonly log: Pick<RuntimeLogger, 'info' | 'warn'>;
  readonly deadlineMs?: number;
}): Promise<Joined> {
  const { bus, clock, prefix, id, intent, dataId, log } = args;
  const deadline = clock.now() + (args.deadlineMs ?? JOIN_DEADLINE_MS);
  let last: string;
  for (let attempt = 1; ; attempt += 1) {
    try {
      const raw = await bus.request(adminSubject(prefix, 'join'), JSON.stringify({ id, intent, dataId }), JOIN_ATTEMPT_TIMEOUT_MS);
      const answer = JoinAnswer.safeParse(JSON.parse(raw));
      if (!answer.success) throw new JoinRefusedError(id, `unexpected answer ${raw.slice(0, 200)}`);
      if (answer.data.ok) {
        const configuration = { voters: answer.data.voters, learners: answer.data.learners };
        log.info({ ...configuration, added: answer.data.added, intent, attempt }, answer.data.added ? 'joined the cluster as a learner' : 'already a member; starting as one');
        return { configuration, added: answer.data.added };
      }
      // Only `unavailable` (no leader, no quorum, a change in flight) is worth asking again.
      if (answer.data.error.code !== 'unavailable') throw new JoinRefusedError(id, `${answer.data.error.code}: ${answer.data.error.message}`);
      last = answer.data.error.message;
    } catch (error) {
      if (error instanceof JoinRefusedError) throw error;
      last = error instanceof Error ? error.message : String(error);
    }
    if (clock.now() + JOIN_RETRY_PAUSE_MS >= deadline) throw new JoinRefusedError(id, `no leader added it within ${Math.round((args.deadlineMs ?? JOIN_DEADLINE_MS) / 1_000)} s (last: ${last})`);
    if (attempt === 1 || attempt % 10 === 0) log.warn({ attempt, last }, 'waiting for a leader to add this replica');
    await clock.sleep(JOIN_RETRY_PAUSE_MS);
  }
}
