/**
 * The compiled build's freshness check (cli/build/freshness.mjs), on a small
 * tree of its own: dist/ counts as current only for the exact sources it was
 * stamped with, so a test or a developer never runs stale code.
 */
import test from 'ava';
import { mkdirSync, mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STAMP_FILE, describeStaleness, isBuildFresh, listSources, sourceFingerprint } from '../../cli/build/freshness.mjs';

function sourceTree(): string {
  const root = mkdtempSync(join(tmpdir(), 'qc-freshness-'));
  for (const dir of ['actors/raft', 'storage', 'cli/inspector', 'config', 'dist']) mkdirSync(join(root, dir), { recursive: true });
  writeFileSync(join(root, 'actors/raft/quorum.ts'), 'export const q = 1;\n');
  writeFileSync(join(root, 'storage/limits.ts'), 'export const l = 1;\n');
  writeFileSync(join(root, 'cli/inspector/page.html'), '<html></html>\n');
  writeFileSync(join(root, 'config/defaults.ts'), 'export const d = 1;\n');
  writeFileSync(join(root, 'tsconfig.json'), '{}\n');
  writeFileSync(join(root, 'tsconfig.build.json'), '{}\n');
  return root;
}

function stamp(root: string): void {
  writeFileSync(join(root, STAMP_FILE), JSON.stringify({ fingerprint: sourceFingerprint(root), builtAt: new Date().toISOString(), files: listSources(root).length }));
}

test('the sources are the four folders and the two tsconfigs, without editor files', (t) => {
  const root = sourceTree();
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, 'cli/.page.html.swp'), 'x');
  writeFileSync(join(root, 'cli/replica.log'), 'x');
  t.deepEqual(listSources(root), [
    'actors/raft/quorum.ts',
    'cli/inspector/page.html',
    'config/defaults.ts',
    'storage/limits.ts',
    'tsconfig.build.json',
    'tsconfig.json',
  ]);
});

test('no stamp means no build; a stamp of the current sources means fresh', (t) => {
  const root = sourceTree();
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  t.false(isBuildFresh(root));
  t.regex(describeStaleness(root) ?? '', /no build/);
  stamp(root);
  t.true(isBuildFresh(root));
  t.is(describeStaleness(root), null);
});

test('an edit, a new file, a deletion, a rename, an asset edit and a tsconfig edit each make the build stale', (t) => {
  const changes: Record<string, (root: string) => void> = {
    // Same size, only the time moves: what an editor saving a one-character fix looks like to stat.
    edit: (root) => utimesSync(join(root, 'storage/limits.ts'), new Date(), new Date(Date.now() + 5_000)),
    'new file': (root) => writeFileSync(join(root, 'actors/raft/log.ts'), 'export {};\n'),
    deletion: (root) => rmSync(join(root, 'config/defaults.ts')),
    rename: (root) => renameSync(join(root, 'config/defaults.ts'), join(root, 'config/default.ts')),
    asset: (root) => writeFileSync(join(root, 'cli/inspector/page.html'), '<html><body></body></html>\n'),
    tsconfig: (root) => writeFileSync(join(root, 'tsconfig.build.json'), '{"compilerOptions":{}}\n'),
  };
  for (const [name, change] of Object.entries(changes)) {
    const root = sourceTree();
    t.teardown(() => rmSync(root, { recursive: true, force: true }));
    stamp(root);
    change(root);
    t.false(isBuildFresh(root), name);
    t.regex(describeStaleness(root) ?? '', /changed since the build: /, name);
  }
});

test('a corrupt stamp is no build', (t) => {
  const root = sourceTree();
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, STAMP_FILE), '{"fingerprint": ');
  t.false(isBuildFresh(root));
});
