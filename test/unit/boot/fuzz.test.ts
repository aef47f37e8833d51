// TFTP file names and HTTP paths reach the planner from the network: its parsers must take
// anything. 100,000 random and mutated inputs each, fixed seed, in-process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGeneratedName } from '../../../src/boot/generated.ts';
import { classifyImagePath } from '../../../src/boot/fetch-events.ts';
import { bootText } from '../../../src/boot/templates.ts';
import { parseImageRef } from '../../../src/model/inventory/normal.ts';
import { fuzzCount, fuzzScale, fuzzSeed, rng } from '../../helpers/rng.ts';


const SEEDS = ['pxelinux.cfg/01-aa-bb-cc-dd-ee-ff', 'grub/grub.cfg-01-aa-bb-cc-dd-ee-ff', 'boot.ipxe', 'aa:bb:cc:dd:ee:ff.ipxe',
  '/images/debian/3/vmlinuz', '/images/d%20x/current/initrd.img', '/images/a/2/filesystem.squashfs?r=1', 'debian@12'];
const ALPHABET = 'abcdef0123456789:-./\\%@?#\0\n ${}|&\'"ÿ\u2028';

test('network-facing boot parsers never throw (100,000 inputs each)', { timeout: 60_000 * fuzzScale() }, () => {
  const r = rng(fuzzSeed(0x5eed));
  const pick = (s: string) => s[Math.floor(r() * s.length)]!;
  let matched = 0;
  for (let i = 0, n = fuzzCount(100_000); i < n; i++) {
    let input: string;
    if (i % 2 === 0) {
      const base = SEEDS[i % SEEDS.length]!.split('');
      const edits = 1 + Math.floor(r() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(r() * (base.length + 1));
        const op = r();
        if (op < 0.4) base.splice(at, 1);
        else if (op < 0.8) base.splice(at, 0, pick(ALPHABET));
        else base.splice(at, 1, pick(ALPHABET));
      }
      input = base.join('');
    } else {
      const len = Math.floor(r() * 80);
      input = Array.from({ length: len }, () => (r() < 0.1 ? String.fromCharCode(Math.floor(r() * 0x10000)) : pick(ALPHABET))).join('');
    }
    const g = parseGeneratedName(input);
    if (g) {
      matched++;
      assert.ok(g.mac === undefined || /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(g.mac), input);
    }
    const c = classifyImagePath(input);
    if (c) assert.ok(c.version === 'current' || /^\d+$/.test(c.version));
    const text = bootText(input);
    assert.ok(!/[$|&'\n]/.test(text), 'nothing iPXE or GRUB would interpret');
    parseImageRef(input);
  }
  assert.ok(matched > 200, `mutations still hit the grammar (${matched})`);
});
