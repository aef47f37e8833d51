// Running the host tools the VM helpers need (apt-get, dpkg, mksquashfs, ldd), failing loudly.
import { spawnSync } from 'node:child_process';

export function run(argv: string[], opts: { cwd?: string; input?: string | Buffer } = {}): string {
  const r = spawnSync(argv[0]!, argv.slice(1), {
    cwd: opts.cwd, input: opts.input, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024,
  });
  if (r.error) throw new Error(`${argv[0]}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}: ${(r.stderr || r.stdout).trim().slice(-2000)}`);
  return r.stdout;
}

export function haveCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).status === 0;
}
