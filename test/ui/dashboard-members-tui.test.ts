/**
 * The dashboard's membership actions driven for real in a pseudo-terminal
 * (tmux) under `quorumchat up` with three replicas (the fewest that elect,
 * and the cheapest on a shared machine): the membership columns and the
 * leader's monitor decisions panel (newest first), a removal refused with `members`' message, leadership
 * transferred after a confirmation, a replica added as a learner (its
 * process is not started: up cannot yet), a promotion refused, a removal
 * cancelled with n and then made.
 */
import test from 'ava';
import type { Terminal } from './support/tmux.ts';
import { openUp, saveScreen } from './support/up-terminal.ts';

/** Moves the table's selection to row `index` (0-based among replicas) from wherever it is. */
async function select(term: Terminal, index: number): Promise<void> {
  // The list clamps at its ends: all the way up, then down to the row.
  for (let i = 0; i < 8; i++) await term.keys('Up');
  for (let i = 0; i < index; i++) await term.keys('Down');
}

/** The panel is only a few lines high and scrolls, newest first, so only its top line is checked. */
const DECISION_LINE = /\d\d:\d\d:\d\d r\d+ ((?:wait \w+)|promote\w+|removeDead|requestReplacement)/g;
/** How long the panel has to show `expected` after the change it follows. */
const DECISION_WAIT_MS = 10_000;

/** The panel's newest decision once it is `expected`, or the last one seen after DECISION_WAIT_MS. */
async function latestDecision(term: Terminal, expected: string): Promise<string | undefined> {
  const deadline = Date.now() + DECISION_WAIT_MS;
  let latest: string | undefined;
  do {
    latest = [...(await term.screen()).matchAll(DECISION_LINE)][0]?.[1];
    if (latest === expected) return latest;
    await new Promise((resolve) => setTimeout(resolve, 250));
  } while (Date.now() < deadline);
  return latest;
}

test('under up: membership columns, the monitor panel, and add / promote / remove / transfer with confirmation', async (t) => {
  const { term: up, stop } = await openUp(t, 'members', { args: '--replicas 3' });

  await up.waitFor(/log in/, 90_000);
  await up.keys('F3');
  // up sets the monitor's target to the three voters it started: the leader's monitor says all is steady.
  const first = await up.waitFor(/(r\d)\s+running\s+leader\s+\d+\s+r\d\s+voter[\s\S]*\d\d:\d\d:\d\d r\d wait steady/, 60_000);
  t.regex(first, /monitor: decisions of the leader r\d, newest first/);
  t.notRegex(first, /advisory/);
  t.regex(first, /id\s+process\s+role\s+term\s+leader\s+kind\s+commit\s+applied\s+match\s+lag\s+reach\s+contact\s+digest\s+health\s+monitor/);
  const rows = first.split('\n').map((l) => l.replace(/^│/, '')).filter((l) => /^r\d\s+running/.test(l));
  const leader = /^(r\d)/.exec(rows.find((l) => /running\s+leader\s/.test(l)) ?? '')?.[1];
  const followerIndex = rows.findIndex((l) => /running\s+follower\s/.test(l));
  const follower = /^(r\d)/.exec(rows[followerIndex] ?? '')?.[1];
  t.truthy(leader && follower, first);

  // Removing a voter of three is refused at once, with the message `members remove` prints.
  await select(up, followerIndex);
  await up.keys('x');
  await up.waitFor(new RegExp(`remove ${follower}: refused: removing ${follower} would leave 2 voters; at least 3 are needed`));

  // Leadership moves to the selected follower after a confirmation.
  await up.keys('l');
  await up.waitFor(new RegExp(`Transfer leadership to ${follower}\\?`));
  await up.keys('y');
  await up.waitFor(new RegExp(`transfer ${follower}: ${follower} leads now`), 30_000);
  await up.waitFor(new RegExp(`leader ${follower} · term`), 10_000);

  // A new replica joins as a learner; up does not run it, so it shows as external and never heard from.
  await up.keys('a');
  await up.waitFor(/Id of the new replica/);
  await up.type('r6');
  await up.keys('Enter');
  await up.waitFor(/Add r6 as a learner\?/);
  await up.keys('y');
  await up.waitFor(/add r6: r6 added as a learner/, 30_000);
  const added = await up.waitFor(/r6\s+external\s+-\s+-\s+-\s+learner.*\s+no\s+never\s[\s\S]*r\d wait grace \(silent: r6/, 30_000);
  saveScreen('dashboard-members', added);

  // Promoting it is refused (it has not caught up); removing it is cancelled with n, then made with y.
  await select(up, 3);
  await up.keys('p');
  await up.waitFor(/promote r6: refused: r6 has not caught up: never heard from in this term/);
  await up.keys('x');
  await up.waitFor(/Remove r6 from the replica set\?/);
  await up.keys('n');
  await up.waitFor(/remove r6: cancelled/);
  await up.keys('x');
  await up.waitFor(/Remove r6 from the replica set\?/);
  await up.keys('y');
  await up.waitFor(/remove r6: r6 removed/, 30_000);
  // No longer in the configuration; still polled (the dashboard keeps every id it has seen), never answering.
  await up.waitFor(/r6\s+external\s+-\s+-\s+-\s+-\s.*no answer\s+not a member/, 10_000);
  // The leader's newest decision goes back to steady once the removal is committed (a few may come between).
  t.is(await latestDecision(up, 'wait steady'), 'wait steady');

  await stop();
});
