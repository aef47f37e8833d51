// The path MTU lookup must never cap loopback or local clients by the default route's MTU.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { pathMtuTo } from '../../../src/tftp/mtu.ts';

test('no MTU cap toward loopback or our own addresses; garbage is not an address', () => {
  assert.equal(pathMtuTo('127.0.0.1'), undefined);
  assert.equal(pathMtuTo('127.1.2.3'), undefined);
  for (const i of Object.values(os.networkInterfaces()).flat()) {
    if (i?.family === 'IPv4') assert.equal(pathMtuTo(i.address), undefined, i.address);
  }
  assert.equal(pathMtuTo('not an ip'), undefined);
  const m = pathMtuTo('192.0.2.1'); // via the default route, if there is one
  assert.ok(m === undefined || (m >= 68 && m <= 65536));
});
