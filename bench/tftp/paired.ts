// Per-run ratios of two servers measured in the same run: on a shared host a run's noise hits
// both, so the median of these is steadier than the ratio of the two medians.
export type RawRuns = Record<string, Record<string, number[]>>;

export interface Paired { runs: number; median: number; q1: number; q3: number; won: number }

export function paired(rows: RawRuns, row: string, a: string, b: string): Paired | undefined {
  const xs = rows[row]?.[a];
  const ys = rows[row]?.[b];
  if (!xs || !ys) return undefined;
  const r = xs.map((x, i) => x / ys[i]!).filter((v) => Number.isFinite(v) && v > 0).sort((p, q) => p - q);
  if (r.length === 0) return undefined;
  const at = (f: number) => r[Math.min(r.length - 1, Math.floor(f * r.length))]!;
  const median = r.length % 2 ? r[(r.length - 1) / 2]! : (r[r.length / 2 - 1]! + r[r.length / 2]!) / 2;
  return { runs: r.length, median, q1: at(0.25), q3: at(0.75), won: r.filter((v) => v > 1).length };
}

export const pairedLine = (p: Paired) =>
  `${p.median.toFixed(3)}x (quartiles ${p.q1.toFixed(3)}-${p.q3.toFixed(3)}, ${p.won} of ${p.runs} runs won)`;
