// API tokens for provisioning scripts. The token is shown once; only its SHA-256 is stored.
// A token carries 256 random bits, so a fast hash is enough: nothing to brute-force.
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../db/index.ts';
import type { ApiToken } from '../db/schema.ts';

export type Scope = 'read' | 'write' | 'admin';
export const SCOPES: readonly Scope[] = ['read', 'write', 'admin'];

const PREFIX = 'bbt_';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export interface CreatedToken { id: number; token: string }

export async function createToken(db: Db, opts: { name: string; scopes: Scope[]; branchId?: number | null; createdBy?: string }): Promise<CreatedToken> {
  const token = PREFIX + randomBytes(32).toString('base64url');
  const { id } = await db.insertInto('api_tokens').values({
    name: opts.name,
    token_hash: hashToken(token),
    prefix: token.slice(0, PREFIX.length + 6),
    scopes: JSON.stringify(opts.scopes),
    branch_id: opts.branchId ?? null,
    created_by: opts.createdBy ?? '',
    created_at: Date.now(),
  }).returning('id').executeTakeFirstOrThrow();
  return { id, token };
}

export interface TokenPrincipal { id: number; name: string; scopes: Scope[]; branchId: number | null }

/** Resolves a presented token to its principal, or undefined when unknown or revoked. Stamps last use. */
export async function verifyToken(db: Db, token: string, now = Date.now()): Promise<TokenPrincipal | undefined> {
  if (!token.startsWith(PREFIX)) return undefined;
  const row = await db.selectFrom('api_tokens').selectAll().where('token_hash', '=', hashToken(token)).executeTakeFirst();
  if (!row || row.revoked_at !== null) return undefined;
  // Stamp at most once a minute: a busy script should not turn every GET into a write.
  if (row.last_used_at === null || now - row.last_used_at > 60_000) {
    await db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', row.id).execute();
  }
  return { id: row.id, name: row.name, scopes: parseScopes(row.scopes), branchId: row.branch_id };
}

export function parseScopes(json: string): Scope[] {
  try {
    const v: unknown = JSON.parse(json);
    return Array.isArray(v) ? v.filter((s): s is Scope => SCOPES.includes(s as Scope)) : [];
  } catch {
    return [];
  }
}

export async function revokeToken(db: Db, id: number, now = Date.now()): Promise<boolean> {
  const r = await db.updateTable('api_tokens').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

export function listTokens(db: Db): Promise<Omit<ApiToken, 'token_hash'>[]> {
  return db.selectFrom('api_tokens')
    .select(['id', 'name', 'prefix', 'scopes', 'branch_id', 'created_by', 'created_at', 'last_used_at', 'revoked_at'])
    .orderBy('name').execute();
}
