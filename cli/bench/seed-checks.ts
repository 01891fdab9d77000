/**
 * The seeder's assertions: a seeded directory that is not what it claims
 * would make every figure measured on it meaningless, so anything unexpected
 * stops the build with a SeedError instead of leaving a quietly different
 * state behind.
 */
import type { Knex } from 'knex';
import { isProtocolError } from '../../actors/chat/index.ts';
import type { AppliedCommand, ReplicaApplication } from '../../actors/replica/ports.ts';

/** The seeder could not build the directory it was asked for. */
export class SeedError extends Error {
  override readonly name = 'SeedError';
}

/**
 * The application with every refused command turned into a SeedError, thrown
 * inside the apply transaction: the store then applies nothing of the batch.
 * Every seeded command is valid by construction, so a refusal is a bug.
 */
export function refusalsThrow<Tx, Live>(application: ReplicaApplication<Tx, Live>): ReplicaApplication<Tx, Live> {
  const checked = (result: AppliedCommand<Live>, index: number): AppliedCommand<Live> => {
    if (isProtocolError(result.reply)) throw new SeedError(`entry ${index} was refused: ${JSON.stringify(result.reply.toReply())}`);
    return result;
  };
  const applyMany = application.applyMany?.bind(application);
  return {
    ...application,
    apply: async (tx, entry) => checked(await application.apply(tx, entry), entry.index),
    ...(applyMany === undefined
      ? {}
      : { applyMany: async (tx: Tx, entries: Parameters<typeof applyMany>[1]) => (await applyMany(tx, entries)).map((result, i) => checked(result, entries[i]?.index ?? 0)) }),
  };
}

/** The messages table holds exactly `messages` rows once everything is applied. */
export async function checkApplied(reader: Knex, messages: number): Promise<void> {
  const row = (await reader('messages').count({ n: '*' }).first()) as { n: number } | undefined;
  if (Number(row?.n) !== messages) throw new SeedError(`the seeded store holds ${String(row?.n)} messages, not ${messages}`);
}
