// The console in real headless Chromium (Debian's package, driven by playwright-core; no
// browser is downloaded): log in, register a discovered machine, bulk-assign three machines,
// see the boot plan change, see a boot event arrive live, and a branch admin denied another
// branch. Screenshots go to .test-artifacts/ui/.
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium, type Browser, type Page } from 'playwright-core';
import { macFor, makeFixture } from '../../unit/api/helpers.ts';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.resolve('.test-artifacts/ui');

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

async function signIn(page: Page, base: string, user: string, password: string): Promise<void> {
  await page.goto(`${base}/login`);
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/`);
}

test('console flows in headless Chromium', { timeout: 120_000 }, async (t) => {
  if (!fs.existsSync(CHROMIUM)) return t.skip('chromium is not installed (scripts/apt/ui.txt)');
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const f = await makeFixture({ machinesPerBranch: 12 });
  let browser: Browser | undefined;
  try {
    const base = (await f.app.listen({ host: '127.0.0.1', port: 0 })).replace(/\/$/, '');
    const now = Date.now();
    const discovered = '02:00:00:dd:00:99';
    await f.ctx.db.insertInto('machines').values({ mac: discovered, branch_id: f.branchA, state: 'discovered', last_firmware: 'uefi-x64', last_seen_at: now, created_at: now, updated_at: now }).execute();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      timeout: 30_000,
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(15_000);

    // 1. Log in.
    await signIn(page, base, 'admin', f.password);
    await assert.doesNotReject(page.getByRole('heading', { name: 'Dashboard' }).waitFor());
    assert.equal(await page.getByRole('link', { name: '1 discovered machine waits to be registered.' }).count(), 1);
    await shot(page, '01-dashboard');

    // 2. Register the discovered machine into alpha as lab-01 with an image.
    await page.getByRole('link', { name: 'Discovered', exact: true }).click();
    await page.getByLabel(`Select ${discovered}`).check();
    await page.locator('#register select[name=branchId]').selectOption({ label: 'alpha' });
    await page.locator('#register input[name=hostnamePattern]').fill('lab-{n:02}');
    await page.locator('#register select[name=image]').selectOption('ubuntu');
    await shot(page, '02-discovered-form');
    await page.getByRole('button', { name: 'Register' }).click();
    await page.waitForURL(new RegExp(`/branches/${f.branchA}\\?notice=`));
    assert.match(await page.locator('.notice').innerText(), /Registered 1 machine: lab-01/);
    assert.equal(await page.getByRole('link', { name: 'lab-01' }).count(), 1);
    await shot(page, '03-registered');

    // 3. The plan of a-0000 before: no image, error plan.
    const target = macFor(0, 0);
    await page.goto(`${base}/machines/${target}`);
    assert.equal(await page.locator('#plan-kind').innerText(), 'error');

    // 4. Bulk-assign three machines to debian@2 from the branch page.
    await page.goto(`${base}/branches/${f.branchA}`);
    for (const h of ['a-0000', 'a-0001', 'a-0002']) await page.getByLabel(`Select ${h}`).check();
    await page.locator('#assign select[name=image]').selectOption('debian');
    await page.locator('#assign input[name=version]').fill('2');
    await page.locator('#assign select[name=action]').selectOption('image');
    await shot(page, '04-bulk-assign-form');
    await page.getByRole('button', { name: 'Assign' }).click();
    await page.waitForURL(/notice=Assigned/);
    assert.match(await page.locator('.notice').innerText(), /Assigned 3 machines \(3 changed\)/);
    const cells = await page.locator('table.machines tbody tr').filter({ hasText: /a-000[012]/ }).locator('td:nth-child(5)').allInnerTexts();
    assert.deepEqual(cells, ['debian@2', 'debian@2', 'debian@2']);
    await shot(page, '05-bulk-assigned');

    // 5. The boot plan changed.
    await page.goto(`${base}/machines/${target}`);
    assert.equal(await page.locator('#plan-kind').innerText(), 'image');
    assert.match(await page.locator('#plan-image').innerText(), /debian version 2/);
    await shot(page, '06-boot-plan');

    // 6. A boot event arrives live while the page is open.
    await page.locator('#live-status').filter({ hasText: 'Live' }).waitFor();
    f.ctx.events.record({ mac: target, ip: '10.1.0.77', branchId: f.branchA, stage: 'tftp.file', detail: { file: 'ipxe.efi' } });
    const live = page.locator('#timeline li.new').filter({ hasText: 'tftp.file' });
    await live.waitFor();
    assert.match(await live.innerText(), /10\.1\.0\.77/);
    await shot(page, '07-live-boot-event');

    // 7. A branch admin of alpha is denied bravo.
    const ctx2 = await browser.newContext();
    const alice = await ctx2.newPage();
    alice.setDefaultTimeout(15_000);
    await signIn(alice, base, 'alice', f.password);
    const denied = await alice.goto(`${base}/branches/${f.branchB}`);
    assert.equal(denied?.status(), 403);
    assert.match(await alice.locator('.error').innerText(), /no access to branch/);
    await shot(alice, '08-branch-admin-denied');
    await ctx2.close();
  } finally {
    await browser?.close().catch(() => {});
    await f.close();
  }
});
