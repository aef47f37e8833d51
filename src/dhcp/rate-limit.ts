// Token buckets keyed by MAC and by relay: one chatty or hostile client cannot take the CPU
// or the pool from the others. The table is bounded: under a storm of random MACs the oldest
// keys are forgotten, which only makes the limit more lenient for them, never a crash.
//
// A bucket is two numbers in typed arrays, found through a Map of slot numbers, not an object
// per key: with tens of thousands of long-lived bucket objects V8 revised their allocation site
// in the middle of the first boot storm and threw away the optimised packet path twice
// (--trace-deopt: "code dependencies" on allow and its caller; --no-allocation-site-pretenuring
// avoided it too), recompiling it while the storm ran.
export class RateLimiter {
  private readonly slots = new Map<string, number>();
  private tokens = new Float64Array(256);
  private at = new Float64Array(256);

  constructor(private readonly perSecond: number, private readonly burst: number, private readonly maxKeys = 100_000) {}

  allow(key: string, now = Date.now()): boolean {
    let s = this.slots.get(key);
    let tokens: number;
    if (s === undefined) {
      s = this.slotForNewKey();
      this.slots.set(key, s);
      tokens = this.burst;
    } else {
      // A clock stepped back (NTP) gives nothing, and must not take tokens: that would silence
      // every client for as long as the step.
      tokens = Math.min(this.burst, this.tokens[s]! + (Math.max(0, now - this.at[s]!) / 1000) * this.perSecond);
    }
    this.at[s] = now;
    const allowed = tokens >= 1;
    this.tokens[s] = allowed ? tokens - 1 : tokens;
    return allowed;
  }

  /** The next free slot, or the oldest key's once the table is full (a Map iterates in insertion order). */
  private slotForNewKey(): number {
    if (this.slots.size >= this.maxKeys) {
      const [oldest, slot] = this.slots.entries().next().value as [string, number];
      this.slots.delete(oldest);
      return slot;
    }
    const s = this.slots.size;
    if (s === this.tokens.length) {
      const grow = (a: Float64Array) => { const b = new Float64Array(Math.min(this.maxKeys, a.length * 2)); b.set(a); return b; };
      this.tokens = grow(this.tokens);
      this.at = grow(this.at);
    }
    return s;
  }
}
