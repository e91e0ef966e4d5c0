/**
 * Strict reader for labelled TSV (`sentence<TAB>label`, label 0/1, optional header). It splits lines
 * on '\n' only and each line on its LAST tab, with no quoting: the UCI files contain `"` that CSV
 * readers take for field quotes (silently merging rows) and U+0085 that some readers take for a line
 * break. Anything malformed is an error naming the file and line, never a skipped row.
 */

export interface LabelledRow {
  readonly text: string;
  readonly label: 0 | 1;
  /** 1-based line in the source file, for error messages and row ids. */
  readonly line: number;
}

/** A problem with an input file; the data stage reports it and exits 2 (bad input, not a crash). */
export class DataError extends Error {
  override readonly name = 'DataError';
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    message: string,
  ) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${message}`);
  }
}

/** Decodes strictly: invalid UTF-8 is reported with its line, not replaced with U+FFFD. A BOM is dropped. */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new DataError(file, firstBadLine(bytes), 'is not valid UTF-8; convert it (e.g. iconv -f cp1252 -t utf-8) or check the download');
  }
}

/** The 1-based line holding the first invalid UTF-8 sequence ('\n' never occurs inside a valid one). */
function firstBadLine(bytes: Uint8Array): number | undefined {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let start = 0;
  for (let line = 1; start <= bytes.length; line++) {
    const nl = bytes.indexOf(0x0a, start);
    const end = nl === -1 ? bytes.length : nl;
    try {
      decoder.decode(bytes.subarray(start, end));
    } catch {
      return line;
    }
    if (nl === -1) break;
    start = nl + 1;
  }
  return undefined;
}

export interface TsvOptions {
  /** true: first line is a header; false: none; 'auto' (default): a first line whose label field reads `label`. */
  readonly header?: boolean | 'auto';
  /** Cleans each sentence (e.g. C1 repair, whitespace); applied before the empty-sentence check. */
  readonly clean?: (text: string) => string;
}

export function parseLabelledTsv(content: string, file: string, o: TsvOptions = {}): LabelledRow[] {
  const lines = content.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop(); // final newline
  const clean = o.clean ?? ((s: string) => s.trim());
  const rows: LabelledRow[] = [];
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const tab = line.lastIndexOf('\t');
    const labelField = tab === -1 ? '' : line.slice(tab + 1).trim();
    if (i === 0 && (o.header === true || (o.header !== false && labelField.toLowerCase() === 'label'))) return;
    if (line.trim() === '') throw new DataError(file, lineNo, 'empty line; every line must be `sentence<TAB>label`');
    if (tab === -1) throw new DataError(file, lineNo, 'no tab: expected `sentence<TAB>label` (missing label column)');
    if (labelField !== '0' && labelField !== '1') {
      throw new DataError(file, lineNo, `label must be 0 or 1, got ${JSON.stringify(labelField.slice(0, 20))}`);
    }
    const text = clean(line.slice(0, tab));
    if (text === '') throw new DataError(file, lineNo, 'empty sentence before the label');
    rows.push({ text, label: labelField === '1' ? 1 : 0, line: lineNo });
  });
  if (rows.length === 0) throw new DataError(file, undefined, 'has no data rows (empty file or header only)');
  return rows;
}
