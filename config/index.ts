/** Configuration: schemas, defaults and loading (docs/configuration.md). */
export { loadReplicaConfig, loadClusterConfig, parseReplicaConfig, mergeDeep, type LoadOptions, type ConfigOverrides } from './load.ts';
export { ReplicaConfig, ClusterConfig, LOG_LEVELS, PREFIX_PATTERN, type ReplicaConfigInput, type ClusterConfigInput } from './schema.ts';
export { ConfigError } from './errors.ts';
export * as defaults from './defaults.ts';
