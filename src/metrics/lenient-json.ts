/**
 * JSON as Python's `json` module writes it: strict JSON plus the bare tokens `NaN`, `Infinity` and
 * `-Infinity` (json.dump's default `allow_nan=True`; DVCLive's ROC files hold `Infinity` thresholds
 * with current scikit-learn). Strict JSON is parsed by JSON.parse; only a document it refuses is
 * re-read by JSON5, which accepts those tokens as the numbers NaN and ±Infinity.
 *
 * The other direction, `toJson`, writes non-finite numbers as the strings "NaN", "Infinity" and
 * "-Infinity": strict JSON cannot hold them, and JSON.stringify's `null` would lose which one it was.
 */
import JSON5 from 'json5';

export function parseLenientJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (strict) {
    try {
      return JSON5.parse(text) as unknown;
    } catch (loose) {
      // The strict parser's message is the familiar one; JSON5's line and column say where (Node 20's do not).
      const at = loose as { lineNumber?: number; columnNumber?: number };
      throw Object.assign(strict as Error, { lineNumber: at.lineNumber, columnNumber: at.columnNumber });
    }
  }
}

/** JSON.stringify with NaN/Infinity/-Infinity written as strings (see the module comment). */
export function toJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), indent);
}
