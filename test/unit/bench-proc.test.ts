/**
 * Reading /proc for `quorumchat bench` (cli/bench/proc.ts): the parsers on
 * fixed texts, and the readers on this very process.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { parseProcStat, parseVmRssKiB, readProcessCpu, readRss } from '../../cli/bench/proc.ts';

// A real line's shape (proc(5)); the command name holds a space and a ')' to show why fields are counted from the last one.
const STAT =
  '4242 (node (r1) x) S 4200 4242 4200 0 -1 4194560 21817 0 0 0 1234 567 0 0 20 0 11 0 98765 1097043968 36512 18446744073709551615 1 1 0 0 0 0 0 16781312 134235650 0 0 0 17 1 0 0 0 0 0';

test('parseProcStat takes utime+stime (fields 14, 15) and starttime (field 22)', (t) => {
  t.deepEqual(parseProcStat(4242, STAT), { pid: 4242, cpuTicks: 1234 + 567, startTicks: 98765 });
});

test('parseProcStat refuses a text that is not a stat line', (t) => {
  t.throws(() => parseProcStat(1, 'no parentheses here'), { instanceOf: SyntaxError });
  t.throws(() => parseProcStat(1, '1 (x) S 0 0'), { instanceOf: SyntaxError });
});

test('parseVmRssKiB reads VmRSS; a process without one (zombie, kernel thread) is null', (t) => {
  t.is(parseVmRssKiB('Name:\tnode\nVmPeak:\t 1200000 kB\nVmRSS:\t  146052 kB\nRssAnon:\t 100000 kB\n'), 146_052);
  t.is(parseVmRssKiB('Name:\tkworker/0:1\nState:\tI (idle)\n'), null);
});

test('the readers see this process and skip a pid that does not exist', (t) => {
  if (!existsSync('/proc/self/stat')) {
    t.pass('no /proc on this system');
    return;
  }
  const [self, ...rest] = readProcessCpu([process.pid, 2 ** 22 + 1]);
  t.is(rest.length, 0);
  t.is(self?.pid, process.pid);
  t.true((self?.cpuTicks ?? -1) >= 0);
  const rss = readRss(new Map([['me', process.pid], ['gone', 2 ** 22 + 1]]));
  t.deepEqual([...rss.keys()], ['me']);
  t.true((rss.get('me') ?? 0) > 1_024, 'a Node process holds more than a MiB');
});
