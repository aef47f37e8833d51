import type { FastifyInstance } from 'fastify';
import type { HttpContext } from '../server.ts';

/** Placeholder: the ui routes land with their issue. */
export async function uiRoutes(app: FastifyInstance, opts: { ctx: HttpContext }): Promise<void> {
  void app;
  void opts;
}
