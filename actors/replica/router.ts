/**
 * The API router: which subject goes to which handler.
 *
 *   <prefix>.api.<op>            queue group <prefix>.api     client protocol
 *   <prefix>.admin.<op>          queue group <prefix>.admin   operator requests
 *   <prefix>.replica.<id>.api.<op>                            client protocol aimed at this replica
 *   <prefix>.replica.<id>.forward                             the leader's work, asked by peers
 *   <prefix>.replica.<id>.status                              this replica's status
 *
 * Every handler answers (or stays silent) on its own; nothing a client or a
 * peer sends can throw out of here.
 */
import { adminQueueGroup, ANY_TOKEN, apiQueueGroup, forwardSubject, replicaApiSubject, statusSubject } from '../protocol/index.ts';
import type { BusRequest, ClientBus, RuntimeLogger } from './ports.ts';
import type { ClientReply, ForwardWireReply, SealedReply, StampedReply } from './requests.ts';
import type { ReplicaStatus } from './status.ts';

/** Status replies are cheap, but a flood of them must not starve Raft: at most this many handled at once. */
export const MAX_STATUS_IN_FLIGHT = 64;

export interface RouterHandlers {
  /** `reply`: the request's reply subject, which a sealed reply is bound to (docs/protocol.md §2.5). */
  client(op: string, data: Uint8Array, reply: string | undefined): Promise<ClientReply>;
  admin(op: string, data: Uint8Array): Promise<StampedReply>;
  forward(data: Uint8Array): Promise<ForwardWireReply | SealedReply>;
  status(): ReplicaStatus;
}

export interface ServedRequests {
  /** Stops serving every subject, the extra client subscriptions included. */
  stop(): void;
  /** One more subscription in the client queue group (leader-share.ts); returns its stop function. */
  addClientSubscription(): () => void;
}

/** Serves every subject of one replica. */
export function serveRequests(args: { readonly bus: ClientBus; readonly prefix: string; readonly id: string; readonly handlers: RouterHandlers; readonly log: Pick<RuntimeLogger, 'debug' | 'error'> }): ServedRequests {
  const { bus, prefix, id, handlers, log } = args;
  const opOf = (request: BusRequest, root: string): string => request.subject.slice(`${prefix}.${root}.`.length);
  const encode = (body: object): string | null => {
    try {
      return JSON.stringify(body);
    } catch (error) {
      log.error({ err: error }, 'could not encode a reply');
      return null;
    }
  };
  let statusInFlight = 0;
  const serveClients = (): (() => void) => bus.serve(`${prefix}.api.*`, apiQueueGroup(prefix), async (request) => encode(await handlers.client(opOf(request, 'api'), request.data, request.reply)));
  const extra = new Set<() => void>();
  const stops = [
    serveClients(),
    bus.serve(replicaApiSubject(prefix, id, ANY_TOKEN), null, async (request) => encode(await handlers.client(opOf(request, `replica.${id}.api`), request.data, request.reply))),
    bus.serve(`${prefix}.admin.*`, adminQueueGroup(prefix), async (request) => encode(await handlers.admin(opOf(request, 'admin'), request.data))),
    bus.serve(forwardSubject(prefix, id), null, async (request) => encode(await handlers.forward(request.data))),
    bus.serve(statusSubject(prefix, id), null, async () => {
      if (statusInFlight >= MAX_STATUS_IN_FLIGHT) return null;
      statusInFlight += 1;
      try {
        return encode({ ok: true, ...handlers.status() });
      } catch (failure) {
        log.error({ err: failure }, 'status reply failed');
        return null;
      } finally {
        statusInFlight -= 1;
      }
    }),
  ];
  return {
    stop() {
      for (const stop of [...stops, ...extra]) stop();
      extra.clear();
    },
    addClientSubscription() {
      const stop = serveClients();
      const remove = (): void => {
        if (extra.delete(remove)) stop();
      };
      extra.add(remove);
      return remove;
    },
  };
}
