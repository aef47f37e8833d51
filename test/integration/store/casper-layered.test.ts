// Ubuntu 23.10+ live ISOs: no casper/filesystem.squashfs, stacked layers instead. Small ISOs
// built like Ubuntu's (xorriso -R -J, tiny real squashfs layers, install-sources.yaml, an initrd
// with an early cpio and a zstd main archive holding conf/conf.d/default-layer.conf) go through
// the real import, the real store routes, the real planner and publication. casper itself is
// not packaged in Debian: the command lines are checked against what its scripts/casper does
// (src/store/README.md "Layered casper ISOs"): url=…iso, netboot=nfs|cifs nfsroot=, ignore_uuid.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { compress } from 'zstd-napi';
import { importImage } from '../../../src/store/importer.ts';
import { sharedStore } from '../../../src/store/store.ts';
import { createPlanner } from '../../../src/boot/planner.ts';
import { publishFromStore } from '../../../src/boot/publish.ts';
import { imagePairProblem } from '../../../src/model/boot-pairs.ts';
import { imageCommand } from '../../../src/cli/image.ts';
import type { Transport } from '../../../src/db/schema.ts';
import { cliEnv, have, makeHarness, makeSquashfs, type StoreHarness } from './harness.ts';
import { addBranch, addMachine } from '../../unit/boot/fixtures.ts';
import { newc } from '../../unit/store/newc.ts';

const missing = ['mksquashfs', 'xorriso', 'curl'].filter((t) => !have(t));
const canMount = process.getuid?.() === 0 && have('unshare') && have('unmkinitramfs') && have('zstd')
  && /\bsquashfs\b/.test(fs.readFileSync('/proc/filesystems', 'utf8')) && /\boverlay\b/.test(fs.readFileSync('/proc/filesystems', 'utf8'));
const ISO_NAME = 'ubuntu-24.04.1-desktop-amd64.iso';

let h: StoreHarness;
let base: string;
/** casper/ files of the layered ISO: name → the file it was built from. */
const casperFiles = new Map<string, string>();
/** Files of the ISO published beside casper/ (pool/, dists/, .disk/): ISO path → the file it was built from. */
const mediaFiles = new Map<string, string>();
let iso: string;

/** ISO paths → a file to copy, bytes, or { link } (a symbolic link, as Ubuntu's `ubuntu -> .` and `dists/stable -> noble`). */
function makeIso(file: string, dir: string, files: Record<string, string | Buffer | { link: string }>): void {
  for (const [p, content] of Object.entries(files)) {
    fs.mkdirSync(path.join(dir, path.dirname(p)), { recursive: true });
    if (typeof content === 'string') fs.copyFileSync(content, path.join(dir, p));
    else if (Buffer.isBuffer(content)) fs.writeFileSync(path.join(dir, p), content);
    else fs.symlinkSync(content.link, path.join(dir, p));
  }
  execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-J', '-V', 'Ubuntu 24.04.1 LTS amd64', '-o', file, dir], { stdio: 'pipe' });
}

/** An initrd shaped like Ubuntu 24.04's: microcode cpio, then the zstd-compressed main cpio. */
function initrd(layerfsPath: string | undefined): Buffer {
  const early = newc([['kernel', null], ['kernel/x86', null], ['kernel/x86/microcode', null], ['kernel/x86/microcode/GenuineIntel.bin', crypto.randomBytes(5000)]]);
  const main = newc([
    ['.', null], ['bin', null], ['bin/busybox', crypto.randomBytes(20_000)], ['conf', null], ['conf/arch.conf', 'DPKG_ARCH=amd64\n'], ['conf/conf.d', null],
    ...(layerfsPath ? [['conf/conf.d/default-layer.conf', `LAYERFS_PATH=${layerfsPath}\n`] as [string, string]] : []),
    ['scripts', null], ['scripts/casper', '#!/bin/sh\n'],
  ]);
  return Buffer.concat([early, compress(main)]);
}

/** A tiny real squashfs holding one marker file per layer. */
function layer(dir: string, name: string): string {
  const tree = path.join(dir, `tree-${name}`);
  fs.mkdirSync(path.join(tree, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(tree, 'etc', `layer-${name}`), `${name}\n`.repeat(2000));
  if (name === 'minimal') { fs.mkdirSync(path.join(tree, 'sbin')); fs.writeFileSync(path.join(tree, 'sbin', 'init'), '#!/bin/sh\n'); }
  const out = path.join(dir, `${name}.squashfs`);
  makeSquashfs(out, tree);
  return out;
}

/**
 * The ISO's package pool as Ubuntu lays it out (pool/main/…/*.deb, dists/noble/main/binary-amd64/
 * Packages(.gz), dists/noble/Release): one real .deb from dpkg-deb, its index from
 * dpkg-scanpackages, a Release with the indexes' SHA256 (what apt checks), written by hand as
 * apt-ftparchive is not installed here. Returns ISO path → file.
 */
function aptPool(dir: string): Record<string, string> {
  const pkg = path.join(dir, 'pkg');
  fs.mkdirSync(path.join(pkg, 'DEBIAN'), { recursive: true });
  fs.mkdirSync(path.join(pkg, 'usr/share/bb-offline-probe'), { recursive: true });
  fs.writeFileSync(path.join(pkg, 'DEBIAN/control'), 'Package: bb-offline-probe\nVersion: 1.0\nArchitecture: all\nMaintainer: branchboot tests <t@example.invalid>\nDescription: a package the offline pool must hold\n');
  fs.writeFileSync(path.join(pkg, 'usr/share/bb-offline-probe/marker'), crypto.randomBytes(30_000));
  const repo = path.join(dir, 'repo');
  const debRel = 'pool/main/b/bb-offline-probe/bb-offline-probe_1.0_all.deb';
  fs.mkdirSync(path.join(repo, path.dirname(debRel)), { recursive: true });
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', pkg, path.join(repo, debRel)], { stdio: 'pipe' });
  const packages = execFileSync('dpkg-scanpackages', ['--multiversion', 'pool', '/dev/null'], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  const bin = 'dists/noble/main/binary-amd64';
  fs.mkdirSync(path.join(repo, bin), { recursive: true });
  fs.writeFileSync(path.join(repo, bin, 'Packages'), packages);
  fs.writeFileSync(path.join(repo, bin, 'Packages.gz'), zlib.gzipSync(packages));
  const sums = ['Packages', 'Packages.gz'].map((n) => { const b = fs.readFileSync(path.join(repo, bin, n)); return ` ${sha(b)} ${b.length} main/binary-amd64/${n}`; });
  fs.writeFileSync(path.join(repo, 'dists/noble/Release'), `Origin: Ubuntu\nLabel: Ubuntu\nSuite: noble\nCodename: noble\nDate: ${new Date().toUTCString()}\nArchitectures: amd64\nComponents: main\nSHA256:\n${sums.join('\n')}\n`);
  return Object.fromEntries([debRel, `${bin}/Packages`, `${bin}/Packages.gz`, 'dists/noble/Release'].map((rel) => [rel, path.join(repo, rel)]));
}

/** curl in a child process, awaited: the server under test runs in this one. */
const curl = async (...args: string[]): Promise<Buffer> => (await promisify(execFile)('curl', args, { encoding: 'buffer', maxBuffer: 64 << 20 })).stdout;
const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

before(async () => {
  if (missing.length) return;
  h = makeHarness('casper-layers');
  const dir = path.join(h.dir, 'src');
  fs.mkdirSync(dir);
  for (const n of ['minimal', 'minimal.standard', 'minimal.standard.live', 'minimal.en', 'minimal.standard.en', 'minimal.enhanced-secureboot', 'minimal.standard.enhanced-secureboot']) {
    casperFiles.set(`${n}.squashfs`, layer(dir, n));
  }
  const extra: Record<string, Buffer> = {
    'install-sources.yaml': Buffer.from('- default: true\n  id: ubuntu-desktop-minimal\n  path: minimal.squashfs\n  type: fsimage-layered\n  variant: desktop\n'),
    'minimal.standard.manifest': Buffer.from('bash\t5.2\n'),
    vmlinuz: crypto.randomBytes(9000),
    initrd: initrd('minimal.standard.live.squashfs'),
  };
  for (const [n, b] of Object.entries(extra)) {
    const f = path.join(dir, n);
    fs.writeFileSync(f, b);
    casperFiles.set(n, f);
  }
  for (const [rel, f] of Object.entries(aptPool(dir))) mediaFiles.set(rel, f);
  for (const [rel, text] of [['.disk/info', 'Ubuntu 24.04.1 LTS "Noble Numbat" - Release amd64 (20240827)\n'], ['.disk/casper-uuid-generic', `${crypto.randomUUID()}\n`], ['.disk/base_installable', ''], ['.disk/cd_type', 'full_cd/single\n']] as const) {
    const f = path.join(dir, rel.replace('/', '_'));
    fs.writeFileSync(f, text);
    mediaFiles.set(rel, f);
  }
  iso = path.join(h.dir, ISO_NAME);
  makeIso(iso, path.join(h.dir, 'iso'), {
    ...Object.fromEntries([...casperFiles].map(([n, f]) => [`casper/${n}`, f])),
    ...Object.fromEntries(mediaFiles),
    'boot/grub/grub.cfg': Buffer.from('menuentry "Try or Install Ubuntu" {}\n'), 'md5sum.txt': Buffer.from('0  ./boot/grub/grub.cfg\n'),
    'EFI/boot/bootx64.efi': crypto.randomBytes(4000), ubuntu: { link: '.' }, 'dists/stable': { link: 'noble' },
  });
  base = await h.serve();
});

after(async () => { await h?.close(); });

const env = () => ({ config: h.config, db: h.handle.db, log: h.log });

test('a layered casper ISO imports whole: rootKind iso under its own .iso name, kernel and initrd as blobs', { timeout: 120_000 }, async (t) => {
  if (missing.length) return t.skip(`needs ${missing.join(', ')}`);
  const r = await importImage(env(), { file: iso, name: 'noble' });
  assert.deepEqual([r.rootKind, r.rootFile, r.flavor, r.sizeBytes], ['iso', ISO_NAME, 'casper', fs.statSync(iso).size]);
  assert.equal(fs.readFileSync(path.join(h.config.store.path, r.kernelBlob!)).equals(fs.readFileSync(casperFiles.get('vmlinuz')!)), true);
  assert.equal(fs.readFileSync(path.join(h.config.store.path, r.initrdBlob!)).equals(fs.readFileSync(casperFiles.get('initrd')!)), true);

  // The served .iso is the file, byte for byte, whole and by Range (what casper's wget and iPXE get).
  const url = `${base}/images/noble/1/${ISO_NAME}`;
  const whole = await curl('-sf', url);
  assert.equal(sha(whole), sha(fs.readFileSync(iso)));
  const file = fs.readFileSync(iso);
  for (const [range, start, end] of [['0-0', 0, 1], ['40000-200000', 40000, 200001], [`-100`, file.length - 100, file.length]] as const) {
    const part = await curl('-sf', '-r', range, url);
    assert.equal(part.equals(file.subarray(start, end)), true, `Range ${range}`);
  }
  const head = (await curl('-sfI', url)).toString();
  assert.match(head, /accept-ranges: bytes/i);
  assert.match(head, new RegExp(`content-length: ${file.length}\\r`, 'i'));

  // image list --json: the URLs a script needs, under the .iso name.
  const cli = cliEnv(h);
  assert.equal(await imageCommand(['list', '--json'], cli), 0);
  const listed = (JSON.parse(cli.text()) as { name: string; rootKind: string; sizeBytes: number; urls: Record<string, string | null> }[]).find((v) => v.name === 'noble')!;
  assert.deepEqual([listed.rootKind, listed.sizeBytes], ['iso', file.length]);
  assert.deepEqual(listed.urls, {
    index: '/images/noble/1.caibx', root: '/images/noble/1/root.img', rootAlias: `/images/noble/1/${ISO_NAME}`,
    kernel: '/images/noble/1/vmlinuz', initrd: '/images/noble/1/initrd.img',
  });
  for (const u of Object.values(listed.urls)) assert.equal((await fetch(`${base}${u!}`, { method: 'HEAD' })).status, 200, u!);
});

test('plans: http is casper url=…iso; nfs and cifs point at the published version; nbd and http-lazy are refused in one line', { timeout: 60_000 }, async (t) => {
  if (missing.length) return t.skip(`needs ${missing.join(', ')}`);
  const db = h.handle.db;
  const branch = await addBranch(db, { name: 'lab', server_http: `${base}/`, server_nfs: '10.9.0.1:/srv/bb', server_cifs: '//10.9.0.1/bb' });
  const planner = createPlanner({ config: h.config, db, log: h.log });
  const { id: imageId } = await db.selectFrom('images').select('id').where('name', '=', 'noble').executeTakeFirstOrThrow();
  let n = 0;
  const planFor = async (transport: Transport | null) => {
    const mac = `52:54:00:aa:00:${(++n).toString(16).padStart(2, '0')}`;
    await addMachine(db, { mac, branch_id: branch, image_id: imageId, action: 'image', transport });
    return planner.plan({ mac, preview: true });
  };
  // No transport set anywhere: casper's default for an ISO is http.
  const http = await planFor(null);
  assert.equal(http.kind, 'image');
  if (http.kind !== 'image') return;
  const url = `${base}/images/noble/1/${ISO_NAME}`;
  assert.ok(http.cmdline.startsWith(`boot=casper url=${url} ignore_uuid ip=dhcp BOOTIF=`), http.cmdline);
  assert.equal(http.root.location, url);
  assert.equal((await fetch(url, { method: 'HEAD' })).status, 200);
  const line = (p: Awaited<ReturnType<typeof planFor>>) => (p.kind === 'image' ? p.cmdline : `${p.kind} plan`);
  // casper mounts nfsroot= (netboot=nfs) or //SRV/share (netboot=cifs) on /cdrom and scans /cdrom/casper/.
  assert.match(line(await planFor('nfs')), /^boot=casper netboot=nfs nfsroot=10\.9\.0\.1:\/srv\/bb\/noble\/1 ignore_uuid ip=dhcp BOOTIF=/);
  assert.match(line(await planFor('cifs')), /^boot=casper netboot=cifs nfsroot=\/\/10\.9\.0\.1\/bb\/noble\/1 ignore_uuid ip=dhcp BOOTIF=/);
  for (const tr of ['nbd', 'http-lazy'] as const) {
    const p = await planFor(tr);
    assert.equal(p.kind, 'error', tr);
    if (p.kind !== 'error') continue;
    assert.equal(p.reason, `image noble v1: a whole live ISO (casper's stacked layers) cannot be a root over ${tr}: use http (casper url=…iso), nfs or cifs`);
  }
  // Where an admin picks the pair (API, console: model/boot-pairs.ts; apply shares transportProblem).
  await db.updateTable('images').set({ transport: 'nbd' }).where('id', '=', imageId).execute();
  assert.match(await imagePairProblem(db, 'noble') ?? '', /^image "noble" \(casper\) over nbd: a whole live ISO .*: use http/);
  await db.updateTable('images').set({ transport: null }).where('id', '=', imageId).execute();
  assert.equal(await imagePairProblem(db, 'noble'), undefined);
});

/** Every file and symbolic link below `dir`, relative, '/'-joined. */
function tree(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => !e.isDirectory())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)).split(path.sep).join('/')).sort();
}

test('publication for nfs/cifs writes the ISO\'s casper/ folder and its package pool (pool/, dists/, .disk/) byte for byte; not boot/, EFI/, md5sum.txt or links', { timeout: 60_000 }, async (t) => {
  if (missing.length) return t.skip(`needs ${missing.join(', ')}`);
  const exportDir = path.join(h.dir, 'export');
  const store = sharedStore(env());
  const r = await publishFromStore(store, exportDir, 'noble', 1);
  assert.equal(r.unchanged, false);
  const versionDir = path.join(exportDir, 'noble', '1');
  assert.deepEqual(tree(versionDir), [...[...casperFiles.keys()].map((n) => `casper/${n}`), ...mediaFiles.keys()].sort());
  for (const [name, src] of casperFiles) assert.equal(sha(fs.readFileSync(path.join(versionDir, 'casper', name))), sha(fs.readFileSync(src)), name);
  for (const [rel, src] of mediaFiles) assert.equal(sha(fs.readFileSync(path.join(versionDir, rel))), sha(fs.readFileSync(src)), rel);
  const all = [...casperFiles.values(), ...mediaFiles.values()].reduce((n, f) => n + fs.statSync(f).size, 0);
  assert.equal(r.bytes, all);
  assert.equal((await publishFromStore(store, exportDir, 'noble', 1)).unchanged, true, 'a second pass changes nothing');
  // A pool file lost from the share (a cleanup, a full disk) comes back on the next pass.
  const deb = [...mediaFiles.keys()].find((k) => k.endsWith('.deb'))!;
  fs.rmSync(path.join(versionDir, deb));
  assert.equal((await publishFromStore(store, exportDir, 'noble', 1)).unchanged, false);
  assert.equal(sha(fs.readFileSync(path.join(versionDir, deb))), sha(fs.readFileSync(mediaFiles.get(deb)!)));
});

test('the published share is an apt source: the line subiquity writes for /cdrom, apt-get update and download of a pool package (real apt, no network)', { timeout: 60_000 }, async (t) => {
  if (missing.length) return t.skip(`needs ${missing.join(', ')}`);
  if (!have('apt-get')) return t.skip('needs apt-get');
  const share = path.join(h.dir, 'export', 'noble', '1');
  assert.ok(fs.existsSync(path.join(share, 'casper')), 'runs after the publication test');
  const work = path.join(h.dir, 'apt');
  for (const d of ['etc/sources.list.d', 'etc/preferences.d', 'state/lists/partial', 'cache/archives/partial', 'out']) fs.mkdirSync(path.join(work, d), { recursive: true });
  fs.writeFileSync(path.join(work, 'status'), '');
  // subiquity (server/apt.py configure_for_install): `deb [check-date=no] file:///cdrom CODENAME main restricted`;
  // trusted=yes as this Release is unsigned (Ubuntu's is signed with the CD key the live system trusts).
  fs.writeFileSync(path.join(work, 'etc/sources.list'), `deb [check-date=no trusted=yes] file://${share} noble main\n`);
  const opts = [
    `-oDir::Etc::SourceList=${work}/etc/sources.list`, `-oDir::Etc::SourceParts=${work}/etc/sources.list.d`, `-oDir::Etc::PreferencesParts=${work}/etc/preferences.d`,
    `-oDir::State=${work}/state`, `-oDir::State::status=${work}/status`, `-oDir::Cache=${work}/cache`,
    '-oAPT::Architecture=amd64', '-oAPT::Architectures::=amd64', '-oAPT::Sandbox::User=root', '-oDebug::NoLocking=1',
  ];
  const run = (args: string[]) => promisify(execFile)('apt-get', [...opts, ...args], { cwd: path.join(work, 'out'), encoding: 'utf8' });
  await run(['update']);
  await run(['download', 'bb-offline-probe']);
  const deb = [...mediaFiles.keys()].find((k) => k.endsWith('.deb'))!;
  assert.equal(sha(fs.readFileSync(path.join(work, 'out', path.basename(deb)))), sha(fs.readFileSync(mediaFiles.get(deb)!)));
  // Without dists/ (what publication gave before): subiquity's own line and apt-get update (as
  // it runs it in the target) fail, so its install does too, network or not.
  const bare = path.join(h.dir, 'share-without-pool');
  fs.cpSync(path.join(share, 'casper'), path.join(bare, 'casper'), { recursive: true });
  fs.writeFileSync(path.join(work, 'etc/sources.list'), `deb [check-date=no] file://${bare} noble main restricted\n`);
  await assert.rejects(run(['update']), /does not have a Release file/);
});

test('a layered ISO casper cannot boot is refused in one line; old single-squashfs ISOs import as before', { timeout: 120_000 }, async (t) => {
  if (missing.length) return t.skip(`needs ${missing.join(', ')}`);
  const common = { 'casper/minimal.squashfs': casperFiles.get('minimal.squashfs')!, 'casper/minimal.standard.squashfs': casperFiles.get('minimal.standard.squashfs')!, 'casper/minimal.en.squashfs': casperFiles.get('minimal.en.squashfs')!, 'casper/vmlinuz': casperFiles.get('vmlinuz')! };
  const noLive = path.join(h.dir, 'no-live.iso');
  makeIso(noLive, path.join(h.dir, 'iso-nolive'), { ...common, 'casper/initrd': initrd('minimal.standard.live.squashfs') });
  await assert.rejects(importImage(env(), { file: noLive, name: 'nolive' }), (e: Error) => !e.message.includes('\n')
    && e.message === `${noLive}: casper boots the layers minimal.squashfs + minimal.standard.squashfs + minimal.standard.live.squashfs (LAYERFS_PATH=minimal.standard.live.squashfs in the initrd's conf/conf.d/default-layer.conf), but the ISO has no casper/minimal.standard.live.squashfs`);
  const unreadable = path.join(h.dir, 'unreadable.iso');
  makeIso(unreadable, path.join(h.dir, 'iso-unreadable'), { ...common, 'casper/initrd': Buffer.alloc(4096, 2) });
  await assert.rejects(importImage(env(), { file: unreadable, name: 'unreadable' }), /a layered casper ISO \(casper\/minimal\.en\.squashfs, casper\/minimal\.squashfs, casper\/minimal\.standard\.squashfs\) with no live layer \(\*\.live\.squashfs\) \(its initrd could not be read/);
  await assert.rejects(importImage(env(), { file: iso, name: 'noble-live', flavor: 'live-boot' }), { message: `${iso}: a layered casper ISO (Ubuntu 23.10+) boots only with casper's initramfs, not as live-boot: import it with --flavor casper` });
  const rows = await h.handle.db.selectFrom('image_versions as v').innerJoin('images as i', 'i.id', 'v.image_id').select(['i.name', 'v.state']).where('i.name', 'in', ['nolive', 'unreadable']).execute();
  assert.deepEqual(rows.filter((x) => x.state === 'ready'), [], 'no version of a refused ISO is ready');
  // Ubuntu ≤ 23.04: casper/filesystem.squashfs is the root, taken out of the ISO as today.
  const jammy = path.join(h.dir, 'jammy.iso');
  makeIso(jammy, path.join(h.dir, 'iso-jammy'), { 'casper/filesystem.squashfs': casperFiles.get('minimal.squashfs')!, 'casper/vmlinuz': casperFiles.get('vmlinuz')!, 'casper/initrd': initrd(undefined) });
  const r = await importImage(env(), { file: jammy, name: 'jammy' });
  assert.deepEqual([r.rootKind, r.rootFile, r.flavor], ['iso-squashfs', 'filesystem.squashfs', 'casper']);
  const sq = fs.statSync(casperFiles.get('minimal.squashfs')!).size;
  assert.equal(r.sizeBytes, sq + ((4096 - (sq % 4096)) % 4096), 'the squashfs, padded to 4 KiB as before');
});

/**
 * casper's mount of the live system, as scripts/casper does it (src/store/README.md "Layered
 * casper ISOs"; casper itself is not in Debian): LAYERFS_PATH from the initrd's
 * conf/conf.d/default-layer.conf (read here by initramfs-tools' real unmkinitramfs), each layer
 * of the chain (the name, then the name less its last dot-component, …) loop-mounted, overlayfs
 * with the longest name on top and a tmpfs over all. Run in a private mount namespace.
 */
const CASPER_STACK = `set -eu
medium=$1 work=$2
unmkinitramfs "$medium/casper/initrd" "$work/initrd"
for c in "$work/initrd/main/conf/conf.d/default-layer.conf" "$work/initrd/conf/conf.d/default-layer.conf"; do if [ -f "$c" ]; then . "$c"; fi; done
echo "LAYERFS_PATH=$LAYERFS_PATH"
layer=\${LAYERFS_PATH%.squashfs} lower=
while :; do
  [ -f "$medium/casper/$layer.squashfs" ] || { echo "no $layer.squashfs"; exit 3; }
  mkdir -p "$work/layers/$layer"
  mount -t squashfs -o loop,ro "$medium/casper/$layer.squashfs" "$work/layers/$layer"
  lower=\${lower:+$lower:}$work/layers/$layer
  case $layer in *.*) layer=\${layer%.*} ;; *) break ;; esac
done
mkdir -p "$work/cow" "$work/root"
mount -t tmpfs tmpfs "$work/cow"
mkdir "$work/cow/upper" "$work/cow/work"
mount -t overlay overlay -o "lowerdir=$lower,upperdir=$work/cow/upper,workdir=$work/cow/work" "$work/root"
echo "lowerdir=$lower" | sed "s#$work/layers/##g"
echo "init=$(test -f "$work/root/sbin/init" && echo yes || echo no)"
echo "etc=$(ls "$work/root/etc" | tr '\\n' ' ')"
`;

async function casperStack(medium: string, work: string): Promise<string> {
  fs.mkdirSync(work, { recursive: true });
  const { stdout } = await promisify(execFile)('unshare', ['-m', '--propagation', 'private', 'sh', '-c', CASPER_STACK, 'casper', medium, work], { encoding: 'utf8' });
  return stdout;
}

test('the stack casper assembles from what branchboot serves: the .iso fetched over http, and the published share', { timeout: 120_000 }, async (t) => {
  if (missing.length) return t.skip(`needs ${missing.join(', ')}`);
  if (!canMount) return t.skip('needs root, unshare, unmkinitramfs, zstd and squashfs + overlay in the kernel');
  const want = [
    'LAYERFS_PATH=minimal.standard.live.squashfs',
    'lowerdir=minimal.standard.live:minimal.standard:minimal',
    'init=yes',
    'etc=layer-minimal layer-minimal.standard layer-minimal.standard.live',
  ].join('\n');
  // url=: casper wgets the ISO and loop-mounts it on /cdrom. This kernel has no iso9660, so
  // xorriso unpacks the downloaded file instead of the loop mount.
  const fetched = path.join(h.dir, 'fetched.iso');
  fs.writeFileSync(fetched, await curl('-sf', `${base}/images/noble/1/${ISO_NAME}`));
  const cdrom = path.join(h.dir, 'cdrom');
  execFileSync('xorriso', ['-osirrox', 'on', '-indev', fetched, '-extract', '/casper', path.join(cdrom, 'casper')], { stdio: 'pipe' });
  assert.equal((await casperStack(cdrom, path.join(h.dir, 'stack-http'))).trim(), want);
  // nfs/cifs: the share (published in the test above) is what casper mounts on /cdrom.
  assert.equal((await casperStack(path.join(h.dir, 'export', 'noble', '1'), path.join(h.dir, 'stack-share'))).trim(), want);
});
