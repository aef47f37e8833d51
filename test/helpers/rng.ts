// A seeded PRNG (mulberry32) for fuzz tests: the same seed gives the same inputs, so a failure replays.
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Fuzz campaigns beyond the test command's fixed inputs:
//   FUZZ_SEED=7 FUZZ_SCALE=20 node --import tsx --test test/unit/*/*fuzz*.test.ts
// Each test mixes FUZZ_SEED with its own seed, so one value gives every test new inputs, and the
// same value replays them.

/** The test's fixed seed, or mixed with FUZZ_SEED when that is set. */
export function fuzzSeed(fixed: number): number {
  const s = process.env.FUZZ_SEED;
  return s === undefined || s === '' ? fixed >>> 0 : (Math.imul(Number(s) >>> 0, 0x9e3779b1) ^ fixed) >>> 0;
}

/** FUZZ_SCALE (default 1): how many times its usual number of inputs a fuzz test runs, and its timeout. */
export function fuzzScale(): number {
  const k = Number(process.env.FUZZ_SCALE ?? 1);
  return Number.isFinite(k) && k > 0 ? k : 1;
}

/** The test's input count times FUZZ_SCALE. */
export function fuzzCount(n: number): number {
  return Math.round(n * fuzzScale());
}
