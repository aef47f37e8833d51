// A byte-budgeted LRU (Map keeps insertion order: re-inserting on a hit moves an entry to the end).
export class ByteLru<V extends { length: number }> {
  private map = new Map<string, V>();
  private used = 0;

  constructor(private readonly budget: number) {}

  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  set(key: string, value: V): void {
    if (value.length > this.budget) return;
    const old = this.map.get(key);
    if (old !== undefined) {
      this.used -= old.length;
      this.map.delete(key);
    }
    this.map.set(key, value);
    this.used += value.length;
    for (const [k, v] of this.map) {
      if (this.used <= this.budget) break;
      this.map.delete(k);
      this.used -= v.length;
    }
  }

  delete(key: string): void {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.used -= v.length;
      this.map.delete(key);
    }
  }

  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.map.size;
  }
}
