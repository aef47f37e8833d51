// One mutated input for the fuzz tests of the ISO 9660 readers: at 1-4 places inside the "hot"
// byte ranges (directory records, CE areas), a random byte, a run of the characters path
// handling trips on, a flipped bit, or a 32-bit field set to an edge value (`edge()`, e.g. 0,
// 0xffffffff, the root's LBA). The image is changed in place; the returned function undoes it
// for the next input, so thousands of inputs cost one copy of the image.
export function mutateIso(buf: Buffer, hot: [number, number][], rnd: (n: number) => number, edge: () => number): () => void {
  const saved: [number, number][] = [];
  const set = (at: number, v: number) => { if (at < buf.length) { saved.push([at, buf[at]!]); buf[at] = v & 255; } };
  for (let k = 1 + rnd(4); k > 0; k--) {
    const [a, z] = hot[rnd(hot.length)]!;
    const at = a + rnd(z - a);
    const b = rnd(4);
    if (b === 0) set(at, rnd(256));
    else if (b === 1) for (let j = 0; j < 1 + rnd(6); j++) set(at + j, ['/', '.', '\0', '\\'][rnd(4)]!.charCodeAt(0));
    else if (b === 2) set(at, buf[at]! ^ (1 << rnd(8)));
    else { const v = edge(); for (let j = 0; j < 4; j++) set(at + j, v >>> (8 * j)); }
  }
  return () => { for (let j = saved.length - 1; j >= 0; j--) buf[saved[j]![0]] = saved[j]![1]; };
}
