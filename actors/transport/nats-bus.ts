/**
 * The client-message bus of the replica runtime (actors/replica/ports.ts
 * `ClientBus`) over a NATS link: queue-group subscriptions, request/reply
 * with a timeout, fire-and-forget publish. The runtime never imports NATS;
 * cli/commands/replica.ts plugs this in.
 */
import type { BusRequest, BusStatus, ClientBus } from '../replica/ports.ts';
import type { NatsLink } from './nats-connection.ts';

/** Calls `onError` for a reply that could not be sent (closed or reconnecting connection). */
export function natsBus(link: NatsLink, onError: (error: unknown, subject: string) => void): ClientBus {
  const nc = link.nc;
  return {
    serve(subject, queue, handle) {
      const subscription = nc.subscribe(subject, {
        ...(queue === null ? {} : { queue }),
        callback: (error, msg) => {
          if (error || !msg.reply) return;
          const request: BusRequest = { subject: msg.subject, data: msg.data, reply: msg.reply };
          void handle(request)
            .then((reply) => {
              if (reply !== null) msg.respond(reply);
            })
            .catch((failure: unknown) => onError(failure, msg.subject));
        },
      });
      return () => subscription.unsubscribe();
    },
    async request(subject, data, timeoutMs) {
      const msg = await nc.request(subject, data, { timeout: timeoutMs });
      return msg.string();
    },
    publish(subject, data) {
      try {
        nc.publish(subject, data);
      } catch (error) {
        // Closed or reconnecting connection: live frames and inspection records are best effort.
        onError(error, subject);
      }
    },
    status: (): BusStatus => link.status,
  };
}
