// Optimistic concurrency: GET returns an ETag of the resource's definition; PATCH and DELETE
// must send it back in If-Match (428 when absent, 412 when someone changed it meanwhile), so
// two admins never overwrite each other silently. The comparison runs inside the transaction
// that makes the change.
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { AdminError } from '../../model/admin-errors.ts';
import { ApiError } from './problem.ts';

export function etagOf(v: unknown): string {
  return `"${createHash('sha256').update(JSON.stringify(v)).digest('base64url').slice(0, 27)}"`;
}

/** Returns the check to run against the current state; throws 428 at once when If-Match is missing. */
export function ifMatch<T>(req: FastifyRequest, definition: (v: T) => unknown = (v) => v): (current: T) => void {
  const header = req.headers['if-match'];
  if (header === undefined || header === '') throw new ApiError(428, 'send the resource\'s ETag in If-Match (GET it first)', 'If-Match');
  const tags = header.split(',').map((s) => s.trim());
  return (current) => {
    if (tags.includes('*')) return;
    // If-Match uses the strong comparison (RFC 9110 §13.1.1): weak tags never match.
    if (!tags.includes(etagOf(definition(current)))) throw new AdminError('stale', 'the resource changed since you read it; GET it again and reapply your change', 'If-Match');
  };
}
