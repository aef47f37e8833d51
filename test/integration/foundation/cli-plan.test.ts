// `branchboot plan` through the real CLI, against a database an apply filled.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, tempDir } from '../../helpers/cli.ts';

test('plan --http-boot alone previews a UEFI HTTP Boot client (it previewed a BIOS one: undionly.kpxe)', async () => {
  const dir = tempDir();
  const env = { BRANCHBOOT_DATA_DIR: path.join(dir, 'var'), BRANCHBOOT_LOG_LEVEL: 'warn' };
  const inv = path.join(dir, 'inventory.yaml');
  fs.writeFileSync(inv, 'branches:\n  - name: north\n    subnets:\n      - cidr: 10.20.0.0/24\nmachines:\n  - mac: 52:54:00:12:34:56\n    branch: north\n    action: local\n');
  const applied = await runCli(['apply', inv], { env });
  assert.equal(applied.code, 0, applied.stderr);
  const plan = async (...flags: string[]) => {
    const r = await runCli(['plan', '52:54:00:12:34:56', '--json', ...flags], { env });
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { plan: { firmware: string; firstFile: { bootfile: string; httpClient?: boolean } } }).plan;
  };
  const http = await plan('--http-boot');
  assert.equal(http.firmware, 'uefi-x64-http');
  assert.match(http.firstFile.bootfile, /^http:\/\/.*\/boot\/bin\/snponly\.efi$/);
  assert.equal(http.firstFile.httpClient, true);
  assert.equal((await plan('--http-boot', '--arch', '11')).firmware, 'uefi-arm64-http');
  assert.equal((await plan()).firmware, 'bios', 'no flags: a BIOS PXE client, as before');
});
