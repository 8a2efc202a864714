import { pino, type Logger, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';
import type { LogFormat } from '../config/config.js';
import { stderrTerminal, type TerminalWriter } from './terminal.js';

export type { Logger } from 'pino';

/**
 * Paths pino masks wherever they appear in a log object. Message bodies are a separate rule: they
 * are never put in a log object at info level in the first place (see README, "Logging").
 */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  'secret',
  '*.secret',
  'clientSecret',
  '*.clientSecret',
  'accessToken',
  '*.accessToken',
  'access_token',
  '*.access_token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'req.headers.authorization',
  'token',
  '*.token',
  'apiToken',
  '*.apiToken',
  'databaseUrl',
  '*.databaseUrl',
];

export interface LoggerSettings {
  level: string;
  format: LogFormat;
  /** Where lines go; stderr (shared with the progress line) unless a test hands in its own. */
  destination?: TerminalWriter | NodeJS.WritableStream;
}

export function createLogger(settings: LoggerSettings): Logger {
  const destination = settings.destination ?? stderrTerminal;
  const isTTY = 'isTTY' in destination && Boolean(destination.isTTY);
  const usePretty = settings.format === 'pretty' || (settings.format === 'auto' && isTTY);
  const options: LoggerOptions = {
    level: settings.level,
    base: { service: 'zoom-chat-archiver' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    serializers: { err: pino.stdSerializers.err },
    timestamp: pino.stdTimeFunctions.isoTime,
    hooks: { streamWrite: withUniqueKeys },
  };
  if (usePretty) {
    const stream = pretty({
      destination,
      sync: true,
      colorize: isTTY,
      translateTime: 'SYS:HH:MM:ss',
      ignore: 'pid,hostname,service',
      singleLine: true,
    });
    return pino(options, stream);
  }
  return pino(options, destination);
}

/**
 * pino writes a child's bindings and the call's own fields as they come, so a key bound twice (a
 * `module` bound by a caller and again by the module itself, a `job` in the bindings and in the
 * call) appears twice in one line — which Elasticsearch and other strict JSON readers reject. Each
 * line is therefore rewritten with every key once, keeping the innermost value (the last one, as
 * JSON.parse does): the most specific binding wins. Lines are small and few (no per-page logging at
 * info), so the cost is a few microseconds a line.
 */
export function withUniqueKeys(line: string): string {
  try {
    return `${JSON.stringify(JSON.parse(line))}\n`;
  } catch {
    return line;
  }
}

/** A logger that drops everything: for library callers and tests that do not care. */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
