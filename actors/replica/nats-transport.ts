/** The production transport factory: the NATS peer transport, receiving snapshots under `<dataDir>/incoming-snapshots`. */
import { join } from 'node:path';
import { NatsPeerTransport } from '../transport/index.ts';
import type { TransportFactory } from './replica.ts';

/**
 * Received snapshot files land here, outside storage's own snapshot directory
 * (which storage clears of unknown files when it opens).
 */
export const INCOMING_SNAPSHOT_DIR = 'incoming-snapshots';

export const natsPeerTransport: TransportFactory = async ({ link, prefix, id, dataDir, config, logger }) =>
  await NatsPeerTransport.start({
    link,
    id,
    prefix,
    snapshotDir: join(dataDir, INCOMING_SNAPSHOT_DIR),
    maxMessageBytes: config.limits.maxPeerMessageBytes,
    snapshotChunkBytes: config.limits.snapshotChunkBytes,
    logger,
  });
