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

export function processTerminal(): Terminal {
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
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
