/**
 * Flag values shared by several commands, validated with zod at the edge so a
 * bad value gets a clear message naming the flag.
 */
import { z } from 'zod';
import { MAX_REPLICA_COUNT } from '../config/defaults.ts';
import { PREFIX_PATTERN } from '../config/index.ts';
import { ReplicaIdSchema } from '../actors/protocol/index.ts';
import { UsageError } from './errors.ts';

/** Subject prefix of a cluster: NATS subject tokens separated by dots, no wildcards or spaces. */
export const PrefixSchema = z
  .string()
  .regex(PREFIX_PATTERN, 'must be NATS subject tokens (letters, digits, _ and -) separated by dots');

/** A TCP port; 0 is refused because the operator must know where to connect. */
export const PortSchema = z.coerce.number().int().min(1).max(65_535);

/** config/defaults.ts bounds the replica count. */
export const ReplicaCountSchema = z.coerce.number().int().min(1).max(MAX_REPLICA_COUNT);

export const NatsUrlSchema = z
  .string()
  .regex(/^(nats|tls|ws|wss):\/\/[^\s]+$|^[^\s:/]+:\d+$/, 'must be a NATS URL such as nats://127.0.0.1:4222');

/** Durations like 500ms, 2s, 1.5m, or a bare number of milliseconds. */
export const DurationSchema = z
  .string()
  .regex(/^\d+(\.\d+)?(ms|s|m)?$/, 'must be a duration such as 500ms, 2s or 1m')
  .transform((text) => {
    const value = Number.parseFloat(text);
    if (text.endsWith('ms')) return value;
    if (text.endsWith('s')) return value * 1_000;
    if (text.endsWith('m')) return value * 60_000;
    return value;
  })
  .pipe(z.number().positive());

/** The default local replica ids: r1..rN, as `up` names them. */
export function replicaIdsFor(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `r${i + 1}`);
}

/** Parses a comma-separated list of replica ids. */
export const ReplicaListSchema = z
  .string()
  .transform((text) => text.split(',').map((s) => s.trim()).filter((s) => s.length > 0))
  .pipe(z.array(ReplicaIdSchema).min(1, 'must name at least one replica'));

/** Validates one flag's value, throwing UsageError "--flag: problem" on failure. */
export function parseFlag<S extends z.ZodType>(flag: string, schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problem = result.error.issues.map((i) => i.message).join('; ');
  throw new UsageError(`--${flag} ${JSON.stringify(value)}: ${problem}`);
}

/** True for nats://127.x.x.x, localhost or [::1] URLs (and host:port without a scheme). */
export function isLoopbackUrl(url: string): boolean {
  const host = /^(?:[a-z]+:\/\/)?(\[[^\]]+\]|[^:/]+)/i.exec(url)?.[1] ?? '';
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
