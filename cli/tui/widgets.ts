/**
 * Small blessed building blocks shared by the views: a one-line input field
 * (line-edit.ts does the editing), modal dialogs (confirm, prompt, choose)
 * and the footer of key hints. Every modal resolves a promise and removes
 * itself, and gives focus back to whatever had it.
 */
import blessed from 'blessed';
import { editLine, emptyLine, renderLine, type LineState } from './line-edit.ts';

export type Parent = blessed.Widgets.Node;

export interface LineInputOptions {
  readonly parent: Parent;
  readonly top: number | string;
  readonly left: number | string;
  readonly width: number | string;
  readonly label?: string;
  readonly mask?: boolean;
  readonly placeholder?: string;
  readonly border?: boolean;
}

/** An input field: a focusable box that edits its own line and emits submit on Enter. */
export class LineInput {
  readonly box: blessed.Widgets.BoxElement;
  private line: LineState = emptyLine;
  private readonly mask: boolean;
  private readonly placeholder: string;
  private readonly submitHandlers: ((text: string) => void)[] = [];
  private readonly keyHandlers: ((full: string) => boolean)[] = [];

  constructor(options: LineInputOptions) {
    this.mask = options.mask === true;
    this.placeholder = options.placeholder ?? '';
    this.box = blessed.box({
      parent: options.parent,
      top: options.top,
      left: options.left,
      width: options.width,
      height: options.border === false ? 1 : 3,
      ...(options.label !== undefined ? { label: ` ${options.label} ` } : {}),
      border: options.border === false ? undefined : { type: 'line' },
      input: true,
      clickable: true,
      tags: true,
      style: { border: { fg: 'gray' }, focus: { border: { fg: 'cyan' } } },
    } as blessed.Widgets.BoxOptions);
    this.box.on('keypress', (ch: string | undefined, key: blessed.Widgets.Events.IKeyEventArg) => this.onKey(ch, key));
    this.box.on('click', () => this.box.focus());
    this.box.on('focus', () => this.draw());
    this.box.on('blur', () => this.draw());
    this.box.on('resize', () => this.draw());
    this.draw();
  }

  get value(): string {
    return this.line.text;
  }

  setValue(text: string): void {
    this.line = { text, cursor: [...text].length };
    this.draw();
  }

  clear(): void {
    this.setValue('');
  }

  focus(): void {
    this.box.focus();
  }

  onSubmit(handler: (text: string) => void): void {
    this.submitHandlers.push(handler);
  }

  /** A key the field does not edit with (Up, Escape, ...); return true when handled. */
  onOtherKey(handler: (full: string) => boolean): void {
    this.keyHandlers.push(handler);
  }

  private onKey(ch: string | undefined, key: blessed.Widgets.Events.IKeyEventArg): void {
    const full = key.full;
    if (full === 'enter' || full === 'return') {
      if (full === 'return') return; // blessed reports Enter as both; act once
      for (const h of this.submitHandlers) h(this.line.text);
      return;
    }
    const next = editLine(this.line, { ch, full });
    if (next !== this.line) {
      this.line = next;
      this.draw();
      return;
    }
    for (const h of this.keyHandlers) if (h(full)) return;
  }

  private draw(): void {
    // One cell short of the inner width: a line that fills it exactly would wrap in blessed.
    const width = typeof this.box.width === 'number' ? this.box.width - (this.box.border ? 2 : 0) - 1 : 40;
    const focused = this.box.screen?.focused === this.box;
    if (this.line.text === '' && !focused) {
      this.box.setContent(`{gray-fg}${blessed.escape(this.placeholder)}{/gray-fg}`);
    } else {
      const { before, atCursor, after } = renderLine(this.line, width, this.mask);
      const cursor = focused ? `{inverse}${blessed.escape(atCursor)}{/inverse}` : blessed.escape(atCursor);
      this.box.setContent(`${blessed.escape(before)}${cursor}${blessed.escape(after)}`);
    }
    this.box.screen?.render();
  }
}

/** Whether one of a view's dialogs is open: the view's own keys stay off until it closes. */
export class ModalGuard {
  private depth = 0;

  get open(): boolean {
    return this.depth > 0;
  }

  async run<T>(dialog: () => Promise<T>): Promise<T> {
    this.depth += 1;
    try {
      return await dialog();
    } finally {
      this.depth -= 1;
    }
  }
}

/** A centred modal box over everything; `close` removes it and restores focus. */
function modal(screen: blessed.Widgets.Screen, title: string, height: number, width = 60): { box: blessed.Widgets.BoxElement; close: () => void } {
  const previous = screen.focused;
  const box = blessed.box({
    parent: screen,
    top: 'center',
    left: 'center',
    width,
    height,
    label: ` ${title} `,
    border: { type: 'line' },
    tags: true,
    shadow: true,
    style: { border: { fg: 'yellow' }, bg: 'black' },
  });
  box.setFront();
  return {
    box,
    close: () => {
      box.destroy();
      if (previous && !previous.detached) previous.focus();
      screen.render();
    },
  };
}

/** One of a few labelled choices, picked by its key (or Escape for null). */
export function choose<K extends string>(
  screen: blessed.Widgets.Screen,
  title: string,
  message: string,
  choices: readonly { readonly key: string; readonly label: string; readonly value: K }[],
): Promise<K | null> {
  return new Promise((resolve) => {
    const lines = message.split('\n').length;
    const { box, close } = modal(screen, title, lines + 5);
    const hint = choices.map((c) => `{bold}${blessed.escape(c.key)}{/bold} ${blessed.escape(c.label)}`).join('   ');
    box.setContent(`\n ${blessed.escape(message).replaceAll('\n', '\n ')}\n\n ${hint}   {bold}Esc{/bold} cancel`);
    const catcher = blessed.box({ parent: box, width: 0, height: 0, input: true } as blessed.Widgets.BoxOptions);
    catcher.on('keypress', (ch: string | undefined, key: blessed.Widgets.Events.IKeyEventArg) => {
      if (key.full === 'escape') {
        close();
        resolve(null);
        return;
      }
      const picked = choices.find((c) => c.key.toLowerCase() === (ch ?? key.full).toLowerCase() || c.key === key.full);
      if (picked) {
        close();
        resolve(picked.value);
      }
    });
    catcher.focus();
    screen.render();
  });
}

/** Asks for one line of text (masked for passwords); null on Escape. */
export function prompt(screen: blessed.Widgets.Screen, title: string, message: string, options: { mask?: boolean; initial?: string } = {}): Promise<string | null> {
  return new Promise((resolve) => {
    const { box, close } = modal(screen, title, 8);
    box.setContent(`\n ${blessed.escape(message)}`);
    const input = new LineInput({ parent: box, top: 3, left: 1, width: 56, mask: options.mask === true });
    blessed.text({ parent: box, top: 6, left: 1, content: 'Enter ok   Esc cancel', style: { fg: 'gray' } });
    if (options.initial !== undefined) input.setValue(options.initial);
    input.onSubmit((text) => {
      close();
      resolve(text);
    });
    input.onOtherKey((full) => {
      if (full !== 'escape') return false;
      close();
      resolve(null);
      return true;
    });
    input.focus();
    screen.render();
  });
}

/** Picks one item of a list (Enter), or null on Escape. */
export function pickFromList(screen: blessed.Widgets.Screen, title: string, items: readonly string[]): Promise<string | null> {
  return new Promise((resolve) => {
    const height = Math.min(20, items.length + 4);
    const { box, close } = modal(screen, title, height, 40);
    const list = blessed.list({
      parent: box,
      top: 0,
      left: 0,
      width: '100%-2',
      height: height - 3,
      items: [...items],
      keys: true,
      vi: true,
      mouse: true,
      style: { selected: { inverse: true } },
    });
    blessed.text({ parent: box, bottom: 0, left: 1, content: 'Enter pick   Esc cancel', style: { fg: 'gray' } });
    list.on('select', (_item: unknown, index: number) => {
      close();
      resolve(items[index] ?? null);
    });
    list.key(['escape'], () => {
      close();
      resolve(null);
    });
    list.focus();
    screen.render();
  });
}

/** Wide enough for the longest help line (82 characters) plus the border. */
const HELP_WIDTH = 88;

/** A full-screen help text over everything; any key closes it. */
export function showHelp(screen: blessed.Widgets.Screen, title: string, text: string): Promise<void> {
  return new Promise((resolve) => {
    const lines = text.split('\n').length;
    const { box, close } = modal(screen, title, Math.min(lines + 5, Number(screen.height) - 2), Math.min(HELP_WIDTH, Number(screen.width) - 2));
    box.setContent(`\n${blessed.escape(text)}\n\n {gray-fg}any key closes this{/gray-fg}`);
    const catcher = blessed.box({ parent: box, width: 0, height: 0, input: true } as blessed.Widgets.BoxOptions);
    catcher.on('keypress', () => {
      close();
      resolve();
    });
    catcher.focus();
    screen.render();
  });
}

/** The footer's key hints: `[['Tab', 'focus'], ...]` → "Tab focus  ...". */
export function keyHints(hints: readonly (readonly [string, string])[]): string {
  return hints.map(([k, what]) => `{cyan-fg}{bold}${blessed.escape(k)}{/bold}{/cyan-fg} ${blessed.escape(what)}`).join('  ');
}
