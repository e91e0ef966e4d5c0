/** Small, deterministic Markdown builders for the report and the model card. */

export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const line = (cells: readonly (string | number)[]): string => `| ${cells.map((c) => String(c).replace(/\|/g, '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** 0.86577 -> "86.6" (percent, one decimal); null/undefined -> "–". */
export const pct = (x: number | null | undefined): string => (x === null || x === undefined ? '–' : (100 * x).toFixed(1));

export const fixed = (x: number | null | undefined, digits = 3): string => (x === null || x === undefined ? '–' : x.toFixed(digits));

export const interval = (ci: { low: number; high: number } | undefined): string => (ci ? `${pct(ci.low)}–${pct(ci.high)}` : '–');
