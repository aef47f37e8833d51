import type { FastifyInstance } from 'fastify';
import type { HttpContext } from '../server.ts';

/** Placeholder: the boot routes land with their issue. */
export async function bootRoutes(app: FastifyInstance, opts: { ctx: HttpContext }): Promise<void> {
  void app;
  void opts;
}
