// Types of freshness.mjs for the TypeScript that imports it (tests, bench's docs).
export declare const SOURCE_DIRS: readonly string[];
export declare const SOURCE_FILES: readonly string[];
export declare const SOURCE_EXTENSIONS: readonly string[];
export declare const ASSET_EXTENSIONS: readonly string[];
export declare const DIST_DIR: string;
export declare const STAMP_FILE: string;
export interface BuildStamp {
  readonly fingerprint: string;
  readonly builtAt: string;
  readonly files: number;
}
export declare function listSources(root: string): string[];
export declare function sourceFingerprint(root: string): string;
export declare function readStamp(root: string): BuildStamp | null;
export declare function isBuildFresh(root: string): boolean;
export declare function describeStaleness(root: string): string | null;
