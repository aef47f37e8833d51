// Live ISOs: the layout names the flavor. We ask xorriso where each file's data lies
// (-exec report_lba) and then read those byte ranges straight from the ISO, so the squashfs
// streams into the store without being copied out first.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Flavor } from '../db/schema.ts';
import { ImageInputError } from './probe.ts';

const run = promisify(execFile);
const SECTOR = 2048;

export interface IsoFile {
  path: string;
  size: number;
  /** Byte ranges in the ISO, in order (files over 4 GiB have several extents). */
  extents: { start: number; length: number }[];
}

export interface LiveLayout {
  flavor: Flavor;
  kernel: IsoFile;
  initrd: IsoFile;
  root: IsoFile;
  /** The name the flavor's initramfs looks for. */
  rootFile: string;
}

/** Parses `xorriso -find / -type f -exec report_lba` lines: "File data lba: XT , LBA , BLOCKS , SIZE , 'PATH'". */
export function parseReportLba(text: string): Map<string, IsoFile> {
  const files = new Map<string, IsoFile>();
  const re = /^File data lba:\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*'(.*)'\s*$/;
  for (const line of text.split('\n')) {
    const m = re.exec(line);
    if (!m) continue;
    const path = m[5]!.replace(/'"'"'/g, "'");
    const f = files.get(path) ?? { path, size: 0, extents: [] };
    const length = Number(m[4]);
    f.extents.push({ start: Number(m[2]) * SECTOR, length });
    f.size += length;
    files.set(path, f);
  }
  return files;
}

export async function listIso(iso: string): Promise<Map<string, IsoFile>> {
  try {
    const { stdout } = await run('xorriso', ['-indev', iso, '-find', '/', '-type', 'f', '-exec', 'report_lba', '--'], { maxBuffer: 64 * 1024 * 1024 });
    return parseReportLba(stdout);
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new ImageInputError('reading an ISO needs xorriso (Debian package xorriso)');
    const why = (e.stderr ?? e.message).split('\n').filter((l) => /FAILURE|SORRY|ERROR/.test(l)).slice(0, 3).join('; ');
    throw new ImageInputError(`${iso}: not a readable ISO 9660 image: ${why || e.message}`);
  }
}

function first(files: Map<string, IsoFile>, candidates: (string | RegExp)[]): IsoFile | undefined {
  for (const c of candidates) {
    if (typeof c === 'string') {
      const f = files.get(c);
      if (f) return f;
    } else {
      for (const [p, f] of files) if (c.test(p)) return f;
    }
  }
  return undefined;
}

/** Finds the live layout: casper/ (Ubuntu), live/ (Debian live-boot), LiveOS/ + images/pxeboot/ (Fedora dracut). */
export function detectLayout(files: Map<string, IsoFile>, isoName: string, isoSize: number): LiveLayout {
  const layouts: { flavor: Flavor; dir: string; kernel: (string | RegExp)[]; initrd: (string | RegExp)[]; root: (string | RegExp)[]; rootFile: (f: IsoFile) => string }[] = [
    {
      flavor: 'casper', dir: '/casper/',
      kernel: ['/casper/vmlinuz', '/casper/vmlinuz.efi', /^\/casper\/vmlinuz[^/]*$/],
      initrd: ['/casper/initrd', '/casper/initrd.lz', '/casper/initrd.gz', '/casper/initrd.img', /^\/casper\/initrd[^/]*$/],
      root: ['/casper/filesystem.squashfs', /^\/casper\/[^/]*\.squashfs$/],
      rootFile: (f) => f.path.slice('/casper/'.length),
    },
    {
      flavor: 'live-boot', dir: '/live/',
      kernel: ['/live/vmlinuz', /^\/live\/vmlinuz[^/]*$/],
      initrd: ['/live/initrd.img', /^\/live\/initrd[^/]*$/],
      root: ['/live/filesystem.squashfs', /^\/live\/[^/]*\.squashfs$/],
      rootFile: (f) => f.path.slice('/live/'.length),
    },
    {
      flavor: 'dracut', dir: '/LiveOS/',
      kernel: ['/images/pxeboot/vmlinuz'],
      initrd: ['/images/pxeboot/initrd.img'],
      root: ['/LiveOS/squashfs.img', /^\/LiveOS\/[^/]*\.img$/],
      rootFile: (f) => f.path.slice('/LiveOS/'.length),
    },
  ];
  for (const l of layouts) {
    if (![...files.keys()].some((p) => p.startsWith(l.dir))) continue;
    const kernel = first(files, l.kernel);
    const initrd = first(files, l.initrd);
    const root = first(files, l.root);
    const missing = [!kernel && 'kernel', !initrd && 'initrd', !root && 'root squashfs'].filter(Boolean);
    if (!kernel || !initrd || !root) throw new ImageInputError(`${isoName}: looks like a ${l.flavor} ISO (${l.dir}) but has no ${missing.join(', ')}`);
    for (const f of [kernel, initrd, root]) {
      const end = Math.max(...f.extents.map((e) => e.start + e.length));
      if (end > isoSize) throw new ImageInputError(`${isoName}: ISO is truncated: ${f.path} needs bytes up to ${end}, the file has ${isoSize}`);
    }
    return { flavor: l.flavor, kernel, initrd, root, rootFile: l.rootFile(root) };
  }
  throw new ImageInputError(`${isoName}: not a live ISO: no casper/, live/ or LiveOS/ folder`);
}
