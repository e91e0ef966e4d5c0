/** Exit codes of the contract (section 6), plus the shell convention for a run stopped by a signal. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERRUPTED = 130;
