// Who is calling and what they may do. API tokens carry scopes and an optional branch; console
// users map to the same shape by role, so the API and the console enforce one set of rules.
import type { Scope, TokenPrincipal } from '../../model/tokens.ts';
import type { SessionUser } from '../../model/sessions.ts';
import type { BranchScope } from '../../model/scope.ts';
import { inScope } from '../../model/scope.ts';
import { ApiError } from './problem.ts';

export interface Principal {
  /** user:NAME or token:NAME, for the audit log. */
  actor: string;
  scopes: ReadonlySet<Scope>;
  /** Branches this caller may see and change; null = all. */
  branches: BranchScope;
  session?: SessionUser | undefined;
}

export function tokenPrincipal(t: TokenPrincipal): Principal {
  const scopes = new Set<Scope>(t.scopes);
  // admin implies write implies read.
  if (scopes.has('admin')) scopes.add('write');
  if (scopes.has('write')) scopes.add('read');
  return { actor: `token:${t.name}`, scopes, branches: t.branchId === null ? null : [t.branchId] };
}

export function userPrincipal(u: SessionUser): Principal {
  const actor = `user:${u.username}`;
  switch (u.role) {
    case 'admin': return { actor, scopes: new Set(['read', 'write', 'admin']), branches: null, session: u };
    case 'branch_admin': return { actor, scopes: new Set(['read', 'write']), branches: u.branchIds, session: u };
    // A viewer given branches sees those; one given none sees every branch.
    default: return { actor, scopes: new Set(['read']), branches: u.branchIds.length ? u.branchIds : null, session: u };
  }
}

export function need(p: Principal, scope: Scope): void {
  if (!p.scopes.has(scope)) throw new ApiError(403, `this needs the ${scope} scope`);
}

export function needBranch(p: Principal, branchId: number | null): void {
  if (!inScope(p.branches, branchId)) throw new ApiError(403, branchId === null ? 'only callers with access to every branch may do this' : `you have no access to branch ${branchId}`);
}

/** Changes that affect every branch (images, users, tokens, new branches) need an unrestricted caller. */
export function needGlobal(p: Principal, scope: Scope): void {
  need(p, scope);
  if (p.branches !== null) throw new ApiError(403, 'this affects every branch; a branch-limited caller may not do it');
}
