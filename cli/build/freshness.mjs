// Is dist/ a compilation of the sources as they are now? The `quorumchat`
// bin asks this on every start (so it must stay cheap: one stat per source
// file, no reading), and the build writes the answer's reference, the stamp,
// after a successful compile. Plain JavaScript: it runs before anything could
// compile TypeScript.
//
// Measured (docs/notebook.md, "Compiled build"): about 5 ms of CPU for ~170
// files. Why it is written the way it is: no node:crypto (loading it cost
// more than the whole walk), and paths joined with '/' by hand (POSIX only,
// like the rest of the cluster tooling).
import { readFileSync, readdirSync, statSync } from 'node:fs';

/** The folders compiled into dist/ (tsconfig.build.json's `include`), relative to the repository root. */
export const SOURCE_DIRS = Object.freeze(['actors', 'storage', 'cli', 'config']);
/** Files outside those folders whose change changes what the compiler emits. */
export const SOURCE_FILES = Object.freeze(['tsconfig.json', 'tsconfig.build.json']);
/**
 * Files under SOURCE_DIRS that matter at run time: TypeScript, and the assets
 * modules read relative to their own URL (the inspector's page, the replicas'
 * preload). An editor's swap file or a log is not a source.
 */
export const SOURCE_EXTENSIONS = Object.freeze(['.ts', '.mts', '.mjs', '.js', '.json', '.html', '.css', '.sql']);
/** Of those, the ones tsc does not emit: the build copies them beside the compiled modules. */
export const ASSET_EXTENSIONS = Object.freeze(['.mjs', '.js', '.json', '.html', '.css', '.sql']);
/** Where the compiled tree goes (tsconfig.build.json's `outDir`). */
export const DIST_DIR = 'dist';
/** Written last by a successful build; its absence means "no usable build". */
export const STAMP_FILE = `${DIST_DIR}/.build-stamp.json`;

/**
 * The source files, relative to `root`, sorted. Only files whose extension is
 * in SOURCE_EXTENSIONS; dot-entries (editor state, .DS_Store) are skipped.
 * @param {string} root
 * @returns {string[]}
 */
export function listSources(root) {
  const found = [];
  const walk = (relDir) => {
    for (const entry of readdirSync(`${root}/${relDir}`, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const rel = `${relDir}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (entry.isFile() && SOURCE_EXTENSIONS.some((ext) => entry.name.endsWith(ext))) found.push(rel);
    }
  };
  for (const dir of SOURCE_DIRS) walk(dir);
  found.push(...SOURCE_FILES);
  return found.sort();
}

/**
 * The state of the sources: one line per source file with its path, size and
 * modification time. Any edit, new file, deletion or rename changes it; a
 * file saved unchanged changes it too, which only costs a rebuild (the safe
 * direction: never run a stale build). Contents are not read, to keep the
 * check to one stat per file. Kept whole in the stamp rather than hashed, so
 * `describeStaleness` can name what changed.
 * @param {string} root
 * @returns {string}
 */
export function sourceFingerprint(root) {
  let lines = '';
  for (const rel of listSources(root)) {
    // A SOURCE_FILES entry that does not exist is part of the state too.
    const stat = statSync(`${root}/${rel}`, { throwIfNoEntry: false });
    lines += stat === undefined ? `${rel} missing\n` : `${rel} ${stat.size} ${stat.mtimeMs}\n`;
  }
  return lines;
}

/**
 * The stamp a build left, or null if there is none or it is unreadable (an
 * interrupted build removes it first, so "no stamp" means "do not trust dist/").
 * @param {string} root
 * @returns {{ fingerprint: string, builtAt: string, files: number } | null}
 */
export function readStamp(root) {
  try {
    const stamp = JSON.parse(readFileSync(`${root}/${STAMP_FILE}`, 'utf8'));
    const ok = typeof stamp === 'object' && stamp !== null && typeof stamp.fingerprint === 'string' && typeof stamp.builtAt === 'string' && Number.isSafeInteger(stamp.files);
    return ok ? stamp : null;
  } catch {
    return null;
  }
}

/**
 * True when dist/ was compiled from exactly the sources now on disk.
 * @param {string} root
 * @returns {boolean}
 */
export function isBuildFresh(root) {
  const stamp = readStamp(root);
  return stamp !== null && stamp.fingerprint === sourceFingerprint(root);
}

/**
 * Why dist/ is not used, in a few words (for `npm run build` and debugging):
 * no stamp, or the first source lines that differ from the stamp's.
 * @param {string} root
 * @returns {string | null} null when the build is fresh
 */
export function describeStaleness(root) {
  const stamp = readStamp(root);
  if (stamp === null) return `no build (${STAMP_FILE} missing)`;
  const now = sourceFingerprint(root);
  if (now === stamp.fingerprint) return null;
  const built = new Set(stamp.fingerprint.split('\n'));
  const current = new Set(now.split('\n'));
  // A line in only one of the two is a file added, removed or modified; its path is the first field.
  const differing = [...current].filter((line) => !built.has(line)).concat([...built].filter((line) => !current.has(line)));
  const changed = [...new Set(differing.map((line) => line.split(' ')[0]))];
  return `changed since the build: ${changed.slice(0, 5).join(', ')}${changed.length > 5 ? ` and ${changed.length - 5} more` : ''}`;
}
