/**
 * The output layer: calicoctl-style ASCII tables (cli-table3, centred columns, no separators
 * between data rows), pretty JSON for `-o json`, and colour only on a terminal without NO_COLOR.
 */
import Table from 'cli-table3';
import type { Io } from './io.js';

export type OutputFormat = 'table' | 'json';

const ASCII = {
  top: '-', 'top-mid': '+', 'top-left': '+', 'top-right': '+',
  bottom: '-', 'bottom-mid': '+', 'bottom-left': '+', 'bottom-right': '+',
  left: '|', 'left-mid': '+', mid: '-', 'mid-mid': '+',
  right: '|', 'right-mid': '+', middle: '|',
};

export interface TableOptions {
  /** minimum width of a column including its one-space padding on both sides */
  minWidths?: (number | undefined)[];
}

/** Renders a table like calicoctl's: header row framed by rules, data rows without rules between. */
export function renderTable(head: string[], rows: string[][], opts: TableOptions = {}): string {
  const widths = head.map((h, i) => {
    const natural = Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[i] ?? ''))) + 2;
    return Math.max(natural, opts.minWidths?.[i] ?? 0);
  });
  const table = new Table({
    head,
    chars: ASCII,
    style: { head: [], border: [], 'padding-left': 1, 'padding-right': 1 },
    colAligns: head.map(() => 'center' as const),
    colWidths: widths,
    wordWrap: false,
  });
  for (const r of rows) table.push(r);
  // cli-table3 draws a rule after every row; keep the top, the header rule and the bottom only.
  const lines = table.toString().split('\n');
  const kept = lines.filter((line, i) => i <= 2 || i === lines.length - 1 || !line.startsWith('+'));
  return kept.join('\n') + '\n';
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
const visibleLength = (s: string): number => s.replace(ANSI, '').length;

/** `-o json`: two-space indented, one trailing newline. */
export const renderJson = (value: unknown): string => JSON.stringify(value, null, 2) + '\n';

export type Colour = 'red' | 'green' | 'yellow' | 'bold';
const CODES: Record<Colour, [number, number]> = { red: [31, 39], green: [32, 39], yellow: [33, 39], bold: [1, 22] };

/** Colour on a terminal unless NO_COLOR is set (any non-empty value, https://no-color.org). */
export function colourEnabled(io: Io): boolean {
  return io.isTTY && !io.env.NO_COLOR;
}

export type Paint = (colour: Colour, text: string) => string;

export function painter(enabled: boolean): Paint {
  return enabled ? (c, t) => `\u001b[${CODES[c][0]}m${t}\u001b[${CODES[c][1]}m` : (_c, t) => t;
}
