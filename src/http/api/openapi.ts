// OpenAPI 3 from the route schemas themselves (collected as routes are added), so the document
// cannot drift from what the server validates; /api/docs renders it as a browsable page.
import type { RouteOptions } from 'fastify';

interface Collected { method: string; url: string; schema: Record<string, unknown> }

type Json = Record<string, unknown>;

export class OpenApiCollector {
  private readonly routes: Collected[] = [];

  add(r: Pick<RouteOptions, 'method' | 'url' | 'schema'>): void {
    if (!r.schema || r.url.includes('/docs')) return;
    for (const m of [r.method].flat()) if (m !== 'HEAD') this.routes.push({ method: m.toLowerCase(), url: r.url, schema: r.schema as Json });
  }

  document(): Json {
    const paths: Record<string, Record<string, Json>> = {};
    for (const r of this.routes) {
      const path = r.url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
      const op: Json = { summary: r.schema.summary, tags: r.schema.tags, parameters: [...params(r.schema.params, 'path'), ...params(r.schema.querystring, 'query')], responses: responses(r.schema.response) };
      const body = r.schema.body as Json | undefined;
      if (body) op.requestBody = { required: true, content: body.content ? clean(body.content) : { 'application/json': { schema: clean(body) } } };
      if (r.method === 'patch' || (r.method === 'delete' && !path.includes('/versions/') && !path.includes('/tokens/'))) {
        (op.parameters as Json[]).push({ name: 'If-Match', in: 'header', required: true, schema: { type: 'string' }, description: 'ETag from GET; 428 when missing, 412 when stale' });
      }
      (paths[path] ??= {})[r.method] = op;
    }
    return {
      // 3.1: its schemas are JSON Schema, so the route schemas' type lists (['string', 'null']) are valid as they are.
      openapi: '3.1.0',
      info: {
        title: 'branchboot API', version: '1',
        description: [
          'Authorization: Bearer <token>. Scopes: read (GET), write (changes within the token\'s branch, or all), admin (users, tokens, audit, imports). Branch-limited tokens get 403 for other branches\' objects and for anything shared by all branches (images, new branches).',
          'Errors are application/problem+json with `field` naming the input at fault (and `in`: body, query, path, header).',
          'Lists return {items, nextCursor}; pass nextCursor back as ?cursor= (keyset pages: stable while rows change).',
          'Concurrency: GET of a branch, machine, image or user returns an ETag. PATCH and DELETE of those, and image rollback, require If-Match: 428 without it, 412 when the resource changed since (If-Match: * skips the check on purpose). Bulk operations (assign, import, register) and version removal are not ETag-guarded: they act on many rows or are refused with 409 while in use.',
        ].join('\n\n'),
      },
      servers: [{ url: '/' }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API token (bbt_…): scopes read / write / admin, optionally limited to one branch' } } },
      security: [{ bearer: [] }],
      paths,
    };
  }
}

/** TypeBox objects carry symbol keys and $id-less JSON; a JSON round trip leaves plain JSON Schema. */
function clean(s: unknown): unknown {
  return JSON.parse(JSON.stringify(s ?? {}));
}

function params(schema: unknown, where: 'path' | 'query'): Json[] {
  const s = clean(schema) as { properties?: Record<string, Json>; required?: string[] };
  return Object.entries(s.properties ?? {}).map(([name, p]) => ({
    name, in: where, required: where === 'path' || (s.required ?? []).includes(name), schema: p, ...(p.description ? { description: p.description } : {}),
  }));
}

function responses(schema: unknown): Json {
  const out: Json = { 200: { description: 'OK' } };
  for (const [code, s] of Object.entries((schema ?? {}) as Record<string, unknown>)) {
    const problem = Number(code) >= 400;
    out[code] = { description: problem ? 'problem' : 'OK', content: { [problem ? 'application/problem+json' : 'application/json']: { schema: clean(s) } } };
  }
  return out;
}

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A small static page: every operation, its parameters and schemas, linked to the JSON. */
export function docsPage(doc: Json): string {
  const paths = doc.paths as Record<string, Record<string, Json>>;
  const intro = String((doc.info as Json).description ?? '').split('\n\n').map((p) => `<p>${esc(p)}</p>`).join('');
  const ops = Object.entries(paths).flatMap(([p, methods]) => Object.entries(methods).map(([m, op]) => ({ p, m, op })));
  const body = ops.map(({ p, m, op }) => {
    const ps = (op.parameters as Json[]).map((x) => `<li><code>${esc(x.name)}</code> (${esc(x.in)}${x.required ? ', required' : ''}) <code>${esc(JSON.stringify(x.schema))}</code></li>`).join('');
    const rb = op.requestBody ? `<details><summary>Request body</summary><pre>${esc(JSON.stringify(op.requestBody, null, 2))}</pre></details>` : '';
    return `<section id="${esc(`${m}-${p}`)}"><h3><span class="m">${esc(m.toUpperCase())}</span> <code>${esc(p)}</code></h3><p>${esc(op.summary)}</p>${ps ? `<ul>${ps}</ul>` : ''}${rb}<p>Responses: ${esc(Object.keys(op.responses as Json).join(', '))}</p></section>`;
  }).join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>branchboot API</title><meta name="viewport" content="width=device-width,initial-scale=1"><link rel="stylesheet" href="/static/app.css"></head>
<body><main class="docs"><h1>branchboot API v1</h1><p>Authenticate with <code>Authorization: Bearer &lt;token&gt;</code>. Machine-readable: <a href="/api/docs/openapi.json">openapi.json</a>.</p>${intro}${body}</main></body></html>`;
}
