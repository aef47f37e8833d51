// Users and API tokens as admins change them: each change in one transaction with its audit
// row. Password hashes and token secrets never reach the audit log.
import type { Db } from '../db/index.ts';
import type { Role } from '../db/schema.ts';
import { audit } from './audit.ts';
import { Unchanged, sameState, unlessUnchanged } from './unchanged.ts';
import { conflict, invalid, notFound } from './admin-errors.ts';
import { hashPassword } from './passwords.ts';
import { createToken, listTokens, parseScopes, revokeToken, type Scope } from './tokens.ts';
import { listUsers, type UserWithBranches } from './users.ts';

export interface UserView { id: number; username: string; role: Role; disabled: boolean; branchIds: number[]; createdAt: number; updatedAt: number }

function userView(u: UserWithBranches): UserView {
  return { id: u.id, username: u.username, role: u.role, disabled: !!u.disabled, branchIds: u.branchIds, createdAt: u.created_at, updatedAt: u.updated_at };
}

export async function listUserViews(db: Db): Promise<UserView[]> {
  return (await listUsers(db)).map(userView);
}

export async function getUserView(db: Db, id: number): Promise<UserView | undefined> {
  return (await listUserViews(db)).find((u) => u.id === id);
}

async function checkBranches(db: Db, ids: number[]): Promise<void> {
  if (!ids.length) return;
  const found = new Set((await db.selectFrom('branches').select('id').where('id', 'in', ids).execute()).map((r) => r.id));
  ids.forEach((id, i) => { if (!found.has(id)) throw invalid(`branchIds[${i}]`, `branch ${id} does not exist`); });
}

export const MIN_PASSWORD = 10;
/** The API schema says the same (1-64 characters): one rule for the CLI, the console and the API. */
export const USERNAME_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export async function createUserAudited(db: Db, actor: string, u: { username: string; password: string; role: Role; branchIds: number[] }): Promise<UserView> {
  if (u.password.length < MIN_PASSWORD) throw invalid('password', `use at least ${MIN_PASSWORD} characters`);
  const password_hash = await hashPassword(u.password);
  return db.transaction().execute(async (trx) => {
    const tdb = trx as unknown as Db;
    if (await trx.selectFrom('users').select('id').where('username', '=', u.username).executeTakeFirst()) throw conflict(`user ${u.username} already exists`, 'username');
    await checkBranches(tdb, u.branchIds);
    const now = Date.now();
    const { id } = await trx.insertInto('users').values({ username: u.username, password_hash, role: u.role, created_at: now, updated_at: now }).returning('id').executeTakeFirstOrThrow();
    if (u.branchIds.length) await trx.insertInto('user_branches').values(u.branchIds.map((branch_id) => ({ user_id: id, branch_id }))).execute();
    const after = (await getUserView(tdb, id))!;
    await audit(trx, { actor, action: 'create', entity: 'user', entityId: u.username, after }, now);
    return after;
  });
}

export interface UserPatch { role?: Role | undefined; branchIds?: number[] | undefined; disabled?: boolean | undefined; password?: string | undefined }

const isActiveAdmin = (u: UserView) => u.role === 'admin' && !u.disabled;

/**
 * Run inside the transaction after a change that took an admin away: with no enabled admin
 * left, nobody could manage users from the console or API again (only `branchboot admin
 * create` on the server), so the change is refused and rolled back.
 */
async function keepOneAdmin(db: Db, username: string, field?: string): Promise<void> {
  const left = await db.selectFrom('users').select('id').where('role', '=', 'admin').where('disabled', '=', 0).executeTakeFirst();
  if (!left) throw conflict(`${username} is the last enabled admin; make another admin first`, field);
}

export async function updateUserAudited(db: Db, actor: string, id: number, p: UserPatch, check?: (before: UserView) => void): Promise<UserView> {
  if (p.password !== undefined && p.password.length < MIN_PASSWORD) throw invalid('password', `use at least ${MIN_PASSWORD} characters`);
  const password_hash = p.password !== undefined ? await hashPassword(p.password) : undefined;
  return unlessUnchanged(() => db.transaction().execute(async (trx) => {
    const tdb = trx as unknown as Db;
    const before = await getUserView(tdb, id);
    if (!before) throw notFound(`user ${id} does not exist`);
    check?.(before);
    const now = Date.now();
    await trx.updateTable('users').set({
      ...(p.role !== undefined && { role: p.role }),
      ...(p.disabled !== undefined && { disabled: p.disabled ? 1 : 0 }),
      ...(password_hash !== undefined && { password_hash }),
      updated_at: now,
    }).where('id', '=', id).execute();
    if (p.branchIds !== undefined) {
      await checkBranches(tdb, p.branchIds);
      await trx.deleteFrom('user_branches').where('user_id', '=', id).execute();
      if (p.branchIds.length) await trx.insertInto('user_branches').values(p.branchIds.map((branch_id) => ({ user_id: id, branch_id }))).execute();
    }
    // A new password or a disabled account ends the sessions that exist.
    if (password_hash !== undefined || p.disabled) await trx.deleteFrom('sessions').where('user_id', '=', id).execute();
    const after = (await getUserView(tdb, id))!;
    if (password_hash === undefined && sameState(before, after)) throw new Unchanged(before);
    if (isActiveAdmin(before) && !isActiveAdmin(after)) await keepOneAdmin(tdb, before.username, after.disabled ? 'disabled' : 'role');
    await audit(trx, { actor, action: 'update', entity: 'user', entityId: before.username, before, after: { ...after, ...(password_hash !== undefined && { password: 'changed' }) } }, now);
    return after;
  }));
}

export async function deleteUserAudited(db: Db, actor: string, id: number, check?: (before: UserView) => void): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const before = await getUserView(trx as unknown as Db, id);
    if (!before) throw notFound(`user ${id} does not exist`);
    check?.(before);
    await trx.deleteFrom('users').where('id', '=', id).execute();
    if (isActiveAdmin(before)) await keepOneAdmin(trx as unknown as Db, before.username);
    await audit(trx, { actor, action: 'delete', entity: 'user', entityId: before.username, before });
  });
}

export interface TokenView { id: number; name: string; prefix: string; scopes: Scope[]; branchId: number | null; createdBy: string; createdAt: number; lastUsedAt: number | null; revokedAt: number | null }

export async function listTokenViews(db: Db): Promise<TokenView[]> {
  return (await listTokens(db)).map((t) => ({
    id: t.id, name: t.name, prefix: t.prefix, scopes: parseScopes(t.scopes), branchId: t.branch_id, createdBy: t.created_by,
    createdAt: t.created_at, lastUsedAt: t.last_used_at, revokedAt: t.revoked_at,
  }));
}

export async function createTokenAudited(db: Db, actor: string, t: { name: string; scopes: Scope[]; branchId: number | null }): Promise<{ token: string; view: TokenView }> {
  return db.transaction().execute(async (trx) => {
    const tdb = trx as unknown as Db;
    if (await trx.selectFrom('api_tokens').select('id').where('name', '=', t.name).executeTakeFirst()) throw conflict(`a token named ${t.name} already exists`, 'name');
    if (t.branchId !== null) await checkBranches(tdb, [t.branchId]).catch(() => { throw invalid('branchId', `branch ${t.branchId} does not exist`); });
    if (t.scopes.length === 0) throw invalid('scopes', 'name at least one scope');
    const created = await createToken(tdb, { name: t.name, scopes: t.scopes, branchId: t.branchId, createdBy: actor });
    const view = (await listTokenViews(tdb)).find((x) => x.id === created.id)!;
    await audit(trx, { actor, action: 'create', entity: 'token', entityId: t.name, after: view });
    return { token: created.token, view };
  });
}

export async function revokeTokenAudited(db: Db, actor: string, id: number): Promise<TokenView> {
  return db.transaction().execute(async (trx) => {
    const tdb = trx as unknown as Db;
    const before = (await listTokenViews(tdb)).find((x) => x.id === id);
    if (!before) throw notFound(`token ${id} does not exist`);
    if (before.revokedAt !== null) throw conflict(`token ${before.name} is already revoked`);
    await revokeToken(tdb, id);
    const after = (await listTokenViews(tdb)).find((x) => x.id === id)!;
    await audit(trx, { actor, action: 'revoke', entity: 'token', entityId: before.name, before, after });
    return after;
  });
}
