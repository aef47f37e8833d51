// JSON request bodies for the API. Fastify's own parser (kept underneath: it refuses
// __proto__ / constructor.prototype keys) answers an empty body with "Body cannot be empty when
// content-type is set to 'application/json'", which a script that always sends the header (curl
// -H 'Content-Type: application/json' -X POST …/rollback) meets on routes that take no body;
// and a broken body only with "is not valid JSON", without where.
import type { FastifyInstance } from 'fastify';
import { ApiError } from './problem.ts';

export function registerJsonBody(app: FastifyInstance): void {
  const secure = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    // No body at all is no body: a route with a body schema still says "the body must be a JSON object".
    if (text.trim() === '') return done(null, undefined);
    secure(req, text, (err, value) => {
      if (!err) return done(null, value);
      if ((err as { code?: string }).code !== 'FST_ERR_CTP_INVALID_JSON_BODY') return done(new ApiError(400, `the body is refused: ${err.message}`, 'body'), undefined);
      let why = 'it does not parse';
      try { JSON.parse(text); } catch (e) { why = (e as Error).message; }
      done(new ApiError(400, `the body is not valid JSON: ${why}`, 'body'), undefined);
    });
  });
}
