/**
 * `mlbuild remote add|remove|list|default|modify`: the remotes in `.mlbuild/config.yaml` (shared,
 * committed) or, with `--local`, `.mlbuild/config.local.yaml` (git-ignored: personal profiles,
 * mount points). Values are checked before anything is written; credentials are never stored.
 */
import fs from 'node:fs';
import path from 'node:path';
import { runCommand, type CommandResult, type GlobalOptions } from '../context.js';
import { ok, err } from '../../util/result.js';
import { CONFIG_DIR, CONFIG_FILE, LOCAL_CONFIG_FILE, readProjectConfig, setConfigValue, type ProjectConfig } from '../../config/project-config.js';
import { parseRemoteUrl } from '../../remote/remote-url.js';
import { chooseRemote } from '../../remote/remote.js';
import type { Project } from '../../project.js';
import type { Terminal } from '../../report/terminal.js';
import type { Diagnostic } from '../../report/diagnostic.js';
import { EXIT_OK } from '../../exit-codes.js';

const KEYS = ['url', 'endpoint_url', 'region', 'profile', 'jobs'] as const;
type Key = (typeof KEYS)[number];

const usage = (message: string, hint: string): Diagnostic => ({ severity: 'error', code: 'usage', message, hint });

/** Runs `body` with the validated config; an invalid config file, or what `body` refuses, are its diagnostics (located, exit 2). */
function withConfig(g: GlobalOptions, body: (project: Project, config: ProjectConfig, term: Terminal) => Promise<Diagnostic[] | undefined>): Promise<number> {
  return runCommand(g, async ({ project, term }): Promise<CommandResult> => {
    const config = await readProjectConfig(project.root, project.displayCwd);
    if (!config.ok) return config;
    const problems = await body(project, config.value, term);
    return problems && problems.length > 0 ? err(problems) : ok(EXIT_OK);
  });
}

/** The value to store for `key`, or why it is not acceptable. */
function checkValue(key: Key, value: string, what: string): { value: string | number } | { problem: Diagnostic } {
  if (key === 'url') {
    const r = parseRemoteUrl(value, '/');
    return r.ok ? { value } : { problem: usage(`${what}: ${r.error.message}`, r.error.hint) };
  }
  if (key === 'jobs') {
    return /^\d+$/.test(value) && Number(value) >= 1 ? { value: Number(value) } : { problem: usage(`${what} must be a whole number >= 1 (got '${value}')`, 'e.g. 16') };
  }
  if (key === 'endpoint_url' && !/^https?:\/\/[^/\s]+/.test(value)) {
    return { problem: usage(`${what} must be an http:// or https:// URL (got '${value}')`, 'e.g. http://127.0.0.1:8080 or https://s3.example.org') };
  }
  return value === '' ? { problem: usage(`${what} must not be empty`, 'give a value, or use --unset') } : { value };
}

const fileOf = (local: boolean): string => path.join(CONFIG_DIR, local ? LOCAL_CONFIG_FILE : CONFIG_FILE);
const validName = (name: string): boolean => /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name);

export function remoteAddCommand(g: GlobalOptions, a: { name: string; url: string; default: boolean; local: boolean; force: boolean }): Promise<number> {
  return withConfig(g, async (project, config, term) => {
    if (!validName(a.name)) return [usage(`'${a.name}' is not a valid remote name`, 'use letters, digits, dots, hyphens and underscores, e.g. storage')];
    const checked = checkValue('url', a.url, `the URL of remote '${a.name}'`);
    if ('problem' in checked) return [checked.problem];
    if (config.remotes.has(a.name) && !a.force) {
      return [usage(`remote '${a.name}' already exists (${config.remotes.get(a.name)!.url})`, `use 'mlbuild remote modify ${a.name} url ${a.url}', or add --force to replace it`)];
    }
    if (a.force) await setConfigValue(project.root, ['remote', a.name], undefined, { local: a.local });
    await setConfigValue(project.root, ['remote', a.name, 'url'], a.url, { local: a.local });
    if (a.default) await setConfigValue(project.root, ['core', 'remote'], a.name, { local: a.local });
    term.out(`Added remote '${a.name}' (${a.url}) to ${fileOf(a.local)}${a.default ? ' as the default' : ''}\n`);
    return undefined;
  });
}

export function remoteRemoveCommand(g: GlobalOptions, a: { name: string }): Promise<number> {
  return withConfig(g, async (project, config, term) => {
    const known = chooseRemote(config, a.name);
    if (!known.ok) return known.error;
    for (const local of [false, true]) {
      if (!fs.existsSync(path.join(project.root, fileOf(local)))) continue;
      await setConfigValue(project.root, ['remote', a.name], undefined, { local });
      if (config.core.remote === a.name) await setConfigValue(project.root, ['core', 'remote'], undefined, { local });
    }
    term.out(`Removed remote '${a.name}'${config.core.remote === a.name ? ' (it was the default; there is none now)' : ''}\n`);
    return undefined;
  });
}

export function remoteListCommand(g: GlobalOptions, a: { json: boolean }): Promise<number> {
  return withConfig(g, (_project, config, term) => {
    const rows = [...config.remotes.values()].map((r) => ({
      name: r.name,
      url: r.url,
      default: config.core.remote === r.name,
      ...(r.endpointUrl ? { endpoint_url: r.endpointUrl } : {}),
      ...(r.region ? { region: r.region } : {}),
      ...(r.profile ? { profile: r.profile } : {}),
      ...(r.jobs ? { jobs: r.jobs } : {}),
    }));
    if (a.json) term.out(JSON.stringify({ version: 1, remotes: rows }, null, 2) + '\n');
    else if (rows.length === 0) term.out("No remotes. Add one with 'mlbuild remote add -d NAME URL'.\n");
    else for (const r of rows) term.out(`${r.name}\t${r.url}${r.endpoint_url ? `\t(endpoint ${r.endpoint_url})` : ''}${r.default ? '\t(default)' : ''}\n`);
    return Promise.resolve(undefined);
  });
}

export function remoteDefaultCommand(g: GlobalOptions, a: { name: string; local: boolean }): Promise<number> {
  return withConfig(g, async (project, config, term) => {
    const known = chooseRemote(config, a.name);
    if (!known.ok) return known.error;
    await setConfigValue(project.root, ['core', 'remote'], a.name, { local: a.local });
    term.out(`Remote '${a.name}' is now the default (${fileOf(a.local)})\n`);
    return undefined;
  });
}

export function remoteModifyCommand(g: GlobalOptions, a: { name: string; key: string; value: string | undefined; local: boolean; unset: boolean }): Promise<number> {
  return withConfig(g, async (project, config, term) => {
    const known = chooseRemote(config, a.name);
    if (!known.ok) return known.error;
    if (!(KEYS as readonly string[]).includes(a.key)) return [usage(`'${a.key}' is not a remote setting`, `use one of ${KEYS.join(', ')} (credentials belong in the AWS environment or profile files)`)];
    const key = a.key as Key;
    if (a.unset) {
      if (key === 'url') return [usage('a remote cannot be without a url', `use 'mlbuild remote remove ${a.name}' to remove it`)];
      await setConfigValue(project.root, ['remote', a.name, key], undefined, { local: a.local });
      term.out(`Unset remote.${a.name}.${key} in ${fileOf(a.local)}\n`);
      return undefined;
    }
    if (a.value === undefined) return [usage(`give a value for remote.${a.name}.${key}`, `e.g. 'mlbuild remote modify ${a.name} ${key} VALUE', or --unset`)];
    const checked = checkValue(key, a.value, `remote.${a.name}.${key}`);
    if ('problem' in checked) return [checked.problem];
    await setConfigValue(project.root, ['remote', a.name, key], checked.value, { local: a.local });
    term.out(`Set remote.${a.name}.${key} = ${a.value} in ${fileOf(a.local)}\n`);
    return undefined;
  });
}
