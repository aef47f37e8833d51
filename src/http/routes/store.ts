import type { FastifyInstance } from 'fastify';
import type { HttpContext } from '../server.ts';

/** Placeholder: the store routes land with their issue. */
export async function storeRoutes(app: FastifyInstance, opts: { ctx: HttpContext }): Promise<void> {
  void app;
  void opts;
}
