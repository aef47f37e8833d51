// RFC 9457 problem details: every API error is application/problem+json with a title, the
// status, a human detail and — for input errors — the field at fault.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AdminError } from '../../model/admin-errors.ts';
import { Hostname, Ipv4, Name } from './schemas.ts';

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

// What the schemas' patterns mean, in words: a script author reading "hostname must match
// pattern ^[A-Za-z0-9](?:…" has to decode a regular expression to learn what to send.
const PATTERN_WORDS: Record<string, string> = {
  [Name.pattern!]: 'letters, digits, . _ - (starting with a letter or digit)',
  '^[A-Za-z0-9][A-Za-z0-9._@-]*$': 'letters, digits, . _ @ - (starting with a letter or digit)',
  [Hostname.pattern!]: 'a hostname: letters, digits and -, up to 63 between dots',
  [Ipv4.pattern!]: 'an IPv4 address like 10.20.0.21',
  '^https?://': 'an http:// or https:// URL',
  '^[^:/]+:/': 'HOST:/PATH',
  '^//': '//HOST/SHARE',
};

function describe(e: AjvError): string {
  if (e.keyword === 'required') return `is required`;
  if (e.keyword === 'additionalProperties') return `is not a known field`;
  if (e.keyword === 'enum' && Array.isArray(e.params.allowedValues)) {
    // A nullable enum lists null among its values: join() wrote it as nothing ("…, once, ").
    return `must be one of ${(e.params.allowedValues as unknown[]).map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ')}`;
  }
  if (e.keyword === 'uniqueItems') return 'must not list the same value twice';
  if (e.keyword === 'minItems' && typeof e.params.limit === 'number') return `must list at least ${e.params.limit}`;
  if (e.keyword === 'pattern' && typeof e.params.pattern === 'string') {
    const words = PATTERN_WORDS[e.params.pattern];
    return words ? `must be ${words}` : `does not have the expected form (${e.params.pattern})`;
  }
  if (e.keyword === 'type' && (typeof e.params.type === 'string' || Array.isArray(e.params.type))) {
    // A nullable field's types arrive as a list (["integer", "null"]) or "integer,null".
    const what = String(e.params.type).split(',').map((t) => (t === 'object' ? 'JSON object' : t)).join(' or ');
    return `must be ${/^[aeiou]/.test(what) ? 'an' : 'a'} ${what}`;
  }
  return e.message ?? 'is invalid';
}

/**
 * The model's messages are written for a field shown beside them ("must be one of image,
 * local, …"); in a bulk import the detail alone must still say which row and field.
 */
export function withField(message: string, field: string | undefined): string {
  if (!field || message.includes(field)) return message;
  if (/^(must|is|are|has|needs)\b/.test(message)) return `${field} ${message}`;
  return /[[.]/.test(field) ? `${field}: ${message}` : message;
}

const CONTEXT: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' };

export function apiErrorHandler(err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  if ('validation' in err && Array.isArray(err.validation) && err.validation.length) {
    const e = err.validation[0] as unknown as AjvError;
    const field = fieldOf(e);
    const where = CONTEXT[(err as FastifyError).validationContext ?? 'body'] ?? 'body';
    // The whole body (or query) at fault has no field to name: say "the body", leave field out.
    return sendProblem(reply, 400, `${field || `the ${where}`} ${describe(e)}`, { field: field || undefined, in: where });
  }
  if (err instanceof AdminError) return sendProblem(reply, KIND_STATUS[err.kind], withField(err.message, err.field), { field: err.field });
  if (err instanceof ApiError) {
    for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
    return sendProblem(reply, err.status, err.message, { field: err.field });
  }
  if ((err as FastifyError).code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    const sent = String(req.headers['content-type'] ?? 'none').split(';')[0];
    return sendProblem(reply, 415, `Content-Type ${sent} is not taken here: send application/json (machine imports also take text/csv, uploads application/octet-stream)`, { field: 'Content-Type', in: 'header' });
  }
  // Say what the limit is, so a script knows to split its import.
  if ((err as FastifyError).code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return sendProblem(reply, 413, `the body is larger than this route takes (${Math.round((req.routeOptions.bodyLimit ?? 0) / 1024 / 1024)} MiB)`);
  }
  const status = (err as FastifyError).statusCode;
  if (status && status >= 400 && status < 500) return sendProblem(reply, status, err.message);
  req.log.error({ err }, 'api request failed');
  return sendProblem(reply, 500, 'internal error; see the server log');
}
