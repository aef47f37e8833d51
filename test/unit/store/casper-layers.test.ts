// Layered casper ISOs (Ubuntu 23.10+): which layers casper mounts (the chain walk of
// LAYERFS_PATH), when an ISO counts as layered, the one-line refusals, and reading
// LAYERFS_PATH out of initrds shaped like Ubuntu's (early uncompressed cpio + zstd or gzip main).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { compress } from 'zstd-napi';
import { casperLayers, chainOf, isLayered } from '../../../src/store/casper-layers.ts';
import { initrdLayer, type InitrdLayer } from '../../../src/store/initrd-layer.ts';
import { ImageInputError } from '../../../src/store/probe.ts';
import { newc } from './newc.ts';

async function* chunks(b: Buffer, size = 1000): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

const early = newc([['kernel', ''], ['kernel/x86/microcode/AuthenticAMD.bin', Buffer.alloc(3000, 7)]]);
const main = newc([
  ['.', ''], ['bin', Buffer.alloc(70_000, 1)], ['conf', ''], ['conf/arch.conf', 'DPKG_ARCH=amd64\n'],
  ['conf/conf.d/default-layer.conf', 'LAYERFS_PATH=minimal.standard.live.squashfs\n'], ['scripts/casper', Buffer.alloc(5000, 3)],
]);

test('chainOf: every dot-prefix of the layer name, bottom first', () => {
  assert.deepEqual(chainOf('minimal.standard.live.squashfs'), ['minimal.squashfs', 'minimal.standard.squashfs', 'minimal.standard.live.squashfs']);
  assert.deepEqual(chainOf('/cdrom/casper/ubuntu-server-minimal.ubuntu-server.installer.generic.squashfs').at(-1), 'ubuntu-server-minimal.ubuntu-server.installer.generic.squashfs');
  assert.deepEqual(chainOf('minimal.squashfs'), ['minimal.squashfs']);
});

test('initrdLayer reads LAYERFS_PATH behind an early cpio, zstd or gzip, and says when it cannot', async () => {
  for (const [what, bytes] of [
    ['zstd', Buffer.concat([early, compress(main)])],
    ['gzip', Buffer.concat([early, gzipSync(main)])],
    ['uncompressed', Buffer.concat([early, main])],
    ['zstd, no early archive', compress(main)],
  ] as const) {
    for (const size of [1, 97, 65536]) {
      const r = await initrdLayer(chunks(bytes, size));
      assert.deepEqual(r, { readable: true, layerfsPath: 'minimal.standard.live.squashfs' }, `${what}, ${size}-byte reads`);
    }
  }
  const none = await initrdLayer(chunks(Buffer.concat([early, compress(newc([['conf/initramfs.conf', 'MODULES=most\n']]))])));
  assert.deepEqual(none, { readable: true, layerfsPath: undefined });
  const quoted = await initrdLayer(chunks(compress(newc([['./conf/conf.d/default-layer.conf', 'export LAYERFS_PATH="a.b.squashfs"\n']]))));
  assert.deepEqual(quoted, { readable: true, layerfsPath: 'a.b.squashfs' });
  const xz = await initrdLayer(chunks(Buffer.concat([early, Buffer.from('fd377a585a000004', 'hex'), Buffer.alloc(100)])));
  assert.equal(xz.readable, false);
  assert.match((xz as { why: string }).why, /other than zstd or gzip \(magic fd377a58\)/);
  const garbage = await initrdLayer(chunks(Buffer.alloc(4096, 2)));
  assert.equal(garbage.readable, false);
  const broken = await initrdLayer(chunks(Buffer.concat([early, compress(main).subarray(0, 40), Buffer.alloc(10, 9)])));
  assert.equal(broken.readable === false || broken.layerfsPath === undefined, true, 'a damaged initrd is unreadable or names nothing, and never throws');
});

const DESKTOP = [
  'minimal.en.squashfs', 'minimal.enhanced-secureboot.squashfs', 'minimal.squashfs', 'minimal.standard.en.squashfs',
  'minimal.standard.enhanced-secureboot.squashfs', 'minimal.standard.live.squashfs', 'minimal.standard.squashfs',
];
const fromInitrd: InitrdLayer = { readable: true, layerfsPath: 'minimal.standard.live.squashfs' };

test('isLayered: Ubuntu 23.10+ chains yes; filesystem.squashfs or a lone plain squashfs no', () => {
  assert.equal(isLayered(DESKTOP, fromInitrd), true);
  assert.equal(isLayered(DESKTOP, undefined), true);
  assert.equal(isLayered(['filesystem.squashfs', 'installer.squashfs'], undefined), false, 'focal live-server: filesystem.squashfs stays the root');
  assert.equal(isLayered(['minimal.squashfs'], { readable: false, why: 'x' }), false, 'a lone squashfs without a named layer keeps working as before');
  assert.equal(isLayered(['minimal.squashfs'], { readable: true, layerfsPath: 'minimal.squashfs' }), true);
  assert.equal(isLayered([], fromInitrd), false);
});

test('casperLayers: the initrd decides; a missing layer of its chain is one line naming it', () => {
  assert.deepEqual(casperLayers('u.iso', DESKTOP, fromInitrd).chain, ['minimal.squashfs', 'minimal.standard.squashfs', 'minimal.standard.live.squashfs']);
  const noLive = DESKTOP.filter((n) => n !== 'minimal.standard.live.squashfs');
  assert.throws(() => casperLayers('u.iso', noLive, fromInitrd), (e: Error) => e instanceof ImageInputError && !e.message.includes('\n')
    && /LAYERFS_PATH=minimal\.standard\.live\.squashfs .*has no casper\/minimal\.standard\.live\.squashfs$/.test(e.message));
  // Without a readable initrd, the one complete *.live chain is casper's default (livecd-rootfs's name).
  const unreadable: InitrdLayer = { readable: false, why: 'compressed with a format other than zstd or gzip (magic fd377a58)' };
  assert.deepEqual(casperLayers('u.iso', DESKTOP, unreadable), { layers: DESKTOP, chain: ['minimal.squashfs', 'minimal.standard.squashfs', 'minimal.standard.live.squashfs'], decidedBy: 'name' });
  assert.throws(() => casperLayers('u.iso', noLive, unreadable), /no live layer \(\*\.live\.squashfs\) \(its initrd could not be read/);
  assert.throws(() => casperLayers('u.iso', ['minimal.standard.live.squashfs', 'minimal.squashfs'], undefined), /stacks on casper\/minimal\.standard\.squashfs, which the ISO does not have/);
  // An initrd without default-layer.conf: casper mounts every layer.
  assert.deepEqual(casperLayers('u.iso', DESKTOP, { readable: true, layerfsPath: undefined }).chain, undefined);
  // Server ISOs name a chain without "live": only the initrd can say it.
  const server = ['ubuntu-server-minimal.squashfs', 'ubuntu-server-minimal.ubuntu-server.squashfs', 'ubuntu-server-minimal.ubuntu-server.installer.squashfs', 'ubuntu-server-minimal.ubuntu-server.installer.generic.squashfs'];
  assert.equal(casperLayers('s.iso', server, { readable: true, layerfsPath: server[3] }).chain?.length, 4);
});
