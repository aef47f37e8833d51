// Which ephemeral ports our transfers hold, shared by every thread that runs transfers.
// Transfer sockets use SO_REUSEADDR (for the wrong-TID socket beside each one), and with it
// the kernel may hand out a port that another of our transfers already holds: two transfers
// on one port would steal each other's strays. One bit per port in shared memory, claimed
// with an atomic OR, so threads never hand out the same port twice.
const WORDS = 65536 / 32;

export class PortClaims {
  private readonly bits: Int32Array;
  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(WORDS * 4)) {
    this.bits = new Int32Array(buffer);
  }

  /** True when the port was free and is now ours. */
  claim(port: number): boolean {
    const mask = 1 << (port & 31);
    return (Atomics.or(this.bits, port >>> 5, mask) & mask) === 0;
  }

  release(port: number): void {
    Atomics.and(this.bits, port >>> 5, ~(1 << (port & 31)));
  }
}
