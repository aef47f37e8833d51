// DISCOVERs rebuilt byte for byte from what real firmware sends (shared/notes/pxe-clients.md:
// QEMU 7.2 + Debian 12 ROMs), and the first file each must be given.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { buildDhcpHandler } from '../../../src/dhcp/index.ts';
import { decodePacket } from '../../../src/dhcp/packet.ts';
import { readSubOptions } from '../../../src/dhcp/options.ts';
import { clientFacts } from '../../../src/dhcp/client.ts';
import { ip, macBytes, makeCtx } from './helpers.ts';

const MAC = '52:54:00:12:34:56';
const UUID = [0, 0x78, 0x56, 0x34, 0x12, 0x34, 0x12, 0x78, 0x56, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0];
const PARAMS = [1, 3, 6, 7, 12, 15, 17, 26, 43, 60, 66, 67, 119, 128, 129, 130, 131, 132, 133, 134, 135, 175, 203];
const flag = (code: number) => [code, 1, 1];
// iPXE 175: feature flags, 235 version 1.0.0, 177 bus id (PCI 8086:100e).
const ipxeCaps = (efi: boolean) => [
  ...flag(0x13), ...flag(0x15), ...flag(0x29), ...flag(0x11), ...flag(0x12), ...flag(0x17), ...flag(0x27),
  ...(efi ? flag(0x24) : [...flag(0x18), ...flag(0x21), ...flag(0x10)]),
  235, 3, 1, 0, 0, 177, 5, 1, 0x80, 0x86, 0x10, 0x0e,
];

function raw(opts: Array<[number, number[] | string]>, flags = 0): Buffer {
  const parts: number[] = [];
  for (const [code, v] of opts) {
    const bytes = typeof v === 'string' ? [...Buffer.from(v, 'latin1')] : v;
    parts.push(code, bytes.length, ...bytes);
  }
  const head = Buffer.alloc(240);
  head[0] = 1; head[1] = 1; head[2] = 6;
  head.writeUInt32BE(0x5eed1234, 4);
  head.writeUInt16BE(4, 8);
  head.writeUInt16BE(flags, 10);
  macBytes(MAC).copy(head, 28);
  head.writeUInt32BE(0x63825363, 236);
  return Buffer.concat([head, Buffer.from([...parts, 255])]);
}

const mac6 = [...Buffer.from(MAC.replace(/:/g, ''), 'hex')];
const vectors: Array<{ name: string; pkt: Buffer; file: (u: string) => string; ipxe: boolean; cls: string }> = [
  {
    name: 'BIOS, iPXE in the NIC ROM (user class raw "iPXE")',
    pkt: raw([[53, [1]], [57, [5, 192]], [93, [0, 0]], [94, [1, 2, 1]], [60, 'PXEClient:Arch:00000:UNDI:002001'], [77, 'iPXE'], [55, PARAMS], [175, ipxeCaps(false)], [61, [1, ...mac6]], [97, UUID]]),
    file: (u) => `${u}/boot/${MAC}.ipxe`, ipxe: true, cls: 'PXEClient',
  },
  {
    name: 'UEFI x64, iPXE EFI ROM',
    pkt: raw([[53, [1]], [57, [5, 192]], [93, [0, 7]], [94, [1, 3, 10]], [60, 'PXEClient:Arch:00007:UNDI:003010'], [77, 'iPXE'], [55, PARAMS], [175, ipxeCaps(true)], [61, [1, ...mac6]], [97, UUID]]),
    file: (u) => `${u}/boot/${MAC}.ipxe`, ipxe: true, cls: 'PXEClient',
  },
  {
    name: 'UEFI x64, firmware PXE client (broadcast flag)',
    pkt: raw([[53, [1]], [57, [5, 192]], [55, [1, 2, 3, 4, 5, 6, 12, 13, 15, 17, 18, 22, 23, 28, 40, 41, 42, 43, 50, 51, 54, 58, 59, 60, 66, 67, 97, 128, 129, 130, 131, 132, 133, 134, 135]], [97, UUID], [94, [1, 3, 0]], [93, [0, 7]], [60, 'PXEClient:Arch:00007:UNDI:003000']], 0x8000),
    file: () => 'snponly.efi', ipxe: false, cls: 'PXEClient',
  },
  {
    name: 'BIOS PXE ROM without iPXE',
    pkt: raw([[53, [1]], [57, [4, 236]], [93, [0, 0]], [94, [1, 2, 1]], [60, 'PXEClient:Arch:00000:UNDI:002001'], [55, [1, 3, 43, 60, 66, 67, 128]], [97, UUID]]),
    file: () => 'undionly.kpxe', ipxe: false, cls: 'PXEClient',
  },
  {
    name: 'UEFI HTTP Boot x64',
    pkt: raw([[53, [1]], [57, [5, 192]], [93, [0, 16]], [94, [1, 3, 0]], [60, 'HTTPClient:Arch:00016:UNDI:003000'], [55, [1, 3, 6, 15, 60, 66, 67]], [97, UUID]], 0x8000),
    file: () => '', ipxe: false, cls: 'HTTPClient',
  },
];

describe('captured PXE DISCOVERs get the right first file', () => {
  for (const v of vectors) {
    test(v.name, async () => {
      const t = await makeCtx([{ cidr: '10.1.0.0/24', mode: 'authoritative', ranges: ['10.1.0.100-10.1.0.150'] }]);
      const b = await buildDhcpHandler(t.ctx, { localAddresses: () => [{ ifname: 'eth0', address: ip('10.1.0.1'), mask: ip('255.255.255.0') }] });
      try {
        const dec = decodePacket(v.pkt);
        assert.ok(dec.ok);
        const facts = clientFacts(dec.packet);
        // The planner decides; we check dhcp/ hands it the right facts and encodes its answer.
        const expected = v.file('http://10.9.9.9:8080') || (await t.ctx.planner.firstFile({ mac: MAC, arch: facts.arch, httpBoot: true })).bootfile;
        const out = await b.handler.handle(v.pkt, { from: { address: '0.0.0.0', port: 68 } });
        assert.ok(out);
        const r = Buffer.from(out.buf); r[0] = 1;
        const p = decodePacket(r);
        assert.ok(p.ok);
        assert.equal(p.packet.options.get(67)?.toString(), expected);
        assert.equal(p.packet.file.toString('latin1').replace(/\0+$/, ''), expected);
        assert.equal(p.packet.options.get(60)?.toString(), v.cls);
        assert.equal(p.packet.yiaddr, ip('10.1.0.100'));
        assert.deepEqual(p.packet.options.get(97), Buffer.from(UUID));
        const caps = readSubOptions(p.packet.options.get(175));
        if (v.ipxe) assert.deepEqual(caps?.get(176), Buffer.from([1]), '175.176 = 1 ends iPXE\'s proxyDHCP wait');
        else assert.equal(caps, undefined);
        if (!/^http/.test(expected)) assert.equal(p.packet.siaddr, ip('10.1.0.1'));
      } finally { b.dispose(); await b.committer.flushed(); await b.sightings.flush(); await t.close(); }
    });
  }

  test('facts: UUID in SMBIOS order, firmware names, unknown architecture does not crash', async () => {
    const f = clientFacts((decodePacket(vectors[0]!.pkt) as { ok: true; packet: Parameters<typeof clientFacts>[0] }).packet);
    assert.equal(f.uuid, '12345678-1234-5678-1234-56789abcdef0');
    assert.equal(f.firmware, 'ipxe-bios');
    assert.equal(f.ndi, '1.2.1');
    assert.equal(f.clientId, `01${MAC.replace(/:/g, '')}`);
    const odd = raw([[53, [1]], [93, [0x12, 0x34]], [60, 'PXEClient:Arch:04660:UNDI:003000']]);
    const of = clientFacts((decodePacket(odd) as { ok: true; packet: Parameters<typeof clientFacts>[0] }).packet);
    assert.equal(of.arch, 0x1234);
    assert.equal(of.firmware, 'arch-4660');
  });
});
