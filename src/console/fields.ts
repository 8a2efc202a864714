import type { FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { InputError } from '../errors.js';
import { decodeCursor, encodeCursor } from '../service/cursor.js';
import { instant, text } from '../service/request-params.js';
import { FormFields } from './console-auth.js';

/**
 * Query-string and form fields of console pages, checked by the API's own validators
 * (src/service/request-params.ts), so a page accepts exactly what the matching API route accepts.
 * Empty fields (a form sends every input) count as absent.
 */

export function queryOf(request: FastifyRequest): FormFields {
  const url = request.raw.url ?? '';
  const q = url.indexOf('?');
  return FormFields.parse(q < 0 ? '' : url.slice(q + 1));
}

function parsed<T>(schema: z.ZodType<T>, value: string | undefined, name: string): T | undefined {
  if (value === undefined) return undefined;
  const result = schema.safeParse(value);
  if (!result.success) throw new InputError(result.error.issues[0]?.message ?? `${name} is not valid`, name);
  return result.data;
}

export function textField(fields: FormFields, name: string, maxLength: number, what?: string): string | undefined {
  return parsed(text(name, maxLength, what), fields.get(name), name);
}

export function instantField(fields: FormFields, name: string, bound: 'from' | 'to'): Date | undefined {
  return parsed(instant(name, bound), fields.get(name), name);
}

/** A console page's keyset cursor: the API's envelope (endpoint kind, filter fingerprint), checked by `schema`. */
export function cursorField<T>(fields: FormFields, kind: string, fingerprint: string, schema: z.ZodType<T>): T | undefined {
  const value = fields.get('cursor');
  return value === undefined ? undefined : decodeCursor(value, kind, fingerprint, schema);
}

export { encodeCursor };
