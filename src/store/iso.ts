// Live ISOs: the layout names the flavor. We ask xorriso where each file's data lies
// (-exec report_lba) and then read those byte ranges straight from the ISO, so the squashfs
// streams into the store without being copied out first.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import type { Flavor } from '../db/schema.ts';
import { type CasperLayers, casperLayers, casperSquashfsNames, isLayered } from './casper-layers.ts';
import { type InitrdLayer, initrdLayer } from './initrd-layer.ts';
import { ImageInputError } from './probe.ts';
import { readRanges } from './read-source.ts';

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
  /** The root squashfs; for a layered casper ISO the whole ISO (casper finds its layers in it). */
  root: IsoFile;
  /** The name the flavor's initramfs looks for (an ISO's: ends in .iso, as casper's url= needs). */
  rootFile: string;
  /** 'iso-squashfs': one squashfs taken out of the ISO; 'iso': the ISO kept whole. */
  rootKind: 'iso-squashfs' | 'iso';
  /** Layered casper ISOs (Ubuntu 23.10+): what casper mounts, and the layer files. */
  casper?: (CasperLayers & { files: IsoFile[] }) | undefined;
}

/**
 * The name a whole ISO is served under: casper's url= takes only "*.iso" (a case-sensitive
 * glob) and saves the download as the URL's basename, so the ISO's own name when it is a plain
 * one, else live.iso.
 */
export function isoRootName(isoName: string): string {
  const base = path.basename(isoName);
  return /^[A-Za-z0-9][A-Za-z0-9._-]*\.iso$/.test(base) ? base : 'live.iso';
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

/**
 * xorriso lists a 6 GB Ubuntu ISO in a few seconds; a directory record pointing at its own
 * folder (a loop) keeps it busy forever at 100% CPU, so the listing has a deadline.
 */
export const LIST_TIMEOUT_MS = 120_000;

export async function listIso(iso: string, timeoutMs = LIST_TIMEOUT_MS): Promise<Map<string, IsoFile>> {
  try {
    const { stdout } = await run('xorriso', ['-indev', iso, '-find', '/', '-type', 'f', '-exec', 'report_lba', '--'], { maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs, killSignal: 'SIGKILL' });
    return parseReportLba(stdout);
  } catch (err) {
    const e = err as { code?: string; killed?: boolean; signal?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') throw new ImageInputError('reading an ISO needs xorriso (Debian package xorriso)');
    if (e.killed && e.signal === 'SIGKILL') throw new ImageInputError(`${iso}: xorriso did not finish listing the ISO in ${Math.round(timeoutMs / 1000)} s (a directory that contains itself?)`);
    if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') throw new ImageInputError(`${iso}: the ISO lists more files than branchboot reads (64 MiB of xorriso output)`);
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

/**
 * Finds the live layout: casper/ (Ubuntu), live/ (Debian live-boot), LiveOS/ + images/pxeboot/
 * (Fedora dracut). `initrd`: what the casper initrd says of its default layer (readLiveLayout).
 */
export function detectLayout(files: Map<string, IsoFile>, isoName: string, isoSize: number, initrd?: InitrdLayer): LiveLayout {
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
    const initrdFile = first(files, l.initrd);
    const names = l.flavor === 'casper' ? casperSquashfsNames(files.keys()) : [];
    const layered = isLayered(names, initrd);
    const root = layered ? { path: '/', size: isoSize, extents: [{ start: 0, length: isoSize }] } : first(files, l.root);
    const missing = [!kernel && 'kernel', !initrdFile && 'initrd', !root && 'root squashfs'].filter(Boolean);
    if (!kernel || !initrdFile || !root) throw new ImageInputError(`${isoName}: looks like a ${l.flavor} ISO (${l.dir}) but has no ${missing.join(', ')}`);
    const layerFiles = layered ? names.map((n) => files.get(`/casper/${n}`)!) : [];
    for (const f of [kernel, initrdFile, root, ...layerFiles]) {
      // A loop, not Math.max(...extents): a file of 200,000 extents overflowed the call stack.
      let end = 0;
      for (const e of f.extents) end = Math.max(end, e.start + e.length);
      if (end > isoSize) throw new ImageInputError(`${isoName}: ISO is truncated: ${f.path} needs bytes up to ${end}, the file has ${isoSize}`);
    }
    if (layered) {
      const casper = { ...casperLayers(isoName, names, initrd), files: layerFiles };
      return { flavor: l.flavor, kernel, initrd: initrdFile, root, rootFile: isoRootName(isoName), rootKind: 'iso', casper };
    }
    return { flavor: l.flavor, kernel, initrd: initrdFile, root, rootFile: l.rootFile(root), rootKind: 'iso-squashfs' };
  }
  throw new ImageInputError(`${isoName}: not a live ISO: no casper/, live/ or LiveOS/ folder`);
}

/**
 * detectLayout, having read the casper initrd's default layer when the ISO may be layered (no
 * casper/filesystem.squashfs): which layers casper mounts is the initrd's choice.
 */
export async function readLiveLayout(iso: string, files: Map<string, IsoFile>, isoSize: number): Promise<LiveLayout> {
  let initrd: InitrdLayer | undefined;
  const names = casperSquashfsNames(files.keys());
  const casperInitrd = first(files, ['/casper/initrd', '/casper/initrd.lz', '/casper/initrd.gz', '/casper/initrd.img', /^\/casper\/initrd[^/]*$/]);
  if (names.length && !names.includes('filesystem.squashfs') && casperInitrd && casperInitrd.extents.every((e) => e.start + e.length <= isoSize)) {
    initrd = await initrdLayer(readRanges(iso, casperInitrd.extents));
  }
  return detectLayout(files, iso, isoSize, initrd);
}
