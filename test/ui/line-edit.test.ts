import test from 'ava';
import fc from 'fast-check';
import { editLine, emptyLine, MAX_LINE_CHARS, renderLine, type KeyPress, type LineState } from '../../cli/tui/line-edit.ts';

const typeText = (line: LineState, text: string): LineState => [...text].reduce((l, ch) => editLine(l, { ch, full: ch }), line);

test('typing inserts at the cursor, editing keys move and delete', (t) => {
  let l = typeText(emptyLine, 'helo');
  l = editLine(l, { full: 'left' });
  l = typeText(l, 'l');
  t.deepEqual(l, { text: 'hello', cursor: 4 });
  l = editLine(l, { full: 'home' });
  l = editLine(l, { full: 'delete' });
  t.deepEqual(l, { text: 'ello', cursor: 0 });
  l = editLine(l, { full: 'end' });
  l = editLine(l, { full: 'backspace' });
  t.deepEqual(l, { text: 'ell', cursor: 3 });
  l = editLine(editLine(l, { full: 'left' }), { full: 'C-u' });
  t.deepEqual(l, { text: 'l', cursor: 0 });
  t.deepEqual(editLine({ text: 'abc', cursor: 1 }, { full: 'C-k' }), { text: 'a', cursor: 1 });
});

test('control characters, tabs and modified keys never enter the line', (t) => {
  const l = { text: 'ab', cursor: 2 };
  t.is(editLine(l, { ch: '\t', full: 'tab' }), l);
  t.is(editLine(l, { ch: '\x1b', full: 'escape' }), l);
  t.is(editLine(l, { ch: 'n', full: 'C-n' }), l);
  t.is(editLine(l, { ch: 'x', full: 'M-x' }), l);
  t.is(editLine({ text: '', cursor: 0 }, { full: 'backspace' }).text, '');
});

test('characters outside the BMP are one cursor step', (t) => {
  const l = typeText(emptyLine, 'a😀b');
  t.deepEqual(l, { text: 'a😀b', cursor: 3 });
  t.deepEqual(editLine(editLine(l, { full: 'left' }), { full: 'backspace' }), { text: 'ab', cursor: 1 });
});

test('the line never exceeds its limit and the cursor always stays inside it', (t) => {
  const key = fc.oneof(
    fc.string({ maxLength: 3 }).map((ch): KeyPress => ({ ch, full: ch })),
    fc.constantFrom<KeyPress>({ full: 'left' }, { full: 'right' }, { full: 'home' }, { full: 'end' }, { full: 'backspace' }, { full: 'delete' }, { full: 'C-u' }, { full: 'C-k' }),
  );
  fc.assert(
    fc.property(fc.array(key, { maxLength: 60 }), (keys) => {
      const l = keys.reduce(editLine, emptyLine);
      const length = [...l.text].length;
      return length <= MAX_LINE_CHARS && l.cursor >= 0 && l.cursor <= length;
    }),
  );
  const full = editLine({ text: 'x'.repeat(MAX_LINE_CHARS), cursor: MAX_LINE_CHARS }, { ch: 'y', full: 'y' });
  t.is(full.text.length, MAX_LINE_CHARS);
});

test('rendering masks passwords and scrolls to keep the cursor visible', (t) => {
  t.deepEqual(renderLine({ text: 'secret', cursor: 6 }, 20, true), { before: '••••••', atCursor: ' ', after: '' });
  const long = renderLine({ text: 'abcdefghij', cursor: 10 }, 5, false);
  t.is(long.before, 'ghij');
  t.is(long.atCursor, ' ');
  const middle = renderLine({ text: 'abcdefghij', cursor: 0 }, 5, false);
  t.deepEqual(middle, { before: '', atCursor: 'a', after: 'bcde' }, 'exactly width cells');
});
