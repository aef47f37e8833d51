// Slows password guessing: after a few failures for one IP+username the pair is locked for a
// time that doubles with each further failure (up to 15 minutes); an IP failing across many
// usernames is locked as a whole. Success clears the pair. In memory: a restart forgets, which
// costs an attacker a restart they cannot cause.
const WINDOW_MS = 15 * 60_000;
const FREE_TRIES = 5;
const MAX_LOCK_MS = 15 * 60_000;
const IP_FREE_TRIES = 30;

interface Entry { failures: number; first: number; lockedUntil: number }

export class LoginLimiter {
  private readonly pairs = new Map<string, Entry>();
  private readonly ips = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Milliseconds until this attempt may be made (0 = now). */
  retryAfter(ip: string, username: string): number {
    const t = this.now();
    const wait = Math.max(this.get(this.pairs, `${ip}|${username.toLowerCase()}`, t)?.lockedUntil ?? 0, this.get(this.ips, ip, t)?.lockedUntil ?? 0) - t;
    return Math.max(0, wait);
  }

  failed(ip: string, username: string): void {
    const t = this.now();
    this.bump(this.pairs, `${ip}|${username.toLowerCase()}`, t, FREE_TRIES);
    this.bump(this.ips, ip, t, IP_FREE_TRIES);
    if (this.pairs.size > 10_000) this.sweep(t);
  }

  succeeded(ip: string, username: string): void {
    this.pairs.delete(`${ip}|${username.toLowerCase()}`);
  }

  private get(m: Map<string, Entry>, k: string, t: number): Entry | undefined {
    const e = m.get(k);
    if (e && t - e.first > WINDOW_MS && t >= e.lockedUntil) { m.delete(k); return undefined; }
    return e;
  }

  private bump(m: Map<string, Entry>, k: string, t: number, free: number): void {
    const e = this.get(m, k, t) ?? { failures: 0, first: t, lockedUntil: 0 };
    e.failures++;
    if (e.failures >= free) e.lockedUntil = t + Math.min(MAX_LOCK_MS, 1000 * 2 ** (e.failures - free));
    m.set(k, e);
  }

  private sweep(t: number): void {
    for (const m of [this.pairs, this.ips]) for (const k of [...m.keys()]) this.get(m, k, t);
  }
}
