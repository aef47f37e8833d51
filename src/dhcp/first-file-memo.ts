// DHCP asks the planner for a client's first file at its DISCOVER and again at its REQUEST a few
// milliseconds later (and at every retransmission): the same question. Most answers cost no
// database read (new and registered machines come from DHCP's copy, boot-lookups.ts); those that
// do (a discovered machine booting again, a PC claimed by its UUID, any machine right after an
// inventory change) read a row, ~13-21 µs of the packet thread here, so the handler keeps
// answers that cost a read (bench/dhcp/cpu.ts, registered PXE clients read from the database:
// 85-96 µs per DORA without the memo, 73-88 with it). Answers are kept as long as a subnet
// snapshot is trusted, and dropped at every inventory change this process makes, as the subnets
// are: a change made by another process (`branchboot apply`) reaches the first file within the
// same TTL as it reaches the pools. Only the first file is kept; the boot plan itself is decided
// when the client asks for its script.
import type { BootClient, FirstFile } from '../boot/types.ts';

export class FirstFileMemo {
  private readonly kept = new Map<string, { file: FirstFile; at: number }>();

  constructor(private readonly ttlMs: number, private readonly max = 16384) {}

  /**
   * Everything the answer depends on. The client's address only names its branch when the
   * subnet does not (the planner's order: registration, then subnet, then address).
   */
  static key(c: BootClient): string {
    return `${c.mac}|${c.arch ?? ''}|${c.ipxe ? 1 : 0}${c.httpBoot ? 1 : 0}|${c.uuid ?? ''}|${c.branchId ?? `ip ${c.clientIp ?? ''}`}|${c.serverAddress ?? ''}`;
  }

  get size(): number {
    return this.kept.size;
  }

  get(key: string, now: number): FirstFile | undefined {
    const e = this.kept.get(key);
    if (e === undefined) return undefined;
    if (now - e.at < this.ttlMs && now >= e.at) return e.file;
    this.kept.delete(key);
    return undefined;
  }

  set(key: string, file: FirstFile, now: number): void {
    // Oldest first (a Map iterates in insertion order): a storm larger than `max` clients keeps
    // its latest askers, whose REQUESTs are the ones still to come.
    if (this.kept.size >= this.max && !this.kept.has(key)) this.kept.delete(this.kept.keys().next().value!);
    this.kept.set(key, { file, at: now });
  }

  clear(): void {
    this.kept.clear();
  }
}
