/**
 * A one-line text editor as a pure function of (line, key), used by every
 * input field of the terminal UI. The UI edits text itself rather than
 * through blessed's textbox, whose input mode swallows the global keys
 * (Tab, F1, Ctrl-N) and inserts a literal tab on focus changes.
 */

export interface LineState {
  readonly text: string;
  /** Cursor position in code points, 0..length. */
  readonly cursor: number;
}

/** The parts of a blessed key event the editor reads. */
export interface KeyPress {
  /** The character typed, if any. */
  readonly ch?: string | undefined;
  /** blessed's key name: 'left', 'backspace', 'C-u', ... */
  readonly full: string;
}

export const emptyLine: LineState = { text: '', cursor: 0 };

/** Longest text an input accepts; the protocol's longest field (a message) is 4,000 characters. */
export const MAX_LINE_CHARS = 4_000;

/** Applies one key; returns the same object when the key is not an editing key. */
export function editLine(line: LineState, key: KeyPress): LineState {
  const chars = [...line.text];
  const at = Math.min(Math.max(0, line.cursor), chars.length);
  switch (key.full) {
    case 'left':
    case 'C-b':
      return { text: line.text, cursor: Math.max(0, at - 1) };
    case 'right':
    case 'C-f':
      return { text: line.text, cursor: Math.min(chars.length, at + 1) };
    case 'home':
    case 'C-a':
      return { text: line.text, cursor: 0 };
    case 'end':
    case 'C-e':
      return { text: line.text, cursor: chars.length };
    case 'backspace':
    case 'C-h':
      if (at === 0) return line;
      chars.splice(at - 1, 1);
      return { text: chars.join(''), cursor: at - 1 };
    case 'delete':
      if (at >= chars.length) return line;
      chars.splice(at, 1);
      return { text: chars.join(''), cursor: at };
    case 'C-u':
      return { text: chars.slice(at).join(''), cursor: 0 };
    case 'C-k':
      return { text: chars.slice(0, at).join(''), cursor: at };
  }
  const typed = printable(key.ch);
  if (typed === '' || key.full.startsWith('C-') || key.full.startsWith('M-')) return line;
  const room = MAX_LINE_CHARS - chars.length;
  if (room <= 0) return line;
  const insert = [...typed].slice(0, room);
  chars.splice(at, 0, ...insert);
  return { text: chars.join(''), cursor: at + insert.length };
}

/** What the field shows: the text (masked for passwords) with the cursor cell marked, scrolled to fit `width`. */
export function renderLine(line: LineState, width: number, mask: boolean): { before: string; atCursor: string; after: string } {
  const chars = [...line.text].map((c) => (mask ? '•' : c));
  const at = Math.min(line.cursor, chars.length);
  const usable = Math.max(1, width);
  const start = Math.max(0, at - usable + 1);
  const visible = chars.slice(start, start + usable + 1);
  const rel = at - start;
  return { before: visible.slice(0, rel).join(''), atCursor: visible[rel] ?? ' ', after: visible.slice(rel + 1, usable).join('') };
}

/** Control characters (tab, escape sequences, newlines) never enter a line. */
function printable(ch: string | undefined): string {
  if (ch === undefined) return '';
  // eslint-disable-next-line no-control-regex
  return ch.replace(/[\u0000-\u001f\u007f]/g, '');
}
