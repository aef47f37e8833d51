// The lab image: a squashfs (zstd, as recent Ubuntu/Debian live images) of a /usr subtree, a
// version 2 with one changed file and 5 MB added (bench/store's update case), and the boot's
// working set for the block-level scenario.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface LabImage {
  v1: string;
  v2: string;
  kernel: string;
  initrd: string;
  /** unsquashfs -ef file: the files the block-level boot reads. */
  workingSet: string;
  workingSetFiles: number;
  files: number;
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(() => true, () => false);
}

async function squash(from: string, to: string): Promise<void> {
  await exec('mksquashfs', [from, to, '-noappend', '-quiet', '-no-progress', '-comp', 'zstd', '-all-root', '-mkfs-time', '1700000000', '-all-time', '1700000000'], { maxBuffer: 1 << 26 });
}

/** Kept in `work` between runs (delete it to rebuild). */
export async function buildLabImage(work: string, tree: string): Promise<LabImage> {
  const img: LabImage = {
    v1: path.join(work, 'v1', 'filesystem.squashfs'), v2: path.join(work, 'v2', 'filesystem.squashfs'),
    kernel: path.join(work, 'vmlinuz'), initrd: path.join(work, 'initrd.img'), workingSet: path.join(work, 'working-set.txt'),
    workingSetFiles: 0, files: 0,
  };
  const stage = path.join(work, 'stage');
  if (!(await exists(img.v2))) {
    await fs.rm(stage, { recursive: true, force: true });
    await fs.mkdir(stage, { recursive: true });
    // Hard links when the work folder and /usr share a file system, else a copy.
    await exec('cp', ['-al', tree, path.join(stage, 'root')]).catch(() => exec('cp', ['-a', tree, path.join(stage, 'root')]));
    await fs.mkdir(path.dirname(img.v1), { recursive: true });
    await fs.mkdir(path.dirname(img.v2), { recursive: true });
    console.error(`building the squashfs of ${tree}…`);
    await squash(path.join(stage, 'root'), img.v1);
    // Version 2: one file changed (a new copy, never the hard-linked original) and 5 MB added.
    const { stdout } = await exec('find', [path.join(stage, 'root'), '-type', 'f', '-size', '+100k'], { maxBuffer: 1 << 26 });
    const victim = stdout.split('\n').filter(Boolean).sort()[0]!;
    const data = await fs.readFile(victim);
    data.write('branchboot lab update', 64);
    await fs.rm(victim);
    await fs.writeFile(victim, data);
    await fs.writeFile(path.join(stage, 'root', 'added-in-v2.bin'), randomBytes(5 * 1024 * 1024));
    await squash(path.join(stage, 'root'), img.v2);
    await fs.rm(stage, { recursive: true, force: true });
  }
  // Kernel and initrd of a current Ubuntu are about 15 and 70 MB; scaled with the image here.
  if (!(await exists(img.kernel))) await fs.writeFile(img.kernel, randomBytes(8 * 1024 * 1024));
  if (!(await exists(img.initrd))) await fs.writeFile(img.initrd, randomBytes(16 * 1024 * 1024));
  // Working set: every 4th regular file in listing order (a quarter of the files, spread over the
  // whole image like a boot's reads are), plus the directory and inode tables unsquashfs needs.
  const { stdout } = await exec('unsquashfs', ['-lls', '-d', '', img.v1], { maxBuffer: 1 << 26 });
  const files = stdout.split('\n').filter((l) => l.startsWith('-')).map((l) => l.slice(l.indexOf(' /') + 1));
  // unsquashfs takes -ef lines as wildcard patterns: /usr/bin/[ and the like would not match themselves.
  const chosen = files.filter((_, i) => i % 4 === 0).filter((f) => !/[[\]*?\\]/.test(f));
  img.files = files.length;
  img.workingSetFiles = chosen.length;
  await fs.writeFile(img.workingSet, chosen.join('\n') + '\n');
  return img;
}
