// A real `branchboot serve` for a VM test: its own config and data folder, run with
// `ip netns exec` in the test network's server namespace (bound to the bridge address), and
// the CLI (`apply`, `image import`) run against the same config. The CLI runs from the
// sources through tsx, so the test exercises the checkout, not a stale dist/.
import { spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { PROJECT_ROOT } from './artifacts.ts';
import type { VmNet } from './vmnet.ts';

export interface ServeOptions {
  dhcp?: boolean;
  tftp?: boolean;
  nbd?: boolean;
  httpPort?: number;
  /** Kernel arguments every client gets: the serial console the test reads. */
  consoleArgs?: string;
  /** Merged into the config file (tests that need one more key). */
  extra?: Record<string, unknown>;
}

export interface CliResult { code: number | null; stdout: string; stderr: string }

export interface BranchbootServer {
  dir: string;
  configFile: string;
  httpUrl: string;
  /** Runs `branchboot ARGS --config FILE` on the host (database and store only, no network). */
  cli(args: string[], timeoutMs?: number): CliResult;
  /** Like cli() but throws with the output when the command fails. */
  cliOk(args: string[], timeoutMs?: number): string;
  /** Starts `branchboot serve` in the server namespace and waits until /healthz answers. */
  start(): Promise<void>;
  /** SIGTERM, a bounded wait, then SIGKILL by PID. */
  stop(): Promise<void>;
  /** HTTP GET from inside the server namespace (the test process cannot reach the bridge). */
  get(urlPath: string): { status: number; body: string };
  /** HTTP status of a GET of a full URL, fetched inside the server namespace (body discarded). */
  status(url: string): number;
  output(): string;
}

/** The environment without BRANCHBOOT_* variables: the test's config file is the whole config. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BRANCHBOOT_')));
}

export const CLI_ENTRY = path.join(PROJECT_ROOT, 'src', 'cli.ts');

export const DEFAULT_CONSOLE_ARGS = 'console=ttyS0,115200n8 panic=-1';

export function createBranchboot(vn: VmNet, dir: string, opts: ServeOptions = {}): BranchbootServer {
  const ip = vn.serverIp;
  const port = opts.httpPort ?? 8080;
  const config = {
    dataDir: path.join(dir, 'var'),
    log: { level: 'debug' },
    http: { address: ip, port, publicUrl: `http://${ip}:${port}`, shutdownGraceSeconds: 1 },
    dhcp: { enabled: opts.dhcp ?? true, interfaces: [vn.server.ifnames[0]!] },
    tftp: { enabled: opts.tftp ?? true, roots: ['/usr/lib/ipxe'] },
    nbd: { enabled: opts.nbd ?? true, address: ip },
    boot: { consoleArgs: opts.consoleArgs ?? DEFAULT_CONSOLE_ARGS },
    ...opts.extra,
  };
  const configFile = path.join(dir, 'branchboot.yaml');
  fs.writeFileSync(configFile, YAML.stringify(config));
  const logFile = path.join(dir, 'serve.log');
  let proc: ChildProcess | undefined;
  let output = '';

  const cli = (args: string[], timeoutMs = 120_000): CliResult => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', CLI_ENTRY, ...args, '--config', configFile],
      { cwd: PROJECT_ROOT, env: cleanEnv(), encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
    fs.appendFileSync(path.join(dir, 'cli.log'), `$ branchboot ${args.join(' ')}\n${r.stdout}${r.stderr}[exit ${r.status}]\n`);
    return { code: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
  };

  const get = (urlPath: string) => {
    const r = spawnSync('ip', ['netns', 'exec', vn.server.ns, 'curl', '-s', '-m', '5', '-o', '-', '-w', '\n%{http_code}', `http://${ip}:${port}${urlPath}`],
      { encoding: 'utf8', timeout: 10_000 });
    const text = r.stdout ?? '';
    const cut = text.lastIndexOf('\n');
    return { status: Number(text.slice(cut + 1)) || 0, body: text.slice(0, Math.max(cut, 0)) };
  };

  return {
    dir, configFile, httpUrl: `http://${ip}:${port}`,
    cli,
    cliOk(args, timeoutMs) {
      const r = cli(args, timeoutMs);
      if (r.code !== 0) throw new Error(`branchboot ${args.join(' ')} exited ${r.code}:\n${r.stdout}${r.stderr}`);
      return r.stdout;
    },
    async start() {
      // The timeout watchdog ends a server orphaned by a killed test run (an hour is far beyond any case).
      const p = vn.server.spawn(['timeout', '-k', '5', '3600', process.execPath, '--import', 'tsx', CLI_ENTRY, 'serve', '--config', configFile], { cwd: PROJECT_ROOT, env: cleanEnv() });
      proc = p;
      const sink = fs.createWriteStream(logFile);
      const take = (d: Buffer) => { output += d.toString(); sink.write(d); };
      p.stdout?.on('data', take);
      p.stderr?.on('data', take);
      p.on('close', () => sink.end());
      // From source through tsx, serve took 6-7 s to answer at load 10 without a VM running
      // next to it: 30 s left too little room on the loaded CI machine.
      const deadline = Date.now() + 90_000;
      while (Date.now() < deadline) {
        if (p.exitCode !== null) throw new Error(`branchboot serve exited ${p.exitCode}:\n${output.slice(-4000)}`);
        if (get('/healthz').status === 200) return;
        await new Promise((res) => setTimeout(res, 250));
      }
      throw new Error(`branchboot serve did not answer /healthz within 90 s:\n${output.slice(-4000)}`);
    },
    async stop() {
      const p = proc;
      if (!p || p.pid === undefined || p.exitCode !== null || p.signalCode !== null) return;
      await new Promise<void>((res) => {
        const kill = setTimeout(() => { try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* gone */ } res(); }, 5000);
        p.once('exit', () => { clearTimeout(kill); res(); });
        try { process.kill(-p.pid!, 'SIGTERM'); } catch { clearTimeout(kill); res(); }
      });
    },
    get,
    status(url) {
      const r = spawnSync('ip', ['netns', 'exec', vn.server.ns, 'curl', '-s', '-m', '30', '-o', '/dev/null', '-w', '%{http_code}', url],
        { encoding: 'utf8', timeout: 40_000 });
      return Number(r.stdout) || 0;
    },
    output: () => output,
  };
}
