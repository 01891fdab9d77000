/**
 * The one rule for a replica id, used by the configuration, the storage, the
 * peer codec and the operator requests alike.
 */
import { z } from 'zod';

/**
 * One NATS subject token: replica ids appear in subjects
 * (`<prefix>.replica.<id>.status`, `<prefix>.raft.<to>.<kind>`), so a `.`
 * (a token separator) or a wildcard would change which subject is meant.
 */
export const REPLICA_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export const ReplicaIdSchema = z.string().regex(REPLICA_ID_PATTERN, 'must be 1 to 64 characters of A-Z a-z 0-9 _ - (a replica id is used in NATS subjects)');
