#!/usr/bin/env node
// The `quorumchat` command. It runs the compiled build (dist/, `npm run build`)
// when that build was made from the sources exactly as they are now, and
// otherwise the TypeScript sources through tsx, so whoever edits a .ts file
// never runs stale code. Compiling in every process cost each replica seconds
// of start-up and tens of MiB (docs/notebook.md, "Compiled build"); the check
// is one stat per source file, about 5 ms.
//
// QUORUMCHAT_RUNTIME=tsx forces the sources through tsx (to compare, or to
// debug with source positions); there is deliberately no way to force a stale
// build. QUORUMCHAT_RUNTIME_VERBOSE=1 prints which one runs and why.
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';
import { describeStaleness } from './build/freshness.mjs';

const RUNTIMES = ['auto', 'tsx'];
const runtime = process.env.QUORUMCHAT_RUNTIME || 'auto';
if (!RUNTIMES.includes(runtime)) {
  process.stderr.write(`quorumchat: QUORUMCHAT_RUNTIME=${runtime}: expected one of ${RUNTIMES.join(', ')}\n`);
  // The usage exit code of cli/errors.ts (not imported: that module is TypeScript).
  process.exit(2);
}

const root = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
const stale = runtime === 'tsx' ? 'QUORUMCHAT_RUNTIME=tsx' : describeStaleness(root);
if (process.env.QUORUMCHAT_RUNTIME_VERBOSE === '1') {
  process.stderr.write(stale === null ? 'quorumchat: running dist/ (compiled)\n' : `quorumchat: running the sources through tsx: ${stale}\n`);
}
if (stale === null) {
  await import('../dist/cli/main.js');
} else {
  // Registered here rather than with --import so the command works from any directory.
  const { register } = await import('tsx/esm/api');
  register();
  await import('./main.ts');
}
