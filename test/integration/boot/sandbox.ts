// Runs an initramfs's own shell scripts on the host, unmodified, against a command line we
// choose: a chroot whose /proc/cmdline is a plain file, /usr bind-mounted read-only from the
// host (sh, sed, cat …) in a private mount namespace that vanishes with the process. Scripts
// and libraries the initramfs would carry (dracut's /lib/*.sh, /scripts/local-top/nbd) are
// copied in; commands that would touch the machine (mount, modprobe, nbd-client …) are stubs
// that print how they were called.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';

export interface RunResult { code: number | null; stdout: string; stderr: string }

export interface Sandbox {
  root: string;
  /** Writes `files` (path in the chroot → content), sets /proc/cmdline, runs /driver.sh with /bin/sh. */
  run(driver: string, cmdline: string, timeoutMs?: number): Promise<RunResult>;
  put(file: string, content: string | Buffer, mode?: number): void;
  destroy(): void;
}

export function canSandbox(): boolean {
  if (process.getuid?.() !== 0) return false;
  return spawnSync('unshare', ['--mount', '--propagation', 'private', 'true']).status === 0
    && spawnSync('chroot', ['--version']).status === 0;
}

export function createSandbox(): Sandbox {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bb-parse-'));
  for (const d of ['usr', 'proc', 'lib', 'sbin', 'bin', 'tmp', 'dev', 'etc', 'run', 'scripts']) fs.mkdirSync(path.join(root, d));
  // Symlinks resolve inside the chroot: libraries and the loader come from the bound /usr.
  fs.symlinkSync('/usr/lib64', path.join(root, 'lib64'));
  for (const d of ['x86_64-linux-gnu', 'live']) if (fs.existsSync(`/usr/lib/${d}`)) fs.symlinkSync(`/usr/lib/${d}`, path.join(root, 'lib', d));
  // /bin/sh and friends: a real dir (so stubs can live in /sbin and /bin) of links into /usr.
  fs.symlinkSync('/usr/bin/dash', path.join(root, 'bin', 'sh'));
  for (const b of ['live-boot']) if (fs.existsSync(`/usr/bin/${b}`)) fs.symlinkSync(`/usr/bin/${b}`, path.join(root, 'bin', b));
  const put = (file: string, content: string | Buffer, mode = 0o644) => {
    const p = path.join(root, file);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content, { mode });
    fs.chmodSync(p, mode);
  };
  return {
    root,
    put,
    run(driver, cmdline, timeoutMs = 20_000) {
      put('proc/cmdline', `${cmdline}\n`);
      put('driver.sh', driver, 0o755);
      return new Promise((resolve) => {
        const child = spawn('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c',
          'mount --bind /usr "$1/usr" && mount -o remount,bind,ro "$1/usr" && exec chroot "$1" /bin/sh /driver.sh', 'sh', root],
        { env: { PATH: '/sbin:/bin:/usr/sbin:/usr/bin', HOME: '/' }, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
        child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
        const timer = setTimeout(() => { if (child.pid) try { process.kill(child.pid, 'SIGKILL'); } catch { /* gone */ } }, timeoutMs);
        child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
      });
    },
    destroy() {
      // The bind mount lived only in the child's namespace: nothing is mounted here.
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** KEY=value lines printed by a driver → a map. */
export function parseVars(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const m = /^VAR ([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

/** "CALL cmd args" lines printed by stubs. */
export function calls(stdout: string): string[] {
  return stdout.split('\n').filter((l) => l.startsWith('CALL ')).map((l) => l.slice(5));
}

/** A stub program: prints CALL <name> <args> and exits with `code`. */
export function stub(name: string, code = 0): string {
  return `#!/bin/sh\necho "CALL ${name} $*"\nexit ${code}\n`;
}
