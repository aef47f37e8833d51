// Token buckets keyed by MAC and by relay: one chatty or hostile client cannot take the CPU
// or the pool from the others. The table is bounded: under a storm of random MACs the oldest
// keys are forgotten, which only makes the limit more lenient for them, never a crash.
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly perSecond: number, private readonly burst: number, private readonly maxKeys = 100_000) {}

  allow(key: string, now = Date.now()): boolean {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) {
        const oldest = this.buckets.keys().next();
        if (!oldest.done) this.buckets.delete(oldest.value);
      }
      b = { tokens: this.burst, at: now };
      this.buckets.set(key, b);
    } else {
      // A clock stepped back (NTP) gives nothing, and must not take tokens: that would silence
      // every client for as long as the step.
      b.tokens = Math.min(this.burst, b.tokens + (Math.max(0, now - b.at) / 1000) * this.perSecond);
      b.at = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
