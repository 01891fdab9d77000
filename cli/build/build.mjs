#!/usr/bin/env node
// `npm run build`: compiles the TypeScript sources into dist/ once, so
// replicas start with plain `node` instead of compiling through tsx in every
// process. Steps, in the order that keeps a half-done build from ever being
// run: remove the stamp, fingerprint the sources, compile, copy the assets
// modules read beside themselves, write the bin shim, and write the stamp
// only if the sources did not change meanwhile (cli/quorumchat.mjs runs
// dist/ only when the stamp matches the sources).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';
import { ASSET_EXTENSIONS, DIST_DIR, SOURCE_DIRS, STAMP_FILE, listSources, sourceFingerprint } from './freshness.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const started = process.hrtime.bigint();

// First: from here until the new stamp exists, every start runs the sources through tsx.
rmSync(join(root, STAMP_FILE), { force: true });
const fingerprint = sourceFingerprint(root);

// typescript is a devDependency; resolved from the repository so the pinned 5.9 compiles.
const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
const compile = () => spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, stdio: 'inherit' }).status === 0;
// Every module the sources hold, as dist/ must hold it after a compile.
const emitted = listSources(root)
  .filter((rel) => rel.endsWith('.ts') && !rel.endsWith('.d.ts') && SOURCE_DIRS.some((dir) => rel.startsWith(dir + sep)))
  .map((rel) => join(root, DIST_DIR, rel.replace(/\.ts$/, '.js')));
let ok = compile();
// The compile is incremental (dist/.tsbuildinfo): it does not notice an emitted file deleted by hand. Then once from scratch.
if (ok && emitted.some((file) => !existsSync(file))) {
  process.stderr.write('quorumchat build: dist/ lacks compiled modules the build info claims; compiling from scratch\n');
  rmSync(join(root, DIST_DIR, '.tsbuildinfo'), { force: true });
  ok = compile();
}
const missing = emitted.filter((file) => !existsSync(file));
if (!ok || missing.length > 0) {
  const why = ok ? `missing after the compile: ${missing.slice(0, 3).join(', ')}` : 'tsc failed';
  process.stderr.write(`quorumchat build: ${why}; dist/ is not used until a build succeeds\n`);
  process.exit(1);
}

// tsc emits only JavaScript; modules that read files relative to import.meta.url find them here.
// Not the bin nor the build itself: they run from cli/ (the bin gets a shim below).
const notCopied = new Set([join('cli', 'quorumchat.mjs'), join('cli', 'build', 'build.mjs')]);
const assets = listSources(root).filter(
  (rel) => SOURCE_DIRS.some((dir) => rel.startsWith(dir + sep)) && ASSET_EXTENSIONS.some((ext) => rel.endsWith(ext)) && !notCopied.has(rel),
);
for (const rel of assets) {
  const target = join(root, DIST_DIR, rel);
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(join(root, rel), target);
}

// The supervisor starts replicas through `../quorumchat.mjs` relative to its own module, which in
// dist/ is this shim: it goes back through the real bin, so a replica restarted after an edit runs
// the edited sources, like any other start.
writeFileSync(
  join(root, DIST_DIR, 'cli', 'quorumchat.mjs'),
  "// Written by cli/build/build.mjs: the compiled supervisor starts replicas through this file; the\n" +
    "// real bin decides again whether dist/ is current.\nimport '../../cli/quorumchat.mjs';\n",
);

if (sourceFingerprint(root) !== fingerprint) {
  process.stderr.write('quorumchat build: sources changed while compiling; not stamping dist/ (run the build again)\n');
  process.exit(1);
}
const files = listSources(root).length;
writeFileSync(join(root, STAMP_FILE), JSON.stringify({ fingerprint, builtAt: new Date().toISOString(), files }, null, 2) + '\n');
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
process.stdout.write(`quorumchat build: dist/ compiled from ${files} source files in ${seconds.toFixed(1)} s\n`);
