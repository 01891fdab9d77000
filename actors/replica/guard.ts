/**
 * Refuses to start a replica whose data directory was wiped while the
 * cluster still counts it as a voter that acknowledged entries.
 *
 * Why: Raft's safety rests on every voter keeping what it acknowledged. A
 * voter that comes back with an empty log can vote for a candidate missing
 * committed entries and help elect it (Raft §5.4.1), losing acknowledged
 * writes. A brand-new member with an empty log acknowledged nothing, so it is
 * safe; the evidence we look for is the leader having counted this id's
 * acknowledgements (its matchIndex for us is above 0).
 */
import { z } from 'zod';
import { statusSubject, StatusReply } from '../protocol/index.ts';
import { DuplicateReplicaError, WipedReplicaError } from './errors.ts';
import type { ClientBus } from './ports.ts';

/** How long to wait for each peer's status at start: a live peer answers in milliseconds. */
export const WIPE_CHECK_TIMEOUT_MS = 1_500;

const PeerStatus = StatusReply.extend({ ok: z.literal(true) });

export interface WipeCheckArgs {
  readonly bus: Pick<ClientBus, 'request'>;
  readonly prefix: string;
  readonly id: string;
  readonly peers: readonly string[];
  readonly log: { info(obj: object, msg: string): void };
}

/** Throws WipedReplicaError when a peer shows that `id` held a log the cluster still counts on. */
export async function checkNotWiped({ bus, prefix, id, peers, log }: WipeCheckArgs): Promise<void> {
  const others = peers.filter((peer) => peer !== id);
  const answers = await Promise.all(
    others.map(async (peer) => {
      try {
        const reply = await bus.request(statusSubject(prefix, peer), '{}', WIPE_CHECK_TIMEOUT_MS);
        const parsed = PeerStatus.safeParse(JSON.parse(reply));
        return parsed.success ? parsed.data : null;
      } catch {
        return null; // not running (e.g. the whole cluster is starting): no evidence either way
      }
    }),
  );
  for (const status of answers) {
    if (!status || status.commitIndex === 0 || !status.voters.includes(id)) continue;
    const match = status.role === 'leader' ? (status.progress?.[id]?.matchIndex ?? 0) : 0;
    if (match > 0) {
      throw new WipedReplicaError(id, `leader ${status.id} (commitIndex ${status.commitIndex}) records this replica as a voter that acknowledged entries up to ${match}`);
    }
  }
  log.info({ asked: others.length, answered: answers.filter(Boolean).length }, 'empty data directory: no peer shows this replica held a log; starting as a new member');
}

/** How long to wait for an answer on our own status subject: a live replica answers in milliseconds. */
export const DUPLICATE_CHECK_TIMEOUT_MS = 1_000;

/**
 * Throws DuplicateReplicaError when another process already answers on this
 * id's status subject (the same id started twice, on this host or another).
 */
export async function checkIdUnused({ bus, prefix, id }: Pick<WipeCheckArgs, 'bus' | 'prefix' | 'id'>): Promise<void> {
  let reply: unknown;
  try {
    reply = JSON.parse(await bus.request(statusSubject(prefix, id), '{}', DUPLICATE_CHECK_TIMEOUT_MS));
  } catch {
    return; // no responders or no answer: nobody runs under this id
  }
  const pid = typeof reply === 'object' && reply !== null ? (reply as { pid?: unknown }).pid : undefined;
  throw new DuplicateReplicaError(id, pid);
}
