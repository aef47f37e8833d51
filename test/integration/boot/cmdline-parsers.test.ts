// Every generated kernel command line, read by the real parser of its flavor, unmodified:
// initramfs-tools' /init option loop (casper, live-boot, nbd), live-boot 1:20230131's own
// components (Cmdline_old, do_netmount → do_httpmount/do_nfsmount/do_cifsmount), nbd-client's
// initramfs script (local-top/nbd), dracut 059's cmdline hooks (livenet, dmsquash-live, nbd,
// nfs, cifs, network-legacy) and its nbdroot. Only the commands that would touch the machine
// are stubs, printing how the scripts called them. casper is not packaged by Debian: its lines
// go through initramfs-tools' real loop plus the casper rules of kernel-cmdlines.md (below).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { composeCmdline, rootArgs, bootifFor, type RootEndpoints, type RootSpec } from '../../../src/boot/cmdline.ts';
import type { Flavor, Transport } from '../../../src/db/schema.ts';
import { calls, canSandbox, createSandbox, parseVars, stub, type Sandbox } from './sandbox.ts';
import { ensureDracut } from './dracut-cache.ts';

// Loopback only: a stub that failed to shadow a real client could reach nothing else.
const EP: RootEndpoints = {
  httpBase: 'http://127.0.0.1:8080',
  nbd: { host: '127.0.0.5', port: 10809 },
  nfs: { host: '127.0.0.6', path: '/srv/branchboot' },
  cifs: { host: '127.0.0.7', share: 'branchboot' },
};
const MAC = '52:54:00:12:34:56';

function line(flavor: Flavor, transport: Transport, o: { image?: string; rootKind?: string | null; rootFile?: string | null; ep?: RootEndpoints } = {}): string {
  const spec: RootSpec = { flavor, transport, image: o.image ?? 'lab', version: 2, rootKind: o.rootKind ?? 'squashfs', rootFile: o.rootFile ?? 'filesystem.squashfs' };
  const r = rootArgs(spec, o.ep ?? EP);
  assert.ok(r.ok, r.ok ? '' : r.reason);
  // Extra arguments as an admin would add them: they must not disturb any parser.
  return composeCmdline({ flavor, root: r.args, bootif: bootifFor(MAC), consoleArgs: 'console=ttyS0,115200n8', extra: ['quiet splash', '', 'lang=de'] });
}

const itoolsInit = '/usr/share/initramfs-tools/init';

/** initramfs-tools' own option loop, cut verbatim out of its /init (from the comment that starts it to the BOOT=local default). */
function initramfsToolsLoop(): string {
  const init = fs.readFileSync(itoolsInit, 'utf8');
  const a = init.indexOf('# Parse command line options');
  const b = init.indexOf('# Default to BOOT=local if no boot script defined.');
  assert.ok(a > 0 && b > a, 'initramfs-tools /init has the expected markers');
  return init.slice(a, b) + init.slice(b).split('\n').slice(0, 4).join('\n') + '\n';
}

const PRINT_ITOOLS = ['BOOT', 'ROOT', 'NFSROOT', 'IP', 'BOOTIF'].map((v) => `echo "VAR ${v}=$${v}"`).join('\n');

const skipReason = () => (canSandbox() ? undefined : 'needs root and unshare/chroot');

describe('initramfs-tools + live-boot (Debian live-boot 1:20230131)', { timeout: 120_000 }, () => {
  let sb: Sandbox;
  const have = fs.existsSync('/usr/bin/live-boot') && fs.existsSync(itoolsInit);
  before(() => {
    if (skipReason() || !have) return;
    sb = createSandbox();
    sb.put('itools-parse.sh', initramfsToolsLoop());
    sb.put('sbin/mount.cifs', stub('mount.cifs'), 0o755);
  });
  after(() => sb?.destroy());

  // Live() in live-boot's 9990-main.sh: Cmdline_old, then do_netmount when netbooting.
  const driver = `
. /itools-parse.sh
${PRINT_ITOOLS}
[ "$BOOT" = live ] || exit 0
. /bin/live-boot
log_begin_msg() { :; }; log_end_msg() { :; }; log_warning_msg() { :; }; panic() { echo "PANIC $*"; exit 1; }
do_netsetup() { :; }
modprobe() { :; }; mount() { echo "CALL mount $*"; }; umount() { :; }; minips() { echo 1; }
wget() { echo "CALL wget $*"; }; httpfs() { echo "CALL httpfs $*"; }; nfsmount() { echo "CALL nfsmount $*"; }
LIVE_BOOT_CMDLINE="\${LIVE_BOOT_CMDLINE:-$(cat /proc/cmdline)}"
Cmdline_old
for v in FETCH HTTPFS NETBOOT NFSROOT LIVE_MEDIA_PATH; do eval "echo \\"VAR $v=\\$$v\\""; done
if [ -n "\${NETBOOT}" ] || [ -n "\${FETCH}" ] || [ -n "\${HTTPFS}" ] || [ -n "\${FTPFS}" ]; then
  do_netmount; echo "VAR rc=$?"; echo "VAR NETBOOT_AFTER=$NETBOOT"
fi
`;

  test('http: fetch= whole squashfs with wget into live/', async (t) => {
    if (skipReason() || !have) return t.skip(skipReason() ?? 'live-boot not installed');
    const cmd = line('live-boot', 'http');
    const r = await sb.run(driver, cmd);
    const v = parseVars(r.stdout);
    assert.equal(v.BOOT, 'live', r.stdout + r.stderr);
    assert.equal(v.IP, '', 'no ip=: live-boot brings the BOOTIF device up itself');
    assert.equal(v.BOOTIF, '01-52-54-00-12-34-56');
    assert.equal(v.FETCH, 'http://127.0.0.1:8080/images/lab/2/filesystem.squashfs');
    assert.equal(v.rc, '0');
    assert.ok(calls(r.stdout).includes('wget http://127.0.0.1:8080/images/lab/2/filesystem.squashfs -O /run/live/medium/live/filesystem.squashfs'), r.stdout);
  });

  test('http-lazy: httpfs= mounts the squashfs with httpfs2 (Range)', async (t) => {
    if (skipReason() || !have) return t.skip(skipReason() ?? 'live-boot not installed');
    const r = await sb.run(driver, line('live-boot', 'http-lazy'));
    const v = parseVars(r.stdout);
    assert.equal(v.HTTPFS, 'http://127.0.0.1:8080/images/lab/2/filesystem.squashfs');
    assert.equal(v.rc, '0');
    assert.equal(v.NETBOOT_AFTER, 'HTTPFS');
    assert.ok(calls(r.stdout).includes('httpfs http://127.0.0.1:8080/images/lab/2/filesystem.squashfs /run/live/medium/live'), r.stdout);
  });

  test('nfs: netboot=nfs nfsroot= → nfsmount of the published version folder', async (t) => {
    if (skipReason() || !have) return t.skip(skipReason() ?? 'live-boot not installed');
    const r = await sb.run(driver, line('live-boot', 'nfs'));
    const v = parseVars(r.stdout);
    assert.equal(v.NFSROOT, '127.0.0.6:/srv/branchboot/lab/2');
    assert.equal(v.rc, '0');
    assert.equal(v.NETBOOT_AFTER, 'nfs');
    assert.ok(calls(r.stdout).includes('nfsmount -o nolock -o ro 127.0.0.6:/srv/branchboot/lab/2 /run/live/medium'), r.stdout);
  });

  test('cifs: netboot=cifs nfsroot=//SRV/share → mount.cifs', async (t) => {
    if (skipReason() || !have) return t.skip(skipReason() ?? 'live-boot not installed');
    const r = await sb.run(driver, line('live-boot', 'cifs'));
    const v = parseVars(r.stdout);
    assert.equal(v.NETBOOT, 'cifs');
    assert.equal(v.rc, '0');
    assert.ok(calls(r.stdout).includes('mount.cifs //127.0.0.7/branchboot/lab/2 /run/live/medium -o user=root,password='), r.stdout);
    assert.ok(!calls(r.stdout).some((c) => c.startsWith('nfsmount')), 'no NFS fallback');
  });

  test('odd names and servers: unicode/space/quote root file, 1- and 64-character images, a mirror with a path prefix and port', async (t) => {
    if (skipReason() || !have) return t.skip(skipReason() ?? 'live-boot not installed');
    // A relayed branch: its mirror serves HTTP under a prefix on another port; NBD/NFS elsewhere.
    const mirror: RootEndpoints = { ...EP, httpBase: 'http://127.0.0.9:8081/mirror/bb' };
    for (const [image, rootFile] of [['a', "Lab räume 'v2' (x).squashfs"], ['x'.repeat(64), 'minimal.squashfs'], ['deb-12.5_lab', 'filesystem.squashfs']] as const) {
      const cmd = line('live-boot', 'http', { image, rootFile, ep: mirror });
      const url = `http://127.0.0.9:8081/mirror/bb/images/${image}/2/${encodeURIComponent(rootFile)}`;
      const r = await sb.run(driver, cmd);
      const v = parseVars(r.stdout);
      assert.equal(v.FETCH, url, r.stdout + r.stderr);
      assert.equal(v.rc, '0', r.stdout + r.stderr);
      const name = url.split('/').pop();
      assert.ok(calls(r.stdout).includes(`wget ${url} -O /run/live/medium/live/${name}`), r.stdout);
      // The kernel splits /proc/cmdline at spaces (and reads only double quotes): one word each.
      assert.ok(!/[\s"]/.test(url), url);
    }
  });

  test('nfs server: klibc\'s nfsmount (what casper and live-boot run) takes an IPv4 address only; a host name is refused in the plan', async (t) => {
    const nfsmount = '/usr/lib/klibc/bin/nfsmount';
    if (skipReason() || !fs.existsSync(nfsmount)) return t.skip(skipReason() ?? 'klibc-utils not installed');
    // In an empty network namespace: it parses its arguments, then finds no network; nothing is sent.
    const run = (spec: string) => spawnSync('unshare', ['--net', nfsmount, '-o', 'nolock,ro', spec, '/tmp'], { encoding: 'utf8', timeout: 10_000 });
    const byIp = line('live-boot', 'nfs').split(' ').find((a) => a.startsWith('nfsroot='))!.slice(8);
    assert.doesNotMatch(run(byIp).stderr, /can't parse/, 'an address parses');
    assert.match(run('nas.lab:/srv/branchboot/lab/2').stderr, /can't parse IP address 'nas.lab'/);
    for (const flavor of ['live-boot', 'casper'] as const) {
      const r = rootArgs({ flavor, transport: 'nfs', image: 'lab', version: 2, rootKind: 'squashfs', rootFile: 'filesystem.squashfs' }, { ...EP, nfs: { host: 'nas.lab', path: '/srv/branchboot', branch: true } });
      assert.ok(!r.ok && r.reason.includes('takes only an IPv4 address, not "nas.lab"'), JSON.stringify(r));
    }
  });

  test('http: the live system\'s network files stay sane (Netbase reads ip= as a static address when fetch= leaves NETBOOT empty)', async (t) => {
    if (skipReason() || !have) return t.skip(skipReason() ?? 'live-boot not installed');
    // 9990-netbase.sh writes the booted system's /etc/network/interfaces and resolv.conf from
    // ip=IF:ADDR:MASK:GW:DNS when NETBOOT is empty — which fetch= leaves it (do_httpmount).
    const netbase = `
. /bin/live-boot
log_begin_msg() { :; }; log_end_msg() { :; }
LIVE_BOOT_CMDLINE="$(cat /proc/cmdline)"
Cmdline_old
mkdir -p /root/etc/network /root/var/log
echo 'nameserver 10.0.0.53' > /root/etc/resolv.conf
Netbase
sed 's/^/IFACES /' /root/etc/network/interfaces
sed 's/^/DNS /' /root/etc/resolv.conf
rm -rf /root
`;
    for (const transport of ['http', 'http-lazy', 'nfs', 'cifs'] as const) {
      const r = await sb.run(netbase, line('live-boot', transport));
      const ifaces = r.stdout.split('\n').filter((l) => l.startsWith('IFACES ')).join('\n');
      const dns = r.stdout.split('\n').filter((l) => l.startsWith('DNS ')).join('\n');
      assert.ok(ifaces.includes('iface lo inet loopback'), `${transport}: Netbase ran\n${r.stdout}${r.stderr}`);
      assert.doesNotMatch(ifaces, /iface dhcp|address dhcp/, `${transport}:\n${ifaces}`);
      assert.equal(dns, 'DNS nameserver 10.0.0.53', `${transport}: the image's resolver is kept`);
    }
  });

  test('casper lines through initramfs-tools\' loop: BOOT=casper, NFSROOT as casper reads it', async (t) => {
    if (skipReason() || !have) return t.skip(skipReason() ?? 'initramfs-tools not installed');
    const nfs = parseVars((await sb.run(driver, line('casper', 'nfs'))).stdout);
    assert.equal(nfs.BOOT, 'casper');
    assert.equal(nfs.NFSROOT, '127.0.0.6:/srv/branchboot/lab/2');
    const cifs = parseVars((await sb.run(driver, line('casper', 'cifs'))).stdout);
    assert.equal(cifs.BOOT, 'casper');
    assert.equal(cifs.NFSROOT, '//127.0.0.7/branchboot/lab/2');
    const http = parseVars((await sb.run(driver, line('casper', 'http', { rootKind: 'iso', rootFile: 'ubuntu.iso' }))).stdout);
    assert.equal(http.BOOT, 'casper');
    assert.equal(http.IP, 'dhcp');
  });
});

/**
 * casper (Ubuntu; not in Debian) — the rules of kernel-cmdlines.md, as casper's scripts/casper
 * applies them: boot=casper selects it; netboot=nfs|cifs with nfsroot=SRV:/path or //SRV/share
 * whose folder holds casper/*.squashfs; url= must name an .iso; ignore_uuid skips the
 * .disk/casper-uuid check. Checked by this table, not by casper itself.
 */
function casperRules(cmdline: string): { netboot?: string; nfsroot?: string; url?: string; ignoreUuid: boolean; problems: string[] } {
  const problems: string[] = [];
  let boot: string | undefined; let netboot: string | undefined; let nfsroot: string | undefined; let url: string | undefined; let ignoreUuid = false;
  for (const x of cmdline.split(/\s+/)) {
    if (x.startsWith('boot=')) boot = x.slice(5);
    else if (x.startsWith('netboot=')) netboot = x.slice(8);
    else if (x.startsWith('nfsroot=')) nfsroot = x.slice(8);
    else if (x.startsWith('url=')) url = x.slice(4);
    else if (x === 'ignore_uuid') ignoreUuid = true;
  }
  if (boot !== 'casper') problems.push('boot=casper missing');
  if (url !== undefined && !/^https?:\/\/.+\.iso$/.test(url)) problems.push('url= must be an http(s) URL ending in .iso');
  if (netboot === 'nfs' && !/^[^:/]+:\/.+/.test(nfsroot ?? '')) problems.push('netboot=nfs wants nfsroot=SRV:/path');
  if (netboot === 'cifs' && !/^\/\/[^/]+\/.+/.test(nfsroot ?? '')) problems.push('netboot=cifs wants nfsroot=//SRV/share');
  if (!netboot && !url) problems.push('neither netboot= nor url=');
  return { netboot, nfsroot, url, ignoreUuid, problems };
}

describe('casper (rules of kernel-cmdlines.md; casper is not packaged by Debian)', () => {
  test('nfs, cifs, http (ISO)', () => {
    const nfs = casperRules(line('casper', 'nfs'));
    assert.deepEqual(nfs.problems, []);
    assert.equal(nfs.netboot, 'nfs');
    assert.equal(nfs.nfsroot, '127.0.0.6:/srv/branchboot/lab/2');
    assert.ok(nfs.ignoreUuid);
    const cifs = casperRules(line('casper', 'cifs'));
    assert.deepEqual(cifs.problems, []);
    assert.equal(cifs.nfsroot, '//127.0.0.7/branchboot/lab/2');
    const http = casperRules(line('casper', 'http', { rootKind: 'iso', rootFile: 'ubuntu-24.04.iso' }));
    assert.deepEqual(http.problems, []);
    assert.equal(http.url, 'http://127.0.0.1:8080/images/lab/2/ubuntu-24.04.iso');
  });
  test('casper cannot fetch a bare squashfs over http, nor lazily', () => {
    assert.equal(rootArgs({ flavor: 'casper', transport: 'http', image: 'x', version: 1, rootKind: 'squashfs', rootFile: null }, EP).ok, false);
    assert.equal(rootArgs({ flavor: 'casper', transport: 'http-lazy', image: 'x', version: 1, rootKind: 'iso', rootFile: 'x.iso' }, EP).ok, false);
  });
});

describe('initramfs-tools nbd script (nbd-client 1:3.24)', { timeout: 120_000 }, () => {
  let sb: Sandbox;
  const script = '/usr/share/initramfs-tools/scripts/local-top/nbd';
  const have = fs.existsSync(script) && fs.existsSync(itoolsInit);
  before(() => {
    if (skipReason() || !have) return;
    sb = createSandbox();
    sb.put('itools-parse.sh', initramfsToolsLoop());
    sb.put('scripts/local-top/nbd', fs.readFileSync(script), 0o755);
    // What /scripts/functions of a real initramfs provides, minus the side effects.
    sb.put('scripts/functions', 'log_begin_msg() { :; }\nlog_end_msg() { :; }\nlog_failure_msg() { echo "FAIL $*"; }\nmodprobe() { :; }\nwait_for_udev() { :; }\nconfigure_networking() { :; }\n');
    sb.put('sbin/nbd-client-stub', stub('nbd-client'), 0o755);
  });
  after(() => sb?.destroy());
  const driver = `
. /itools-parse.sh
${PRINT_ITOOLS}
NBDCLIENT=/sbin/nbd-client-stub sh /scripts/local-top/nbd 2>/dev/null
`;

  for (const flavor of ['nbd-root', 'live-boot', 'casper'] as const) {
    test(`${flavor} × nbd: root=/dev/nbd0 nbdroot=SRV,EXPORT,nbd0 → nbd-client -N EXPORT`, async (t) => {
      if (skipReason() || !have) return t.skip(skipReason() ?? 'nbd-client not installed');
      const r = await sb.run(driver, line(flavor, 'nbd'));
      const v = parseVars(r.stdout);
      assert.equal(v.BOOT, 'local', 'initramfs-tools mounts /dev/nbd0 itself');
      assert.equal(v.ROOT, '/dev/nbd0');
      assert.deepEqual(calls(r.stdout), ['nbd-client 127.0.0.5 -N lab@2 /dev/nbd0 -swap -persist -systemd-mark'], r.stdout);
    });
  }

  test('a partitioned disk image: root=/dev/nbd0p1 mounted, nbd-client still on /dev/nbd0; an image\'s root=/dev/nbd0pN wins', async (t) => {
    if (skipReason() || !have) return t.skip(skipReason() ?? 'nbd-client not installed');
    const r = await sb.run(driver, line('nbd-root', 'nbd', { rootKind: 'disk', rootFile: 'root.img' }));
    assert.equal(parseVars(r.stdout).ROOT, '/dev/nbd0p1');
    assert.deepEqual(calls(r.stdout), ['nbd-client 127.0.0.5 -N lab@2 /dev/nbd0 -swap -persist -systemd-mark'], r.stdout);
    const own = await sb.run(driver, `${line('nbd-root', 'nbd', { rootKind: 'disk', rootFile: 'root.img' })} root=/dev/nbd0p3`);
    assert.equal(parseVars(own.stdout).ROOT, '/dev/nbd0p3');
    assert.deepEqual(calls(own.stdout), ['nbd-client 127.0.0.5 -N lab@2 /dev/nbd0 -swap -persist -systemd-mark'], own.stdout);
  });

  test('a non-default NBD port uses SRV:PORT/EXPORT', async (t) => {
    if (skipReason() || !have) return t.skip(skipReason() ?? 'nbd-client not installed');
    const r = await sb.run(driver, line('nbd-root', 'nbd', { ep: { ...EP, nbd: { host: '127.0.0.5', port: 10900 } } }));
    assert.deepEqual(calls(r.stdout), ['nbd-client 127.0.0.5 -N lab@2 10900 /dev/nbd0 -swap -persist -systemd-mark'], r.stdout);
  });
});

describe('dracut 059 (Debian dracut-core/-network/-live, unpacked, not installed)', { timeout: 240_000 }, () => {
  let sb: Sandbox;
  let why: string | undefined;
  before(() => {
    why = skipReason();
    if (why) return;
    const d = ensureDracut();
    if ('error' in d) { why = d.error; return; }
    const m = d.modules;
    sb = createSandbox();
    fs.symlinkSync('/usr/bin/bash', path.join(sb.root, 'bin', 'bash'));
    // The files dracut's module-setup.sh scripts install, at the paths they install them to.
    const lib: Record<string, string> = {
      'lib/dracut-lib.sh': '99base/dracut-lib.sh', 'lib/dracut-dev-lib.sh': '99base/dracut-dev-lib.sh',
      'lib/url-lib.sh': '45url-lib/url-lib.sh', 'lib/nfs-lib.sh': '95nfs/nfs-lib.sh', 'lib/cifs-lib.sh': '95cifs/cifs-lib.sh',
      'lib/net-lib.sh': '40network/net-lib.sh', 'sbin/nbdroot': '95nbd/nbdroot.sh',
      // inst_hook cmdline <prio> …: sourced in this order by source_hook cmdline.
      'lib/dracut/hooks/cmdline/10-parse-root-opts.sh': '99base/parse-root-opts.sh',
      'lib/dracut/hooks/cmdline/29-parse-livenet.sh': '90livenet/parse-livenet.sh',
      'lib/dracut/hooks/cmdline/30-parse-dmsquash-live.sh': '90dmsquash-live/parse-dmsquash-live.sh',
      'lib/dracut/hooks/cmdline/31-parse-iso-scan.sh': '90dmsquash-live/parse-iso-scan.sh',
      'lib/dracut/hooks/cmdline/90-parse-cifsroot.sh': '95cifs/parse-cifsroot.sh',
      'lib/dracut/hooks/cmdline/90-parse-nbdroot.sh': '95nbd/parse-nbdroot.sh',
      'lib/dracut/hooks/cmdline/90-parse-nfsroot.sh': '95nfs/parse-nfsroot.sh',
      'lib/dracut/hooks/cmdline/91-dhcp-root.sh': '40network/dhcp-root.sh',
      'lib/dracut/hooks/cmdline/95-parse-block.sh': '95rootfs-block/parse-block.sh',
      'lib/dracut/hooks/cmdline/98-parse-ip-opts.sh': '35network-legacy/parse-ip-opts.sh',
    };
    for (const [to, from] of Object.entries(lib)) sb.put(to, fs.readFileSync(path.join(m, from)), 0o755);
    // getarg is dracut's C parser (dracut-util), installed under these two names (99base/module-setup.sh).
    const util = fs.readFileSync(path.join(m, '..', 'dracut-util'));
    sb.put('bin/dracut-getarg', util, 0o755);
    sb.put('bin/dracut-getargs', util, 0o755);
    fs.mkdirSync(path.join(sb.root, 'var'), { recursive: true });
    for (const d2 of ['initqueue', 'initqueue/finished', 'initqueue/settled', 'initqueue/online', 'mount', 'pre-pivot']) fs.mkdirSync(path.join(sb.root, 'lib/dracut/hooks', d2), { recursive: true });
  });
  after(() => sb?.destroy());

  // dracut's init: source_hook cmdline, then its two checks; then what netroot would run.
  const driver = `#!/bin/bash
export hookdir=/lib/dracut/hooks
. /lib/dracut-lib.sh
modprobe() { return 0; }
wait_for_dev() { :; }
die() { echo "DIE $*"; exit 1; }
warn() { echo "WARN $*"; }
source_hook cmdline
[ -z "$root" ] && die "No or empty root= argument"
[ -z "$rootok" ] && die "Don't know how to handle 'root=$root'"
echo "VAR root=$root"; echo "VAR netroot=$netroot"; echo "VAR rootok=$rootok"
case "$netroot" in
  livenet:*)
    u="\${netroot#livenet:}"
    echo "VAR handler=$(get_url_handler "$u")"
    case "$u" in nfs://*) nfs_to_var "$u" eth0; echo "VAR nfs_server=$server"; echo "VAR nfs_path=$path";; esac ;;
  nbd:*)
    (
      nbd-client() { [ "$1" = -check ] && return 1; echo "CALL nbd-client $*"; }
      udevadm() { :; }; need_shutdown() { :; }; write_fs_tab() { echo "CALL write_fs_tab $*"; }
      mknod /dev/nbd0 b 43 0 2>/dev/null
      set -- eth0 "$netroot" /sysroot
      . /sbin/nbdroot
    ) ;;
esac
`;
  // /driver.sh runs under /bin/sh; dracut's scripts want bash (nbd-client() stubs need it too).
  const bashRun = async (cmd: string) => {
    sb.put('drv-bash.sh', driver, 0o755);
    return sb.run('exec /bin/bash /drv-bash.sh\n', cmd);
  };

  test('http: root=live:URL → livenet fetches it with curl, dmsquash-live runs it', async (t) => {
    if (why) return t.skip(why);
    const r = await bashRun(line('dracut', 'http'));
    const v = parseVars(r.stdout);
    assert.ok(!/DIE/.test(r.stdout), r.stdout + r.stderr);
    assert.equal(v.netroot, 'livenet:http://127.0.0.1:8080/images/lab/2/filesystem.squashfs', r.stdout + r.stderr);
    assert.equal(v.rootok, '1');
    assert.equal(v.handler, 'curl_fetch_url');
  });

  test('http: odd root file names and a mirror with a path prefix and port reach curl as one URL', async (t) => {
    if (why) return t.skip(why);
    const mirror: RootEndpoints = { ...EP, httpBase: 'http://127.0.0.9:8081/mirror/bb' };
    for (const [image, rootFile] of [['a', "Lab räume 'v2' (x).squashfs"], ['x'.repeat(64), 'squashfs.img']] as const) {
      const r = await bashRun(line('dracut', 'http', { image, rootFile, ep: mirror }));
      const v = parseVars(r.stdout);
      assert.ok(!/DIE/.test(r.stdout), r.stdout + r.stderr);
      const url = `http://127.0.0.9:8081/mirror/bb/images/${image}/2/${encodeURIComponent(rootFile)}`;
      assert.equal(v.netroot, `livenet:${url}`, r.stdout + r.stderr);
      assert.equal(v.handler, 'curl_fetch_url');
    }
  });

  test('nfs: root=live:nfs://SRV/path/LiveOS/squashfs.img → livenet\'s nfs handler', async (t) => {
    if (why) return t.skip(why);
    const r = await bashRun(line('dracut', 'nfs'));
    const v = parseVars(r.stdout);
    assert.ok(!/DIE/.test(r.stdout), r.stdout + r.stderr);
    assert.equal(v.netroot, 'livenet:nfs://127.0.0.6/srv/branchboot/lab/2/LiveOS/squashfs.img');
    assert.equal(v.rootok, '1');
    assert.equal(v.handler, 'nfs_fetch_url');
    assert.equal(v.nfs_server, '127.0.0.6');
    assert.equal(v.nfs_path, '/srv/branchboot/lab/2/LiveOS/squashfs.img');
  });

  test('nbd (squashfs): root=live:/dev/nbd0 netroot=nbd:SRV:EXPORT → nbd-client -name EXPORT, live overlay', async (t) => {
    if (why) return t.skip(why);
    const r = await bashRun(line('dracut', 'nbd'));
    const v = parseVars(r.stdout);
    assert.ok(!/DIE/.test(r.stdout), r.stdout + r.stderr);
    assert.equal(v.root, 'live:/dev/nbd0');
    assert.equal(v.netroot, 'nbd:127.0.0.5:lab@2');
    assert.equal(v.rootok, '1');
    assert.deepEqual(calls(r.stdout), ['nbd-client -p -systemd-mark 127.0.0.5 -name lab@2 /dev/nbd0'], r.stdout + r.stderr);
  });

  test('nbd (ext4 root): root=nbd:SRV:EXPORT → dracut mounts /dev/nbd0 itself', async (t) => {
    if (why) return t.skip(why);
    const r = await bashRun(line('dracut', 'nbd', { rootKind: 'ext4' }));
    const v = parseVars(r.stdout);
    assert.ok(!/DIE/.test(r.stdout), r.stdout + r.stderr);
    assert.equal(v.root, 'block:/dev/root');
    assert.equal(v.netroot, 'nbd:127.0.0.5:lab@2');
    assert.ok(calls(r.stdout).includes('nbd-client -p -systemd-mark 127.0.0.5 -name lab@2 /dev/nbd0'), r.stdout + r.stderr);
  });

  test('nbd (partitioned disk): root=/dev/nbd0p1 netroot=nbd:SRV:EXPORT → nbd-client on /dev/nbd0, root the partition', async (t) => {
    if (why) return t.skip(why);
    const r = await bashRun(line('dracut', 'nbd', { rootKind: 'disk', rootFile: 'root.img' }));
    const v = parseVars(r.stdout);
    assert.ok(!/DIE/.test(r.stdout), r.stdout + r.stderr);
    assert.equal(v.root, 'block:/dev/nbd0p1', r.stdout + r.stderr);
    assert.equal(v.netroot, 'nbd:127.0.0.5:lab@2');
    assert.equal(v.rootok, '1');
    assert.ok(calls(r.stdout).includes('nbd-client -p -systemd-mark 127.0.0.5 -name lab@2 /dev/nbd0'), r.stdout + r.stderr);
  });

  test('the real parser agrees cifs cannot carry a squashfs: root=cifs:// is a file tree, and dies without credentials', async (t) => {
    if (why) return t.skip(why);
    assert.equal(rootArgs({ flavor: 'dracut', transport: 'cifs', image: 'x', version: 1, rootKind: 'squashfs', rootFile: null }, EP).ok, false);
    const r = await bashRun('root=cifs://127.0.0.7/branchboot ip=dhcp rd.neednet=1');
    assert.match(r.stdout, /DIE For CIFS support you need to specify a cifsuser and cifspass/);
  });
});
