import type { FastifySchemaCompiler } from 'fastify';
import { z } from 'zod';
import { InputError, InternalError } from '../errors.js';
import { addDays, isIsoDate, startOfDayMs } from '../util/dates.js';

/**
 * Validation of path parameters, query strings and JSON bodies with zod. Each route declares its
 * shapes in its fastify schema (`params`, `querystring`, `body`); `validatorCompiler` checks a
 * request against them before the handler runs, and the same shapes are what /openapi.json
 * documents (openapi-document.ts). Every problem becomes a 400 naming the parameter and what a good
 * value looks like. Unknown parameters are refused (a typo such as `senderr=` must not silently
 * widen a search), and so is a parameter given twice.
 */

// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

function describeInput(input: unknown): string {
  if (Array.isArray(input)) return 'given more than once; give it once';
  const text = JSON.stringify(input);
  return `got ${text === undefined ? String(input) : text.length > 80 ? `${text.slice(0, 77)}…` : text}`;
}

/** A single string parameter of at most `maxLength` characters, without control characters. */
export function text(name: string, maxLength: number, what = 'text') {
  return z
    .string({ error: (issue) => (issue.input === undefined ? `${name} is required` : `${name} must be ${what}, ${describeInput(issue.input)}`) })
    .transform((v) => v.trim())
    .refine((v) => v.length > 0, { error: `${name} must not be empty` })
    .refine((v) => v.length <= maxLength, { error: `${name} must be at most ${maxLength} characters` })
    .refine((v) => !CONTROL_CHARS.test(v), { error: `${name} must not contain control characters` })
    .meta({ minLength: 1, maxLength });
}

/** An instant: a UTC day `yyyy-mm-dd` or a date-time with a zone. As an upper bound a day includes itself. */
export function instant(name: string, bound: 'from' | 'to') {
  return z
    .string({ error: (issue) => `${name} must be a date or date-time, ${describeInput(issue.input)}` })
    .transform((value, ctx) => {
      const v = value.trim();
      if (/^\d{4}-\d{2}-\d{2}$/.test(v) && isIsoDate(v)) return new Date(startOfDayMs(bound === 'to' ? addDays(v, 1) : v));
      if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i.test(v)) {
        const d = new Date(v);
        if (!Number.isNaN(d.getTime()) && isIsoDate(v.slice(0, 10))) return d;
      }
      ctx.addIssue({
        code: 'custom',
        message: `${name} must be a UTC day (2026-06-01) or a date-time with a time zone (2026-06-01T09:30:00Z), got ${JSON.stringify(value)}`,
      });
      return z.NEVER;
    });
}

export function pageLimit(maxPageSize: number, defaultLimit = Math.min(100, maxPageSize)) {
  return z
    .string({ error: (issue) => `limit must be a number of rows from 1 to ${maxPageSize}, ${describeInput(issue.input)}` })
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return defaultLimit;
      const n = /^\d{1,9}$/.test(v.trim()) ? Number(v.trim()) : NaN;
      if (!Number.isInteger(n) || n < 1 || n > maxPageSize) {
        ctx.addIssue({ code: 'custom', message: `limit must be a whole number of rows from 1 to ${maxPageSize} (API_MAX_PAGE_SIZE), got ${JSON.stringify(v)}` });
        return z.NEVER;
      }
      return n;
    })
    .meta({ type: 'integer', minimum: 1, maximum: maxPageSize, description: `Rows per page, 1 to ${maxPageSize} (API_MAX_PAGE_SIZE); default ${defaultLimit}.` });
}

/** Opaque cursor from the previous page. */
export function pageCursor() {
  return text('cursor', 2048).meta({ description: 'Opaque cursor from the previous page (`next_cursor`). Keep the other parameters unchanged while paging.' });
}

export function booleanFlag(name: string) {
  return z
    .enum(['true', 'false', '1', '0'], { error: (issue) => `${name} must be true or false, ${describeInput(issue.input)}` })
    .optional()
    .transform((v) => v === 'true' || v === '1');
}

/** For routes that take no query parameters: any given is refused as unknown. */
export const NO_PARAMS = z.strictObject({});

/**
 * The fastify validator compiler for the routes' zod shapes (each a `z.object`): refuses fields the
 * shape does not know, then parses with it; the first problem becomes an InputError naming the
 * parameter (a 400 in the API's one error shape, http-errors.ts). The handler gets the parsed
 * values (trimmed text, numbers, Dates).
 */
export const validatorCompiler: FastifySchemaCompiler<z.ZodType> = ({ schema, httpPart }) => {
  if (!(schema instanceof z.ZodObject)) throw new InternalError(`route schemas are z.object shapes (${httpPart ?? 'unknown part'})`);
  const where = httpPart === 'body' ? 'body' : 'query';
  return (data: unknown) => {
    try {
      return { value: parseObject(schema, data, where) };
    } catch (err) {
      return { error: err as Error };
    }
  };
};

function parseObject(schema: z.ZodObject, input: unknown, where: 'query' | 'body'): unknown {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new InputError(where === 'body' ? 'the request body must be a JSON object' : 'invalid query string', where);
  }
  const known = Object.keys(schema.shape);
  const unknown = Object.keys(input).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    const kind = where === 'body' ? 'field' : 'parameter';
    throw new InputError(
      `unknown ${kind}${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')}${known.length > 0 ? `; accepted: ${known.join(', ')}` : `; this takes no ${kind}s`}`,
      unknown[0],
    );
  }
  const result = schema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    const parameter = issue?.path[0] === undefined ? undefined : String(issue.path[0]);
    throw new InputError(issue?.message ?? 'invalid parameters', parameter);
  }
  return result.data;
}

/** from/to given together must be in order. */
export function requireOrderedRange(from: Date | undefined, to: Date | undefined, names: [string, string] = ['from', 'to']): void {
  if (from !== undefined && to !== undefined && from.getTime() >= to.getTime()) {
    throw new InputError(`${names[0]} must be before ${names[1]} (${names[1]} as a day includes that whole day)`, names[0]);
  }
}
