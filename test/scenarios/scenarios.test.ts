// Runs every transcript in testdata/: each `> command` line is executed and
// its printed result compared with the lines below it in the file.
// UPDATE_SCENARIOS=1 rewrites the expected output (review the diff: it is the spec).
import test from 'ava';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Cluster } from './harness.ts';

const dir = join(fileURLToPath(new URL('.', import.meta.url)), 'testdata');
const update = process.env.UPDATE_SCENARIOS === '1';

interface Block {
  readonly comments: string[];
  readonly command: string;
  readonly expected: string[];
}

function parse(text: string): Block[] {
  const blocks: Block[] = [];
  let comments: string[] = [];
  let current: { comments: string[]; command: string; expected: string[] } | null = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('> ')) {
      current = { comments, command: line.slice(2).trim(), expected: [] };
      blocks.push(current);
      comments = [];
    } else if (line.startsWith('#')) {
      comments.push(line);
      current = null;
    } else if (line.trim() === '') {
      current = null;
    } else if (current !== null) {
      current.expected.push(line);
    }
  }
  return blocks;
}

function render(blocks: readonly Block[], outputs: readonly string[][]): string {
  return `${blocks.map((b, i) => [...b.comments, `> ${b.command}`, ...outputs[i]!].join('\n')).join('\n\n')}\n`;
}

for (const file of readdirSync(dir).filter((f) => f.endsWith('.txt')).sort()) {
  test(file.replace(/\.txt$/, ''), (t) => {
    const path = join(dir, file);
    const blocks = parse(readFileSync(path, 'utf8'));
    const cluster = new Cluster();
    const outputs = blocks.map((b) => cluster.run(b.command));
    if (update) {
      writeFileSync(path, render(blocks, outputs));
      t.pass();
      return;
    }
    blocks.forEach((b, i) => t.deepEqual(outputs[i], b.expected, `${file}: after "> ${b.command}"`));
  });
}
