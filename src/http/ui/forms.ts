// application/x-www-form-urlencoded bodies (what a form without JavaScript posts) as a map
// of field → values; a field can repeat (checkboxes).
import type { FastifyInstance } from 'fastify';

export type Form = Map<string, string[]>;

export function parseForm(body: string): Form {
  const out: Form = new Map();
  for (const [k, v] of new URLSearchParams(body)) {
    const list = out.get(k);
    if (list) list.push(v); else out.set(k, [v]);
  }
  return out;
}

export function registerFormParser(app: FastifyInstance): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 1024 * 1024 }, (_req, body, done) => {
    done(null, parseForm(body as string));
  });
}

export function field(form: unknown, name: string): string | undefined {
  return form instanceof Map ? (form as Form).get(name)?.[0] : undefined;
}

export function fields(form: unknown, name: string): string[] {
  return form instanceof Map ? ((form as Form).get(name) ?? []) : [];
}
