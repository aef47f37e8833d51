import { test } from 'node:test';
import assert from 'node:assert/strict';
import { macFromBytes } from '../../../src/util/net.ts';

test('macFromBytes: the first six bytes, lower-case hex, colon-separated', () => {
  assert.equal(macFromBytes(Uint8Array.from([0, 1, 0x0a, 0xab, 0xf0, 0xff])), '00:01:0a:ab:f0:ff');
  // A DHCP chaddr is 16 bytes: the rest is padding.
  const chaddr = new Uint8Array(16).fill(0xee);
  chaddr.set([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
  assert.equal(macFromBytes(chaddr), '52:54:00:12:34:56');
});
