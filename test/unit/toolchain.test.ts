import test from 'ava';
import { execFileSync } from 'node:child_process';

test('the quorumchat command prints its help', (t) => {
  const out = execFileSync('node', ['cli/quorumchat.mjs', '--help'], { encoding: 'utf8' });
  t.regex(out, /Usage: quorumchat/);
});
