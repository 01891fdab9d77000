/**
 * Loading configuration: defaults, then an optional JSON file, then overrides
 * (command-line flags) on top; validated once, at the edge.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from './errors.ts';
import { ClusterConfig, ReplicaConfig } from './schema.ts';

/** Overrides: any part of the configuration; `undefined` values (unset flags) are ignored. */
export type ConfigOverrides = Record<string, unknown>;

export interface LoadOptions {
  /** A JSON file holding any part of the configuration. */
  readonly file?: string | undefined;
  /** Merged over the file, e.g. from command-line flags. */
  readonly overrides?: ConfigOverrides;
}

/** A replica's configuration from an optional file and overrides; throws `ConfigError` listing every problem. */
export function loadReplicaConfig(options: LoadOptions = {}): ReplicaConfig {
  return load(ReplicaConfig, options);
}

/** `quorumchat up`'s configuration; throws `ConfigError` listing every problem. */
export function loadClusterConfig(options: LoadOptions = {}): ClusterConfig {
  return load(ClusterConfig, options);
}

/** Validates an in-memory value (e.g. built by the cluster launcher for each replica). */
export function parseReplicaConfig(value: unknown, source = 'replica configuration'): ReplicaConfig {
  return validate(ReplicaConfig, value, source);
}

function load<S extends z.ZodType>(schema: S, { file, overrides = {} }: LoadOptions): z.output<S> {
  const fromFile = file === undefined ? {} : readJsonFile(file);
  const merged = mergeDeep(fromFile, overrides);
  const source = file === undefined ? 'flags and defaults' : `${file}, flags and defaults`;
  return validate(schema, merged, source);
}

function validate<S extends z.ZodType>(schema: S, value: unknown, source: string): z.output<S> {
  const result = schema.safeParse(value, { error: plainWords });
  if (result.success) return result.data;
  throw new ConfigError(source, result.error.issues.flatMap(describeIssue));
}

function readJsonFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`cannot read the file: ${(err as Error).message}`]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(file, [`not valid JSON: ${(err as Error).message}`]);
  }
  if (!isPlainObject(value)) throw new ConfigError(file, ['must hold a JSON object of settings']);
  return value;
}

/** Objects merge key by key; anything else in `over` (arrays, scalars) replaces; undefined is skipped. */
export function mergeDeep(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? mergeDeep(current, value) : value;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** zod's per-parse error map: plain words for the built-in checks (schema messages take precedence). */
function plainWords(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'is required' : `must be ${article(issue.expected)} (got ${describe(issue.input)})`;
    case 'too_small':
      return issue.origin === 'array' ? `must have at least ${issue.minimum} item(s)` : `must be at least ${issue.minimum}`;
    case 'too_big':
      return issue.origin === 'array' ? `must have at most ${issue.maximum} item(s)` : `must be at most ${issue.maximum}`;
    default:
      return undefined;
  }
}

function article(expected: string): string {
  if (expected === 'int') return 'a whole number';
  if (expected === 'object') return 'an object';
  if (expected === 'array') return 'a list';
  return `a ${expected}`;
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'string') return `"${v}"`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

function describeIssue(issue: z.core.$ZodIssue): string[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `${pathText([...issue.path, k])}: is not a setting`);
  }
  return [`${pathText(issue.path)}: ${issue.message}`];
}

function pathText(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)';
  let s = '';
  for (const part of path) s += typeof part === 'number' ? `[${part}]` : s === '' ? String(part) : `.${String(part)}`;
  return s;
}
