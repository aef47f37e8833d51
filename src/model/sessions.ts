// Console sessions. The cookie holds 256 random bits; the table holds their SHA-256, so the
// database alone cannot be replayed as a login. A login always makes a new session (a session
// id planted before login never becomes authenticated: no fixation).
import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../db/index.ts';
import { readQuery } from './read-conn.ts';
import type { Role } from '../db/schema.ts';

export const SESSION_TTL_MS = 12 * 3600_000;
/** Sessions idle longer than this end, even before their absolute expiry. */
export const SESSION_IDLE_MS = 2 * 3600_000;

const hash = (cookie: string) => createHash('sha256').update(cookie).digest('hex');

export interface NewSession { cookie: string; csrf: string; expiresAt: number }

export async function createSession(db: Db, userId: number, ip: string, now = Date.now()): Promise<NewSession> {
  const cookie = randomBytes(32).toString('base64url');
  const csrf = randomBytes(32).toString('base64url');
  const expiresAt = now + SESSION_TTL_MS;
  await db.deleteFrom('sessions').where('expires_at', '<', now).execute();
  await db.insertInto('sessions').values({ id: hash(cookie), user_id: userId, csrf, ip, created_at: now, last_seen_at: now, expires_at: expiresAt }).execute();
  return { cookie, csrf, expiresAt };
}

export interface SessionUser {
  sessionId: string;
  csrf: string;
  userId: number;
  username: string;
  role: Role;
  branchIds: number[];
}

export async function getSession(db: Db, cookie: string, now = Date.now()): Promise<SessionUser | undefined> {
  if (!/^[A-Za-z0-9_-]{43}$/.test(cookie)) return undefined;
  const id = hash(cookie);
  // One statement per page view (every console request runs it): the user's branches come along.
  const rows = await readQuery<SessionRow>(db, 
    `select s.csrf, s.expires_at, s.last_seen_at, u.id as user_id, u.username, u.role, u.disabled,
       (select group_concat(branch_id) from user_branches where user_id = u.id) as branch_ids
     from sessions s join users u on u.id = s.user_id where s.id = ?`, [id]);
  const row = rows[0];
  if (!row || row.disabled || row.expires_at <= now || now - row.last_seen_at > SESSION_IDLE_MS) return undefined;
  // Stamp at most once a minute: page views should not each become a write.
  if (now - row.last_seen_at > 60_000) await db.updateTable('sessions').set({ last_seen_at: now }).where('id', '=', id).execute();
  const branchIds = row.branch_ids ? row.branch_ids.split(',').map(Number) : [];
  return { sessionId: id, csrf: row.csrf, userId: row.user_id, username: row.username, role: row.role, branchIds };
}

interface SessionRow { csrf: string; expires_at: number; last_seen_at: number; user_id: number; username: string; role: Role; disabled: number; branch_ids: string | null }

export async function deleteSession(db: Db, cookie: string): Promise<void> {
  await db.deleteFrom('sessions').where('id', '=', hash(cookie)).execute();
}

/** Ends every session of a user (password change, disable, delete). */
export async function deleteUserSessions(db: Db, userId: number): Promise<void> {
  await db.deleteFrom('sessions').where('user_id', '=', userId).execute();
}
