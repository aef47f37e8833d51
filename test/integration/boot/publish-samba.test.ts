// cifs roots end to end on the server side: publishVersion writes a version into the export
// folder in live-boot's layout, a real Samba (smbd) serves that folder as a guest share in a
// throwaway namespace, and smbclient fetches the squashfs back from the folder the generated
// nfsroot=//SRV/share/<image>/<version> names — byte-identical.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { publishVersion } from '../../../src/boot/publish.ts';
import { rootArgs } from '../../../src/boot/cmdline.ts';
import type { ImageReader } from '../../../src/store/types.ts';
import { canUseNetns, createTestNet, type TestNet } from '../../helpers/netns.ts';

function fileReader(file: string): ImageReader & { close(): void } {
  const fd = fs.openSync(file, 'r');
  const size = fs.fstatSync(fd).size;
  return {
    size,
    async read(offset, length) {
      const buf = Buffer.alloc(length);
      fs.readSync(fd, buf, 0, length, offset);
      return buf;
    },
    close: () => fs.closeSync(fd),
  };
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const have = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;

test('publish a live-boot version, serve it with Samba, fetch it back with smbclient', { timeout: 90_000 }, async (t) => {
  if (!canUseNetns()) return t.skip('needs root and ip netns');
  if (!have('smbd') || !have('smbclient')) return t.skip('samba and smbclient are not installed (scripts/apt/boot.txt)');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-smb-'));
  let net: TestNet | undefined;
  const reader = (() => {
    // 9 MiB + an odd tail: several 4 MiB publish steps and a partial last one.
    const src = path.join(work, 'root.squashfs');
    fs.writeFileSync(src, randomBytes(9 * 1024 * 1024 + 12345));
    return fileReader(src);
  })();
  try {
    const exportDir = path.join(work, 'export');
    fs.mkdirSync(exportDir);
    fs.writeFileSync(path.join(work, 'vmlinuz'), 'kernel');
    fs.writeFileSync(path.join(work, 'initrd'), 'initrd');
    const res = await publishVersion({ exportDir, image: 'lab', version: 2, flavor: 'live-boot', reader, kernelFile: path.join(work, 'vmlinuz'), initrdFile: path.join(work, 'initrd') });
    assert.equal(res.rootPath, path.join(exportDir, 'lab/2/live/filesystem.squashfs'));
    assert.equal(res.unchanged, false);
    assert.equal(fs.readFileSync(path.join(exportDir, 'lab/2/live/vmlinuz'), 'utf8'), 'kernel');
    assert.equal((await publishVersion({ exportDir, image: 'lab', version: 2, flavor: 'live-boot', reader })).unchanged, true);
    assert.deepEqual(fs.readdirSync(path.join(exportDir, 'lab/2/live')).sort(), ['filesystem.squashfs', 'initrd.img', 'vmlinuz'], 'no partial files left');

    // The smbd guest ("nobody") must be able to walk into the export.
    for (const d of [work, exportDir]) fs.chmodSync(d, 0o755);
    const state = path.join(work, 'samba');
    for (const d of ['pid', 'lock', 'state', 'cache', 'private', 'ncalrpc', 'log']) fs.mkdirSync(path.join(state, d), { recursive: true });
    const conf = path.join(work, 'smb.conf');
    fs.writeFileSync(conf, [
      '[global]',
      '  interfaces = lo', '  bind interfaces only = yes', '  disable netbios = yes', '  smb ports = 445',
      '  server role = standalone server', '  map to guest = Bad User', '  guest account = nobody',
      `  pid directory = ${state}/pid`, `  lock directory = ${state}/lock`, `  state directory = ${state}/state`,
      `  cache directory = ${state}/cache`, `  private dir = ${state}/private`, `  ncalrpc dir = ${state}/ncalrpc`,
      `  log file = ${state}/log/%m.log`, '  load printers = no', '  printing = bsd', '  printcap name = /dev/null', '  disable spoolss = yes',
      '[branchboot]', `  path = ${exportDir}`, '  read only = yes', '  guest ok = yes', '  guest only = yes', '',
    ].join('\n'));

    net = await createTestNet({ hosts: { server: { addr: '10.77.6.1/24' } } });
    const server = net.hosts.server!;
    const smbd = server.spawn(['smbd', '-F', '--no-process-group', '-s', conf, '--debug-stdout']);
    let smbdLog = '';
    smbd.stdout?.on('data', (d: Buffer) => { smbdLog += d.toString(); });
    smbd.stderr?.on('data', (d: Buffer) => { smbdLog += d.toString(); });

    // The generated line says where the share and folder are; fetch from exactly there.
    const r = rootArgs({ flavor: 'live-boot', transport: 'cifs', image: 'lab', version: 2, rootKind: 'squashfs', rootFile: null },
      { httpBase: 'http://127.0.0.1', nbd: { host: '127.0.0.1', port: 10809 }, cifs: { host: '127.0.0.1', share: 'branchboot' } });
    assert.ok(r.ok);
    const unc = /^\/\/([^/]+)\/([^/]+)\/(.+)$/.exec(r.root.location);
    assert.ok(unc, r.root.location);
    const [, host, share, folder] = unc;
    const out = path.join(work, 'fetched.squashfs');
    let got: { code: number | null; stdout: string; stderr: string } | undefined;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      got = await server.run(['smbclient', '-N', '-s', conf, `//${host}/${share}`, '-D', folder!, '-c', `get live/filesystem.squashfs ${out}`], { timeoutMs: 20_000 });
      if (got.code === 0) break;
      await new Promise((res) => setTimeout(res, 300));
    }
    assert.equal(got?.code, 0, `smbclient: ${got?.stdout} ${got?.stderr}\nsmbd: ${smbdLog.slice(-2000)}`);
    assert.equal(sha(fs.readFileSync(out)), sha(fs.readFileSync(path.join(work, 'root.squashfs'))), 'byte-identical');
    // live-boot mounts with "-o user=root,password=" (9990-mount-cifs.sh): map to guest = Bad User lets that in as guest.
    const asRoot = await server.run(['smbclient', '-U', 'root%', '-s', conf, `//${host}/${share}`, '-D', folder!, '-c', 'ls live/*'], { timeoutMs: 20_000 });
    assert.equal(asRoot.code, 0, `smbclient as root with an empty password: ${asRoot.stdout} ${asRoot.stderr}`);
    assert.match(asRoot.stdout, /filesystem\.squashfs/);
  } finally {
    reader.close();
    await net?.destroy();
    fs.rmSync(work, { recursive: true, force: true });
  }
});

test('each flavor lands in its own layout', { timeout: 20_000 }, async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-pub-'));
  try {
    const src = path.join(work, 'r');
    fs.writeFileSync(src, 'squash');
    const reader = fileReader(src);
    const want = { casper: 'casper/filesystem.squashfs', 'live-boot': 'live/filesystem.squashfs', dracut: 'LiveOS/squashfs.img', 'nbd-root': 'root.img', custom: 'root.img' } as const;
    for (const [flavor, rel] of Object.entries(want)) {
      const r = await publishVersion({ exportDir: work, image: `i-${flavor}`, version: 1, flavor: flavor as keyof typeof want, reader });
      assert.equal(r.rootPath, path.join(work, `i-${flavor}`, '1', rel));
      assert.equal(fs.readFileSync(r.rootPath, 'utf8'), 'squash');
    }
    await assert.rejects(publishVersion({ exportDir: work, image: '..', version: 1, flavor: 'custom', reader }), /cannot be a folder name/);
    reader.close();
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});
