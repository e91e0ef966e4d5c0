/**
 * DVC's remotes, from `.dvc/config` (committed) and `.dvc/config.local` (per machine; it wins key
 * by key, as in DVC). The files are configobj INI:
 *
 *   [core]
 *       remote = storage
 *   ['remote "storage"']            # DVC writes this; [remote "storage"] is read too
 *       url = s3://bucket/path      # or a path, relative to .dvc/, or https://...
 *       endpointurl = http://minio:9000
 *
 * Remotes found here join mlbuild's own (`.mlbuild/config.yaml` wins on a name clash) with the
 * DVC layout (remote/dvc-objects.ts); `core.remote` here is the default only when mlbuild's
 * config names none. Keys mlbuild does not use are ignored; an unparseable line is a located
 * error. It reads files only.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ProjectConfig, RemoteConfig } from '../config/project-config.js';
import type { Diagnostic } from '../report/diagnostic.js';
import { locate } from '../report/diagnostic.js';
import { type Result, ok, err } from '../util/result.js';

export interface DvcConfig {
  readonly remote?: string;
  readonly remotes: ReadonlyMap<string, RemoteConfig>;
}

const unquote = (v: string): string => (/^(['"]).*\1$/.test(v) ? v.slice(1, -1) : v);

/** Parses one file's text into `sections` (later files overwrite keys). */
export function parseDvcConfigText(text: string, display: string, sections: Map<string, Map<string, string>>, diags: Diagnostic[]): void {
  let current: Map<string, string> | undefined;
  let offset = 0;
  for (const rawLine of text.split('\n')) {
    const at = offset;
    offset += rawLine.length + 1;
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(.*)\]$/.exec(line);
    if (section) {
      const name = unquote(section[1]!.trim()).replace(/\s+/g, ' ');
      current = sections.get(name) ?? new Map<string, string>();
      sections.set(name, current);
      continue;
    }
    const kv = /^([A-Za-z0-9_.-]+)\s*=\s*(.*)$/.exec(line);
    if (!kv || !current) {
      diags.push({ severity: 'error', code: 'bad-dvc-config', message: `${display}: cannot read this line`, location: locate(display, text, at), hint: "DVC's config holds [section] headers and 'key = value' lines; fix it with `dvc remote modify` or by hand" });
      continue;
    }
    current.set(kv[1]!.toLowerCase(), unquote(kv[2]!.trim()));
  }
}

/** Reads `.dvc/config` and `.dvc/config.local` under `root`; neither file is no error. */
export function readDvcConfig(root: string, displayCwd: string): Result<DvcConfig, Diagnostic[]> {
  const sections = new Map<string, Map<string, string>>();
  const diags: Diagnostic[] = [];
  const dvcDir = path.join(root, '.dvc');
  for (const name of ['config', 'config.local']) {
    const abs = path.join(dvcDir, name);
    let text: string;
    try {
      text = fs.readFileSync(abs, 'utf8');
    } catch {
      continue;
    }
    parseDvcConfigText(text, path.relative(displayCwd, abs) || abs, sections, diags);
  }
  if (diags.length > 0) return err(diags);
  const remotes = new Map<string, RemoteConfig>();
  for (const [section, keys] of sections) {
    const m = /^remote "(.+)"$/.exec(section);
    if (!m) continue;
    const url = keys.get('url');
    if (!url) continue;
    // A local path in DVC's config is relative to the .dvc/ folder that holds it.
    const resolved = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(url) ? url : path.resolve(dvcDir, url);
    const endpoint = keys.get('endpointurl');
    const region = keys.get('region');
    const profile = keys.get('profile');
    const jobs = Number(keys.get('jobs'));
    remotes.set(m[1]!, {
      name: m[1]!,
      url: resolved,
      layout: 'dvc',
      ...(endpoint ? { endpointUrl: endpoint } : {}),
      ...(region ? { region } : {}),
      ...(profile ? { profile } : {}),
      ...(Number.isInteger(jobs) && jobs > 0 ? { jobs } : {}),
    });
  }
  const core = sections.get('core')?.get('remote');
  return ok({ ...(core ? { remote: core } : {}), remotes });
}

/** mlbuild's config with DVC's remotes added (mlbuild's own win on a name clash). */
export function withDvcRemotes(config: ProjectConfig, dvc: DvcConfig): ProjectConfig {
  if (dvc.remotes.size === 0) return config;
  const remotes = new Map(config.remotes);
  for (const [name, r] of dvc.remotes) if (!remotes.has(name)) remotes.set(name, r);
  const core = config.core.remote === undefined && dvc.remote !== undefined && remotes.has(dvc.remote) ? { ...config.core, remote: dvc.remote } : config.core;
  return { ...config, core, remotes };
}
