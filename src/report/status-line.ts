/**
 * The one live status line a reporter redraws in place at the bottom of a terminal (repro's
 * progress, a transfer's bytes): `\r` + erase-line, cut to the terminal width, and cleared before
 * any ordinary line is printed so output never interleaves with it. It does not decide what the
 * line says or how often it is redrawn (the reporters do).
 */
import type { Terminal } from './terminal.js';

export class StatusLine {
  private shown = false;

  constructor(private readonly term: Terminal) {}

  show(text: string): void {
    const max = Math.max(20, this.term.columns - 1);
    this.term.out('\r\x1b[K' + (text.length > max ? text.slice(0, max - 1) + '…' : text));
    this.shown = true;
  }

  clear(): void {
    if (this.shown) this.term.out('\r\x1b[K');
    this.shown = false;
  }
}
