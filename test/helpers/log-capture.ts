import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/logging/logger.js';

/** One line the product logged, parsed: pino's numeric `level`, `msg`, the bindings and fields. */
export interface LogRecord {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;

export interface CapturedLogs {
  /** The product's real logger (JSON lines, redaction, unique keys), writing into memory. */
  logger: Logger;
  records(): LogRecord[];
  /** The records whose message matches (a string matches the whole message). */
  find(message: string | RegExp): LogRecord[];
  clear(): void;
}

/**
 * Operators read these lines and alert on some of them (HORIZON RISK, a failed listing, a lost
 * lock), so a test may pin what a run logs the way it pins what it stores. `onLine` runs with each
 * message as it is logged: pino writes each line to its destination synchronously, so a test can
 * act at that point of a run (abort it while it waits before a retry, say).
 */
export function captureLogs(level: keyof typeof LEVEL = 'debug', onLine?: (msg: string) => void): CapturedLogs {
  let lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      const text = String(chunk);
      lines.push(text);
      if (onLine) for (const line of text.split('\n').filter((l) => l.length > 0)) onLine((JSON.parse(line) as LogRecord).msg);
      done();
    },
  });
  const logger = createLogger({ level, format: 'json', destination });
  const records = () => lines.join('').split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as LogRecord);
  return {
    logger,
    records,
    find: (message) => records().filter((r) => (typeof message === 'string' ? r.msg === message : message.test(r.msg))),
    clear: () => {
      lines = [];
    },
  };
}
