// `branchboot token create NAME`: an API token for provisioning scripts, printed once.
import { UserError } from '../util/errors.ts';
import { createToken, listTokens, parseScopes, revokeToken, SCOPES, type Scope } from '../model/tokens.ts';
import { audit } from '../model/audit.ts';
import type { Command } from './types.ts';
import { needPositional, parse } from './args.ts';

export const tokenCommand: Command = async (args, env) => {
  const [sub, ...rest] = args;
  if (sub !== 'create' && sub !== 'list' && sub !== 'revoke') throw new UserError(`token: ${sub === undefined ? 'missing' : `unknown subcommand "${sub}", not`} create, list or revoke (branchboot token --help)`, 2);
  // Arguments are checked before the database is opened (and created, on a new installation).
  const create = sub === 'create' ? parse('token create', rest) : undefined;
  if (create) needPositional('token create', create.positionals, 1);
  const other = sub === 'create' ? undefined : parse(`token ${sub}`, rest);
  if (sub === 'revoke') needPositional('token revoke', other!.positionals, 1);
  const handle = env.openDb();
  const db = handle.db;
  try {
    if (create) {
      const { values, positionals } = create;
      const name = positionals[0]!;
      const scopes = ((values.scope as string[]).length ? values.scope as string[] : ['read', 'write']).flatMap((s) => s.split(','));
      for (const s of scopes) if (!SCOPES.includes(s as Scope)) throw new UserError(`token create: --scope must be one of ${SCOPES.join(', ')} (got "${s}")`);
      let branchId: number | null = null;
      if (values.branch) {
        const b = await db.selectFrom('branches').select('id').where('name', '=', values.branch).executeTakeFirst();
        if (!b) throw new UserError(`token create: no branch "${values.branch}"`);
        branchId = b.id;
      }
      if (await db.selectFrom('api_tokens').select('id').where('name', '=', name).executeTakeFirst()) {
        throw new UserError(`token create: a token named "${name}" already exists`);
      }
      const { token } = await createToken(db, { name, scopes: scopes as Scope[], branchId, createdBy: 'cli' });
      await audit(db, { actor: 'cli', action: 'create', entity: 'token', entityId: name, after: { scopes, branch: values.branch ?? null } });
      env.out.write(`${token}\n`);
      env.err.write(`token "${name}" (${scopes.join(',')}${values.branch ? `, branch ${values.branch}` : ''}): shown once, only its hash is stored\n`);
      return 0;
    }
    if (sub === 'list') {
      for (const t of await listTokens(db)) {
        const state = t.revoked_at ? 'revoked' : 'active';
        env.out.write(`${t.name}\t${t.prefix}…\t${parseScopes(t.scopes).join(',')}\t${state}\tlast used ${t.last_used_at ? new Date(t.last_used_at).toISOString() : 'never'}\n`);
      }
      return 0;
    }
    const name = other!.positionals[0]!;
    const t = await db.selectFrom('api_tokens').select('id').where('name', '=', name).executeTakeFirst();
    if (!t || !(await revokeToken(db, t.id))) throw new UserError(`token revoke: no active token "${name}"`);
    await audit(db, { actor: 'cli', action: 'revoke', entity: 'token', entityId: name });
    env.out.write(`revoked ${name}\n`);
    return 0;
  } finally {
    await handle.close();
  }
};
