// `branchboot admin create USER`: a console account. The password comes from stdin
// (--password-stdin) or is generated and printed once.
import { randomBytes } from 'node:crypto';
import { UserError } from '../util/errors.ts';
import { ROLES, type Role } from '../db/schema.ts';
import { createUser, getUserByName, setPassword } from '../model/users.ts';
import { audit } from '../model/audit.ts';
import { MIN_PASSWORD, USERNAME_RE } from '../model/account-admin.ts';
import type { Command } from './types.ts';
import { missingFlag, needPositional, parse } from './args.ts';
import { usageLine } from './help.ts';

export const adminCommand: Command = async (args, env) => {
  const [sub, ...rest] = args;
  if (sub !== 'create' && sub !== 'passwd') throw new UserError(`admin: ${sub === undefined ? 'missing' : `unknown subcommand "${sub}", not`} create or passwd (usage: ${usageLine('admin create')} | ${usageLine('admin passwd')})`, 2);
  const parsed = sub === 'create' ? parse('admin create', rest) : parse('admin passwd', rest);
  const { positionals } = parsed;
  const values: { role: string; branch: string[]; 'password-stdin': boolean } = { role: 'admin', branch: [], ...parsed.values };
  needPositional(`admin ${sub}`, positionals, 1);
  if (sub === 'passwd' && !values['password-stdin']) throw missingFlag('admin passwd', '--password-stdin');
  const username = positionals[0]!;
  if (!USERNAME_RE.test(username)) throw new UserError(`admin ${sub}: "${username}" is not a valid user name (letters, digits, . _ @ -)`);
  const role = values.role as Role;
  if (!ROLES.includes(role)) throw new UserError(`admin create: --role must be one of ${ROLES.join(', ')}`);
  let password = values['password-stdin'] ? (await readStdin()).split('\n')[0]!.trimEnd() : '';
  const generated = !password && sub === 'create';
  if (generated) password = randomBytes(12).toString('base64url');
  if (password.length < MIN_PASSWORD) throw new UserError(`admin ${sub}: the password must have at least ${MIN_PASSWORD} characters (as the console and the API ask)`);
  const handle = env.openDb();
  try {
    const db = handle.db;
    const existing = await getUserByName(db, username);
    if (sub === 'passwd') {
      if (!existing) throw new UserError(`admin passwd: no user "${username}"`);
      await setPassword(db, existing.id, password);
      await audit(db, { actor: 'cli', action: 'update', entity: 'user', entityId: username, after: { password: 'changed' } });
      env.out.write(`password of ${username} changed\n`);
      return 0;
    }
    if (existing) throw new UserError(`admin create: user "${username}" already exists`);
    const branchIds: number[] = [];
    for (const name of values.branch as string[]) {
      const b = await db.selectFrom('branches').select('id').where('name', '=', name).executeTakeFirst();
      if (!b) throw new UserError(`admin create: no branch "${name}"`);
      branchIds.push(b.id);
    }
    if (role === 'branch_admin' && branchIds.length === 0) throw new UserError('admin create: a branch_admin needs at least one --branch');
    await createUser(db, username, password, role, branchIds);
    await audit(db, { actor: 'cli', action: 'create', entity: 'user', entityId: username, after: { role, branches: values.branch } });
    env.out.write(generated ? `created ${role} ${username} with password: ${password}\n(shown once; change it with: branchboot admin passwd ${username} --password-stdin)\n` : `created ${role} ${username}\n`);
    return 0;
  } finally {
    await handle.close();
  }
};

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UserError('--password-stdin: pipe the password in, e.g. echo "$PW" | branchboot admin create …');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
