/*
 * Aligned text tables. Widths are measured on the plain text, and colour is applied after
 * padding, so escape codes never throw the alignment off.
 */

import type { Style } from './style.js';

export type Colour = Exclude<keyof Style, 'enabled'>;

export interface Column {
  readonly header: string;
  /** Numbers read best right-aligned. Default left. */
  readonly align?: 'left' | 'right';
  readonly colour?: Colour;
}

export interface TableOptions {
  /** Print the header row (bold). Default true. */
  readonly header?: boolean;
  /** Spaces before every line. Default 0. */
  readonly indent?: number;
  /** Spaces between columns. Default 2. */
  readonly gap?: number;
}

/** Columns measured in code points: good enough for names, numbers and arrows (no wide CJK). */
export function displayWidth(text: string): number {
  let width = 0;
  for (const _ of text) width++;
  return width;
}

/** The table as lines, without trailing spaces. Rows shorter than the columns get empty cells. */
export function renderTable(
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
  style: Style,
  options: TableOptions = {},
): string[] {
  const showHeader = options.header ?? true;
  const indent = ' '.repeat(options.indent ?? 0);
  const gap = ' '.repeat(options.gap ?? 2);
  const all = showHeader ? [columns.map((column) => column.header), ...rows] : rows;
  const widths = columns.map((_, index) => Math.max(0, ...all.map((row) => displayWidth(row[index] ?? ''))));
  // A column that is empty in every row (header included) takes no room.
  const shown = columns.map((_, index) => (widths[index] ?? 0) > 0);

  const line = (row: readonly string[], isHeader: boolean): string => {
    const cells: string[] = [];
    const last = lastShown(shown);
    columns.forEach((column, index) => {
      if (!shown[index]) return;
      const text = row[index] ?? '';
      const pad = ' '.repeat((widths[index] ?? 0) - displayWidth(text));
      const paint = isHeader ? style.bold : column.colour === undefined ? undefined : style[column.colour];
      const painted = paint === undefined ? text : paint(text);
      if (column.align === 'right') cells.push(pad + painted);
      else cells.push(index === last ? painted : painted + pad);
    });
    return (indent + cells.join(gap)).trimEnd();
  };

  const lines = rows.map((row) => line(row, false));
  const headers = columns.map((column) => column.header);
  return showHeader ? [line(headers, true), ...lines] : lines;
}

function lastShown(shown: readonly boolean[]): number {
  for (let index = shown.length - 1; index >= 0; index--) if (shown[index]) return index;
  return -1;
}
