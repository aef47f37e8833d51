// A change that changes nothing writes nothing: a script re-running the same PATCH must not
// bump updated_at (part of the ETag other admins hold, so their next change would be a 412)
// nor add an audit row. The write runs, the result is compared, and an equal result rolls the
// transaction back.

/** Thrown inside a transaction to roll it back and hand `value` (the unchanged state) out. */
export class Unchanged<T> extends Error {
  constructor(readonly value: T) {
    super('unchanged');
  }
}

/** Equal apart from the bookkeeping timestamps. */
export function sameState(a: object, b: object): boolean {
  const norm = (v: object) => JSON.stringify({ ...v, updatedAt: 0 });
  return norm(a) === norm(b);
}

/** Runs a transaction that may end in `throw new Unchanged(before)`; returns its value either way. */
export async function unlessUnchanged<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof Unchanged) return err.value as T;
    throw err;
  }
}
