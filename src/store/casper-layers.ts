// Ubuntu 23.10+ casper ISOs: no casper/filesystem.squashfs, but stacked layers named by
// dot-separated chains (minimal.squashfs, minimal.standard.squashfs,
// minimal.standard.live.squashfs, language and enhanced-secureboot variants beside them).
// casper mounts the chain named by LAYERFS_PATH (the initrd's conf/conf.d/default-layer.conf,
// or layerfs-path= on the kernel line): every prefix of the name, shortest at the bottom. With
// no LAYERFS_PATH it mounts every casper/*.squashfs, each later one in glob order on top.
// src/store/README.md "Layered casper ISOs" has the research.
import type { InitrdLayer } from './initrd-layer.ts';
import { ImageInputError } from './probe.ts';

export interface CasperLayers {
  /** Every casper/*.squashfs on the ISO (file names), sorted as casper's glob sorts them. */
  layers: string[];
  /** The layers casper mounts by default, bottom first; undefined: all of `layers` (no LAYERFS_PATH). */
  chain: string[] | undefined;
  /** Where the chain came from. */
  decidedBy: 'initrd' | 'name' | 'none';
}

const SUFFIX = '.squashfs';
/** NAME_MAX: a longer LAYERFS_PATH names no file (and 30,000 dots made a chain of 1 GB of names). */
const MAX_LAYER_NAME = 255;
/** Names quoted in a one-line error; the rest are counted. */
const QUOTED = 12;

function some(names: string[], sep = ', casper/'): string {
  const shown = names.slice(0, QUOTED).map((n) => n.slice(0, 120)).join(sep);
  return names.length > QUOTED ? `${shown} and ${names.length - QUOTED} more` : shown;
}

/** "a.b.c.squashfs" → a.squashfs, a.b.squashfs, a.b.c.squashfs: what casper's chain walk mounts, bottom first. */
export function chainOf(layerfsPath: string): string[] {
  const stem = layerfsPath.replace(/^.*\//, '').replace(/\.squashfs$/, '');
  const parts = stem.split('.');
  return parts.map((_, i) => `${parts.slice(0, i + 1).join('.')}${SUFFIX}`);
}

/** casper/*.squashfs file names of an ISO listing (paths "/casper/…"). */
export function casperSquashfsNames(paths: Iterable<string>): string[] {
  const out: string[] = [];
  for (const p of paths) {
    const m = /^\/casper\/([^/]+\.squashfs)$/.exec(p);
    if (m) out.push(m[1]!);
  }
  // The shell's glob order in the C locale the initramfs runs in: byte order.
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Whether casper boots this ISO as stacked layers, so that no single squashfs is its root:
 * no filesystem.squashfs, and several squashfs files, a dotted chain name, or an initrd that
 * names a layer. A lone custom.squashfs (casper mounts whatever is there) stays a plain root.
 */
export function isLayered(names: string[], initrd: InitrdLayer | undefined): boolean {
  if (names.length === 0 || names.includes('filesystem.squashfs')) return false;
  if (names.length > 1 || names.some((n) => n.slice(0, -SUFFIX.length).includes('.'))) return true;
  return initrd?.readable === true && initrd.layerfsPath !== undefined;
}

/** Layers that no other layer extends: the tops of the chains on the ISO. */
function leaves(names: string[]): string[] {
  const stems = names.map((n) => n.slice(0, -SUFFIX.length));
  // Every proper dot-prefix of every stem, once: linear in the names (pairwise compares took
  // minutes for an ISO listing 200,000 layers).
  const extended = new Set<string>();
  for (const s of stems) for (let i = s.indexOf('.'); i >= 0; i = s.indexOf('.', i + 1)) extended.add(s.slice(0, i));
  return stems.filter((s) => !extended.has(s)).map((s) => `${s}${SUFFIX}`);
}

/**
 * What casper will mount from this ISO, or a one-line ImageInputError when it cannot boot:
 * the initrd names a chain the ISO lacks a layer of, or (initrd unreadable) there is no complete
 * live chain (livecd-rootfs names the desktop's default "<…>.live.squashfs").
 */
export function casperLayers(isoName: string, names: string[], initrd: InitrdLayer | undefined): CasperLayers {
  const have = new Set(names);
  const missingOf = (chain: string[]) => chain.filter((l) => !have.has(l));
  if (initrd?.readable) {
    if (initrd.layerfsPath === undefined) return { layers: names, chain: undefined, decidedBy: 'none' };
    if (initrd.layerfsPath.replace(/^.*\//, '').length > MAX_LAYER_NAME) {
      throw new ImageInputError(`${isoName}: the initrd's conf/conf.d/default-layer.conf names a layer of ${initrd.layerfsPath.length} characters (LAYERFS_PATH=${initrd.layerfsPath.slice(0, 60)}…): no file name is that long`);
    }
    const chain = chainOf(initrd.layerfsPath);
    const missing = missingOf(chain);
    if (missing.length) {
      throw new ImageInputError(`${isoName}: casper boots the layers ${some(chain, ' + ')} (LAYERFS_PATH=${initrd.layerfsPath} in the initrd's conf/conf.d/default-layer.conf), but the ISO has no casper/${some(missing)}`);
    }
    return { layers: names, chain, decidedBy: 'initrd' };
  }
  const live = leaves(names).filter((l) => /\.live\.squashfs$/.test(l) || l === 'live.squashfs');
  const why = initrd && !initrd.readable ? ` (its initrd could not be read for LAYERFS_PATH: ${initrd.why})` : '';
  if (live.length !== 1) {
    const what = live.length ? `several live layers (${some(live, ', ')})` : 'no live layer (*.live.squashfs)';
    throw new ImageInputError(`${isoName}: a layered casper ISO (casper/${some(names)}) with ${what}${why}: casper would not know which layers make the live system`);
  }
  const chain = chainOf(live[0]!);
  const missing = missingOf(chain);
  if (missing.length) throw new ImageInputError(`${isoName}: the live layer ${live[0]!} stacks on casper/${some(missing)}, which the ISO does not have`);
  return { layers: names, chain, decidedBy: 'name' };
}
