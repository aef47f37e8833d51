// One typed, validated configuration: defaults ← file (YAML or JSON) ← BRANCHBOOT_* environment.
// A mistake is reported as one line naming the key, where it came from, and why.
import fs from 'node:fs';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Ajv, type ErrorObject } from 'ajv';
import YAML from 'yaml';
import { UserError, errnoCode, errorMessage } from './util/errors.ts';

function Enum<const T extends string>(values: readonly T[], def: T) {
  return Type.Unsafe<T>({ type: 'string', enum: values, default: def });
}

export const ConfigSchema = Type.Object({
  dataDir: Type.String({ minLength: 1, default: './var', description: 'database, image store and generated files' }),
  database: Type.Optional(Type.String({ minLength: 1, description: 'SQLite file; default <dataDir>/branchboot.db' })),
  log: Type.Object({
    level: Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], 'info'),
  }, { default: {}, additionalProperties: false }),
  http: Type.Object({
    address: Type.String({ default: '127.0.0.1' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
    /** The URL clients use to reach this server, when it differs from the branch's servers.http. */
    publicUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
    /** Seconds in-flight requests get to finish on shutdown before they are cut. */
    shutdownGraceSeconds: Type.Number({ minimum: 0, maximum: 300, default: 10 }),
  }, { default: {}, additionalProperties: false }),
  dhcp: Type.Object({
    enabled: Type.Boolean({ default: false }),
    address: Type.String({ default: '0.0.0.0' }),
    port: Type.Integer({ minimum: 1, maximum: 65535, default: 67 }),
    proxyPort: Type.Integer({ minimum: 1, maximum: 65535, default: 4011 }),
    /**
     * Interfaces to serve (default: all). Node cannot SO_BINDTODEVICE: broadcasts arrive on the
     * 0.0.0.0 socket, each listed interface gets a socket on its address to reply from, and its
     * attached subnet wins when a broadcast could belong to several.
     */
    interfaces: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
    /**
     * When an ACKed lease is on disk. normal: written to the OS before the ACK, so it survives
     * kill -9 or a crash of the process (what Kea's memfile gives) but not a power loss. full:
     * fsync'ed before the ACK, also surviving power loss; each batch of ACKs waits for the disk.
     */
    leaseSync: Enum(['normal', 'full'], 'normal'),
  }, { default: {}, additionalProperties: false }),
  tftp: Type.Object({
    enabled: Type.Boolean({ default: false }),
    address: Type.String({ default: '0.0.0.0' }),
    port: Type.Integer({ minimum: 1, maximum: 65535, default: 69 }),
    roots: Type.Array(Type.String({ minLength: 1 }), { default: ['/usr/lib/ipxe'] }),
    maxBlksize: Type.Integer({ minimum: 512, maximum: 65464, default: 65464 }),
    maxTransfers: Type.Integer({ minimum: 1, maximum: 100000, default: 500 }),
    maxTransfersPerClient: Type.Integer({ minimum: 1, maximum: 10000, default: 16 }),
  }, { default: {}, additionalProperties: false }),
  nbd: Type.Object({
    enabled: Type.Boolean({ default: false }),
    address: Type.String({ default: '0.0.0.0' }),
    port: Type.Integer({ minimum: 1, maximum: 65535, default: 10809 }),
    cacheMB: Type.Integer({ minimum: 1, maximum: 65536, default: 256 }),
  }, { default: {}, additionalProperties: false }),
  store: Type.Object({
    /** Chunk store and blobs; default <dataDir>/store. */
    path: Type.Optional(Type.String({ minLength: 1 })),
    zstdLevel: Type.Integer({ minimum: 1, maximum: 19, default: 3 }),
    workers: Type.Integer({ minimum: 0, maximum: 64, default: 0, description: '0 = one per core' }),
    gcGraceHours: Type.Number({ minimum: 0, default: 24 }),
    /** Folders the API may import server-side files from; default <dataDir>/imports. */
    importRoots: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
  }, { default: {}, additionalProperties: false }),
  boot: Type.Object({
    /** iPXE binary for UEFI x64 clients: snponly.efi uses the firmware's NIC driver. */
    efiBinary: Enum(['snponly.efi', 'ipxe.efi'], 'snponly.efi'),
    /** Folder where nfs/cifs image versions are published in their flavor's layout. */
    exportDir: Type.Optional(Type.String({ minLength: 1 })),
    consoleArgs: Type.String({ default: '' }),
  }, { default: {}, additionalProperties: false }),
}, { additionalProperties: false });

export type Config = Static<typeof ConfigSchema> & { database: string; store: { path: string; importRoots: string[] } };

const ajv = new Ajv({ useDefaults: true, allErrors: false, coerceTypes: false, strict: false });
const validate = ajv.compile(ConfigSchema);

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
  const fileKeys = new Set(Object.keys(raw).filter((k) => !fromEnvKey(env, k)));
  let source = file ? `config ${path.resolve(file)}` : 'config';
  const fromEnv = new Map<string, string>();
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith('BRANCHBOOT_') || key === 'BRANCHBOOT_CONFIG' || value === undefined) continue;
    const keyPath = envKeyToPath(key);
    fromEnv.set(keyPath.join('.'), key);
    setPath(raw, keyPath, parseEnvValue(value));
  }
  if (opts.overrides) for (const [k, v] of Object.entries(opts.overrides)) setPath(raw, k.split('.'), v);
  if (!validate(raw)) {
    const e = validate.errors?.[0];
    const envKey = e && fromEnv.get(e.instancePath.replace(/^\//, '').replace(/\//g, '.'));
    if (envKey) source = `environment ${envKey}`;
    throw new UserError(`${source}: ${describeError(e)}`);
  }
  const cfg = raw as unknown as Config;
  // Relative paths written in the file are relative to the file; defaults and environment
  // values are relative to the working directory.
  const base = file ? path.dirname(path.resolve(file)) : process.cwd();
  cfg.dataDir = path.resolve(fileKeys.has('dataDir') ? base : process.cwd(), cfg.dataDir);
  cfg.database = cfg.database ? path.resolve(fileKeys.has('database') ? base : process.cwd(), cfg.database) : path.join(cfg.dataDir, 'branchboot.db');
  cfg.store.path = cfg.store.path ? path.resolve(base, cfg.store.path) : path.join(cfg.dataDir, 'store');
  cfg.store.importRoots = cfg.store.importRoots ? cfg.store.importRoots.map((r) => path.resolve(base, r)) : [path.join(cfg.dataDir, 'imports')];
  cfg.tftp.roots = cfg.tftp.roots.map((r) => path.resolve(base, r));
  if (cfg.boot.exportDir) cfg.boot.exportDir = path.resolve(base, cfg.boot.exportDir);
  checkAddress('http.address', cfg.http.address, source);
  checkAddress('dhcp.address', cfg.dhcp.address, source);
  checkAddress('tftp.address', cfg.tftp.address, source);
  checkAddress('nbd.address', cfg.nbd.address, source);
  return cfg;
}

function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const why = errnoCode(err) === 'ENOENT' ? 'no such file' : errorMessage(err);
    throw new UserError(`config ${file}: cannot read: ${why}`);
  }
  let doc: unknown;
  try {
    doc = /\.json$/i.test(file) ? JSON.parse(text) : YAML.parse(text, { prettyErrors: true });
  } catch (err) {
    throw new UserError(`config ${file}: not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${errorMessage(err).split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new UserError(`config ${file}: the top level must be a mapping of keys`);
  return doc as Record<string, unknown>;
}

function fromEnvKey(env: NodeJS.ProcessEnv, topKey: string): boolean {
  return Object.keys(env).some((k) => k.startsWith('BRANCHBOOT_') && envKeyToPath(k)[0] === topKey);
}

/** BRANCHBOOT_HTTP_PORT → http.port; BRANCHBOOT_DATA_DIR → dataDir; BRANCHBOOT_TFTP_MAX_BLKSIZE → tftp.maxBlksize. */
export function envKeyToPath(key: string): string[] {
  const words = key.slice('BRANCHBOOT_'.length).toLowerCase().split('_').filter(Boolean);
  const sections = ['log', 'http', 'dhcp', 'tftp', 'nbd', 'store', 'boot'];
  const camel = (ws: string[]) => ws.map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1))).join('');
  if (words.length > 1 && sections.includes(words[0]!)) return [words[0]!, camel(words.slice(1))];
  return [camel(words)];
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
