/** The production transport factory: the NATS peer transport, receiving snapshots under `<dataDir>/incoming-snapshots`. */
import { join } from 'node:path';
import { NatsPeerTransport } from '../transport/index.ts';
import type { Logger } from 'pino';
import type { ReplicaConfig } from '../../config/index.ts';
import type { ReplicaId } from '../raft/types.ts';
import type { NatsLink } from '../transport/nats-connection.ts';
import type { PeerTransport } from '../transport/types.ts';

/** What the production transport needs once NATS is connected. */
export interface TransportFactoryArgs {
  readonly link: NatsLink;
  readonly prefix: string;
  readonly id: ReplicaId;
  readonly dataDir: string;
  readonly config: ReplicaConfig;
  readonly logger: Logger;
}

/**
 * Received snapshot files land here, outside storage's own snapshot directory
 * (which storage clears of unknown files when it opens).
 */
export const INCOMING_SNAPSHOT_DIR = 'incoming-snapshots';

export const natsPeerTransport = async ({ link, prefix, id, dataDir, config, logger }: TransportFactoryArgs): Promise<PeerTransport> =>
  await NatsPeerTransport.start({
    link,
    id,
    prefix,
    snapshotDir: join(dataDir, INCOMING_SNAPSHOT_DIR),
    maxMessageBytes: config.limits.maxPeerMessageBytes,
    snapshotChunkBytes: config.limits.snapshotChunkBytes,
    logger,
  });
