// Failures the admin model reports to its callers (API, console), each naming the field at
// fault so the caller can point at it. HTTP status mapping lives in http/api/problem.ts.
export type AdminErrorKind = 'invalid' | 'not-found' | 'conflict' | 'forbidden' | 'stale';

export class AdminError extends Error {
  constructor(readonly kind: AdminErrorKind, message: string, readonly field?: string) {
    super(message);
    this.name = 'AdminError';
  }
}

export const invalid = (field: string, message: string) => new AdminError('invalid', message, field);
export const notFound = (message: string) => new AdminError('not-found', message);
export const conflict = (message: string, field?: string) => new AdminError('conflict', message, field);
export const forbidden = (message: string) => new AdminError('forbidden', message);
