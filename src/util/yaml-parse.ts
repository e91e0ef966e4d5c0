/**
 * `yaml`'s plain parse, for modules that import it dynamically (`await import('./yaml-parse.js')`)
 * so that the 260 KB yaml bundle chunk is compiled only when a YAML file is really read: a dynamic
 * import('yaml') of the bundled package lacks its named exports, this module's are its own.
 */
import { parse } from 'yaml';

/** The document of `text` as plain JS; throws on invalid YAML. */
export function parseYaml(text: string): unknown {
  return parse(text) as unknown;
}
