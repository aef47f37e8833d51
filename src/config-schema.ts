// The configuration's schema (TypeBox). Only its type is used at run time: the CLI and servers
// validate with the standalone validator generated from it (config-validate.generated.ts), so
// they do not load TypeBox (~200 ES modules) and Ajv and compile the schema on every start.
// After changing the schema: node --import tsx src/config-validate-gen.ts --write
import { Type } from '@sinclair/typebox';

function Enum<const T extends string>(values: readonly T[], def: T) {
  return Type.Unsafe<T>({ type: 'string', enum: values, default: def });
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = typeof LOG_LEVELS[number];

export const ConfigSchema = Type.Object({
  dataDir: Type.String({ minLength: 1, default: './var', description: 'database, image store and generated files' }),
  database: Type.Optional(Type.String({ minLength: 1, description: 'SQLite file; default <dataDir>/branchboot.db' })),
  log: Type.Object({
    /** Unset: info for serve and for commands whose stderr is not a terminal; warn on a terminal, where the command's own output says what the info lines would. */
    level: Type.Optional(Type.Unsafe<LogLevel>({ type: 'string', enum: LOG_LEVELS })),
  }, { default: {}, additionalProperties: false }),
  http: Type.Object({
    address: Type.String({ default: '127.0.0.1' }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
    /** The URL clients use to reach this server, when it differs from the branch's servers.http. */
    publicUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
    /** Seconds in-flight requests get to finish on shutdown before they are cut. */
    shutdownGraceSeconds: Type.Number({ minimum: 0, maximum: 300, default: 10 }),
    /**
     * Reverse proxies (a branch cache, a TLS-terminating nginx) whose X-Forwarded-For is believed:
     * IPv4/IPv6 addresses or CIDRs. Empty: nobody's, every client is the TCP peer.
     */
    trustedProxies: Type.Array(Type.String({ minLength: 1 }), { default: [] }),
  }, { default: {}, additionalProperties: false }),
  dhcp: Type.Object({
    enabled: Type.Boolean({ default: false }),
    address: Type.String({ default: '0.0.0.0' }),
    port: Type.Integer({ minimum: 1, maximum: 65535, default: 67 }),
    proxyPort: Type.Integer({ minimum: 1, maximum: 65535, default: 4011 }),
    /**
     * Interfaces to serve (default: all). Broadcasts arrive on the 0.0.0.0 socket, which learns
     * each one's interface (IP_PKTINFO) and ignores those from unlisted interfaces; each listed
     * interface gets a socket on its address to reply from.
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
    /** Verified compressed chunks kept in memory for HTTP chunk GETs (a miss costs a file read). */
    httpCacheMB: Type.Integer({ minimum: 1, maximum: 65536, default: 256 }),
    /** Folders the API may import server-side files from; default <dataDir>/imports. */
    importRoots: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
  }, { default: {}, additionalProperties: false }),
  events: Type.Object({
    /**
     * Days a boot event is kept (0: forever). Every client writes several per boot, so a
     * district's table would otherwise grow by millions of rows a year.
     */
    keepDays: Type.Integer({ minimum: 0, maximum: 36500, default: 90 }),
  }, { default: {}, additionalProperties: false }),
  boot: Type.Object({
    /** iPXE binary for UEFI x64 clients: snponly.efi uses the firmware's NIC driver. */
    efiBinary: Enum(['snponly.efi', 'ipxe.efi'], 'snponly.efi'),
    /** Folder where nfs/cifs image versions are published in their flavor's layout. */
    exportDir: Type.Optional(Type.String({ minLength: 1 })),
    consoleArgs: Type.String({ default: '' }),
  }, { default: {}, additionalProperties: false }),
}, { additionalProperties: false });
