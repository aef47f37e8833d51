import type { FastifyInstance } from 'fastify';
import type { HttpContext } from '../server.ts';

/** Placeholder: the api routes land with their issue. */
export async function apiRoutes(app: FastifyInstance, opts: { ctx: HttpContext }): Promise<void> {
  void app;
  void opts;
}
