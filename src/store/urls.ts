// The URL layout of image versions, in one place: HTTP routes serve it, the planner writes it
// into boot scripts, `image list` prints it. casync looks for chunks in default.castr/ beside
// the index, so the index URL decides where the chunk URLs are.

/** "3" for a version, "current" for whatever the image's current version is. */
export type VersionRef = number | 'current';

const enc = encodeURIComponent;

export const imageUrls = {
  /** Index: /images/NAME/VERSION.caibx → chunks under /images/NAME/default.castr/ */
  index: (name: string, v: VersionRef) => `/images/${enc(name)}/${v}.caibx`,
  chunkStore: (name: string) => `/images/${enc(name)}/default.castr/`,
  /** The assembled image, streamed from chunks, Range-capable. `file` lets a flavor's name show (filesystem.squashfs, x.iso). */
  root: (name: string, v: VersionRef, file = 'root.img') => `/images/${enc(name)}/${v}/${enc(file)}`,
  kernel: (name: string, v: VersionRef) => `/images/${enc(name)}/${v}/vmlinuz`,
  initrd: (name: string, v: VersionRef) => `/images/${enc(name)}/${v}/initrd.img`,
  /** Per-machine iPXE script. */
  ipxeScript: (mac: string) => `/boot/${mac}.ipxe`,
};

/** NBD export names: NAME is the current version, NAME@VERSION a fixed one. */
export function nbdExportName(name: string, v: VersionRef): string {
  return v === 'current' ? name : `${name}@${v}`;
}
