/**
 * LogTail: reads what was appended to a log file since the last read, decoding UTF-8 across read
 * boundaries. For logs another process writes (a Slurm job's --output on a shared file system),
 * read at each poll. A file that does not exist yet reads as nothing. It does not watch or poll.
 */
import fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

const CHUNK = 1 << 20;

export class LogTail {
  private offset = 0;
  private readonly decoder = new StringDecoder('utf8');

  constructor(readonly path: string) {}

  /** The text appended since the last call ('' when nothing new or no file yet). */
  read(): string {
    let fd: number;
    try {
      fd = fs.openSync(this.path, 'r');
    } catch {
      return '';
    }
    try {
      // A file truncated under us (the job was requeued and started over) is read from its start.
      if (fs.fstatSync(fd).size < this.offset) this.offset = 0;
      let text = '';
      const buf = Buffer.allocUnsafe(CHUNK);
      for (;;) {
        const n = fs.readSync(fd, buf, 0, CHUNK, this.offset);
        if (n === 0) break;
        this.offset += n;
        text += this.decoder.write(buf.subarray(0, n));
      }
      return text;
    } finally {
      fs.closeSync(fd);
    }
  }
}
