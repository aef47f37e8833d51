// Every command line `branchboot` takes, in one place: parse() (args.ts) parses with these
// options and `--help` (help.ts) prints them, so a flag cannot exist without its help line.
// Loaded by --help before anything else: keep it free of imports.

export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  default?: string | boolean | string[];
  /** The value's placeholder in help (string flags). */
  arg?: string;
  /** One line; says the default when it is not the parser's own (computed, or from the config). */
  help: string;
}

export interface CommandSpec {
  /** Positional arguments and required flags, as the usage line shows them. */
  usage: string;
  summary: string;
  options: Record<string, FlagSpec>;
}

const json = { type: 'boolean', default: false, help: 'machine-readable output (JSON)' } as const;

export const COMMANDS = {
  serve: {
    usage: '', summary: 'run DHCP, TFTP, HTTP and NBD (as configured) until SIGTERM or SIGINT', options: {},
  },
  migrate: {
    usage: '', summary: 'bring the database schema up to date (serve does this at start; refused while a serve runs)', options: {},
  },
  apply: {
    usage: 'FILE', summary: 'make the database match the inventory FILE (YAML; - reads stdin), in one transaction',
    options: {
      'dry-run': { type: 'boolean', default: false, help: 'print the changes (+ create, ~ update, - remove) and write nothing' },
      prune: { type: 'boolean', default: false, help: 'also remove branches, images and registered machines FILE does not name' },
    },
  },
  export: {
    usage: '', summary: 'print the inventory in the format apply reads',
    options: { output: { type: 'string', short: 'o', arg: 'FILE', help: 'write to FILE (replaced whole) instead of stdout' } },
  },
  backup: {
    usage: '--output FILE', summary: 'write a consistent copy of the database to FILE while serve runs (accounts, tokens, inventory, leases, image versions, events; not the store)',
    options: {
      output: { type: 'string', short: 'o', arg: 'FILE', help: 'where to write it (replaced whole, mode 0600); - writes it to stdout (required)' },
      json,
    },
  },
  restore: {
    usage: 'FILE', summary: 'put a backup (FILE, or - for stdin) in place of the database (serve stopped): checked, migrated, the store checked for every version it names',
    options: {
      'allow-missing': { type: 'boolean', default: false, help: 'restore even when the store lacks indexes, blobs or chunks of some versions (they cannot boot until imported again or removed)' },
      json,
    },
  },
  'admin create': {
    usage: 'USER', summary: 'create a console account; without --password-stdin a password is generated and printed once',
    options: {
      role: { type: 'string', default: 'admin', arg: 'ROLE', help: 'admin, branch_admin or viewer' },
      branch: { type: 'string', multiple: true, default: [], arg: 'NAME', help: 'a branch a branch_admin manages (repeat for more; one needed for branch_admin)' },
      'password-stdin': { type: 'boolean', default: false, help: 'read the password from the first line of stdin' },
    },
  },
  'admin passwd': {
    usage: 'USER --password-stdin', summary: 'set an account\'s password',
    options: {
      'password-stdin': { type: 'boolean', default: false, help: 'read the password from the first line of stdin (required)' },
    },
  },
  'token create': {
    usage: 'NAME', summary: 'create an API token; the token is printed once on stdout, only its hash is stored',
    options: {
      scope: { type: 'string', multiple: true, default: [], arg: 'SCOPE', help: 'read, write or admin (repeat, or a,b); default read,write' },
      branch: { type: 'string', arg: 'NAME', help: 'limit the token to one branch' },
    },
  },
  'token list': { usage: '', summary: 'list tokens: name, prefix, scopes, state, last use', options: {} },
  'token revoke': { usage: 'NAME', summary: 'revoke a token', options: {} },
  'image import': {
    usage: 'FILE --name NAME', summary: 'import an ISO, squashfs, ext2/3/4, qcow2 or disk image as the next version of NAME',
    options: {
      name: { type: 'string', arg: 'NAME', help: 'image name (required)' },
      flavor: { type: 'string', arg: 'FLAVOR', help: 'casper, live-boot, dracut, nbd-root or custom; default: the image\'s declared flavor, else the ISO\'s layout, else custom' },
      kernel: { type: 'string', arg: 'FILE', help: 'kernel to store with the version (with --initrd; an ISO\'s own are found)' },
      initrd: { type: 'string', arg: 'FILE', help: 'initrd to store with the version (with --kernel)' },
      chunker: { type: 'string', arg: 'KIND', help: 'cdc (default: content-defined 16/64/256 KiB, as casync), fixed (256 KiB), fixed:SIZE or cdc:MIN:AVG:MAX' },
      json,
    },
  },
  'image list': {
    usage: '[NAME]', summary: 'list image versions: state, size, URL paths, NBD export names (alias: ls)',
    options: { json, all: { type: 'boolean', default: false, help: 'include removed versions' } },
  },
  'image remove': { usage: 'NAME@VERSION', summary: 'remove a version nothing boots or pins (refused, saying what uses it); store gc frees its chunks (alias: rm)', options: {} },
  'store verify': {
    usage: '', summary: 'check every chunk and blob the versions use; exit 1 when one is missing or bad',
    options: { quarantine: { type: 'boolean', default: false, help: 'move chunks found corrupt to <store.path>/quarantine' }, json },
  },
  'store gc': {
    usage: '', summary: 'remove chunks, blobs and indexes no version uses',
    options: { grace: { type: 'string', arg: 'HOURS', help: 'spare unreferenced files younger than this; default store.gcGraceHours (24)' }, json },
  },
  plan: {
    usage: 'MAC', summary: 'show what a machine would boot now, and its script (exit 1 for an error plan)',
    options: {
      arch: { type: 'string', arg: 'N', help: 'DHCP option 93 client architecture: 0 BIOS (default), 7 or 9 UEFI x64, 11 ARM64, 16 HTTP Boot' },
      ipxe: { type: 'boolean', default: false, help: 'as a client already running iPXE' },
      'http-boot': { type: 'boolean', default: false, help: 'as a UEFI HTTP Boot client (vendor class HTTPClient; without --arch, x64: 16)' },
      server: { type: 'string', arg: 'ADDR', help: 'the address the client reached this server on (default: http.publicUrl, else http.address)' },
      json,
    },
  },
} as const satisfies Record<string, CommandSpec>;

export type CommandKey = keyof typeof COMMANDS;

/** Commands with subcommands: their words, in the order help lists them. */
export const GROUPS: Record<string, readonly string[]> = {
  admin: ['create', 'passwd'],
  token: ['create', 'list', 'revoke'],
  image: ['import', 'list', 'remove'],
  store: ['verify', 'gc'],
};

/** Other words for a subcommand. */
export const ALIASES: Record<string, string> = { 'image ls': 'image list', 'image rm': 'image remove' };

export function isCommandKey(key: string): key is CommandKey {
  return Object.hasOwn(COMMANDS, key);
}
