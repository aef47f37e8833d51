// The inventory file (`branchboot apply`, `branchboot export`): branches with their subnets and
// servers, the images to expect, and machines with their assignments. README documents it.
import { Type, type Static } from '@sinclair/typebox';
import { BOOT_ACTIONS, DHCP_MODES, FLAVORS, TRANSPORTS } from '../../db/schema.ts';

const Enum = <T extends string>(values: readonly T[]) => Type.Unsafe<T>({ type: 'string', enum: [...values] });
const Name = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' });

export const SubnetSpec = Type.Object({
  cidr: Type.String(),
  dhcp: Type.Optional(Enum(DHCP_MODES)),
  range: Type.Optional(Type.String()),
  ranges: Type.Optional(Type.Array(Type.String())),
  exclude: Type.Optional(Type.Array(Type.String())),
  gateway: Type.Optional(Type.String()),
  dns: Type.Optional(Type.Array(Type.String())),
  domain: Type.Optional(Type.String({ minLength: 1 })),
  leaseTime: Type.Optional(Type.Integer({ minimum: 60, maximum: 31536000 })),
}, { additionalProperties: false });

export const ServersSpec = Type.Object({
  http: Type.Optional(Type.String({ pattern: '^https?://' })),
  tftp: Type.Optional(Type.String()),
  nbd: Type.Optional(Type.String()),
  nfs: Type.Optional(Type.String({ pattern: '^[^:/]+:/' })),
  cifs: Type.Optional(Type.String({ pattern: '^//' })),
}, { additionalProperties: false });

export const BranchSpec = Type.Object({
  name: Name,
  description: Type.Optional(Type.String()),
  subnets: Type.Optional(Type.Array(SubnetSpec)),
  servers: Type.Optional(ServersSpec),
  defaultImage: Type.Optional(Type.String({ minLength: 1 })),
  defaultAction: Type.Optional(Enum(BOOT_ACTIONS)),
  transport: Type.Optional(Enum(TRANSPORTS)),
  kernelArgs: Type.Optional(Type.String()),
  menu: Type.Optional(Type.Object({
    images: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
    timeout: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600 })),
  }, { additionalProperties: false })),
}, { additionalProperties: false });

export const ImageSpec = Type.Object({
  name: Name,
  description: Type.Optional(Type.String()),
  flavor: Type.Optional(Enum(FLAVORS)),
  transport: Type.Optional(Enum(TRANSPORTS)),
  kernelArgs: Type.Optional(Type.String()),
  /** Pin the image's current version; absent = newest ready version. */
  current: Type.Optional(Type.Integer({ minimum: 1 })),
}, { additionalProperties: false });

export const MachineSpec = Type.Object({
  mac: Type.String(),
  hostname: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
  branch: Type.String({ minLength: 1 }),
  ip: Type.Optional(Type.String()),
  image: Type.Optional(Type.String({ minLength: 1 })),   // name or name@version
  action: Type.Optional(Enum(BOOT_ACTIONS)),
  transport: Type.Optional(Enum(TRANSPORTS)),
  kernelArgs: Type.Optional(Type.String()),
}, { additionalProperties: false });

export const InventorySpec = Type.Object({
  branches: Type.Optional(Type.Array(BranchSpec)),
  images: Type.Optional(Type.Array(ImageSpec)),
  machines: Type.Optional(Type.Array(MachineSpec)),
}, { additionalProperties: false });

export type SubnetSpec = Static<typeof SubnetSpec>;
export type BranchSpec = Static<typeof BranchSpec>;
export type ImageSpec = Static<typeof ImageSpec>;
export type MachineSpec = Static<typeof MachineSpec>;
export type InventorySpec = Static<typeof InventorySpec>;
