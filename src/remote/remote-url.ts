/**
 * What a remote's `url` means: an S3 bucket and key prefix (`s3://bucket/prefix`), a directory
 * (an absolute path, a path relative to the project root, or `file:///path`), or a read-only
 * web server (`http(s)://`, as DVC's http remotes). Pure: it checks the
 * text only and never touches the network or the disk, so config validation can use it.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Result, ok, err } from '../util/result.js';

export type RemoteLocation =
  | { readonly kind: 's3'; readonly bucket: string; readonly prefix: string }
  | { readonly kind: 'directory'; readonly path: string }
  /** Read-only (DVC's http(s) remotes): objects are fetched with GET, never pushed. */
  | { readonly kind: 'http'; readonly url: string };

export interface UrlProblem {
  readonly message: string;
  readonly hint: string;
}

// S3's bucket naming rules (3-63 chars, lowercase, digits, dots, hyphens; starts and ends alnum).
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

const HINT = "use 's3://bucket/prefix' (with endpoint_url for MinIO, Swift or Ceph), a directory path such as '/mnt/shared/mlcache', or (read-only) 'https://host/path'";

/** Parses `url`; relative directory paths are resolved against `root` (the project root). */
export function parseRemoteUrl(url: string, root: string): Result<RemoteLocation, UrlProblem> {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    if (url.trim() === '') return err({ message: 'the remote URL is empty', hint: HINT });
    return ok({ kind: 'directory', path: path.resolve(root, url) });
  }
  if (scheme === 'file') {
    try {
      return ok({ kind: 'directory', path: fileURLToPath(url) });
    } catch (e) {
      return err({ message: `'${url}' is not a valid file URL: ${(e as Error).message}`, hint: "write 'file:///absolute/path' or just the path" });
    }
  }
  if (scheme === 's3') {
    const rest = url.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash === -1 ? rest : rest.slice(0, slash);
    const prefix = slash === -1 ? '' : rest.slice(slash + 1).replace(/^\/+|\/+$/g, '');
    if (!BUCKET_RE.test(bucket)) {
      return err({
        message: bucket === '' ? `'${url}' names no bucket` : `'${bucket}' in '${url}' is not a valid S3 bucket name`,
        hint: 'a bucket name has 3-63 lowercase letters, digits, dots or hyphens, e.g. s3://ml-team-cache/project',
      });
    }
    return ok({ kind: 's3', bucket, prefix });
  }
  if (scheme === 'http' || scheme === 'https') return ok({ kind: 'http', url: url.replace(/\/+$/, '') });
  return err({ message: `remote URL scheme '${scheme}://' is not supported`, hint: HINT });
}

/** The URL as shown to users: what was written, plus the endpoint for S3-compatible stores. */
export function describeRemote(url: string, endpointUrl: string | undefined): string {
  return endpointUrl ? `${url} at ${endpointUrl}` : url;
}
