// Where the VM test artefacts live between runs (kernel, initramfs, root images). Building
// them takes seconds to a minute; every later run and every parallel test file reuses them.
// Each artefact is built in a private temp folder and renamed into place, so two test
// processes racing to build the same thing both end up with one complete copy.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';

export function cacheRoot(): string {
  const explicit = process.env.BBTEST_CACHE;
  if (explicit) return path.resolve(explicit);
  if (process.getuid?.() === 0) return '/var/cache/branchboot-test';
  const xdg = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  return path.join(xdg, 'branchboot-test');
}

export function hashOf(...parts: (string | Buffer)[]): string {
  const h = crypto.createHash('sha256');
  for (const p of parts) { h.update(p); h.update('\0'); }
  return h.digest('hex').slice(0, 16);
}

/**
 * Returns `<cacheRoot>/<key>`, building it first with `build(tmpDir)` if it is missing.
 * `build` fills tmpDir; it is renamed to the final name only when build succeeds.
 */
export async function cached(key: string, build: (dir: string) => Promise<void>): Promise<string> {
  const final = path.join(cacheRoot(), key);
  if (fs.existsSync(path.join(final, '.complete'))) return final;
  fs.mkdirSync(path.dirname(final), { recursive: true });
  const tmp = fs.mkdtempSync(`${final}.tmp-`);
  try {
    await build(tmp);
    fs.writeFileSync(path.join(tmp, '.complete'), new Date().toISOString());
    try {
      fs.renameSync(tmp, final);
    } catch (err) {
      // Another process finished first (rename onto a non-empty dir fails): keep theirs.
      if (!fs.existsSync(path.join(final, '.complete'))) throw err;
      fs.rmSync(tmp, { recursive: true, force: true });
    }
    return final;
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}
