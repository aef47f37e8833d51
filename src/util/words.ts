// Counts in messages people read: "1 machine", "3 machines".

/** `n` and the noun, plural unless n is 1 (`many` for the irregular ones: index → indexes is regular enough). */
export function count(n: number, noun: string, many = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : many}`;
}
