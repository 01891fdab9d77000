/**
 * One operator change (add, promote, remove, transfer): gather the leader's
 * view, check it with the monitor's `membershipChangeProblem`, then send it
 * on `<prefix>.admin.members` or `.transfer` and report the leader's answer.
 * Removing the leader moves leadership to the most caught-up other voter
 * first, waits until it leads, then removes (members-leader.ts).
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { z } from 'zod';
import { adminSubject, MembersRequest, TransferRequest } from '../../actors/protocol/index.ts';
import { membershipChangeProblem, type ClusterView, type MembershipChange } from '../../actors/monitor/index.ts';
import { ExitCode } from '../errors.ts';
import { MembersRefusal, REFUSAL_EXIT_CODES } from './members-exit.ts';
import { planLeaderRemoval } from './members-leader.ts';
import { gatherMembers, type MembersReport } from './members-report.ts';

/**
 * The look before a change: a live replica answers in milliseconds and an
 * election ends well within this, so a dead member does not hold every
 * change for the whole --timeout.
 */
const LOOK_TIMEOUT_MS = 3_000;
/** How often the leader's removal looks again while the successor takes office: a few heartbeats. */
const HANDOVER_POLL_MS = 200;

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
  const report = await lookBeforeChange(nc, settings);
  const problem = membershipChangeProblem(report.view, change, { force: settings.force });
  if (problem?.kind === 'removesLeader') return await removeTheLeader(nc, report.view, change.id, settings);
  if (problem !== null) throw MembersRefusal.of(problem);
  if (change.action === 'transfer' && change.id === report.leader) return `${change.id} already leads (term ${report.term})`;
  return await send(nc, change, settings);
}

async function lookBeforeChange(nc: NatsConnection, settings: ChangeSettings): Promise<MembersReport & { view: NonNullable<MembersReport['view']> }> {
  const report = await gatherMembers(nc, settings.prefix, Math.min(settings.timeoutMs, LOOK_TIMEOUT_MS));
  if (report.view === null) throw new MembersRefusal('no leader answered: nothing can be changed until one is elected', ExitCode.unavailable);
  return { ...report, view: report.view };
}

/**
 * The leader's removal: transfer leadership to the most caught-up other
 * voter, wait until that voter leads and the removal passes the checks from
 * its view (it has heard from a quorum, its first entry is committed), then
 * remove the former leader as any follower.
 */
async function removeTheLeader(nc: NatsConnection, view: ClusterView, id: string, settings: ChangeSettings): Promise<string> {
  const plan = planLeaderRemoval(view, id);
  if ('kind' in plan) throw MembersRefusal.of(plan);
  const moved = await ask(nc, adminSubject(settings.prefix, 'transfer'), TransferRequest.parse({ to: plan.successor }), settings.timeoutMs);
  if (!moved.ok) {
    throw new MembersRefusal(`${id} leads, and the cluster refused to move leadership to ${plan.successor}: ${moved.error.code}: ${moved.error.message}; nothing was removed`, exitCodeOf(moved.error.code));
  }
  const change: MembershipChange = { action: 'remove', id };
  const deadline = Date.now() + settings.timeoutMs;
  let waiting = `${plan.successor} to lead`;
  for (;;) {
    const report = await gatherMembers(nc, settings.prefix, Math.min(settings.timeoutMs, LOOK_TIMEOUT_MS));
    if (report.view !== null && report.leader !== id) {
      const problem = membershipChangeProblem(report.view, change);
      if (problem === null) {
        const removed = await send(nc, change, settings);
        return `${id} led: leadership moved to ${report.leader} first (term ${report.term}), then:\n${removed}`;
      }
      waiting = `the removal to be safe under ${report.leader}: ${problem.message}`;
    }
    if (Date.now() >= deadline) {
      throw new MembersRefusal(`leadership moved off ${id}, but ${id} was not removed: still waiting for ${waiting} after ${settings.timeoutMs} ms; check with quorumchat members list`, ExitCode.unavailable);
    }
    await new Promise((resolve) => setTimeout(resolve, HANDOVER_POLL_MS));
  }
}

/** Sends a change already checked, and describes the leader's answer. */
async function send(nc: NatsConnection, change: MembershipChange, settings: ChangeSettings): Promise<string> {
  const [subject, body] =
    change.action === 'transfer'
      ? [adminSubject(settings.prefix, 'transfer'), TransferRequest.parse({ to: change.id })]
      : [adminSubject(settings.prefix, 'members'), MembersRequest.parse({ action: change.action, id: change.id })];
  const answer = await ask(nc, subject, body, settings.timeoutMs);
  if (!answer.ok) throw new MembersRefusal(`the cluster refused: ${answer.error.code}: ${answer.error.message}`, exitCodeOf(answer.error.code));
  return describeDone(change, answer);
}

function exitCodeOf(code: string): number {
  return code === 'conflict' ? REFUSAL_EXIT_CODES.refusedByCluster : code === 'unavailable' ? ExitCode.unavailable : ExitCode.failure;
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
