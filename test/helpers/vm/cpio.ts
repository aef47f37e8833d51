// A "newc" cpio archive writer, enough for an initramfs: directories, files, symlinks and
// character devices. Written here rather than by running cpio over a staged folder so the
// /dev/console node needs no mknod (the kernel opens it for init's stdio before /init runs;
// without it /init prints nothing) and the archive is byte-for-byte reproducible.
import zlib from 'node:zlib';

export type CpioEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; data: Buffer; mode?: number }
  | { type: 'symlink'; path: string; target: string }
  | { type: 'chardev'; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function pad4(len: number): Buffer {
  return Buffer.alloc((4 - (len % 4)) % 4);
}

function record(ino: number, mode: number, data: Buffer, name: string, rdev: [number, number] = [0, 0]): Buffer[] {
  const nameBuf = Buffer.from(`${name}\0`);
  // Fields (SVR4 "newc"): magic ino mode uid gid nlink mtime filesize devmajor devminor
  // rdevmajor rdevminor namesize check. mtime 0 keeps the archive reproducible.
  const header = '070701' + [ino, mode, 0, 0, 1, 0, data.length, 0, 0, rdev[0], rdev[1], nameBuf.length, 0].map(hex8).join('');
  const head = Buffer.concat([Buffer.from(header, 'ascii'), nameBuf]);
  return [head, pad4(head.length), data, pad4(data.length)];
}

export function writeCpio(entries: CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let ino = 1;
  // Parents first: the kernel's unpacker does not create missing directories.
  const sorted = [...entries].sort((a, b) => depth(a.path) - depth(b.path));
  for (const e of sorted) {
    const name = e.path.replace(/^\/+/, '');
    switch (e.type) {
      case 'dir': parts.push(...record(ino++, S_IFDIR | (e.mode ?? 0o755), Buffer.alloc(0), name)); break;
      case 'file': parts.push(...record(ino++, S_IFREG | (e.mode ?? 0o644), e.data, name)); break;
      case 'symlink': parts.push(...record(ino++, S_IFLNK | 0o777, Buffer.from(e.target), name)); break;
      case 'chardev': parts.push(...record(ino++, S_IFCHR | (e.mode ?? 0o600), Buffer.alloc(0), name, [e.major, e.minor])); break;
    }
  }
  parts.push(...record(0, 0, Buffer.alloc(0), 'TRAILER!!!'));
  return Buffer.concat(parts);
}

function depth(p: string): number {
  return p.replace(/^\/+|\/+$/g, '').split('/').length;
}

/** gzip, which every Debian kernel decompresses. */
export function gzipCpio(entries: CpioEntry[]): Buffer {
  return zlib.gzipSync(writeCpio(entries), { level: 6 });
}
