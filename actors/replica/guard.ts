/**
 * Refuses to start a replica whose data directory is not the one the
 * cluster recorded under its id (actors/raft/identity.ts), or, where no
 * identity is recorded yet, whose directory was wiped while the cluster
 * still counts it as a voter that acknowledged entries.
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
import type { DataId } from '../raft/types.ts';
import { DisownedReplicaError, DuplicateReplicaError, WipedReplicaError } from './errors.ts';
import type { ClientBus } from './ports.ts';

/** How long to wait for each peer's status at start: a live peer answers in milliseconds. */
export const WIPE_CHECK_TIMEOUT_MS = 1_500;

const PeerStatus = StatusReply.extend({ ok: z.literal(true) });
type PeerStatus = z.infer<typeof PeerStatus>;

export interface WipeCheckArgs {
  readonly bus: Pick<ClientBus, 'request'>;
  readonly prefix: string;
  readonly id: string;
  readonly peers: readonly string[];
  readonly log: { info(obj: object, msg: string): void };
}

/**
 * Throws DisownedReplicaError when a peer's configuration records another
 * data directory identity for `id` (actors/raft/identity.ts): this directory
 * was wiped, replaced or copied. Then, for an empty directory, throws
 * WipedReplicaError when a peer shows that `id` held a log the cluster still
 * counts on (the guard for identities not recorded yet).
 */
export async function checkDataDirectory(args: WipeCheckArgs & { readonly empty: boolean; readonly dataId: DataId; readonly identity: boolean }): Promise<void> {
  const { id, dataId, log } = args;
  if (!args.identity && !args.empty) return;
  const others = args.peers.filter((peer) => peer !== id);
  const answers = await peerStatuses({ ...args, peers: others });
  for (const status of args.identity ? answers : []) {
    const recorded = status?.dataIds?.[id];
    if (status && recorded !== undefined && recorded !== dataId) throw new DisownedReplicaError(id, dataId, recorded, `${status.id}'s configuration says so`);
  }
  if (!args.empty) return;
  checkNotWiped(id, answers);
  log.info({ asked: others.length, answered: answers.filter(Boolean).length }, 'empty data directory: no peer shows this replica held a log; starting as a new member');
}

/** Each peer's status, or null when it did not answer (not running, e.g. the whole cluster is starting: no evidence either way). */
async function peerStatuses({ bus, prefix, peers }: WipeCheckArgs): Promise<(PeerStatus | null)[]> {
  return await Promise.all(
    peers.map(async (peer) => {
      try {
        const reply = await bus.request(statusSubject(prefix, peer), '{}', WIPE_CHECK_TIMEOUT_MS);
        const parsed = PeerStatus.safeParse(JSON.parse(reply));
        return parsed.success ? parsed.data : null;
      } catch {
        return null;
      }
    }),
  );
}

/** Throws WipedReplicaError when a peer shows that `id` held a log the cluster still counts on. */
function checkNotWiped(id: string, answers: readonly (PeerStatus | null)[]): void {
  for (const status of answers) {
    if (!status || status.commitIndex === 0 || !status.voters.includes(id)) continue;
    const match = status.role === 'leader' ? (status.progress?.[id]?.matchIndex ?? 0) : 0;
    if (match > 0) {
      throw new WipedReplicaError(id, `leader ${status.id} (commitIndex ${status.commitIndex}) records this replica as a voter that acknowledged entries up to ${match}`);
    }
  }
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
