/** `quorumchat members` exit codes: one per refusal, none shared with the other commands', all in --help. */
import test from 'ava';
import { ExitCode } from '../../cli/errors.ts';
import { REFUSAL_EXIT_CODES, REFUSAL_HELP } from '../../cli/commands/members-exit.ts';

test('every refusal has its own code; only "no leader" shares the common unavailable code', (t) => {
  const { noLeader, ...own } = REFUSAL_EXIT_CODES;
  t.is(noLeader, ExitCode.unavailable);
  const codes = Object.values(own);
  t.is(new Set(codes).size, codes.length);
  const shared = new Set<number>(Object.values(ExitCode));
  t.deepEqual(codes.filter((c) => shared.has(c)), []);
});

test('--help lists every code', (t) => {
  for (const code of Object.values(REFUSAL_EXIT_CODES)) t.regex(REFUSAL_HELP, new RegExp(`^\\s+${code}  `, 'm'));
});
