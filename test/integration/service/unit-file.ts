// The shipped systemd units (contrib/systemd), read by the service tests so that what the tests
// run (user, capabilities, no-new-privileges, commands) is what the files say.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from '../../helpers/cli.ts';

export const UNIT_DIR = path.join(ROOT, 'contrib', 'systemd');

/** KEY → its values in file order, from one section; an empty assignment resets the list, as systemd does. */
export function readSection(unit: string, section: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current = '';
  for (const raw of fs.readFileSync(path.join(UNIT_DIR, unit), 'utf8').split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const head = /^\[(.+)\]$/.exec(line);
    if (head) { current = head[1]!; continue; }
    if (current !== section) continue;
    const eq = line.indexOf('=');
    if (eq < 0) throw new Error(`${unit}: not KEY=VALUE: ${line}`);
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    out.set(key, value === '' ? [] : [...(out.get(key) ?? []), value]);
  }
  return out;
}

/** CAP_NET_BIND_SERVICE → net_bind_service (setpriv's spelling), every value of KEY. */
export function capabilities(service: Map<string, string[]>, key: string): string[] {
  return (service.get(key) ?? []).flatMap((v) => v.split(/\s+/)).filter(Boolean).map((c) => {
    if (!/^CAP_[A-Z_]+$/.test(c)) throw new Error(`${key}: not a capability name: ${c}`);
    return c.slice(4).toLowerCase();
  });
}

/**
 * setpriv flags that give a command what the unit gives serve: its user (uid/gid here, the
 * unit's User= stands in), no supplementary groups, exactly the unit's ambient and bounding
 * capabilities, and no-new-privileges when the unit sets it. `caps` overrides the unit's.
 */
export function setprivArgs(service: Map<string, string[]>, uid: number, gid: number, caps?: string[]): string[] {
  const ambient = caps ?? capabilities(service, 'AmbientCapabilities');
  const bounding = caps ?? capabilities(service, 'CapabilityBoundingSet');
  const list = (c: string[]) => ['-all', ...c.map((x) => `+${x}`)].join(',');
  const nnp = (service.get('NoNewPrivileges') ?? []).at(-1) === 'yes';
  return ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups',
    // An ambient capability must also be inheritable and in the bounding set (capabilities(7)).
    `--inh-caps=${list(ambient)}`, `--ambient-caps=${list(ambient)}`, `--bounding-set=${list(bounding)}`,
    ...(nnp ? ['--no-new-privs'] : [])];
}

/** Capability names → the bit mask /proc/PID/status shows (CapEff, CapAmb, …). */
export function capMask(names: string[]): bigint {
  const bits: Record<string, number> = { chown: 0, dac_override: 1, net_bind_service: 10, net_broadcast: 11, net_admin: 12, net_raw: 13 };
  return names.reduce((m, n) => {
    if (bits[n] === undefined) throw new Error(`capMask: add ${n}'s bit number`);
    return m | (1n << BigInt(bits[n]!));
  }, 0n);
}

/** Every system call a SystemCallFilter group names, its nested groups expanded (systemd-analyze syscall-filter). */
function expandGroup(name: string, seen = new Set<string>()): string[] {
  if (!name.startsWith('@')) return [name];
  if (seen.has(name)) return [];
  seen.add(name);
  const r = spawnSync('systemd-analyze', ['syscall-filter', name], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`systemd-analyze syscall-filter ${name}: ${r.stderr || r.error?.message}`);
  return r.stdout.split('\n').map((l) => l.trim()).filter((l) => /^@?[a-z0-9_-]+$/.test(l)).flatMap((x) => expandGroup(x, seen));
}

/**
 * The calls the unit's SystemCallFilter= lines allow, in order as systemd applies them: the first
 * line without ~ is the allow list, later ones add to it, ~ lines take calls away.
 */
export function allowedSyscalls(service: Map<string, string[]>): Set<string> {
  const allowed = new Set<string>();
  for (const line of service.get('SystemCallFilter') ?? []) {
    const deny = line.startsWith('~');
    for (const item of line.replace(/^~/, '').split(/\s+/).filter(Boolean)) {
      for (const call of expandGroup(item)) { if (deny) allowed.delete(call); else allowed.add(call); }
    }
  }
  return allowed;
}

/** The system calls and socket families an `strace -f -o FILE` log shows from the exec of `program` on (setpriv's own calls before it are not the service's). */
export function traced(file: string, program: string): { calls: Set<string>; families: Set<string> } {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const from = lines.findIndex((l) => l.includes(`execve("${program}"`));
  if (from < 0) throw new Error(`${file}: no exec of ${program}`);
  const calls = new Set<string>();
  const families = new Set<string>();
  for (const l of lines.slice(from)) {
    const m = /^\d+\s+([a-z0-9_]+)\((.{0,20})/.exec(l);
    if (!m) continue;
    calls.add(m[1]!);
    if (m[1] === 'socket') families.add(/^(AF_[A-Z0-9]+)/.exec(m[2]!)?.[1] ?? m[2]!);
  }
  return { calls, families };
}
