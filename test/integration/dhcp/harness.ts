// Runs the real DHCP server in a namespace (via runner.ts) against a temp database whose
// inventory rows the test writes directly.
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { NetHost } from '../../helpers/netns.ts';
import { makeCtx, type SubnetSpec, type TestCtx } from '../../unit/dhcp/helpers.ts';

export interface RunningServer {
  t: TestCtx;
  proc: ChildProcess;
  stderr(): string;
  restart(): Promise<void>;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

const ROOT = path.resolve(import.meta.dirname, '../../..');

export async function startServer(host: NetHost, subnets: SubnetSpec[], env: Record<string, string> = {}, dhcp: Record<string, unknown> = {}): Promise<RunningServer> {
  const t = await makeCtx(subnets);
  const cfgFile = path.join(t.dir, 'config.json');
  fs.writeFileSync(cfgFile, JSON.stringify({
    dataDir: t.dir, database: t.handle.file, log: { level: 'warn' },
    http: { publicUrl: 'http://10.77.0.1:8080' }, dhcp: { enabled: true, ...dhcp },
  }));
  let err = '';
  let proc!: ChildProcess;
  const launch = () => new Promise<void>((resolve, reject) => {
    proc = host.spawn([process.execPath, ...(process.env.BB_DHCP_NODE_ARGS?.split(' ').filter(Boolean) ?? []), '--import', 'tsx', path.join(ROOT, 'test/integration/dhcp/runner.ts'), cfgFile], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const timer = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 30_000);
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('"ready":true')) { clearTimeout(timer); resolve(); } });
    proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}: ${err}`)); });
  });
  await launch();
  const waitExit = (p: ChildProcess) => new Promise<void>((res) => { if (p.exitCode !== null || p.signalCode !== null) res(); else p.once('exit', () => res()); });
  return {
    t, get proc() { return proc; }, stderr: () => err,
    restart: launch,
    async kill9() { const p = proc; p.kill('SIGKILL'); await waitExit(p); },
    async stop() {
      const p = proc;
      if (p.exitCode === null && p.signalCode === null) { p.kill('SIGTERM'); await Promise.race([waitExit(p), new Promise((r) => setTimeout(r, 5000))]); p.kill('SIGKILL'); }
      await t.close();
    },
  };
}

/** Polls until fn returns a value (not undefined) or the time is up. */
export async function waitFor<T>(fn: () => T | undefined | Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A client hook script that appends its event and environment to LOG and configures the address. */
export function hookScript(dir: string, name: string, body: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}
