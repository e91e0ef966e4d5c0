/**
 * The terminal sinks reporters write to, injected so tests and `--json` can redirect them. This is
 * the only module that touches process.stdout/stderr.
 */
export interface Terminal {
  out(text: string): void;
  err(text: string): void;
  readonly isTTY: boolean;
  readonly columns: number;
}

const sinks = new Map<NodeJS.WriteStream, (text: string) => void>();
/**
 * Writes to `stream` until it breaks. A reader that went away (`mlbuild dag | head`: EPIPE) must not
 * crash the command with an unhandled 'error' event, nor cut a build short: what it would have
 * printed is dropped, the work goes on and the exit code is the work's, as for any reader.
 */
function sink(stream: NodeJS.WriteStream): (text: string) => void {
  const known = sinks.get(stream);
  if (known) return known;
  let broken = false;
  stream.on('error', () => {
    broken = true;
  });
  const write = (text: string): void => {
    if (!broken) stream.write(text);
  };
  sinks.set(stream, write);
  return write;
}

export function processTerminal(): Terminal {
  return {
    out: sink(process.stdout),
    err: sink(process.stderr),
    isTTY: Boolean(process.stdout.isTTY) && !process.env.CI,
    columns: process.stdout.columns ?? 80,
  };
}

export const formatDuration = (ms: number): string => {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - m * 60)).padStart(2, '0')}s`;
};

export const formatBytes = (n: number): string => {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
};
