/**
 * The spawner protocol's framing, shared by the main side (launcher.ts) and the Node spawner
 * (spawner-process.ts); the native spawner (native/spawner.c, whose header is the reference)
 * speaks the same bytes. All integers are unsigned 32-bit little-endian.
 *
 *   request:  u32 len | u32 id | cwd \0 | cmd \0 | (NAME=VALUE \0)*     (len: bytes after itself)
 *   answer:   u32 len | u8 type | u32 id | payload
 *             R ready · P u32 pid · O/E output bytes · X u32 code (NO_CODE: killed) | u32 signal
 *             · F u32 errno | message (could not start; no P or X follows)
 *
 * Binary, not JSON: output bytes travel as they are (no base64), and decoding an answer is a few
 * integer reads. It does not validate what it encodes beyond NUL bytes (the caller answers those).
 */
import { Buffer } from 'node:buffer';

export const NO_CODE = 0xffffffff;

export interface JobRequest {
  readonly id: number;
  readonly cwd: string;
  readonly cmd: string;
  /** The command's whole environment. */
  readonly env: Readonly<Record<string, string>>;
}

/**
 * The bytes of one request, or undefined when a string holds a NUL byte (which a C string cannot
 * carry and execve refuses: the caller reports it as Node's spawn does).
 */
export function encodeRequest(r: JobRequest): Buffer | undefined {
  if (r.cwd.includes('\0') || r.cmd.includes('\0')) return undefined;
  let body = `${r.cwd}\0${r.cmd}\0`;
  for (const k in r.env) {
    const v = r.env[k]!;
    if (k.includes('\0') || v.includes('\0')) return undefined;
    body += `${k}=${v}\0`;
  }
  const len = Buffer.byteLength(body);
  const b = Buffer.allocUnsafe(8 + len);
  b.writeUInt32LE(4 + len, 0);
  b.writeUInt32LE(r.id >>> 0, 4);
  b.write(body, 8, 'utf8');
  return b;
}

/** Parses a request payload (after its length): the inverse of encodeRequest. */
export function decodeRequest(p: Buffer): JobRequest {
  const id = p.readUInt32LE(0);
  const text = p.toString('utf8', 4);
  const parts = text.split('\0');
  parts.pop(); // after the last terminator
  if (parts.length < 2) throw new Error(`malformed spawner request ${id}`);
  const env: Record<string, string> = {};
  for (let i = 2; i < parts.length; i++) {
    const kv = parts[i]!;
    const eq = kv.indexOf('=');
    if (eq > 0) env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return { id, cwd: parts[0]!, cmd: parts[1]!, env };
}

export type Answer =
  | { readonly t: 'R' }
  | { readonly t: 'P'; readonly id: number; readonly pid: number }
  | { readonly t: 'O'; readonly id: number; readonly data: Buffer }
  | { readonly t: 'E'; readonly id: number; readonly data: Buffer }
  | { readonly t: 'X'; readonly id: number; readonly code: number | null; readonly signal: number }
  | { readonly t: 'F'; readonly id: number; readonly errno: number; readonly message: string };

function frame(type: string, id: number, payload: number): Buffer {
  const b = Buffer.allocUnsafe(9 + payload);
  b.writeUInt32LE(5 + payload, 0);
  b[4] = type.charCodeAt(0);
  b.writeUInt32LE(id >>> 0, 5);
  return b;
}

/** The bytes of one answer (the Node spawner's side; tests). */
export function encodeAnswer(a: Answer): Buffer {
  switch (a.t) {
    case 'R':
      return frame('R', 0, 0);
    case 'P': {
      const b = frame('P', a.id, 4);
      b.writeUInt32LE(a.pid, 9);
      return b;
    }
    case 'O':
    case 'E': {
      const b = frame(a.t, a.id, a.data.length);
      a.data.copy(b, 9);
      return b;
    }
    case 'X': {
      const b = frame('X', a.id, 8);
      b.writeUInt32LE(a.code === null ? NO_CODE : a.code, 9);
      b.writeUInt32LE(a.signal, 13);
      return b;
    }
    case 'F': {
      const msg = Buffer.from(a.message);
      const b = frame('F', a.id, 4 + msg.length);
      b.writeUInt32LE(a.errno, 9);
      msg.copy(b, 13);
      return b;
    }
  }
}

/**
 * Splits a byte stream into frames, whatever the chunking: `push` each chunk, get back the whole
 * frames it completes (their payloads, after the length).
 */
export class FrameReader {
  #pending: Buffer | undefined;

  push(chunk: Buffer, onFrame: (payload: Buffer) => void): void {
    const b = this.#pending ? Buffer.concat([this.#pending, chunk]) : chunk;
    this.#pending = undefined;
    let off = 0;
    while (b.length - off >= 4) {
      const len = b.readUInt32LE(off);
      if (b.length - off - 4 < len) break;
      onFrame(b.subarray(off + 4, off + 4 + len));
      off += 4 + len;
    }
    if (off < b.length) this.#pending = off === 0 ? b : b.subarray(off);
  }
}

/** Decodes an answer's payload (as FrameReader gives it). Output data is a view, not a copy. */
export function decodeAnswer(p: Buffer): Answer {
  const t = String.fromCharCode(p[0]!);
  const id = p.readUInt32LE(1);
  switch (t) {
    case 'R':
      return { t };
    case 'P':
      return { t, id, pid: p.readUInt32LE(5) };
    case 'O':
      return { t, id, data: p.subarray(5) };
    case 'E':
      return { t, id, data: p.subarray(5) };
    case 'X': {
      const code = p.readUInt32LE(5);
      return { t, id, code: code === NO_CODE ? null : code, signal: p.readUInt32LE(9) };
    }
    case 'F':
      return { t, id, errno: p.readUInt32LE(5), message: p.toString('utf8', 9) };
    default:
      throw new Error(`unknown spawner answer type ${JSON.stringify(t)}`);
  }
}
