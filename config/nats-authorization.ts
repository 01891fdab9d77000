/**
 * NATS permissions of the three roles (DESIGN.md "Security", docs/security.md)
 * and the nats-server `authorization { users = [...] }` block that carries
 * them: `quorumchat up` writes it into its embedded server's configuration,
 * and the `nats-config` generator includes it for real hosts.
 *
 * Every subject pattern comes from the functions that spell the subjects
 * (actors/protocol/subjects.ts, actors/transport/subjects.ts) with a
 * wildcard token, so a renamed subject cannot leave a stale permission.
 */
import {
  adminSubject,
  ANY_TOKEN,
  apiSubject,
  replicaApiSubject,
  forwardSubject,
  inspectSubject,
  liveSubject,
  statusSubject,
} from '../actors/protocol/subjects.ts';
import { monitorSubjects } from '../actors/protocol/admin.ts';
import { raftInbox } from '../actors/transport/subjects.ts';

export const NATS_ROLES = ['replica', 'operator', 'client'] as const;
export type NatsRole = (typeof NATS_ROLES)[number];

/**
 * nats.js's default inbox prefix: every request's reply is published to a
 * subject under it. Anyone who makes requests must subscribe to it, and
 * whoever answers must publish to it. A client may subscribe to every inbox,
 * so replies to a client that seals (docs/protocol.md §2.5) are envelopes only
 * its own key opens (docs/security.md).
 */
export const REPLY_INBOXES = '_INBOX.>';

/** What a role may publish and subscribe to; everything else nats-server refuses (a permissions violation). */
export interface SubjectPermissions {
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
}

/** The permissions of `role` in the cluster with subject prefix `prefix`. */
export function rolePermissions(role: NatsRole, prefix: string): SubjectPermissions {
  const s = subjectsOf(prefix);
  switch (role) {
    case 'replica':
      // Raft between replicas; serving api/admin/status in queue groups or alone; asking peers' status
      // (the wipe and duplicate guards) and forwarding to the leader; publishing live frames and
      // inspection records; answering every request on its reply inbox.
      return {
        // The monitor's subjects: learners announce their intent, the leader asks for replacements.
        publish: [s.raft, s.status, s.forward, s.admin, s.inspect, s.live, s.monitor, REPLY_INBOXES],
        subscribe: [s.raft, s.api, s.aimedApi, s.admin, s.status, s.forward, s.monitor, REPLY_INBOXES],
      };
    case 'operator':
      // Everything a chat client does (the `up` UI chats), plus the operator requests and watching
      // every replica's state machine. Never Raft, forwarding, or serving anything.
      return {
        publish: [s.api, s.aimedApi, s.status, s.admin],
        // The monitor's replacement requests: `up` provisions replicas on them.
        subscribe: [s.live, s.inspect, s.monitor, REPLY_INBOXES],
      };
    case 'client':
      // PROTOCOL.md requests only, and the answers: reply inboxes and live frames. Not `<prefix>.api.*`
      // as a subscriber (it would read other clients' requests, passwords included).
      return {
        // The client protocol aimed at one replica too (docs/protocol.md §1.2); nothing else under <prefix>.replica.
        publish: [s.api, s.aimedApi],
        subscribe: [s.live, REPLY_INBOXES],
      };
  }
}

/** One NATS user of a role: a name and password, or an nkey (its public key `U…`; the seed stays with its holder). */
export type NatsPrincipal =
  | { readonly role: NatsRole; readonly user: string; readonly password: string }
  | { readonly role: NatsRole; readonly nkey: string };

/** A password or name nats-server's configuration parser would misread inside a quoted string. */
export class UnquotableSecretError extends Error {
  override readonly name = 'UnquotableSecretError';
}

/**
 * The nats-server configuration block granting each principal its role's
 * permissions. With it, a connection without credentials is refused: no
 * `no_auth_user` is set.
 */
export function natsAuthorizationBlock(prefix: string, principals: readonly NatsPrincipal[]): string {
  const users = principals.map((p) => {
    const who = 'nkey' in p ? `nkey: ${quote(p.nkey, 'nkey')}` : `user: ${quote(p.user, 'user')}, password: ${quote(p.password, 'password')}`;
    const perms = rolePermissions(p.role, prefix);
    return (
      `    # ${p.role}\n` +
      `    { ${who}, permissions: {\n` +
      `        publish: { allow: [${perms.publish.map((x) => quote(x, 'subject')).join(', ')}] }\n` +
      `        subscribe: { allow: [${perms.subscribe.map((x) => quote(x, 'subject')).join(', ')}] }\n` +
      `    } }`
    );
  });
  return `authorization {\n  users = [\n${users.join('\n')}\n  ]\n}\n`;
}

/** Every pattern a role list is made of, from the subject functions with a wildcard for the variable token. */
function subjectsOf(prefix: string) {
  return {
    raft: raftInbox(prefix, ANY_TOKEN),
    api: apiSubject(prefix, ANY_TOKEN),
    aimedApi: replicaApiSubject(prefix, ANY_TOKEN, ANY_TOKEN),
    admin: adminSubject(prefix, ANY_TOKEN),
    status: statusSubject(prefix, ANY_TOKEN),
    forward: forwardSubject(prefix, ANY_TOKEN),
    inspect: inspectSubject(prefix, ANY_TOKEN),
    monitor: monitorSubjects(prefix),
    live: liveSubject(prefix, ANY_TOKEN),
  };
}

/** Printable ASCII except the quote and the backslash: safe inside a nats-server double-quoted string. */
const QUOTABLE = /^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/;

function quote(value: string, what: string): string {
  if (!QUOTABLE.test(value)) throw new UnquotableSecretError(`a NATS ${what} must be printable ASCII without " or \\ to go into a nats-server configuration`);
  return `"${value}"`;
}
