/**
 * A remote in S3-compatible object storage (AWS S3, MinIO, Swift's s3api, Ceph RGW) through the
 * official AWS SDK v3. This module is only ever imported dynamically (remote.ts), so the SDK is
 * loaded by commands that use an S3 remote and by nothing else.
 *
 * - Credentials come from the SDK's standard chain (AWS_ACCESS_KEY_ID/SECRET, AWS_PROFILE, the
 *   shared config and credentials files, instance roles); `profile` picks a named profile. mlbuild
 *   never stores them.
 * - `endpoint_url` switches to path-style addressing, which MinIO, Swift and Ceph expect.
 * - Files up to 16 MiB go up in one PutObject; larger ones as multipart uploads (16 MiB parts,
 *   4 in flight per file) through @aws-sdk/lib-storage. An object appears only when its upload
 *   completes, so a reader never sees a partial one.
 * - The SDK's default CRC checksums are only sent where the API requires them: several
 *   S3-compatible servers reject the aws-chunked encoding they need.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import {
  S3Client,
  HeadObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  ListObjectsV2Command,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { RemoteConfig } from '../config/project-config.js';
import { RemoteUnavailable, type Remote } from './remote.js';

const SINGLE_PUT_MAX = 16 * 2 ** 20;
const PART_SIZE = 16 * 2 ** 20;

interface AwsError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

export class S3Remote implements Remote {
  readonly name: string;
  readonly defaultJobs = 16;
  private readonly client: S3Client;

  constructor(
    cfg: RemoteConfig,
    readonly description: string,
    private readonly bucket: string,
    private readonly prefix: string,
  ) {
    this.name = cfg.name;
    // The locked SDK version supports Node 20; its notice about releases after January 2027 would
    // otherwise open the stderr of every command that touches S3. Users can still opt back in.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const conf: S3ClientConfig = {
      region: cfg.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...(cfg.profile ? { profile: cfg.profile } : {}),
      ...(cfg.endpointUrl ? { endpoint: cfg.endpointUrl, forcePathStyle: true } : {}),
    };
    this.client = new S3Client(conf);
  }

  private key(k: string): string {
    return this.prefix ? `${this.prefix}/${k}` : k;
  }

  /** Turns whole-remote failures into RemoteUnavailable; object-level ones stay as they are. */
  private wrap(e: unknown): Error {
    const a = e as AwsError;
    const name = a.name ?? a.code ?? '';
    const status = a.$metadata?.httpStatusCode;
    const where = `remote '${this.name}' (${this.description})`;
    if (name === 'NoSuchBucket') return new RemoteUnavailable(`${where}: bucket '${this.bucket}' does not exist`, `create it first (e.g. \`aws s3 mb s3://${this.bucket}\`)`);
    if (name === 'CredentialsProviderError' || name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch' || name === 'AccessDenied' || status === 403) {
      return new RemoteUnavailable(
        `${where}: access denied or no credentials (${name || status}: ${a.message ?? ''})`,
        "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or `mlbuild remote modify --local NAME profile PROFILE`",
      );
    }
    const code = (e as NodeJS.ErrnoException).code ?? (e as { cause?: NodeJS.ErrnoException }).cause?.code;
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ECONNRESET' || name === 'TimeoutError') {
      return new RemoteUnavailable(`${where}: cannot connect (${code ?? name})`, 'check endpoint_url and that the server is running and reachable');
    }
    return e instanceof Error ? e : new Error(String(e));
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      return true;
    } catch (e) {
      const a = e as AwsError;
      if (a.name === 'NotFound' || a.name === 'NoSuchKey' || a.$metadata?.httpStatusCode === 404) return false;
      throw this.wrap(e);
    }
  }

  async upload(key: string, src: string, size: number, onBytes: (n: number) => void): Promise<void> {
    try {
      if (size <= SINGLE_PUT_MAX) {
        const body = await fsp.readFile(src);
        await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key(key), Body: body, ContentLength: body.length }));
        onBytes(size);
        return;
      }
      const up = new Upload({
        client: this.client,
        params: { Bucket: this.bucket, Key: this.key(key), Body: fs.createReadStream(src, { highWaterMark: 1 << 20 }) },
        partSize: PART_SIZE,
        queueSize: 4,
        leavePartsOnError: false,
      });
      let sent = 0;
      up.on('httpUploadProgress', (p) => {
        if (p.loaded !== undefined && p.loaded > sent) {
          onBytes(p.loaded - sent);
          sent = p.loaded;
        }
      });
      await up.done();
      if (sent < size) onBytes(size - sent);
    } catch (e) {
      throw this.wrap(e);
    }
  }

  async download(key: string): Promise<AsyncIterable<Uint8Array> | undefined> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      return r.Body as AsyncIterable<Uint8Array> | undefined;
    } catch (e) {
      const a = e as AwsError;
      if (a.name === 'NoSuchKey' || a.name === 'NotFound') return undefined;
      throw this.wrap(e);
    }
  }

  async readText(key: string): Promise<string | undefined> {
    const body = await this.download(key);
    if (!body) return undefined;
    const chunks: Uint8Array[] = [];
    for await (const c of body) chunks.push(c);
    return Buffer.concat(chunks).toString('utf8');
  }

  async writeText(key: string, text: string): Promise<void> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key(key), Body: text }));
    } catch (e) {
      throw this.wrap(e);
    }
  }

  async *list(prefix: string): AsyncIterable<string> {
    let token: string | undefined;
    const strip = this.prefix ? this.prefix.length + 1 : 0;
    do {
      let page;
      try {
        page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.key(prefix), ...(token ? { ContinuationToken: token } : {}) }));
      } catch (e) {
        throw this.wrap(e);
      }
      for (const o of page.Contents ?? []) if (o.Key) yield o.Key.slice(strip);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
}
