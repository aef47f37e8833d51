// Our own Ajv instances instead of fastify's default: the default drops unknown body keys
// silently (removeAdditional), so a typo like "hostnmae" would succeed and change nothing.
// Query strings and path parameters are coerced (they are text); bodies are not.
import { Ajv, type ValidateFunction } from 'ajv';
import type { FastifySchema } from 'fastify';

const text = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: false, strict: false });
const json = new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, allErrors: false, strict: false });

export function validatorCompiler({ schema, httpPart }: { schema: FastifySchema; httpPart?: string }): ValidateFunction {
  return (httpPart === 'body' ? json : text).compile(schema as object);
}
