// Table types for Kysely: the one place the database's shape is written in TypeScript.
// test/unit/schema.test.ts checks these against the columns the migrations create.
import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

export type DhcpMode = 'off' | 'authoritative' | 'proxy';
export type BootAction = 'image' | 'local' | 'menu' | 'once';
export type Transport = 'http' | 'http-lazy' | 'nfs' | 'cifs' | 'nbd';
export type Flavor = 'casper' | 'live-boot' | 'dracut' | 'nbd-root' | 'custom';
export type VersionState = 'importing' | 'ready' | 'failed' | 'removed';
export type LeaseState = 'offered' | 'bound' | 'released' | 'declined' | 'expired';
export type Role = 'admin' | 'branch_admin' | 'viewer';
export type MachineState = 'registered' | 'discovered';

export const DHCP_MODES: readonly DhcpMode[] = ['off', 'authoritative', 'proxy'];
export const BOOT_ACTIONS: readonly BootAction[] = ['image', 'local', 'menu', 'once'];
export const TRANSPORTS: readonly Transport[] = ['http', 'http-lazy', 'nfs', 'cifs', 'nbd'];
export const FLAVORS: readonly Flavor[] = ['casper', 'live-boot', 'dracut', 'nbd-root', 'custom'];
export const ROLES: readonly Role[] = ['admin', 'branch_admin', 'viewer'];

/** Integer milliseconds since the epoch. */
export type Millis = number;

export interface BranchTable {
  id: Generated<number>;
  name: string;
  description: ColumnType<string, string | undefined, string>;
  default_image: string | null;
  default_action: ColumnType<BootAction, BootAction | undefined, BootAction>;
  transport: Transport | null;
  kernel_args: ColumnType<string, string | undefined, string>;
  menu_images: ColumnType<string, string | undefined, string>;
  menu_timeout_s: ColumnType<number, number | undefined, number>;
  server_http: string | null;
  server_tftp: string | null;
  server_nbd: string | null;
  server_nfs: string | null;
  server_cifs: string | null;
  created_at: Millis;
  updated_at: Millis;
}

export interface SubnetTable {
  id: Generated<number>;
  branch_id: number;
  cidr: string;
  dhcp_mode: ColumnType<DhcpMode, DhcpMode | undefined, DhcpMode>;
  ranges: ColumnType<string, string | undefined, string>;
  exclusions: ColumnType<string, string | undefined, string>;
  gateway: string | null;
  dns: ColumnType<string, string | undefined, string>;
  domain: string | null;
  lease_seconds: ColumnType<number, number | undefined, number>;
  created_at: Millis;
  updated_at: Millis;
}

export interface ImageTable {
  id: Generated<number>;
  name: string;
  description: ColumnType<string, string | undefined, string>;
  flavor: ColumnType<Flavor, Flavor | undefined, Flavor>;
  transport: Transport | null;
  kernel_args: ColumnType<string, string | undefined, string>;
  current_version: number | null;
  created_at: Millis;
  updated_at: Millis;
}

export interface ImageVersionTable {
  id: Generated<number>;
  image_id: number;
  version: number;
  state: ColumnType<VersionState, VersionState | undefined, VersionState>;
  flavor: Flavor | null;
  transport: Transport | null;
  kernel_args: string | null;
  source: ColumnType<string, string | undefined, string>;
  root_kind: string | null;
  root_file: string | null;
  size_bytes: ColumnType<number, number | undefined, number>;
  index_file: string | null;
  kernel_blob: string | null;
  initrd_blob: string | null;
  chunker: string | null;
  chunks_total: ColumnType<number, number | undefined, number>;
  chunks_new: ColumnType<number, number | undefined, number>;
  bytes_stored: ColumnType<number, number | undefined, number>;
  bytes_new: ColumnType<number, number | undefined, number>;
  template: string | null;
  error: string | null;
  created_at: Millis;
  updated_at: Millis;
}

export interface MachineTable {
  id: Generated<number>;
  mac: string;
  hostname: string | null;
  branch_id: number | null;
  state: ColumnType<MachineState, MachineState | undefined, MachineState>;
  fixed_ip: string | null;
  image_id: number | null;
  image_version: number | null;
  action: BootAction | null;
  once_pending: ColumnType<number, number | undefined, number>;
  transport: Transport | null;
  kernel_args: ColumnType<string, string | undefined, string>;
  uuid: string | null;
  last_arch: number | null;
  last_firmware: string | null;
  relay_circuit: string | null;
  relay_remote: string | null;
  last_seen_at: Millis | null;
  created_at: Millis;
  updated_at: Millis;
}

export interface LeaseTable {
  id: Generated<number>;
  /** NULL: its subnet was deleted; kept until it expires (migration 0006). */
  subnet_id: number | null;
  ip: string;
  mac: string;
  client_id: string | null;
  hostname: string | null;
  state: LeaseState;
  expires_at: Millis;
  relay_circuit: string | null;
  relay_remote: string | null;
  updated_at: Millis;
}

export interface BootEventTable {
  id: Generated<number>;
  at: Millis;
  mac: string | null;
  ip: string | null;
  branch_id: number | null;
  stage: string;
  detail: ColumnType<string, string | undefined, string>;
}

export interface UserTable {
  id: Generated<number>;
  username: string;
  password_hash: string;
  role: Role;
  disabled: ColumnType<number, number | undefined, number>;
  created_at: Millis;
  updated_at: Millis;
}

export interface UserBranchTable {
  user_id: number;
  branch_id: number;
}

export interface ApiTokenTable {
  id: Generated<number>;
  name: string;
  token_hash: string;
  prefix: string;
  scopes: ColumnType<string, string | undefined, string>;
  branch_id: number | null;
  created_by: ColumnType<string, string | undefined, string>;
  created_at: Millis;
  last_used_at: Millis | null;
  revoked_at: Millis | null;
}

export interface AuditLogTable {
  id: Generated<number>;
  at: Millis;
  actor: string;
  action: string;
  entity: string;
  entity_id: string | null;
  before: string | null;
  after: string | null;
}

export interface SessionTable {
  id: string;
  user_id: number;
  csrf: string;
  ip: ColumnType<string, string | undefined, string>;
  created_at: Millis;
  last_seen_at: Millis;
  expires_at: Millis;
}

/** One row (id 1): moved by triggers at every change of the machines DHCP's copy must see (migration 0010). */
export interface MachineRevisionTable {
  id: number;
  rev: number;
}

export interface DB {
  branches: BranchTable;
  subnets: SubnetTable;
  images: ImageTable;
  image_versions: ImageVersionTable;
  machines: MachineTable;
  leases: LeaseTable;
  boot_events: BootEventTable;
  users: UserTable;
  user_branches: UserBranchTable;
  api_tokens: ApiTokenTable;
  audit_log: AuditLogTable;
  sessions: SessionTable;
  machine_revision: MachineRevisionTable;
}

/** Every column of every table, checked against the migrations by a test. */
export const COLUMNS = {
  branches: ['id', 'name', 'description', 'default_image', 'default_action', 'transport', 'kernel_args', 'menu_images', 'menu_timeout_s', 'server_http', 'server_tftp', 'server_nbd', 'server_nfs', 'server_cifs', 'created_at', 'updated_at'],
  subnets: ['id', 'branch_id', 'cidr', 'dhcp_mode', 'ranges', 'exclusions', 'gateway', 'dns', 'domain', 'lease_seconds', 'created_at', 'updated_at'],
  images: ['id', 'name', 'description', 'flavor', 'transport', 'kernel_args', 'current_version', 'created_at', 'updated_at'],
  image_versions: ['id', 'image_id', 'version', 'state', 'flavor', 'transport', 'kernel_args', 'source', 'root_kind', 'root_file', 'size_bytes', 'index_file', 'kernel_blob', 'initrd_blob', 'chunker', 'chunks_total', 'chunks_new', 'bytes_stored', 'bytes_new', 'template', 'error', 'created_at', 'updated_at'],
  machines: ['id', 'mac', 'hostname', 'branch_id', 'state', 'fixed_ip', 'image_id', 'image_version', 'action', 'once_pending', 'transport', 'kernel_args', 'uuid', 'last_arch', 'last_firmware', 'relay_circuit', 'relay_remote', 'last_seen_at', 'created_at', 'updated_at'],
  leases: ['id', 'subnet_id', 'ip', 'mac', 'client_id', 'hostname', 'state', 'expires_at', 'relay_circuit', 'relay_remote', 'updated_at'],
  boot_events: ['id', 'at', 'mac', 'ip', 'branch_id', 'stage', 'detail'],
  users: ['id', 'username', 'password_hash', 'role', 'disabled', 'created_at', 'updated_at'],
  user_branches: ['user_id', 'branch_id'],
  api_tokens: ['id', 'name', 'token_hash', 'prefix', 'scopes', 'branch_id', 'created_by', 'created_at', 'last_used_at', 'revoked_at'],
  audit_log: ['id', 'at', 'actor', 'action', 'entity', 'entity_id', 'before', 'after'],
  sessions: ['id', 'user_id', 'csrf', 'ip', 'created_at', 'last_seen_at', 'expires_at'],
  machine_revision: ['id', 'rev'],
} as const satisfies { [T in keyof DB]: readonly (keyof DB[T])[] };

export type Branch = Selectable<BranchTable>;
export type NewBranch = Insertable<BranchTable>;
export type BranchUpdate = Updateable<BranchTable>;
export type Subnet = Selectable<SubnetTable>;
export type Image = Selectable<ImageTable>;
export type ImageVersion = Selectable<ImageVersionTable>;
export type Machine = Selectable<MachineTable>;
export type Lease = Selectable<LeaseTable>;
export type BootEvent = Selectable<BootEventTable>;
export type User = Selectable<UserTable>;
export type ApiToken = Selectable<ApiTokenTable>;
export type AuditEntry = Selectable<AuditLogTable>;
export type Session = Selectable<SessionTable>;

// Fails to compile when a table type gains a column that COLUMNS does not list.
type Unlisted = { [T in keyof DB]: Exclude<keyof DB[T], (typeof COLUMNS)[T][number]> }[keyof DB];
const everyColumnListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyColumnListed;
