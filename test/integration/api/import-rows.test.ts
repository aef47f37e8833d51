// Bulk import (CSV or JSON) holds each row to the rules a single POST /machines does, and its
// errors say which row and which field in the detail line itself.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { makeFixture, type Fixture } from '../../unit/api/helpers.ts';

let f: Fixture;
before(async () => { f = await makeFixture({ machinesPerBranch: 1, users: false }); });
after(async () => { await f.close(); });

const csv = (text: string) => f.app.inject({ method: 'POST', url: '/api/v1/machines/import?dryRun=true', payload: text, headers: { authorization: `Bearer ${f.tokens.admin}`, 'content-type': 'text/csv' } });

test('a hostname POST refuses is refused in a CSV or JSON import too, naming the row', async () => {
  for (const name of ['e,02', '<b>x</b>', 'two words', 'ünï']) {
    const r = await csv(`mac,hostname,branch\n02:00:00:09:00:01,lab-1,alpha\n02:00:00:09:00:02,"${name}",alpha\n`);
    assert.equal(r.statusCode, 400, `${name}: ${r.body}`);
    assert.equal(r.json().field, 'machines[1].hostname');
    assert.match(r.json().detail, /^machines\[1\]\.hostname ".*" is not a hostname/);
    const j = await f.req('POST', '/api/v1/machines/import?dryRun=true', { token: f.tokens.admin, body: { machines: [{ mac: '02:00:00:09:00:02', hostname: name, branch: 'alpha' }] } });
    assert.equal(j.statusCode, 400, j.body);
    assert.equal(j.json().field, 'machines[0].hostname');
  }
  const ok = await csv('mac,hostname,branch\n02:00:00:09:00:01,lab-1.example,alpha\n02:00:00:09:00:02,,alpha\n');
  assert.equal(ok.statusCode, 200, ok.body);
  assert.equal(ok.json().changes.length, 2);
});

test('a bad cell\'s detail names its row and field, not only "must be one of …"', async () => {
  for (const [text, detail] of [
    ['mac,branch,action\n02:00:00:09:00:01,alpha,reboot\n', /^machines\[0\]\.action must be one of image, local, menu, once$/],
    ['mac,branch,transport\n02:00:00:09:00:01,alpha,ftp\n', /^machines\[0\]\.transport must be one of /],
    ['mac,branch\nzz,alpha\n', /^machines\[0\]\.mac: "zz" is not a MAC address$/],
  ] as [string, RegExp][]) {
    const r = await csv(text);
    assert.equal(r.statusCode, 400);
    assert.match(r.json().detail, detail);
  }
});
