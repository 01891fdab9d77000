/**
 * One operator change (add, promote, remove, transfer): gather the leader's
 * view, check it with the monitor's `membershipChangeProblem`, then send it
 * on `<prefix>.admin.members` or `.transfer` and report the leader's answer.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import { adminSubject, MembersRequest, TransferRequest } from '../../actors/protocol/index.ts';
import { membershipChangeProblem, type MembershipChange } from '../../actors/monitor/index.ts';
import { ExitCode } from '../errors.ts';
import { MembersRefusal, REFUSAL_EXIT_CODES } from './members-exit.ts';
import { gatherMembers } from './members-report.ts';

/**
 * The look before a change: a live replica answers in milliseconds and an
 * election ends well within this, so a dead member does not hold every
 * change for the whole --timeout.
 */
const LOOK_TIMEOUT_MS = 3_000;

export interface ChangeSettings {
  readonly prefix: string;
  /** How long the cluster has to answer the change (the look before it, at most LOOK_TIMEOUT_MS). */
  readonly timeoutMs: number;
  readonly force: boolean;
}

/** The leader's answer to a change: the new configuration, or who leads after a transfer. */
const ChangeAnswer = z.union([
  z.looseObject({ ok: z.literal(true), voters: z.array(z.string()).optional(), learners: z.array(z.string()).optional(), leader: z.string().nullable().optional() }),
  z.looseObject({ ok: z.literal(false), error: z.looseObject({ code: z.string(), message: z.string() }) }),
]);

/** Makes `change` or throws MembersRefusal; returns the line to print. */
export async function makeChange(nc: NatsConnection, change: MembershipChange, settings: ChangeSettings): Promise<string> {
  const report = await gatherMembers(nc, settings.prefix, Math.min(settings.timeoutMs, LOOK_TIMEOUT_MS));
  if (report.view === null) throw new MembersRefusal('no leader answered: nothing can be changed until one is elected', ExitCode.unavailable);
  const problem = membershipChangeProblem(report.view, change, { force: settings.force });
  if (problem !== null) throw MembersRefusal.of(problem);
  if (change.action === 'transfer' && change.id === report.leader) return `${change.id} already leads (term ${report.term})`;

  const [subject, body] =
    change.action === 'transfer'
      ? [adminSubject(settings.prefix, 'transfer'), TransferRequest.parse({ to: change.id })]
      : [adminSubject(settings.prefix, 'members'), MembersRequest.parse({ action: change.action, id: change.id })];
  const answer = await ask(nc, subject, body, settings.timeoutMs);
  if (!answer.ok) {
    const code = answer.error.code === 'conflict' ? REFUSAL_EXIT_CODES.refusedByCluster : answer.error.code === 'unavailable' ? ExitCode.unavailable : ExitCode.failure;
    throw new MembersRefusal(`the cluster refused: ${answer.error.code}: ${answer.error.message}`, code);
  }
  return describeDone(change, answer);
}

async function ask(nc: NatsConnection, subject: string, body: unknown, timeoutMs: number): Promise<z.infer<typeof ChangeAnswer>> {
  let text: string;
  try {
    text = (await nc.request(subject, JSON.stringify(body), { timeout: timeoutMs })).string();
  } catch (err) {
    // The change may still be made: a timeout says nothing about whether it committed.
    throw new MembersRefusal(`no answer from the cluster within ${timeoutMs} ms (${err instanceof Error ? err.message : String(err)}); check with quorumchat members list`, ExitCode.unavailable);
  }
  const parsed = ChangeAnswer.safeParse(JSON.parse(text));
  if (!parsed.success) throw new MembersRefusal(`unexpected answer from the cluster: ${text.slice(0, 200)}`, ExitCode.failure);
  return parsed.data;
}

function describeDone(change: MembershipChange, answer: { voters?: string[] | undefined; learners?: string[] | undefined; leader?: string | null | undefined }): string {
  const config = `voters ${(answer.voters ?? []).join(', ')}; learners ${(answer.learners ?? []).join(', ') || 'none'}`;
  switch (change.action) {
    case 'addLearner':
      return `${change.id} added as a learner (${config}); start it with quorumchat replica --id ${change.id} --peers ${[...(answer.voters ?? []), change.id].join(',')} ...`;
    case 'promote':
      return `${change.id} promoted to voter (${config})`;
    case 'remove':
      return `${change.id} removed (${config}); stop its process`;
    case 'transfer':
      return `${answer.leader ?? change.id} leads now`;
  }
}
