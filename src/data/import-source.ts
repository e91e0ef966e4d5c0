/**
 * The source of `dvc import`ed data: the repository (`repo.url`) at the pinned commit
 * (`rev_lock`), and the default DVC remote its `.dvc/config` names there. When the project's own
 * remote lacks an imported object, `pull`/`fetch` look there, by md5 and verified as any DVC
 * object. The repository is read with `git clone --bare --filter=blob:none` into a temp folder
 * (only the config blob is fetched), which is removed afterwards.
 *
 * It reads; it never updates the pointer (`dvc update` moves `rev_lock`, mlbuild does not).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { git, gitExit } from '../git/git.js';
import { parseDvcConfigText } from '../remote/dvc-config.js';
import { openRemote, type Remote } from '../remote/remote.js';
import type { Diagnostic } from '../report/diagnostic.js';
import type { ImportSource } from './pointer.js';

/** The source repository's default DVC remote, or why it cannot be had (a sentence). */
export async function openImportRemote(src: ImportSource): Promise<{ remote: Remote } | { problem: string }> {
  const rev = src.revLock ?? src.rev ?? 'HEAD';
  const where = `${src.url}@${rev.slice(0, 12)}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-import-'));
  try {
    // `--` keeps a url from a pointer file from being read as an option; no prompt for a password.
    const clone = await git(process.cwd(), ['clone', '-q', '--bare', '--filter=blob:none', '--no-tags', '--', src.url, tmp], { env: { GIT_TERMINAL_PROMPT: '0' }, timeoutMs: 120_000 });
    if (!clone.ok) return { problem: `cannot clone ${src.url}: ${clone.error[0]!.message}` };
    const sections = new Map<string, Map<string, string>>();
    const diags: Diagnostic[] = [];
    // A bare clone has no work tree, so a plain `git show` rather than a GitRepo.
    const config = await gitExit(tmp, ['show', '--end-of-options', `${rev}:.dvc/config`]);
    if (!config.ok) return { problem: `cannot read ${where}: ${config.error[0]!.message}` };
    if (config.value.code !== 0) return { problem: `${where} has no .dvc/config, so no remote to fetch from` };
    parseDvcConfigText(config.value.stdout, `${where}:.dvc/config`, sections, diags);
    if (diags.length > 0) return { problem: diags[0]!.message };
    const name = sections.get('core')?.get('remote');
    const url = name ? sections.get(`remote "${name}"`)?.get('url') : undefined;
    if (!name || !url) return { problem: `${where}: .dvc/config names no default remote` };
    if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(url) && !path.isAbsolute(url)) {
      // A path relative to that repository's .dvc/: meaningful only when the repository is a local folder.
      if (!fs.existsSync(src.url)) return { problem: `${where}: its remote '${name}' is a relative path (${url}), which only works in that repository` };
    }
    const resolved = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(url) || path.isAbsolute(url) ? url : path.resolve(src.url, '.dvc', url);
    const endpoint = sections.get(`remote "${name}"`)?.get('endpointurl');
    const opened = await openRemote({ name: `${name} of ${src.url}`, url: resolved, layout: 'dvc', ...(endpoint ? { endpointUrl: endpoint } : {}) }, tmp);
    if (!opened.ok) return { problem: opened.error[0]!.message };
    return { remote: opened.value };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
