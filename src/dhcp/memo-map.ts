// Values a storm of packets would otherwise make again for every client (option bytes of a
// subnet, the text of this server's address): made on first use, in maps that cannot grow
// without bound whatever keys the network sends.

/** m's value for key, made on first use; a map past 4096 entries starts again. */
export function once<K, V>(m: Map<K, V>, key: K, make: (key: K) => V): V {
  let v = m.get(key);
  if (v === undefined) {
    if (m.size > 4096) m.clear();
    v = make(key);
    m.set(key, v);
  }
  return v;
}
