/**
 * A userspace stand-in for `tc netem delay` on the NATS routes, for kernels
 * without `sch_netem` (this VM's): a TCP relay run inside one host's
 * namespace, one listening port per other host. That host's nats-server
 * dials its routes through it (test/hosts/topology.ts writes the route URLs),
 * and the relay forwards each chunk, both ways, after a fixed one-way delay,
 * so route traffic sees 2 × delay more round-trip time.
 *
 * It runs in the namespace of the host whose server dials, so the relayed
 * connection still leaves from that host's address, and the nftables cuts
 * and loss between hosts apply to it exactly as to a direct route.
 *
 *   node --import tsx test/hosts/delay-relay.ts 127.0.0.1:7002=198.18.5.12:6222 ...
 *
 * The delay starts at 0 and is set by lines `delay <ms>` on stdin, so the
 * tests can add latency to a running cluster. Order is kept when the delay
 * changes: a chunk is never released before the one ahead of it.
 */
import { createServer, connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';

/**
 * Giving up on a peer that does not answer the connect: like a route dial
 * into a cut, which nats-server retries by itself; without this a SYN into
 * silence would hold the accepted side open for minutes.
 */
const CONNECT_TIMEOUT_MS = 2_000;
/** Pause reading from one side while this much is queued for the other, as a kernel socket buffer would. */
const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

interface Delay {
  ms: number;
}

/** Forwards `from` to `to` after `delay.ms`, in order, with back-pressure. */
function forward(from: Socket, to: Socket, delay: Delay): void {
  let releaseAt = 0;
  let queued = 0;
  const later = (action: () => void): void => {
    releaseAt = Math.max(releaseAt, Date.now() + delay.ms);
    setTimeout(action, releaseAt - Date.now());
  };
  from.on('data', (chunk: Buffer) => {
    queued += chunk.length;
    if (queued > MAX_QUEUED_BYTES) from.pause();
    later(() => {
      queued -= chunk.length;
      if (!to.destroyed) to.write(chunk);
      if (queued <= MAX_QUEUED_BYTES && !to.writableNeedDrain) from.resume();
    });
  });
  to.on('drain', () => {
    if (queued <= MAX_QUEUED_BYTES) from.resume();
  });
  from.on('end', () => later(() => to.end()));
  from.on('close', () => later(() => to.destroy()));
  from.on('error', () => undefined); // 'close' follows and tears the pair down
}

function relay(listen: string, target: string, delay: Delay): void {
  const [listenHost, listenPort] = splitAddress(listen);
  const [targetHost, targetPort] = splitAddress(target);
  const server = createServer((accepted) => {
    const upstream = connect({ host: targetHost, port: targetPort });
    upstream.setTimeout(CONNECT_TIMEOUT_MS, () => upstream.destroy());
    upstream.once('connect', () => upstream.setTimeout(0));
    forward(accepted, upstream, delay);
    forward(upstream, accepted, delay);
  });
  server.listen(listenPort, listenHost);
}

function splitAddress(address: string): [string, number] {
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port <= 0) throw new Error(`delay-relay: ${address}: expected host:port`);
  return [address.slice(0, colon), port];
}

function main(pairs: readonly string[]): void {
  const delay: Delay = { ms: 0 };
  for (const pair of pairs) {
    const [listen, target] = pair.split('=');
    if (listen === undefined || target === undefined) throw new Error(`delay-relay: ${pair}: expected listen=target`);
    relay(listen, target, delay);
  }
  createInterface({ input: process.stdin }).on('line', (line) => {
    const match = /^delay (\d+)$/.exec(line.trim());
    if (match !== null) delay.ms = Number(match[1]);
  });
  // The topology holds stdin open; when it goes (the test process died), so does the relay.
  process.stdin.on('end', () => process.exit(0));
}

main(process.argv.slice(2));
