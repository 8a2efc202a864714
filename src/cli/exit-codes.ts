/** Process exit codes, documented in the README ("Exit codes"). */
export const EXIT = {
  OK: 0,
  /** The command ran but did not finish everything (a sync left windows incomplete; a check failed). */
  FAILURE: 1,
  /** Bad command line or configuration: nothing was done. */
  USAGE: 2,
  /** A window that is not complete is about to leave Zoom's six-month horizon. */
  HORIZON_AT_RISK: 3,
  /** Another process holds the job's lock (e.g. a sync is already running). */
  BUSY: 75,
  /** Stopped by SIGINT/SIGTERM. */
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
