// Where each initramfs flavor looks for its root file system, on a share (nfs/cifs) and in
// a URL. One table, used by the command lines (boot/cmdline.ts) and by the publisher
// (boot/publish.ts), so the files land exactly where the line points.
import type { Flavor } from '../db/schema.ts';

export interface FlavorLayout {
  /** Folder inside a published version: casper's live-media-path default is "casper", live-boot's "live", dracut's rd.live.dir "LiveOS". */
  dir: string;
  /** File name the flavor scans for in that folder (casper and live-boot take any *.squashfs; dracut wants squashfs.img). */
  rootName: string;
  kernelName: string;
  initrdName: string;
}

const LAYOUTS: Record<Flavor, FlavorLayout> = {
  casper: { dir: 'casper', rootName: 'filesystem.squashfs', kernelName: 'vmlinuz', initrdName: 'initrd' },
  'live-boot': { dir: 'live', rootName: 'filesystem.squashfs', kernelName: 'vmlinuz', initrdName: 'initrd.img' },
  dracut: { dir: 'LiveOS', rootName: 'squashfs.img', kernelName: 'vmlinuz', initrdName: 'initrd.img' },
  'nbd-root': { dir: '', rootName: 'root.img', kernelName: 'vmlinuz', initrdName: 'initrd.img' },
  custom: { dir: '', rootName: 'root.img', kernelName: 'vmlinuz', initrdName: 'initrd.img' },
};

export function flavorLayout(flavor: Flavor): FlavorLayout {
  return LAYOUTS[flavor];
}

/** A version's folder inside the export: <image>/<version>. */
export function publishedVersionDir(image: string, version: number): string {
  return `${image}/${version}`;
}

/** Path of the root file relative to the export folder. */
export function publishedRootPath(flavor: Flavor, image: string, version: number): string {
  const l = LAYOUTS[flavor];
  return [publishedVersionDir(image, version), l.dir, l.rootName].filter(Boolean).join('/');
}
