// Schemas shared by the API routes: request parts, resource shapes, problems. They validate
// requests and feed the OpenAPI document.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { BOOT_ACTIONS, FLAVORS, ROLES, TRANSPORTS } from '../../db/schema.ts';
import { SCOPES } from '../../model/tokens.ts';

export const StrEnum = <T extends string>(values: readonly T[], opts: Record<string, unknown> = {}) => Type.Unsafe<T>({ type: 'string', enum: [...values], ...opts });
/**
 * T or null as a type list ({type: ['string', 'null']}), not anyOf: fast-json-stringify runs a
 * full schema validation per value to pick an anyOf branch, which made a 50-machine page
 * several times slower to serialize; type lists are a typeof check. Ajv reads both the same.
 */
export const Nullable = <T extends TSchema>(t: T) => {
  const s = JSON.parse(JSON.stringify(t)) as Record<string, unknown>;
  if (typeof s.type !== 'string') return Type.Unsafe<Static<T> | null>(Type.Union([t, Type.Null()]));
  return Type.Unsafe<Static<T> | null>({ ...s, type: [s.type, 'null'], ...(Array.isArray(s.enum) && { enum: [...(s.enum as unknown[]), null] }) });
};

export const Mac = Type.String({ minLength: 12, maxLength: 17, description: 'aa:bb:cc:dd:ee:ff (also - or no separators)' });
export const Name = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' });
export const Hostname = Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*$' });
export const Ipv4 = Type.String({ pattern: '^(?:(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)\\.){3}(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)$' });
export const Action = StrEnum(BOOT_ACTIONS);
export const TransportS = StrEnum(TRANSPORTS);
export const FlavorS = StrEnum(FLAVORS);
export const RoleS = StrEnum(ROLES);
export const ScopeS = StrEnum(SCOPES);
export const Id = Type.Integer({ minimum: 1 });
export const Cursor = Type.String({ maxLength: 512, description: 'nextCursor of the previous page' });
export const Limit = Type.Integer({ minimum: 1, maximum: 500, default: 50 });

export const Problem = Type.Object({
  type: Type.String(), title: Type.String(), status: Type.Integer(), detail: Type.String(),
  field: Type.Optional(Type.String()), in: Type.Optional(Type.String()),
}, { $id: undefined, description: 'application/problem+json (RFC 9457)' });

export const MachineView = Type.Object({
  mac: Type.String(), hostname: Nullable(Type.String()), branchId: Nullable(Type.Integer()), branch: Nullable(Type.String()),
  state: Type.String(), ip: Nullable(Type.String()), image: Nullable(Type.String()), version: Nullable(Type.Integer()),
  action: Nullable(Type.String()), transport: Nullable(Type.String()), kernelArgs: Type.String(), uuid: Nullable(Type.String()),
  lastArch: Nullable(Type.Integer()), lastFirmware: Nullable(Type.String()), lastSeenAt: Nullable(Type.Integer()),
  createdAt: Type.Integer(), updatedAt: Type.Integer(),
});

export const page = <T extends TSchema>(item: T) => Type.Object({ items: Type.Array(item), nextCursor: Nullable(Type.String()) });

/** Error responses every authenticated route can give, for the OpenAPI document. */
export const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, Problem]));
