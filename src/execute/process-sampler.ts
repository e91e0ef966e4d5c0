/**
 * Samples a running process tree on Linux through /proc: peak resident memory (sum over the tree)
 * and CPU seconds (utime+stime plus reaped children's, at the last sample). Node cannot read a
 * child's rusage, so this is sampled: stages shorter than one interval report null, and CPU time
 * misses at most the last interval. Elsewhere it reports nothing.
 */
import fs from 'node:fs';

const CLK_TCK = 100;
const PAGE_KB = 4;

interface ProcStat {
  cpuTicks: number;
  rssKb: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // Fields after the command: state(0) ... utime(11) stime(12) cutime(13) cstime(14) ... rss(21)
    return { cpuTicks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]), rssKb: Number(f[21]) * PAGE_KB };
  } catch {
    return undefined;
  }
}

function children(pid: number): number[] {
  try {
    return fs
      .readdirSync(`/proc/${pid}/task`)
      .flatMap((t) => fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(' '))
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

export class ProcessSampler {
  private peakKb = 0;
  private cpuTicks: number | undefined;
  private readonly timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pid: number | undefined,
    intervalMs = 500,
  ) {
    if (pid !== undefined && process.platform === 'linux') {
      this.timer = setInterval(() => this.sample(), intervalMs);
      this.timer.unref();
    }
  }

  private sample(): void {
    if (this.pid === undefined) return;
    let rss = 0;
    let cpu = 0;
    const stack = [this.pid];
    while (stack.length > 0) {
      const p = stack.pop()!;
      const s = readStat(p);
      if (!s) continue;
      rss += s.rssKb;
      cpu += s.cpuTicks;
      stack.push(...children(p));
    }
    if (rss === 0) return;
    this.peakKb = Math.max(this.peakKb, rss);
    this.cpuTicks = Math.max(this.cpuTicks ?? 0, cpu);
  }

  stop(): { cpuSeconds: number | undefined; peakRssMb: number | undefined } {
    if (this.timer) clearInterval(this.timer);
    return {
      cpuSeconds: this.cpuTicks === undefined ? undefined : this.cpuTicks / CLK_TCK,
      peakRssMb: this.peakKb === 0 ? undefined : Math.round(this.peakKb / 1024),
    };
  }
}
