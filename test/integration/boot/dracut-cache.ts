// dracut would replace initramfs-tools on the host, so its scripts are never installed: the
// Debian packages are downloaded once (apt-get download) and unpacked (dpkg -x) into a cache.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { PROJECT_ROOT } from '../../../src/util/paths.ts';

export const DRACUT_PACKAGES = ['dracut-core', 'dracut-network', 'dracut-live'];

/** The unpacked modules.d folder, or why it could not be had. */
export function ensureDracut(): { modules: string } | { error: string } {
  const cache = process.env.BRANCHBOOT_TEST_CACHE ?? path.join(PROJECT_ROOT, '.test-artifacts', 'cache');
  const dir = path.join(cache, 'dracut');
  const modules = path.join(dir, 'x', 'usr', 'lib', 'dracut', 'modules.d');
  if (fs.existsSync(path.join(modules, '90livenet', 'parse-livenet.sh'))) return { modules };
  fs.mkdirSync(path.join(dir, 'debs'), { recursive: true });
  const dl = spawnSync('apt-get', ['download', ...DRACUT_PACKAGES], { cwd: path.join(dir, 'debs'), encoding: 'utf8', timeout: 120_000 });
  if (dl.status !== 0) return { error: `apt-get download ${DRACUT_PACKAGES.join(' ')} failed: ${dl.stderr.trim().split('\n').pop()}` };
  for (const deb of fs.readdirSync(path.join(dir, 'debs')).filter((f) => f.endsWith('.deb'))) {
    const x = spawnSync('dpkg', ['-x', path.join(dir, 'debs', deb), path.join(dir, 'x')], { encoding: 'utf8' });
    if (x.status !== 0) return { error: `dpkg -x ${deb}: ${x.stderr.trim()}` };
  }
  return fs.existsSync(path.join(modules, '90livenet')) ? { modules } : { error: 'dracut packages unpacked without 90livenet' };
}
