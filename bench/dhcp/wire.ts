// The DHCP packets of the bench's own clients (loadgen.ts, bench/backup/probe.ts): each acts as
// a relay agent, giaddr = its own address, so the server answers it by unicast on port 67 and
// the clients need no interfaces of their own.
export const ip = (s: string) => s.split('.').reduce((n, x) => (n << 8) + Number(x), 0) >>> 0;
export const ipStr = (n: number) => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
export const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0); return b; };

/** A BOOTREQUEST of DHCP message `type` from `mac`, relayed by `giaddr`; `ciaddr` for a renew. */
export function relayedRequest(giaddr: number, type: number, xid: number, mac: Buffer, opts: Array<[number, Buffer]>, ciaddr = 0): Buffer {
  const b = Buffer.alloc(548);
  b[0] = 1; b[1] = 1; b[2] = 6; b[3] = 1;
  b.writeUInt32BE(xid, 4);
  b.writeUInt32BE(ciaddr, 12);
  b.writeUInt32BE(giaddr, 24);
  mac.copy(b, 28);
  b.writeUInt32BE(0x63825363, 236);
  let at = 240;
  for (const [c, v] of [[53, Buffer.from([type])] as [number, Buffer], ...opts]) { b[at] = c; b[at + 1] = v.length; v.copy(b, at + 2); at += 2 + v.length; }
  b[at] = 255;
  // 300 bytes, the BOOTP minimum that PXE ROMs pad to, unless the options need more.
  return b.subarray(0, Math.max(300, at + 1));
}

/** A server's BOOTREPLY: its xid, message type, offered address and server id; undefined for anything else. */
export function parseReply(b: Buffer): { xid: number; type: number; yiaddr: number; serverId: number } | undefined {
  if (b.length < 240 || b[0] !== 2 || b.readUInt32BE(236) !== 0x63825363) return undefined;
  let type = 0; let serverId = 0;
  for (let i = 240; i < b.length;) {
    const c = b[i]!;
    if (c === 0) { i++; continue; }
    if (c === 255 || i + 1 >= b.length) break;
    const l = b[i + 1]!;
    if (c === 53) type = b[i + 2]!;
    if (c === 54 && l === 4) serverId = b.readUInt32BE(i + 2);
    i += 2 + l;
  }
  return { xid: b.readUInt32BE(4), type, yiaddr: b.readUInt32BE(16), serverId };
}

/**
 * What a BIOS PXE ROM adds to its DISCOVER and REQUEST (../shared/notes/pxe-clients.md): vendor
 * class, client architecture 0, UNDI 2.1, its SMBIOS UUID and the PXE parameter list. With
 * `BENCH_DHCP_CLIENTS=pxe` the bench's clients send them, so a server must decide a boot file
 * for each: the case a lab's boot storm is made of.
 */
export function pxeRomOptions(i: number): Array<[number, Buffer]> {
  const uuid = Buffer.alloc(17);
  uuid.writeUInt32BE(0x4c4c4544, 1);
  uuid.writeUInt32BE(i >>> 0, 13);
  return [
    [55, Buffer.from([1, 2, 3, 5, 6, 11, 12, 13, 15, 16, 17, 18, 22, 23, 28, 40, 41, 42, 43, 50, 51, 54, 58, 59, 60, 66, 67, 128, 129, 130, 131, 132, 133, 134, 135])],
    [57, Buffer.from([0x04, 0xec])],
    [93, Buffer.from([0, 0])],
    [94, Buffer.from([1, 2, 1])],
    [97, uuid],
    [60, Buffer.from('PXEClient:Arch:00000:UNDI:002001', 'latin1')],
  ];
}

/** The extra options of bench client `i`: none by default, a PXE ROM's with BENCH_DHCP_CLIENTS=pxe. */
export function clientOptions(i: number): Array<[number, Buffer]> {
  return process.env.BENCH_DHCP_CLIENTS === 'pxe' ? pxeRomOptions(i) : [];
}
