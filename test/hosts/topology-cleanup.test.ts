/**
 * A test process killed mid-run (an ava timeout, a SIGKILL) cannot clean up
 * its namespaces and links; the next topology sweeps them away by their name
 * prefix and dead owner pid, and leaves a live process's alone.
 */
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { missingPrivilege, sweepStale, systemBinary } from './topology.ts';

/** Looked up when used: on a machine without iproute2 the test is skipped, not the file broken. */
const ip = (): string => systemBinary('ip');

/** A pid that just exited: what a killed test process leaves in the names it made. */
function deadPid(): number {
  const child = spawnSync('/bin/true');
  return child.pid ?? 0;
}

const netnsNames = (): string => execFileSync(ip(), ['netns', 'list'], { encoding: 'utf8' });
const linkNames = (): string => execFileSync(ip(), ['-o', 'link', 'show'], { encoding: 'utf8' });

(missingPrivilege() === null ? test : test.skip)("sweepStale removes a dead run's namespaces and links, not a live run's", (t) => {
  const dead = deadPid();
  const live = process.pid;
  const made = { netns: [`qch-${dead}-h1`, `qch-${live}-h9`], links: [`qcb${dead}`, `qcb${live}`] };
  t.teardown(() => {
    for (const name of made.netns) spawnSync(ip(), ['netns', 'del', name]);
    for (const name of made.links) spawnSync(ip(), ['link', 'del', name]);
  });
  for (const name of made.netns) execFileSync(ip(), ['netns', 'add', name]);
  for (const name of made.links) execFileSync(ip(), ['link', 'add', name, 'type', 'bridge']);

  sweepStale();

  t.notRegex(netnsNames(), new RegExp(`^qch-${dead}-h1\\b`, 'm'));
  t.notRegex(linkNames(), new RegExp(`: qcb${dead}[:@]`));
  t.regex(netnsNames(), new RegExp(`^qch-${live}-h9\\b`, 'm'));
  t.regex(linkNames(), new RegExp(`: qcb${live}[:@]`));
});
