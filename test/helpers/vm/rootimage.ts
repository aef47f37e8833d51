// The root file system the VMs boot into: a tiny squashfs (busybox-static and an /sbin/init
// that prints a marker and /proc/cmdline, then powers off). Tests import it into the block
// store with `branchboot image import`; two markers give two distinguishable images.
import fs from 'node:fs';
import path from 'node:path';
import { cached, hashOf } from './cache.ts';
import { run } from './exec.ts';
import { rootInitScript } from './init-script.ts';

export interface RootImageOptions {
  marker: string;
  /** Also put the kernel and initrd under /boot (for importers that take them from the image). */
  boot?: { vmlinuz: string; initrd: string };
}

export async function buildRootImage(opts: RootImageOptions): Promise<string> {
  if (!/^[\w.-]+$/.test(opts.marker)) throw new Error(`marker must be [A-Za-z0-9_.-]: ${opts.marker}`);
  const init = rootInitScript(opts.marker);
  const key = hashOf(init, String(fs.statSync('/bin/busybox').mtimeMs), opts.boot ? `${opts.boot.vmlinuz}|${opts.boot.initrd}` : '');
  const dir = await cached(path.join('rootimg', `${opts.marker}-${key}`), async (tmp) => {
    const tree = path.join(tmp, 'tree');
    for (const d of ['bin', 'sbin', 'proc', 'sys', 'dev', 'tmp', 'run', 'etc']) fs.mkdirSync(path.join(tree, d), { recursive: true });
    fs.copyFileSync('/bin/busybox', path.join(tree, 'bin', 'busybox'));
    fs.chmodSync(path.join(tree, 'bin', 'busybox'), 0o755);
    fs.symlinkSync('busybox', path.join(tree, 'bin', 'sh'));
    fs.writeFileSync(path.join(tree, 'sbin', 'init'), init, { mode: 0o755 });
    fs.writeFileSync(path.join(tree, 'etc', 'bbtest-marker'), `${opts.marker}\n`);
    if (opts.boot) {
      fs.mkdirSync(path.join(tree, 'boot'));
      fs.copyFileSync(opts.boot.vmlinuz, path.join(tree, 'boot', 'vmlinuz'));
      fs.copyFileSync(opts.boot.initrd, path.join(tree, 'boot', 'initrd.img'));
    }
    // Fixed timestamps and root ownership keep the image (and so its chunks) reproducible.
    run(['mksquashfs', tree, path.join(tmp, 'root.squashfs'), '-noappend', '-quiet', '-no-progress',
      '-comp', 'xz', '-all-root', '-mkfs-time', '0', '-all-time', '0']);
    fs.rmSync(tree, { recursive: true, force: true });
  });
  return path.join(dir, 'root.squashfs');
}
