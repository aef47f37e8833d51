// The flavor × transport matrix as text. test/integration/boot/cmdline-parsers.test.ts feeds
// the same lines to the real parsers; this file pins the exact strings and the refusals.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { composeCmdline, rootArgs, bootifFor, defaultTransport, splitArgs, type RootEndpoints } from '../../../src/boot/cmdline.ts';
import type { Flavor, Transport } from '../../../src/db/schema.ts';
import { FLAVORS, TRANSPORTS } from '../../../src/db/schema.ts';

const EP: RootEndpoints = {
  httpBase: 'http://10.0.0.1:8080',
  nbd: { host: '10.0.0.2', port: 10809 },
  nfs: { host: '10.0.0.3', path: '/srv/bb/' },
  cifs: { host: '10.0.0.4', share: 'bb' },
};
const U = 'http://10.0.0.1:8080/images/img/3';

const EXPECTED: Record<Flavor, Record<Transport, string | RegExp>> = {
  casper: {
    http: /casper fetches only a whole ISO/,
    'http-lazy': /casper has no lazy http root/,
    nfs: 'boot=casper netboot=nfs nfsroot=10.0.0.3:/srv/bb/img/3 ignore_uuid',
    cifs: 'boot=casper netboot=cifs nfsroot=//10.0.0.4/bb/img/3 ignore_uuid',
    nbd: 'root=/dev/nbd0 nbdroot=10.0.0.2,img@3,nbd0',
  },
  'live-boot': {
    http: `boot=live fetch=${U}/filesystem.squashfs`,
    'http-lazy': `boot=live httpfs=${U}/filesystem.squashfs`,
    nfs: 'boot=live netboot=nfs nfsroot=10.0.0.3:/srv/bb/img/3',
    cifs: 'boot=live netboot=cifs nfsroot=//10.0.0.4/bb/img/3',
    nbd: 'root=/dev/nbd0 nbdroot=10.0.0.2,img@3,nbd0',
  },
  dracut: {
    http: `root=live:${U}/filesystem.squashfs rd.live.image rd.live.overlay.overlayfs=1 rd.neednet=1`,
    'http-lazy': /dracut has no lazy http root/,
    nfs: 'root=live:nfs://10.0.0.3/srv/bb/img/3/LiveOS/squashfs.img rd.live.image rd.live.overlay.overlayfs=1 rd.neednet=1',
    cifs: /dracut cannot boot a squashfs image from cifs/,
    nbd: 'root=live:/dev/nbd0 netroot=nbd:10.0.0.2:img@3 rd.live.image rd.live.overlay.overlayfs=1 rd.neednet=1',
  },
  'nbd-root': {
    http: /boots only over nbd/, 'http-lazy': /boots only over nbd/, nfs: /boots only over nbd/, cifs: /boots only over nbd/,
    nbd: 'root=/dev/nbd0 nbdroot=10.0.0.2,img@3,nbd0',
  },
  custom: { http: '', 'http-lazy': '', nfs: '', cifs: '', nbd: '' },
};

test('every flavor × transport: the exact root arguments or an explicit refusal', () => {
  for (const flavor of FLAVORS) {
    for (const transport of TRANSPORTS) {
      // root_file as the importer writes it for a squashfs (src/store/importer.ts).
      const r = rootArgs({ flavor, transport, image: 'img', version: 3, rootKind: 'squashfs', rootFile: 'filesystem.squashfs' }, EP);
      const want = EXPECTED[flavor][transport];
      if (typeof want === 'string') {
        assert.ok(r.ok, `${flavor} × ${transport}: ${r.ok ? '' : r.reason}`);
        assert.equal(r.args.join(' '), want, `${flavor} × ${transport}`);
      } else {
        assert.ok(!r.ok, `${flavor} × ${transport} should be refused`);
        assert.match(r.reason, want);
      }
    }
  }
});

test('root locations name what the client fetches', () => {
  const loc = (flavor: Flavor, transport: Transport) => {
    const r = rootArgs({ flavor, transport, image: 'img', version: 3, rootKind: 'squashfs', rootFile: 'filesystem.squashfs' }, EP);
    assert.ok(r.ok);
    return r.root;
  };
  assert.deepEqual(loc('live-boot', 'http'), { transport: 'http', location: `${U}/filesystem.squashfs` });
  assert.deepEqual(loc('nbd-root', 'nbd'), { transport: 'nbd', location: 'nbd://10.0.0.2:10809/img@3' });
  assert.deepEqual(loc('casper', 'cifs'), { transport: 'cifs', location: '//10.0.0.4/bb/img/3' });
  assert.deepEqual(loc('custom', 'http'), { transport: 'http', location: `${U}/filesystem.squashfs` });
});

test('ISOs, ext4 roots, non-default NBD ports, missing shares', () => {
  const iso = rootArgs({ flavor: 'casper', transport: 'http', image: 'u', version: 1, rootKind: 'iso', rootFile: 'ubuntu.iso' }, EP);
  assert.ok(iso.ok && iso.args.join(' ') === 'boot=casper url=http://10.0.0.1:8080/images/u/1/ubuntu.iso ignore_uuid');
  const ext4 = rootArgs({ flavor: 'dracut', transport: 'nbd', image: 'f', version: 1, rootKind: 'ext4', rootFile: null }, EP);
  assert.ok(ext4.ok && ext4.args.join(' ') === 'root=nbd:10.0.0.2:f@1 rd.neednet=1');
  const port = { ...EP, nbd: { host: '10.0.0.2', port: 10900 } };
  const p = rootArgs({ flavor: 'live-boot', transport: 'nbd', image: 'd', version: 1, rootKind: null, rootFile: null }, port);
  assert.ok(p.ok && p.args.join(' ') === 'root=/dev/nbd0 nbdroot=10.0.0.2:10900/d@1');
  assert.ok(!rootArgs({ flavor: 'dracut', transport: 'nbd', image: 'd', version: 1, rootKind: null, rootFile: null }, port).ok);
  const noShares = { httpBase: EP.httpBase, nbd: EP.nbd };
  const n = rootArgs({ flavor: 'live-boot', transport: 'nfs', image: 'd', version: 1, rootKind: null, rootFile: null }, noShares);
  assert.ok(!n.ok && /server_nfs or boot.exportDir/.test(n.reason));
  const bad = rootArgs({ flavor: 'slackware' as Flavor, transport: 'http', image: 'd', version: 1, rootKind: null, rootFile: null }, EP);
  assert.ok(!bad.ok && /unknown initramfs flavor/.test(bad.reason));
});

test('composition: root, network, console, then image, branch, machine arguments', () => {
  assert.equal(composeCmdline({ flavor: 'live-boot', root: ['boot=live'], bootif: bootifFor('AA:BB:CC:DD:EE:FF'), consoleArgs: ' console=ttyS0 ', extra: ['quiet\nsplash', '', 'lang=de  x=1'] }),
    'boot=live BOOTIF=01-aa-bb-cc-dd-ee-ff console=ttyS0 quiet splash lang=de x=1');
  assert.equal(composeCmdline({ flavor: 'custom', root: [], bootif: 'x', consoleArgs: '', extra: ['root=/dev/sda1'] }), 'root=/dev/sda1');
  assert.deepEqual(splitArgs(null), []);
});

test('default transports', () => {
  assert.equal(defaultTransport('nbd-root', null, null), 'nbd');
  assert.equal(defaultTransport('casper', 'squashfs', null), 'nfs');
  assert.equal(defaultTransport('casper', null, 'x.iso'), 'http');
  assert.equal(defaultTransport('live-boot', null, null), 'http');
  assert.equal(defaultTransport('dracut', null, null), 'http');
});

test('casper and live-boot NFS servers must be addresses (klibc nfsmount); dracut resolves names', () => {
  const named = { ...EP, nfs: { host: 'nas.lab', path: '/srv/bb', branch: true } };
  for (const flavor of ['casper', 'live-boot'] as const) {
    const r = rootArgs({ flavor, transport: 'nfs', image: 'img', version: 3, rootKind: 'squashfs', rootFile: 'filesystem.squashfs' }, named);
    assert.ok(!r.ok && /klibc's nfsmount, which takes only an IPv4 address, not "nas.lab"/.test(r.reason));
  }
  assert.ok(rootArgs({ flavor: 'dracut', transport: 'nfs', image: 'img', version: 3, rootKind: 'squashfs', rootFile: 'filesystem.squashfs' }, named).ok);
  // This server by http.publicUrl's name: only a preview, which knows no client address, sees it.
  const ours = { ...EP, nfs: { host: 'boot.lab', path: '/srv/bb' } };
  assert.ok(rootArgs({ flavor: 'live-boot', transport: 'nfs', image: 'img', version: 3, rootKind: 'squashfs', rootFile: 'filesystem.squashfs' }, ours).ok);
});

test('a partitioned disk over nbd: the first partition is the root, the export stays nbd0', () => {
  const disk = (flavor: Flavor) => rootArgs({ flavor, transport: 'nbd', image: 'vm', version: 1, rootKind: 'disk', rootFile: 'root.img' }, EP);
  for (const flavor of ['nbd-root', 'live-boot', 'casper'] as const) {
    const r = disk(flavor);
    assert.ok(r.ok && r.args.join(' ') === 'root=/dev/nbd0p1 nbdroot=10.0.0.2,vm@1,nbd0', flavor);
  }
  const d = disk('dracut');
  assert.ok(d.ok && d.args.join(' ') === 'root=/dev/nbd0p1 netroot=nbd:10.0.0.2:vm@1 rd.neednet=1');
  // Anything but a block device would hand the initramfs a partition table as a file system.
  for (const flavor of ['live-boot', 'casper', 'dracut'] as const) {
    for (const transport of ['http', 'http-lazy', 'nfs', 'cifs'] as const) {
      const r = rootArgs({ flavor, transport, image: 'vm', version: 1, rootKind: 'disk', rootFile: 'root.img' }, EP);
      assert.ok(!r.ok, `${flavor} × ${transport}`);
    }
  }
  assert.match((rootArgs({ flavor: 'dracut', transport: 'http', image: 'vm', version: 1, rootKind: 'disk', rootFile: 'root.img' }, EP) as { reason: string }).reason, /cannot mount a partitioned disk image fetched over http: use nbd/);
  assert.ok(rootArgs({ flavor: 'custom', transport: 'http', image: 'vm', version: 1, rootKind: 'disk', rootFile: 'root.img' }, EP).ok, 'custom: the admin knows');
});
