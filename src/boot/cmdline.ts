// Kernel command lines per initramfs flavor × root transport, written the way each real
// parser reads them (../shared/notes/kernel-cmdlines.md; test/integration/boot/ runs the
// parsers of live-boot, initramfs-tools, nbd-client's script and dracut 059 against them).
import { isIPv4 } from 'node:net';
import { FLAVORS, type Flavor, type Transport } from '../db/schema.ts';
import { imageUrls, nbdExportName } from '../store/urls.ts';
import { flavorLayout, publishedVersionDir } from './layout.ts';
import type { RootPlan } from './types.ts';

/** Where this client fetches image bytes from: the branch's servers, else this server. */
export interface RootEndpoints {
  /** http://host[:port] without a trailing slash; serves the /images/ layout. */
  httpBase: string;
  nbd: { host: string; port: number };
  /**
   * NFS server and the exported folder holding the published versions. `branch`: the host is the
   * branch's server_nfs as an admin wrote it (else this server, by the address the client reached,
   * which only a preview does not know).
   */
  nfs?: { host: string; path: string; branch?: boolean | undefined } | undefined;
  /** CIFS server and share (may include a sub-folder) holding the published versions. */
  cifs?: { host: string; share: string } | undefined;
}

export interface RootSpec {
  flavor: Flavor;
  transport: Transport;
  image: string;
  version: number;
  /** image_versions.root_kind: squashfs | ext4 | disk | iso … (NULL = squashfs). */
  rootKind: string | null;
  /** image_versions.root_file: the name the image was imported with. */
  rootFile: string | null;
}

export type RootArgs = { ok: true; args: string[]; root: RootPlan } | { ok: false; reason: string };

/** IANA port of NBD (RFC-less, nbd protocol doc): the only port initramfs-tools' 3-field nbdroot= and dracut's export-name form reach. */
export const NBD_DEFAULT_PORT = 10809;

const isSquashfs = (s: RootSpec) => s.rootKind === null || s.rootKind === 'squashfs' || s.rootKind === 'iso-squashfs';

/** The transport a flavor uses when neither the image, its version, the branch nor the machine names one. */
export function defaultTransport(flavor: Flavor, rootKind: string | null, rootFile: string | null): Transport {
  switch (flavor) {
    case 'nbd-root': return 'nbd';
    // casper fetches only whole ISOs over HTTP (url=…iso); a bare squashfs goes over NFS.
    case 'casper': return rootKind === 'iso' || /\.iso$/i.test(rootFile ?? '') ? 'http' : 'nfs';
    default: return 'http';
  }
}

/**
 * The only names the image route (src/http/routes/store.ts) serves a version's root under:
 * root.img, and the name the version was imported with (image_versions.root_file). A URL
 * naming anything else is a 404 at boot time, so every http root URL uses this name.
 */
export function servedRootName(s: Pick<RootSpec, 'rootFile'>): string {
  return s.rootFile ?? 'root.img';
}

function rootUrl(ep: RootEndpoints, s: RootSpec, file = servedRootName(s)): string {
  return `${ep.httpBase}${imageUrls.root(s.image, s.version, file)}`;
}

/**
 * The block device that holds the root: the export itself, or for a partitioned disk image
 * (qcow2, raw disk) its first partition, which the nbd driver exposes (max_part 16). An image
 * whose root is another partition says root=/dev/nbd0pN in its own arguments: every parser keeps
 * the last root=, and local-top/nbd and dracut still connect /dev/nbd0.
 */
function nbdRootDevice(s: RootSpec): string {
  return s.rootKind === 'disk' ? '/dev/nbd0p1' : '/dev/nbd0';
}

/**
 * initramfs-tools' local-top/nbd (package nbd-client): "SRV,EXPORT,nbd0" is the documented
 * form but it has no port field; "SRV:PORT/EXPORT" carries one. root=/dev/nbd0 makes
 * initramfs-tools mount the export itself as the root file system.
 */
function initramfsToolsNbd(ep: RootEndpoints, s: RootSpec): RootArgs {
  const exp = nbdExportName(s.image, s.version);
  const nbdroot = ep.nbd.port === NBD_DEFAULT_PORT ? `${ep.nbd.host},${exp},nbd0` : `${ep.nbd.host}:${ep.nbd.port}/${exp}`;
  // local-top/nbd strips a partition suffix ("${nbdrootdev%p*}") for nbd-client and leaves root=
  // to initramfs-tools' mount.
  return { ok: true, args: [`root=${nbdRootDevice(s)}`, `nbdroot=${nbdroot}`], root: { transport: 'nbd', location: `nbd://${ep.nbd.host}:${ep.nbd.port}/${exp}` } };
}

function nfsPath(ep: RootEndpoints, s: RootSpec): { host: string; path: string } | undefined {
  if (!ep.nfs) return undefined;
  return { host: ep.nfs.host, path: `${ep.nfs.path.replace(/\/+$/, '')}/${publishedVersionDir(s.image, s.version)}` };
}

function cifsPath(ep: RootEndpoints, s: RootSpec): string | undefined {
  if (!ep.cifs) return undefined;
  return `//${ep.cifs.host}/${ep.cifs.share.replace(/^\/+|\/+$/g, '')}/${publishedVersionDir(s.image, s.version)}`;
}

/**
 * casper and live-boot mount NFS with klibc's nfsmount, which takes only a dotted-quad address
 * ("can't parse IP address 'nas.lab'", checked in test/integration/boot/): a host name in the
 * branch's server_nfs would stop the machine at boot.
 */
function klibcNfsProblem(flavor: Flavor, ep: RootEndpoints, host: string): string | undefined {
  if (isIPv4(host) || !ep.nfs?.branch) return undefined;
  return `${flavor} mounts NFS with klibc's nfsmount, which takes only an IPv4 address, not "${host}": set the branch's server_nfs to an address`;
}

const noShare = (t: 'nfs' | 'cifs') => ({ ok: false as const, reason: `transport ${t} needs a share: set the branch's server_${t} or boot.exportDir` });

function casper(ep: RootEndpoints, s: RootSpec): RootArgs {
  // casper otherwise insists on a .disk/casper-uuid-<flavour> matching the initrd's.
  const tail = ['ignore_uuid'];
  switch (s.transport) {
    case 'http': {
      if (!/\.iso$/i.test(servedRootName(s))) return { ok: false, reason: 'casper fetches only a whole ISO over http (url=…iso); this version is not an ISO: use nfs, cifs or nbd' };
      const url = rootUrl(ep, s);
      return { ok: true, args: ['boot=casper', `url=${url}`, ...tail], root: { transport: 'http', location: url } };
    }
    case 'nfs': {
      const p = nfsPath(ep, s);
      if (!p) return noShare('nfs');
      const bad = klibcNfsProblem('casper', ep, p.host);
      if (bad) return { ok: false, reason: bad };
      return { ok: true, args: ['boot=casper', 'netboot=nfs', `nfsroot=${p.host}:${p.path}`, ...tail], root: { transport: 'nfs', location: `${p.host}:${p.path}` } };
    }
    case 'cifs': {
      const p = cifsPath(ep, s);
      if (!p) return noShare('cifs');
      return { ok: true, args: ['boot=casper', 'netboot=cifs', `nfsroot=${p}`, ...tail], root: { transport: 'cifs', location: p } };
    }
    case 'nbd': return initramfsToolsNbd(ep, s);
    case 'http-lazy': return { ok: false, reason: 'casper has no lazy http root (no httpfs): use http with an ISO, nfs, cifs or nbd' };
  }
}

/**
 * live-boot's do_httpmount (9990-mount-http.sh) picks its handler by the URL's extension,
 * case-sensitively: iso or squashfs (tgz, tar are never imported). Anything else is
 * "Unrecognized archive extension" and a machine that drops to a shell.
 */
function liveBootHttpProblem(s: RootSpec): string | undefined {
  const name = servedRootName(s);
  if (/\.(squashfs|iso)$/.test(name) && (isSquashfs(s) || name.endsWith('.iso'))) return undefined;
  const what = isSquashfs(s) ? `a squashfs served as ${name}` : `a ${s.rootKind ?? '?'} root`;
  return `live-boot fetches over http only a file named *.squashfs or *.iso; this version is ${what}: use nfs, cifs or nbd`;
}

function liveBoot(ep: RootEndpoints, s: RootSpec): RootArgs {
  switch (s.transport) {
    case 'http': {
      const problem = liveBootHttpProblem(s);
      if (problem) return { ok: false, reason: problem };
      const url = rootUrl(ep, s);
      return { ok: true, args: ['boot=live', `fetch=${url}`], root: { transport: 'http', location: url } };
    }
    case 'http-lazy': {
      const problem = liveBootHttpProblem(s);
      if (problem) return { ok: false, reason: problem };
      const url = rootUrl(ep, s);
      return { ok: true, args: ['boot=live', `httpfs=${url}`], root: { transport: 'http-lazy', location: url } };
    }
    case 'nfs': {
      const p = nfsPath(ep, s);
      if (!p) return noShare('nfs');
      const bad = klibcNfsProblem('live-boot', ep, p.host);
      if (bad) return { ok: false, reason: bad };
      return { ok: true, args: ['boot=live', 'netboot=nfs', `nfsroot=${p.host}:${p.path}`], root: { transport: 'nfs', location: `${p.host}:${p.path}` } };
    }
    case 'cifs': {
      const p = cifsPath(ep, s);
      if (!p) return noShare('cifs');
      return { ok: true, args: ['boot=live', 'netboot=cifs', `nfsroot=${p}`], root: { transport: 'cifs', location: p } };
    }
    case 'nbd': return initramfsToolsNbd(ep, s);
  }
}

function dracut(ep: RootEndpoints, s: RootSpec): RootArgs {
  // rd.live.image + rd.live.overlay.overlayfs=1: a writable overlay over the read-only squashfs.
  const live = ['rd.live.image', 'rd.live.overlay.overlayfs=1', 'rd.neednet=1'];
  const l = flavorLayout('dracut');
  switch (s.transport) {
    case 'http': {
      // livenetroot.sh looks at the name only for ".iso" (loop-mounted); dmsquash-live-root
      // tells squashfs from a file-system image by its contents.
      const url = rootUrl(ep, s);
      return { ok: true, args: [`root=live:${url}`, ...live], root: { transport: 'http', location: url } };
    }
    case 'nfs': {
      // root=nfs:SRV:/path would mount the share itself as /; the published LiveOS/squashfs.img
      // is reached through livenet's nfs:// URL handler (url-lib.sh nfs_fetch_url), which
      // parse-dmsquash-live accepts as "live:nfs*".
      const p = nfsPath(ep, s);
      if (!p) return noShare('nfs');
      const url = `nfs://${p.host}${p.path}/${l.dir}/${l.rootName}`;
      return { ok: true, args: [`root=live:${url}`, ...live], root: { transport: 'nfs', location: url } };
    }
    case 'cifs':
      // 95cifs mounts the share as the root tree (cifsroot.sh) and livenet has no cifs:// handler:
      // a squashfs on a share cannot be booted by dracut.
      return { ok: false, reason: 'dracut cannot boot a squashfs image from cifs (root=cifs:// mounts a plain file tree): use http, nfs or nbd' };
    case 'nbd': {
      const exp = nbdExportName(s.image, s.version);
      // parse-nbdroot.sh: a non-numeric port field is an export name, always on port 10809.
      if (ep.nbd.port !== NBD_DEFAULT_PORT) return { ok: false, reason: `dracut names NBD exports only on port ${NBD_DEFAULT_PORT}; the branch's NBD server listens on ${ep.nbd.port}` };
      const netroot = `nbd:${ep.nbd.host}:${exp}`;
      const root = { transport: 'nbd' as const, location: `nbd://${ep.nbd.host}:${ep.nbd.port}/${exp}` };
      // A squashfs export is a live image: dmsquash-live puts the overlay on /dev/nbd0.
      if (isSquashfs(s)) return { ok: true, args: ['root=live:/dev/nbd0', `netroot=${netroot}`, ...live], root };
      // parse-nbdroot.sh: "[root=*] netroot=nbd:…" — a partition is named by root=, the export by netroot=.
      if (s.rootKind === 'disk') return { ok: true, args: [`root=${nbdRootDevice(s)}`, `netroot=${netroot}`, 'rd.neednet=1'], root };
      return { ok: true, args: [`root=${netroot}`, 'rd.neednet=1'], root };
    }
    case 'http-lazy': return { ok: false, reason: 'dracut has no lazy http root: use http (copied to RAM), nfs or nbd' };
  }
}

/**
 * Flavor × transport pairs that no version of any image can boot, whatever its root and its
 * branch's servers: checked where an admin assigns them (inventory apply) and again per plan.
 * With `rootKind` (the version a machine boots, version-facts.ts), also pairs that root cannot boot.
 */
export function transportProblem(flavor: Flavor, transport: Transport, rootKind?: string | null): string | undefined {
  if (flavor === 'nbd-root' && transport !== 'nbd') return `flavor nbd-root boots only over nbd, not ${transport}`;
  // A whole ISO (a layered casper ISO, Ubuntu 23.10+) is no root file system: casper fetches it
  // (url=…iso) or finds its casper/ layers on a share; over nbd the kernel would mount ISO 9660 as /.
  if (rootKind === 'iso' && (transport === 'nbd' || transport === 'http-lazy') && flavor !== 'custom') {
    return `a whole live ISO (casper's stacked layers) cannot be a root over ${transport}: use http (casper url=…iso), nfs or cifs`;
  }
  if (flavor === 'casper' && transport === 'http-lazy') return 'casper has no lazy http root (no httpfs): use nfs, cifs or nbd';
  if (flavor === 'dracut' && transport === 'http-lazy') return 'dracut has no lazy http root: use http (copied to RAM), nfs or nbd';
  if (flavor === 'dracut' && transport === 'cifs') return 'dracut cannot boot a squashfs image from cifs (root=cifs:// mounts a plain file tree): use http, nfs or nbd';
  return undefined;
}

/** Root arguments for a flavor and transport, or why that pair cannot boot. */
export function rootArgs(s: RootSpec, ep: RootEndpoints): RootArgs {
  const never = FLAVORS.includes(s.flavor) ? transportProblem(s.flavor, s.transport, s.rootKind) : undefined;
  if (never) return { ok: false, reason: never };
  // A partition table is no file system: live-boot panics ("Unknown file system type"), dracut's
  // dmsquash-live cannot mount it. Only a block device (nbd) can expose its partitions.
  if (s.rootKind === 'disk' && s.transport !== 'nbd' && (s.flavor === 'casper' || s.flavor === 'live-boot' || s.flavor === 'dracut')) {
    return { ok: false, reason: `${s.flavor} cannot mount a partitioned disk image fetched over ${s.transport}: use nbd (it boots the first partition)` };
  }
  switch (s.flavor) {
    case 'casper': return casper(ep, s);
    case 'live-boot': return liveBoot(ep, s);
    case 'dracut': return dracut(ep, s);
    case 'nbd-root':
      if (s.transport !== 'nbd') return { ok: false, reason: `flavor nbd-root boots only over nbd, not ${s.transport}` };
      return initramfsToolsNbd(ep, s);
    case 'custom': {
      // The image's own arguments say everything; the plan still names where its root is.
      const location = s.transport === 'nbd' ? `nbd://${ep.nbd.host}:${ep.nbd.port}/${nbdExportName(s.image, s.version)}` : rootUrl(ep, s);
      return { ok: true, args: [], root: { transport: s.transport, location } };
    }
    default: return { ok: false, reason: `unknown initramfs flavor "${String(s.flavor)}"` };
  }
}

export interface CmdlineParts {
  flavor: Flavor;
  root: string[];
  /** "01-aa-bb-…" for a literal line, "01-${mac:hexhyp}" for iPXE to fill in. */
  bootif: string;
  consoleArgs: string;
  /** Image (or version) arguments, branch arguments, machine arguments: later ones win, as every parser keeps the last value. */
  extra: string[];
}

export function splitArgs(s: string | null | undefined): string[] {
  return (s ?? '').split(/\s+/).filter(Boolean);
}

/**
 * live-boot (boot=live) brings the NIC up itself (do_netsetup: ipconfig on the BOOTIF device)
 * and reads ip= only in Netbase, as the booted system's static address IF:ADDR:MASK:GW:DNS when
 * NETBOOT is empty — which fetch= leaves it: "ip=dhcp" became "iface dhcp inet static" and
 * "nameserver dhcp" in the live system (9990-netbase.sh, run in test/integration/boot/).
 */
function liveBootOwnsNetwork(p: CmdlineParts): boolean {
  return p.flavor === 'live-boot' && p.root.includes('boot=live');
}

/**
 * The whole line. ip=dhcp makes initramfs-tools (casper, nbd) and dracut configure the NIC;
 * BOOTIF picks it among several (initramfs-tools, live-boot and dracut read it).
 * A custom flavor gets only what the admin wrote.
 */
export function composeCmdline(p: CmdlineParts): string {
  const net = p.flavor === 'custom' ? [] : liveBootOwnsNetwork(p) ? [`BOOTIF=${p.bootif}`] : ['ip=dhcp', `BOOTIF=${p.bootif}`];
  return [...p.root, ...net, ...splitArgs(p.consoleArgs), ...p.extra.flatMap(splitArgs)].join(' ');
}

/** BOOTIF value for a MAC, the pxelinux IPAPPEND 2 form: 01 (ARP type Ethernet) then the MAC with dashes. */
export function bootifFor(mac: string): string {
  return `01-${mac.toLowerCase().replace(/:/g, '-')}`;
}

/** What iPXE substitutes with the booting NIC's MAC. */
export const IPXE_BOOTIF = '01-${mac:hexhyp}';
