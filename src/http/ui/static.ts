// /static/*: the console's stylesheet and script from web/, a fixed list (no path traversal).
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { WEB_DIR } from '../../util/paths.ts';

const TYPES: Record<string, string> = { '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.svg': 'image/svg+xml' };

export function staticRoutes(app: FastifyInstance, dir = WEB_DIR): void {
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const f of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const type = TYPES[path.extname(f)];
    if (type) files.set(f, { body: fs.readFileSync(path.join(dir, f)), type });
  }
  app.get<{ Params: { file: string } }>('/static/:file', async (req, reply) => {
    const f = files.get(req.params.file);
    if (!f) return reply.code(404).type('text/plain').send('not found');
    return reply.type(f.type).header('cache-control', 'public, max-age=300').send(f.body);
  });
}
