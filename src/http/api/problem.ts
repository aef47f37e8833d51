// RFC 9457 problem details: every API error is application/problem+json with a title, the
// status, a human detail and — for input errors — the field at fault.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AdminError } from '../../model/admin-errors.ts';

export class ApiError extends Error {
  constructor(readonly status: number, message: string, readonly field?: string, readonly headers: Record<string, string> = {}) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  field?: string;
  in?: string;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 409: 'Conflict',
  412: 'Precondition Failed', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 428: 'Precondition Required',
  429: 'Too Many Requests', 500: 'Internal Server Error',
};

const KIND_STATUS: Record<AdminError['kind'], number> = { invalid: 400, 'not-found': 404, conflict: 409, forbidden: 403, stale: 412 };

export function sendProblem(reply: FastifyReply, status: number, detail: string, extra: { field?: string | undefined; in?: string | undefined } = {}): FastifyReply {
  const body: Problem = { type: 'about:blank', title: TITLES[status] ?? 'Error', status, detail };
  if (extra.field !== undefined) body.field = extra.field;
  if (extra.in !== undefined) body.in = extra.in;
  return reply.code(status).type('application/problem+json; charset=utf-8').serializer(JSON.stringify).send(body);
}

interface AjvError { instancePath: string; keyword: string; params: Record<string, unknown>; message?: string }

/** "/subnets/0/cidr" + missing "gateway" → "subnets[0].cidr.gateway". */
export function fieldOf(e: AjvError): string {
  const parts = e.instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (e.keyword === 'required' && typeof e.params.missingProperty === 'string') parts.push(e.params.missingProperty);
  if (e.keyword === 'additionalProperties' && typeof e.params.additionalProperty === 'string') parts.push(e.params.additionalProperty);
  return parts.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

function describe(e: AjvError): string {
  if (e.keyword === 'required') return `is required`;
  if (e.keyword === 'additionalProperties') return `is not a known field`;
  if (e.keyword === 'enum' && Array.isArray(e.params.allowedValues)) return `must be one of ${(e.params.allowedValues as unknown[]).join(', ')}`;
  return e.message ?? 'is invalid';
}

const CONTEXT: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' };

export function apiErrorHandler(err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  if ('validation' in err && Array.isArray(err.validation) && err.validation.length) {
    const e = err.validation[0] as unknown as AjvError;
    const field = fieldOf(e);
    const where = CONTEXT[(err as FastifyError).validationContext ?? 'body'] ?? 'body';
    return sendProblem(reply, 400, `${field || where} ${describe(e)}`, { field, in: where });
  }
  if (err instanceof AdminError) return sendProblem(reply, KIND_STATUS[err.kind], err.message, { field: err.field });
  if (err instanceof ApiError) {
    for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
    return sendProblem(reply, err.status, err.message, { field: err.field });
  }
  const status = (err as FastifyError).statusCode;
  if (status && status >= 400 && status < 500) return sendProblem(reply, status, err.message);
  req.log.error({ err }, 'api request failed');
  return sendProblem(reply, 500, 'internal error; see the server log');
}
