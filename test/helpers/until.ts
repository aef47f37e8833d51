// Waiting for a condition instead of sleeping for a guess: CI runs on a shared 2-core machine
// under other sessions' load, where "batched every 100 ms, so wait 300 ms" sometimes is not enough.
// The deadline is generous on purpose: it only bounds a test that is already failing.

/** Polls fn until it returns true or a value other than undefined/false; throws after timeoutMs. */
export async function until<T>(
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  opts: { timeoutMs?: number; everyMs?: number } = {},
): Promise<T> {
  const end = Date.now() + (opts.timeoutMs ?? 15_000);
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() >= end) throw new Error(`timed out after ${opts.timeoutMs ?? 15_000} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 10));
  }
}
