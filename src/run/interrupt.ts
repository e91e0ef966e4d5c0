/** Graceful stop of a run on SIGINT/SIGTERM/SIGHUP: an abort signal the run watches. Not the reporting. */
import type { Reporter } from '../report/events.js';

/** The signals that stop a run gracefully (children killed, completed stages recorded). */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];


/**
 * Runs `body` with a signal that SIGINT/SIGTERM/SIGHUP abort (after telling the reporter), so running
 * stages are stopped and what completed stays recorded; the handlers are removed afterwards.
 * SIGHUP (the terminal closed) is a request to stop like any other: without a handler Node would
 * die at once and leave the stages running without anyone to record their outs.
 */
export async function whileInterruptible<T>(reporter: Reporter, body: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => {
    if (!controller.signal.aborted) reporter.on({ type: 'interrupted', signal: sig });
    controller.abort();
  };
  for (const sig of STOP_SIGNALS) process.on(sig, onSignal);
  try {
    return await body(controller.signal);
  } finally {
    for (const sig of STOP_SIGNALS) process.off(sig, onSignal);
  }
}
