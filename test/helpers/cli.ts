// Runs the real `branchboot` command (from source, through tsx) as a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = path.join(ROOT, 'src', 'cli.ts');
const TSX = import.meta.resolve('tsx');

/** argv that runs the CLI from source: [node, --import, tsx, src/cli.ts]. */
export function cliArgv(...args: string[]): string[] {
  return [process.execPath, '--import', TSX, CLI, ...args];
}

export interface CliResult { code: number | null; stdout: string; stderr: string }

export function runCli(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const [cmd, ...rest] = cliArgv(...args);
    const p = spawn(cmd!, rest, { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    p.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const t = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`branchboot ${args.join(' ')} timed out\n${stderr}`)); }, opts.timeoutMs ?? 30_000);
    p.on('close', (code) => { clearTimeout(t); resolve({ code, stdout, stderr }); });
    p.stdin.end(opts.input ?? '');
  });
}

/** The HTTP address `serve` logged in its "branchboot running" line (needs log level info). */
function loggedHttpUrl(out: string): string | undefined {
  for (const line of out.split('\n')) {
    if (!line.includes('"branchboot running"')) continue;
    try {
      const listen = (JSON.parse(line) as { services?: { http?: { listen?: string[] } } }).services?.http?.listen?.[0];
      if (listen) return `http://${listen}`;
    } catch { /* not a whole line yet */ }
  }
  return undefined;
}

/**
 * Starts `branchboot serve` and resolves once /healthz answers. With `port: 0` (and log level
 * info) the kernel picks the port and the URL comes from serve's log: a port found free and
 * closed again before serve binds it can be taken meanwhile by another test on the machine.
 */
export interface StartedServe {
  proc: ChildProcess;
  logs: () => string;
  url: string;
  /** SIGTERM, and wait until the process has exited. */
  stop: () => Promise<void>;
}

export async function startServe(configFile: string, opts: { cwd?: string; env?: NodeJS.ProcessEnv; port: number; timeoutMs?: number }): Promise<StartedServe> {
  const [cmd, ...rest] = cliArgv('serve', '--config', configFile);
  const proc = spawn(cmd!, rest, { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  // Starting from source through tsx took 6-7 s at load 10 on the 2-core CI machine: 20 s was close.
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`serve exited ${proc.exitCode}: ${out}`);
    const url = opts.port === 0 ? loggedHttpUrl(out) : `http://127.0.0.1:${opts.port}`;
    if (!url) { await new Promise((r) => setTimeout(r, 100)); continue; }
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) {
        const stop = async () => {
          if (proc.exitCode !== null || proc.signalCode !== null) return;
          const exited = new Promise((res) => proc.once('exit', res));
          proc.kill('SIGTERM');
          await exited;
        };
        return { proc, logs: () => out, url, stop };
      }
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill('SIGKILL');
  throw new Error(`serve did not answer /healthz: ${out}`);
}

const made: string[] = [];

/** A fresh folder under the system's temp dir, removed when the test process exits. */
export function tempDir(prefix = 'bb-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  // Every test file runs in its own process: without this each `npm test` left ~30 folders behind.
  if (made.length === 0) process.on('exit', () => { for (const d of made) fs.rmSync(d, { recursive: true, force: true }); });
  made.push(dir);
  return dir;
}

/**
 * A world-readable temp folder with a dataDir owned by nobody (the service user's uid in these
 * tests) and a config file naming it, as contrib/systemd lays them out. `yaml`: more config lines.
 */
export function serviceUserDataDir(prefix: string, opts: { mode?: number; yaml?: string } = {}): { dir: string; dataDir: string; cfg: string } {
  const dir = tempDir(prefix);
  fs.chmodSync(dir, 0o755);
  const dataDir = path.join(dir, 'var');
  fs.mkdirSync(dataDir, { mode: opts.mode ?? 0o750 });
  fs.chownSync(dataDir, 65534, 65534);
  const cfg = path.join(dir, 'branchboot.yaml');
  fs.writeFileSync(cfg, `dataDir: ${dataDir}\n${opts.yaml ?? ''}`, { mode: 0o644 });
  return { dir, dataDir, cfg };
}

/** A free TCP port on 127.0.0.1 (closed again before use; fine for tests). */
export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/**
 * `serve` logging at trace level on a fresh dataDir, with admin "ada" (password `password`)
 * and an admin-scope token "adm": what the log-secrets tests grep the log of.
 */
export async function traceServeWithAdmin(password: string): Promise<StartedServe & { dir: string; cfg: string; token: string }> {
  const dir = tempDir();
  const cfg = path.join(dir, 'branchboot.yaml');
  fs.writeFileSync(cfg, 'dataDir: var\nlog:\n  level: trace\nhttp:\n  port: 0\n');
  assert.equal((await runCli(['admin', 'create', 'ada', '--password-stdin', '--config', cfg], { input: `${password}\n` })).code, 0);
  const token = (await runCli(['token', 'create', 'adm', '--scope', 'admin', '--config', cfg])).stdout.trim();
  return { dir, cfg, token, ...(await startServe(cfg, { port: 0 })) };
}
