/**
 * Plot data files -> a list of records, by extension: JSON (a list of records, or a map holding
 * one, as DVC reads `{"roc": [...]}`; Python's NaN/Infinity accepted), YAML (the same shapes), CSV
 * and TSV (a header row, numbers cast). Images (`imageType`) are not parsed: they are shown as they are. Pure: takes the text, returns the records or the reason they cannot be plotted. It does
 * not read files (the command does, at each revision) and does not know about templates.
 */
import { parse as parseYaml } from 'yaml';
import { parse as parseCsv } from 'csv-parse/sync';
import { type Result, err, ok } from '../util/result.js';
import { parseLenientJson } from '../metrics/lenient-json.js';

export type PlotRecord = Readonly<Record<string, unknown>>;

export const DATA_EXTENSIONS = ['.json', '.yaml', '.yml', '.csv', '.tsv'] as const;

/** Image plots (DVC shows them as they are, one per revision): extension -> MIME type. */
export const IMAGE_TYPES: Readonly<Record<string, string>> = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.svg': 'image/svg+xml', '.gif': 'image/gif' };

/** The MIME type of an image plot file, or undefined when `file` is not an image. */
export function imageType(file: string): string | undefined {
  const dot = file.lastIndexOf('.');
  return dot === -1 ? undefined : IMAGE_TYPES[file.slice(dot).toLowerCase()];
}

const isRecord = (v: unknown): v is PlotRecord => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The records of a parsed JSON/YAML document: the list itself, or the first list of records in a map. */
function recordsOf(doc: unknown): PlotRecord[] | undefined {
  if (Array.isArray(doc)) return doc.every(isRecord) ? doc : undefined;
  if (isRecord(doc)) {
    for (const v of Object.values(doc)) if (Array.isArray(v) && v.length > 0 && v.every(isRecord)) return v;
  }
  return undefined;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const NOT_A_NUMBER = /^[+-]?nan$/i;
const INFINITE = /^([+-]?)(inf|infinity)$/i;

/** A cell as a number when it is one, including Python's `nan`, `inf`, `-inf` (csv.writer of floats). */
function cell(value: string): unknown {
  if (NUMBER.test(value)) return Number(value);
  if (NOT_A_NUMBER.test(value)) return NaN;
  const inf = INFINITE.exec(value);
  if (inf) return inf[1] === '-' ? -Infinity : Infinity;
  return value;
}

function delimited(text: string, delimiter: string): PlotRecord[] {
  // Numeric cells become numbers, so a CSV plots like the JSON it was exported from.
  return parseCsv(text, { columns: true, delimiter, cast: (v, ctx) => (ctx.header ? v : cell(v)), skip_empty_lines: true, trim: true, bom: true }) as PlotRecord[];
}

/** The extension `file` is read by, or undefined when it is not a data file we plot. */
export function dataFormat(file: string): (typeof DATA_EXTENSIONS)[number] | undefined {
  const lower = file.toLowerCase();
  return DATA_EXTENSIONS.find((ext) => lower.endsWith(ext));
}

/** Parses a plot data file's text; the error is one line saying what is wrong and what is expected. */
export function parsePlotData(text: string, file: string): Result<PlotRecord[], string> {
  const format = dataFormat(file);
  if (format === undefined) return err(`cannot plot '${file}': data files must end in ${DATA_EXTENSIONS.join(', ')}`);
  let records: PlotRecord[] | undefined;
  try {
    if (format === '.csv') records = delimited(text, ',');
    else if (format === '.tsv') records = delimited(text, '\t');
    else records = recordsOf(format === '.json' ? parseLenientJson(text) : (parseYaml(text) as unknown));
  } catch (e) {
    return err(`cannot parse: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`);
  }
  if (records === undefined) return err('expected a list of records ([{"x": 1, "y": 2}, ...]) or a map holding one ({"key": [...]})');
  return ok(records);
}
