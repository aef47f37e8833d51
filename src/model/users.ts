// Console accounts: admin, branch admin of given branches, viewer.
import type { Db } from '../db/index.ts';
import type { Role, User } from '../db/schema.ts';
import { DUMMY_HASH, hashPassword, verifyPassword } from './passwords.ts';

export interface UserWithBranches extends Omit<User, 'password_hash'> { branchIds: number[] }

export async function createUser(db: Db, username: string, password: string, role: Role, branchIds: number[] = []): Promise<number> {
  const now = Date.now();
  const password_hash = await hashPassword(password);
  return db.transaction().execute(async (trx) => {
    const { id } = await trx.insertInto('users')
      .values({ username, password_hash, role, created_at: now, updated_at: now })
      .returning('id').executeTakeFirstOrThrow();
    if (branchIds.length) await trx.insertInto('user_branches').values(branchIds.map((branch_id) => ({ user_id: id, branch_id }))).execute();
    return id;
  });
}

export async function setPassword(db: Db, userId: number, password: string): Promise<void> {
  await db.updateTable('users').set({ password_hash: await hashPassword(password), updated_at: Date.now() }).where('id', '=', userId).execute();
}

export async function getUserByName(db: Db, username: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
}

export async function userBranchIds(db: Db, userId: number): Promise<number[]> {
  const rows = await db.selectFrom('user_branches').select('branch_id').where('user_id', '=', userId).execute();
  return rows.map((r) => r.branch_id);
}

/** Checks a login. Unknown users cost the same scrypt time as known ones. */
export async function authenticateUser(db: Db, username: string, password: string): Promise<User | undefined> {
  const user = await getUserByName(db, username);
  const ok = await verifyPassword(password, user?.password_hash ?? DUMMY_HASH);
  return ok && user && !user.disabled ? user : undefined;
}

export async function listUsers(db: Db): Promise<UserWithBranches[]> {
  const users = await db.selectFrom('users').select(['id', 'username', 'role', 'disabled', 'created_at', 'updated_at']).orderBy('username').execute();
  const links = await db.selectFrom('user_branches').selectAll().execute();
  return users.map((u) => ({ ...u, branchIds: links.filter((l) => l.user_id === u.id).map((l) => l.branch_id) }));
}
