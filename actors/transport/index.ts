/** The peer transport: the interface, its NATS implementation and the NATS connection helper. */
export type { PeerTransport, ReceivedSnapshot, TransportStats, TransportLogger, DropReason } from './types.ts';
export { silentLogger } from './types.ts';
export { NatsPeerTransport, type NatsPeerTransportOptions } from './nats-peer-transport.ts';
export { NatsLink, type LinkStatus, type NatsLinkOptions } from './nats-connection.ts';
export { SnapshotStreamError } from './errors.ts';
export { encodeMessage, MessageDecoder } from './codec.ts';
export { raftSubject, raftInbox, MESSAGE_KINDS, SNAPSHOT_KIND } from './subjects.ts';
