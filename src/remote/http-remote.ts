/**
 * A read-only remote over HTTP(S), as DVC's `http`/`https` remotes (its get-started example's
 * storage is one): objects are fetched with GET and probed with HEAD below the URL. Pushing,
 * writing and listing are refused with a RemoteUnavailable that says so, since a plain web server
 * offers no upload or listing DVC or mlbuild could rely on.
 */
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { RemoteUnavailable, type Remote } from './remote.js';

export class HttpRemote implements Remote {
  readonly defaultJobs = 8;

  constructor(
    readonly name: string,
    readonly description: string,
    private readonly base: string,
  ) {}

  private url(key: string): string {
    return `${this.base}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }

  private async request(key: string, method: 'GET' | 'HEAD'): Promise<Response | undefined> {
    let res: Response;
    try {
      res = await fetch(this.url(key), { method, redirect: 'follow' });
    } catch (e) {
      const cause = (e as { cause?: { message?: string } }).cause?.message ?? (e as Error).message;
      throw new RemoteUnavailable(`remote '${this.name}': cannot reach ${this.base}: ${cause}`, 'check the URL in .dvc/config (or .mlbuild/config.yaml) and the network');
    }
    if (res.status === 404 || res.status === 410) {
      await res.body?.cancel();
      return undefined;
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw new RemoteUnavailable(`remote '${this.name}': ${this.base} answered ${res.status} (not allowed)`, 'this remote needs credentials mlbuild does not send; use an s3:// or directory remote');
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`${method} ${this.url(key)} answered ${res.status} ${res.statusText}`);
    }
    return res;
  }

  async exists(key: string): Promise<boolean> {
    return (await this.request(key, 'HEAD')) !== undefined;
  }

  upload(): Promise<void> {
    return Promise.reject(new RemoteUnavailable(`remote '${this.name}' (${this.base}) is read-only over HTTP`, 'push to a directory or s3:// remote instead (-r NAME)'));
  }

  async download(key: string): Promise<AsyncIterable<Uint8Array> | undefined> {
    const res = await this.request(key, 'GET');
    if (!res?.body) return undefined;
    return Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
  }

  async readText(key: string): Promise<string | undefined> {
    const res = await this.request(key, 'GET');
    return res ? await res.text() : undefined;
  }

  writeText(): Promise<void> {
    return this.upload();
  }

  // eslint-disable-next-line require-yield
  async *list(): AsyncIterable<string> {
    throw new RemoteUnavailable(`remote '${this.name}' (${this.base}) cannot be listed over HTTP`, 'use a directory or s3:// remote for commands that list the remote');
  }
}
