// HTTP Range for the assembled image, kernels and initrds (RFC 9110 §14). Boot clients use
// single ranges (httpfs2 16–128 KiB reads, iPXE sanboot); multi-range gets a real
// multipart/byteranges answer, capped so a request cannot make us stream an image many times.

export type RangeDecision =
  /** No usable Range (absent, or a unit we do not know): 200 with the whole body. */
  | { kind: 'full' }
  | { kind: 'single'; start: number; end: number }
  | { kind: 'multi'; ranges: { start: number; end: number }[] }
  /** 416 with Content-Range: bytes *\/SIZE and this reason. */
  | { kind: 'unsatisfiable'; reason: string };

export const MAX_RANGES = 16;

/** `end` is inclusive, as in Content-Range. */
export function decideRange(header: string | undefined, size: number): RangeDecision {
  if (header === undefined) return { kind: 'full' };
  const h = header.trim();
  const eq = h.indexOf('=');
  if (eq < 0) return { kind: 'unsatisfiable', reason: `malformed Range "${h.slice(0, 64)}"` };
  // Another unit (RFC 9110 §14.2: a server ignores a range unit it does not understand).
  if (h.slice(0, eq).trim().toLowerCase() !== 'bytes') return { kind: 'full' };
  const specs = h.slice(eq + 1).split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (specs.length === 0) return { kind: 'unsatisfiable', reason: 'empty byte range set' };
  if (specs.length > MAX_RANGES) return { kind: 'unsatisfiable', reason: `more than ${MAX_RANGES} ranges` };
  const ranges: { start: number; end: number }[] = [];
  for (const spec of specs) {
    const m = /^(\d{0,16})-(\d{0,16})$/.exec(spec);
    if (!m || (m[1] === '' && m[2] === '')) return { kind: 'unsatisfiable', reason: `malformed range "${spec.slice(0, 40)}"` };
    if (m[1] === '') {
      const n = Number(m[2]);
      if (n === 0 || size === 0) continue; // a zero-length suffix selects nothing
      ranges.push({ start: Math.max(0, size - n), end: size - 1 });
      continue;
    }
    const start = Number(m[1]);
    if (m[2] !== '' && Number(m[2]) < start) return { kind: 'unsatisfiable', reason: `reversed range "${spec}" (last before first)` };
    if (start >= size) continue; // past the end: unsatisfiable on its own
    const last = m[2] === '' ? size - 1 : Number(m[2]);
    ranges.push({ start, end: Math.min(last, size - 1) });
  }
  if (ranges.length === 0) return { kind: 'unsatisfiable', reason: `no range starts inside the ${size} bytes` };
  if (ranges.length === 1) return { kind: 'single', ...ranges[0]! };
  const total = ranges.reduce((a, r) => a + r.end - r.start + 1, 0);
  if (total > 2 * size + 1024 * 1024) return { kind: 'unsatisfiable', reason: 'ranges overlap too much' };
  return { kind: 'multi', ranges };
}
