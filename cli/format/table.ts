/**
 * Aligned plain-text tables for the terminal: a header row, a rule, then the
 * rows; numbers right-aligned, text left-aligned. No colours, so the output
 * pipes and diffs cleanly.
 */

export interface Column<Row> {
  readonly header: string;
  readonly value: (row: Row) => string | number | null | undefined;
  /** Default: right for numbers, left otherwise (decided per column from the first non-empty value). */
  readonly align?: 'left' | 'right';
}

/** Renders `rows` under `columns`; empty values show as '-'. */
export function formatTable<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): string {
  const cells = rows.map((row) => columns.map((c) => c.value(row)));
  const align = columns.map((c, i) => c.align ?? (cells.some((r) => typeof r[i] === 'number') ? 'right' : 'left'));
  const text = cells.map((r) => r.map((v) => (v === null || v === undefined || v === '' ? '-' : String(v))));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...text.map((r) => (r[i] ?? '').length)));
  const line = (values: readonly string[]): string =>
    values
      .map((v, i) => (align[i] === 'right' ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), line(widths.map((w) => '-'.repeat(w))), ...text.map(line)].join('\n');
}
