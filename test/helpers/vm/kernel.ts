// A Debian kernel to boot in the VMs: `apt-get download` of linux-image-amd64's real package,
// unpacked with `dpkg -x` into the test cache. Never installed on the host. The .deb carries
// no modules.dep, so `busybox depmod` writes one; the initramfs builder reads it.
import fs from 'node:fs';
import path from 'node:path';
import { cached, cacheRoot } from './cache.ts';
import { run } from './exec.ts';

export interface Kernel {
  version: string;         // e.g. 6.1.0-56-amd64
  vmlinuz: string;
  modulesDir: string;      // <root>/lib/modules/<version>
}

function fromDir(dir: string, version: string): Kernel {
  return {
    version,
    vmlinuz: path.join(dir, 'boot', `vmlinuz-${version}`),
    modulesDir: path.join(dir, 'lib', 'modules', version),
  };
}

/** A kernel already in the cache, newest first; undefined when none is. */
function cachedKernel(): Kernel | undefined {
  const base = path.join(cacheRoot(), 'kernel');
  if (!fs.existsSync(base)) return undefined;
  const versions = fs.readdirSync(base)
    .filter((v) => !v.includes('.tmp-') && fs.existsSync(path.join(base, v, '.complete')))
    .sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
  const v = versions[0];
  return v ? fromDir(path.join(base, v), v) : undefined;
}

/** The versioned image package the metapackage points at: linux-image-6.1.0-56-amd64. */
function realPackageName(): string {
  const out = run(['apt-cache', 'depends', '--important', 'linux-image-amd64']);
  const m = /Depends:\s*(linux-image-\d\S*-amd64)/.exec(out);
  if (!m) throw new Error(`cannot find the kernel package behind linux-image-amd64 in: ${out}`);
  return m[1]!;
}

/** Runs fn; when it fails because apt has no package lists (a slimmed image), updates them once and retries. */
function withAptLists<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (process.getuid?.() !== 0) throw err;
    run(['apt-get', 'update', '-qq']);
    return fn();
  }
}

export async function ensureKernel(): Promise<Kernel> {
  const wanted = process.env.BBTEST_KVER;
  const have = cachedKernel();
  if (have && (!wanted || have.version === wanted)) return have;
  const pkg = wanted ? `linux-image-${wanted}` : withAptLists(realPackageName);
  const version = pkg.replace(/^linux-image-/, '');
  const dir = await cached(path.join('kernel', version), async (tmp) => {
    const dl = path.join(tmp, '.deb');
    fs.mkdirSync(dl);
    // apt drops privileges to _apt for downloads; a root-owned temp folder makes it warn and
    // fall back to root, which is harmless, so the warning is ignored.
    withAptLists(() => run(['apt-get', 'download', '-q', pkg], { cwd: dl }));
    const deb = fs.readdirSync(dl).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download ${pkg} produced no .deb`);
    run(['dpkg', '-x', path.join(dl, deb), tmp]);
    fs.rmSync(dl, { recursive: true, force: true });
    run(['busybox', 'depmod', '-b', tmp, version]);
  });
  const k = fromDir(dir, version);
  if (!fs.existsSync(k.vmlinuz)) throw new Error(`kernel cache ${dir} has no ${k.vmlinuz}`);
  return k;
}

/**
 * The modules to load, dependencies first, for the given names (virtio_net → failover,
 * net_failover, virtio…). Paths are relative to modulesDir. Reads modules.dep as depmod wrote it.
 */
export function moduleClosure(k: Kernel, names: string[]): string[] {
  const dep = fs.readFileSync(path.join(k.modulesDir, 'modules.dep'), 'utf8');
  const byName = new Map<string, { file: string; deps: string[] }>();
  for (const line of dep.split('\n')) {
    const m = /^([^:]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const file = m[1]!;
    const deps = m[2]!.split(/\s+/).filter(Boolean);
    byName.set(moduleName(file), { file, deps });
  }
  const order: string[] = [];
  const seen = new Set<string>();
  const visit = (name: string, from: string) => {
    const key = name.replace(/-/g, '_');
    if (seen.has(key)) return;
    const entry = byName.get(key);
    if (!entry) {
      if (isBuiltin(k, key)) { seen.add(key); return; }
      throw new Error(`module ${name} (wanted by ${from}) is neither in modules.dep nor built in`);
    }
    seen.add(key);
    for (const d of entry.deps) visit(moduleName(d), name);
    order.push(entry.file);
  };
  for (const n of names) visit(n, 'the test');
  return order;
}

function moduleName(file: string): string {
  return path.basename(file).replace(/\.ko(\.\w+)?$/, '').replace(/-/g, '_');
}

function isBuiltin(k: Kernel, name: string): boolean {
  const f = path.join(k.modulesDir, 'modules.builtin');
  if (!fs.existsSync(f)) return false;
  return fs.readFileSync(f, 'utf8').split('\n').some((l) => moduleName(l) === name);
}
