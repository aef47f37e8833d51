// Keyset cursors: a cursor is the (sort value, id) of the last row a page showed, so pages stay
// stable while rows are added or removed elsewhere (OFFSET would skip or repeat rows).
export interface Cursor { v: string | number | null; id: number }

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.v, c.id])).toString('base64url');
}

/** Undefined for anything that is not a cursor this server wrote. */
export function decodeCursor(s: string): Cursor | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    if (!Array.isArray(v) || v.length !== 2) return undefined;
    const [key, id] = v as [unknown, unknown];
    if ((key !== null && typeof key !== 'string' && typeof key !== 'number') || typeof id !== 'number' || !Number.isInteger(id)) return undefined;
    return { v: key, id };
  } catch {
    return undefined;
  }
}

/** An id-only cursor (newest first lists: events, audit, leases). */
export function decodeIdCursor(s: string): number | undefined {
  const c = decodeCursor(s);
  return c && c.v === 0 ? c.id : undefined;
}

export function encodeIdCursor(id: number): string {
  return encodeCursor({ v: 0, id });
}
