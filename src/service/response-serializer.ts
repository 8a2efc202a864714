import type { FastifySerializerCompiler } from 'fastify';
import fastJson from 'fast-json-stringify';
import { serializerCompiler as zodSerializerCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';

/**
 * How answers become JSON: through their zod response shapes (api-schemas.ts), in one of two ways.
 *
 * - By default, fastify-type-provider-zod's serializer: zod checks the answer against its shape
 *   (a mismatch is a 500, logged with zod's issues) and drops what the shape does not list.
 * - For the pages of message content (transcript, search: the API's hot path, many versions a
 *   request), fast-json-stringify compiled from the same shape's JSON Schema, as fastify itself
 *   serialises. It drops what the shape does not list too, without checking types at run time
 *   (the handlers' return types are checked against the shapes at compile time). A page of 100
 *   versions takes about 100 µs this way and about 230 µs through zod (`npm run bench:api`:
 *   the zod serializer cost those routes 10–15% of their requests per second).
 */

const compiledFast = new WeakSet<z.ZodType>();

/** Marks a response shape to be serialised with fast-json-stringify (see above). */
export function serialisedFast<Schema extends z.ZodType>(schema: Schema): Schema {
  compiledFast.add(schema);
  return schema;
}

export const serializerCompiler: FastifySerializerCompiler<z.ZodType> = (route) => {
  if (route.schema instanceof z.ZodType && compiledFast.has(route.schema)) {
    // Inlined (no component ids): the compiled function needs no reference resolution.
    const jsonSchema = z.toJSONSchema(route.schema, { io: 'output', target: 'draft-7', unrepresentable: 'any', reused: 'inline', metadata: z.registry() });
    return fastJson(jsonSchema as Parameters<typeof fastJson>[0]);
  }
  return zodSerializerCompiler(route as Parameters<typeof zodSerializerCompiler>[0]);
};
