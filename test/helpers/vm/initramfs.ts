// Builds (once, then from the cache) the test initramfs: busybox-static, the kernel modules
// the VM needs (virtio NIC, nbd, squashfs, loop, overlay — Debian builds them as modules, so
// `ip=` alone on the kernel line does nothing), nbd-client with the libraries ldd names
// (Debian's busybox has no nbd-client applet), the udhcpc script and /init.
import fs from 'node:fs';
import path from 'node:path';
import { cached, hashOf } from './cache.ts';
import { gzipCpio, type CpioEntry } from './cpio.ts';
import { run } from './exec.ts';
import { INIT_SCRIPT, UDHCPC_SCRIPT } from './init-script.ts';
import { moduleClosure, type Kernel } from './kernel.ts';

/** virtio_pci is not pulled in by virtio_net's dependencies; it must be named. */
export const DEFAULT_MODULES = ['virtio_pci', 'virtio_net', 'e1000', 'nbd', 'squashfs', 'loop', 'overlay'];

const BUSYBOX = '/bin/busybox';
const NBD_CLIENT = '/usr/sbin/nbd-client';

/** The shared libraries a dynamic binary loads, as absolute paths (the loader included). */
export function sharedLibraries(binary: string): string[] {
  const out = run(['ldd', binary]);
  const libs = new Set<string>();
  for (const line of out.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.add(m[1]!);
  }
  return [...libs];
}

class Tree {
  private readonly entries = new Map<string, CpioEntry>();
  dir(p: string): void {
    const parts = p.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) {
      const d = `/${parts.slice(0, i).join('/')}`;
      if (!this.entries.has(d)) this.entries.set(d, { type: 'dir', path: d });
    }
  }
  file(p: string, data: Buffer | string, mode = 0o644): void {
    this.dir(path.posix.dirname(p));
    this.entries.set(p, { type: 'file', path: p, data: Buffer.isBuffer(data) ? data : Buffer.from(data), mode });
  }
  /** Copies a host file, following symlinks (libraries are usually symlinks to versioned names). */
  copy(hostPath: string, p = hostPath, mode?: number): void {
    const real = fs.realpathSync(hostPath);
    this.file(p, fs.readFileSync(real), mode ?? (fs.statSync(real).mode & 0o777));
  }
  symlink(p: string, target: string): void {
    this.dir(path.posix.dirname(p));
    this.entries.set(p, { type: 'symlink', path: p, target });
  }
  chardev(p: string, major: number, minor: number, mode = 0o600): void {
    this.dir(path.posix.dirname(p));
    this.entries.set(p, { type: 'chardev', path: p, major, minor, mode });
  }
  list(): CpioEntry[] { return [...this.entries.values()]; }
}

export interface Initramfs { path: string; modules: string[] }

export async function buildInitramfs(kernel: Kernel, modules: string[] = DEFAULT_MODULES): Promise<Initramfs> {
  const order = moduleClosure(kernel, modules);
  const nbdLibs = sharedLibraries(NBD_CLIENT);
  const key = hashOf(kernel.version, order.join(','), INIT_SCRIPT, UDHCPC_SCRIPT,
    String(fs.statSync(BUSYBOX).mtimeMs), String(fs.statSync(NBD_CLIENT).mtimeMs), nbdLibs.join(','));
  const dir = await cached(path.join('initramfs', `${kernel.version}-${key}`), async (tmp) => {
    const t = new Tree();
    for (const d of ['/proc', '/sys', '/dev', '/run', '/tmp', '/etc', '/sbin', '/usr/bin', '/usr/sbin', '/newroot', '/ro', '/rw']) t.dir(d);
    // The kernel opens /dev/console for init's stdin/stdout/stderr before /init runs.
    t.chardev('/dev/console', 5, 1);
    t.chardev('/dev/null', 1, 3, 0o666);
    t.copy(BUSYBOX, '/bin/busybox', 0o755);
    t.symlink('/bin/sh', 'busybox');
    t.file('/init', INIT_SCRIPT, 0o755);
    t.file('/etc/udhcpc.script', UDHCPC_SCRIPT, 0o755);
    t.copy(NBD_CLIENT, '/sbin/nbd-client', 0o755);
    for (const lib of nbdLibs) t.copy(lib, lib, 0o755);
    const names: string[] = [];
    for (const rel of order) {
      const name = path.basename(rel);
      t.copy(path.join(kernel.modulesDir, rel), `/lib/modules/${name}`, 0o644);
      names.push(name);
    }
    t.file('/lib/modules/load.order', `${names.join('\n')}\n`);
    fs.writeFileSync(path.join(tmp, 'initrd.img'), gzipCpio(t.list()));
  });
  return { path: path.join(dir, 'initrd.img'), modules: order };
}
