// A newc cpio archive as mkinitramfs writes one (initramfs-tools pads each to 512 bytes), for
// initrds shaped like Ubuntu's in tests: no cpio binary needed. A null body is a directory
// (unmkinitramfs's cpio -i creates none itself).
export function newc(files: [string, string | Buffer | null][]): Buffer {
  const parts: Buffer[] = [];
  const hex = (n: number) => n.toString(16).padStart(8, '0');
  let ino = 1;
  const entry = (name: string, data: Buffer, mode: number) => {
    const nameBuf = Buffer.from(`${name}\0`);
    const head = `070701${hex(ino++)}${hex(mode)}${hex(0)}${hex(0)}${hex(1)}${hex(0)}${hex(data.length)}${hex(0)}${hex(0)}${hex(0)}${hex(0)}${hex(nameBuf.length)}${hex(0)}`;
    parts.push(Buffer.from(head, 'latin1'), nameBuf, Buffer.alloc((4 - ((110 + nameBuf.length) % 4)) % 4));
    parts.push(data, Buffer.alloc((4 - (data.length % 4)) % 4));
  };
  for (const [name, data] of files) entry(name, data === null ? Buffer.alloc(0) : Buffer.isBuffer(data) ? data : Buffer.from(data), data === null ? 0o40755 : 0o100644);
  entry('TRAILER!!!', Buffer.alloc(0), 0);
  const all = Buffer.concat(parts);
  return Buffer.concat([all, Buffer.alloc((512 - (all.length % 512)) % 512)]);
}
