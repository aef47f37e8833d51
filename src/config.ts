// One typed, validated configuration: defaults ← file (YAML or JSON) ← BRANCHBOOT_* environment.
// A mistake is reported as one line naming the key, where it came from, and why.
import fs from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Static } from '@sinclair/typebox';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type YAMLModule from 'yaml';
import type { ConfigSchema } from './config-schema.ts';
import { validate as generatedValidate, CONFIG_KEYS } from './config-validate.generated.ts';
import { UserError, errnoCode, errorMessage } from './util/errors.ts';

export type Config = Static<typeof ConfigSchema> & { database: string; store: { path: string; importRoots: string[] } };

// Ajv's code for ConfigSchema with { useDefaults: true, allErrors: false, coerceTypes: false, strict: false }.
const validate = generatedValidate as unknown as ValidateFunction;
// YAML (~60 CommonJS files) is loaded only when a YAML file is read.
const require = createRequire(import.meta.url);

export interface LoadOptions {
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  /** Values that win over everything (tests). */
  overrides?: Record<string, unknown>;
}

export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const file = opts.file ?? env.BRANCHBOOT_CONFIG;
  const raw: Record<string, unknown> = file ? readConfigFile(file) : {};
  let source = file ? `config ${path.resolve(file)}` : 'config';
  const fromEnv = new Map<string, string>();
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith('BRANCHBOOT_') || NOT_CONFIG_KEYS.has(key) || value === undefined) continue;
    const keyPath = envKeyToPath(key);
    fromEnv.set(keyPath.join('.'), key);
    setPath(raw, keyPath, parseEnvValue(value));
  }
  if (opts.overrides) for (const [k, v] of Object.entries(opts.overrides)) setPath(raw, k.split('.'), v);
  // The environment has only strings: "2026" for dataDir is a folder name, "1e3" a number,
  // "eth0,eth1" a list. Guessed first, then taken as the schema's type where the guess was wrong.
  for (let tries = fromEnv.size; !validate(raw); tries--) {
    const e = validate.errors?.[0];
    const keyPath = e ? e.instancePath.replace(/^\//, '').replace(/\//g, '.') : '';
    // An unknown key is reported at its parent: the variable that set it is the one to name.
    const extra = e?.keyword === 'additionalProperties' ? (e.params as { additionalProperty: string }).additionalProperty : undefined;
    const envKey = fromEnv.get(extra === undefined ? keyPath : [keyPath, extra].filter(Boolean).join('.'));
    const retyped = envKey !== undefined && e?.keyword === 'type' && tries > 0 ? asType(env[envKey]!, (e.params as { type: string }).type) : undefined;
    if (retyped !== undefined) { setPath(raw, keyPath.split('.'), retyped); continue; }
    if (envKey) source = `environment ${envKey}=${JSON.stringify(env[envKey])}`;
    throw new UserError(`${source}: ${describeError(e)}`);
  }
  const cfg = raw as unknown as Config;
  // Relative paths written in the file are relative to the file; defaults and environment
  // values are relative to the working directory (BRANCHBOOT_STORE_PATH=store was taken
  // relative to the config file's folder, BRANCHBOOT_DATA_DIR=var to the working directory).
  const fileDir = file ? path.dirname(path.resolve(file)) : process.cwd();
  const base = (key: string) => (fromEnv.has(key) || !file ? process.cwd() : fileDir);
  cfg.dataDir = path.resolve(base('dataDir'), cfg.dataDir);
  cfg.database = cfg.database ? path.resolve(base('database'), cfg.database) : path.join(cfg.dataDir, 'branchboot.db');
  cfg.store.path = cfg.store.path ? path.resolve(base('store.path'), cfg.store.path) : path.join(cfg.dataDir, 'store');
  cfg.store.importRoots = cfg.store.importRoots ? cfg.store.importRoots.map((r) => path.resolve(base('store.importRoots'), r)) : [path.join(cfg.dataDir, 'imports')];
  cfg.tftp.roots = cfg.tftp.roots.map((r) => path.resolve(base('tftp.roots'), r));
  if (cfg.boot.exportDir) cfg.boot.exportDir = path.resolve(base('boot.exportDir'), cfg.boot.exportDir);
  checkAddress('http.address', cfg.http.address, source);
  checkAddress('dhcp.address', cfg.dhcp.address, source);
  checkAddress('tftp.address', cfg.tftp.address, source);
  checkAddress('nbd.address', cfg.nbd.address, source);
  const proxiesFrom = fromEnv.get('http.trustedProxies');
  checkTrustedProxies(cfg.http.trustedProxies, proxiesFrom ? `environment ${proxiesFrom}=${JSON.stringify(env[proxiesFrom])}` : source);
  return cfg;
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = errnoCode(err);
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder, not a file'
      : code === 'EACCES' ? 'permission denied (the user running branchboot must be able to read it)' : errorMessage(err);
    throw new UserError(`config ${file}: cannot read: ${why}`);
  }
  let doc: unknown;
  try {
    doc = /\.json$/i.test(file) ? JSON.parse(text) : (require('yaml') as typeof YAMLModule).parse(text, { prettyErrors: true });
  } catch (err) {
    throw new UserError(`config ${file}: not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${errorMessage(err).split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new UserError(`config ${file}: the top level must be a mapping of keys`);
  return doc as Record<string, unknown>;
}

/** BRANCHBOOT_ variables that are not config keys: the file itself, src/udp's switches, the sanitizer test's builds of the other addons. */
const NOT_CONFIG_KEYS = new Set(['BRANCHBOOT_CONFIG', 'BRANCHBOOT_UDP', 'BRANCHBOOT_UDP_ADDON', 'BRANCHBOOT_SCAN_ADDON', 'BRANCHBOOT_HASH_ADDON', 'BRANCHBOOT_SYNCFS_ADDON']);


/**
 * BRANCHBOOT_HTTP_PORT → http.port; BRANCHBOOT_DATA_DIR → dataDir; BRANCHBOOT_NBD_CACHE_MB →
 * nbd.cacheMB. Names are matched against the schema's keys without case or underscores; a name
 * that matches none comes back camel-cased, for the validator to report as an unknown key.
 */
export function envKeyToPath(key: string): string[] {
  const words = key.slice('BRANCHBOOT_'.length).toLowerCase().split('_').filter(Boolean);
  const keys = CONFIG_KEYS as Record<string, string[] | null>;
  const find = (names: Iterable<string>, ws: string[]) => [...names].find((n) => n.toLowerCase() === ws.join(''));
  const camel = (ws: string[]) => ws.map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1))).join('');
  const section = words.length > 1 ? find(Object.keys(keys), words.slice(0, 1)) : undefined;
  const inner = section === undefined ? undefined : keys[section];
  if (section !== undefined && inner) return [section, find(inner, words.slice(1)) ?? camel(words.slice(1))];
  return [find(Object.keys(keys), words) ?? camel(words)];
}

function parseEnvValue(v: string): unknown {
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  if (v.startsWith('[')) {
    try { return JSON.parse(v); } catch { /* fall through: a plain string */ }
  }
  return v;
}

/** An environment string as the schema's `type`, or undefined when it is not one. */
function asType(v: string, type: string): unknown {
  if (type === 'string') return v;
  if ((type === 'number' || type === 'integer') && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  if (type === 'array' && !v.startsWith('[')) return v.split(',').map((x) => x.trim()).filter(Boolean);
  return undefined;
}

function setPath(obj: Record<string, unknown>, keys: string[], value: unknown): void {
  let cur = obj;
  keys.slice(0, -1).forEach((k) => {
    if (typeof cur[k] !== 'object' || cur[k] === null) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  });
  cur[keys.at(-1)!] = value;
}

function describeError(e: ErrorObject | undefined): string {
  if (!e) return 'invalid';
  const where = e.instancePath.replace(/^\//, '').replace(/\//g, '.') || '(top level)';
  if (e.keyword === 'additionalProperties') {
    const extra = (e.params as { additionalProperty: string }).additionalProperty;
    return `unknown key "${where === '(top level)' ? extra : `${where}.${extra}`}"`;
  }
  if (e.keyword === 'required') return `${where}: missing key "${(e.params as { missingProperty: string }).missingProperty}"`;
  if (e.keyword === 'enum') return `${where}: must be one of ${(e.params as { allowedValues: string[] }).allowedValues.join(', ')}`;
  return `${where}: ${e.message ?? 'invalid'}`;
}

function checkAddress(key: string, value: string, source: string): void {
  const parts = value.split('.');
  const ok = parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
  if (!ok && value !== 'localhost' && value !== '::' && value !== '::1') {
    throw new UserError(`${source}: ${key}: "${value}" is not an IPv4 address`);
  }
}

/**
 * Each entry an address or address/prefix, as fastify's proxy-addr reads it, but stricter: no
 * names (proxy-addr's "loopback" trusts every 127/8 peer), no zone ids, no netmask form, and no
 * /0, which would believe an X-Forwarded-For from anyone.
 */
export function trustedProxyProblem(entry: string): string | undefined {
  const slash = entry.indexOf('/');
  const addr = slash < 0 ? entry : entry.slice(0, slash);
  const kind = addr.includes('%') ? 0 : isIP(addr);
  if (kind === 0) return 'is not an IPv4/IPv6 address or CIDR (e.g. 10.1.0.5, 10.2.0.0/24, fd00::/64)';
  if (slash < 0) return undefined;
  const bits = entry.slice(slash + 1);
  const max = kind === 4 ? 32 : 128;
  if (!/^\d{1,3}$/.test(bits) || Number(bits) < 1 || Number(bits) > max) return `has a prefix length that is not 1-${max}`;
  return undefined;
}

function checkTrustedProxies(entries: string[], source: string): void {
  for (const entry of entries) {
    const why = trustedProxyProblem(entry);
    if (why) throw new UserError(`${source}: http.trustedProxies: "${entry}" ${why}`);
  }
}
