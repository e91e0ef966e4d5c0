/**
 * Plot data files -> a list of records, by extension: JSON (a list of records, or a map holding
 * one, as DVC reads `{"roc": [...]}`), YAML (the same shapes), CSV and TSV (a header row, numbers
 * cast). Pure: takes the text, returns the records or the reason they cannot be plotted. It does
 * not read files (the command does, at each revision) and does not know about templates.
 */
import { parse as parseYaml } from 'yaml';
import { parse as parseCsv } from 'csv-parse/sync';
import { type Result, err, ok } from '../util/result.js';

export type PlotRecord = Readonly<Record<string, unknown>>;

export const DATA_EXTENSIONS = ['.json', '.yaml', '.yml', '.csv', '.tsv'] as const;

const isRecord = (v: unknown): v is PlotRecord => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The records of a parsed JSON/YAML document: the list itself, or the first list of records in a map. */
function recordsOf(doc: unknown): PlotRecord[] | undefined {
  if (Array.isArray(doc)) return doc.every(isRecord) ? doc : undefined;
  if (isRecord(doc)) {
    for (const v of Object.values(doc)) if (Array.isArray(v) && v.length > 0 && v.every(isRecord)) return v;
  }
  return undefined;
}

function delimited(text: string, delimiter: string): PlotRecord[] {
  // cast: numeric cells become numbers, so a CSV plots like the JSON it was exported from.
  return parseCsv(text, { columns: true, delimiter, cast: true, skip_empty_lines: true, trim: true, bom: true }) as PlotRecord[];
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
    else records = recordsOf(format === '.json' ? (JSON.parse(text) as unknown) : (parseYaml(text) as unknown));
  } catch (e) {
    return err(`cannot parse: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`);
  }
  if (records === undefined) return err('expected a list of records ([{"x": 1, "y": 2}, ...]) or a map holding one ({"key": [...]})');
  return ok(records);
}
