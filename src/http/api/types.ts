import type { FastifyInstance } from 'fastify';
import type { HttpContext } from '../server.ts';

/** Every API route module is a function of the app and the context. */
export type ApiModule = (app: FastifyInstance, ctx: HttpContext) => void;

declare module 'fastify' {
  interface FastifySchema {
    /** OpenAPI grouping and one-line description (see openapi.ts). */
    tags?: string[];
    summary?: string;
  }
}
