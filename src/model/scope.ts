// Which branches a caller may see: null means every branch (admins, unrestricted tokens).
// Model queries take this so scoping is one WHERE clause, not a filter after the fact.
export type BranchScope = number[] | null;

export function inScope(scope: BranchScope, branchId: number | null): boolean {
  if (scope === null) return true;
  return branchId !== null && scope.includes(branchId);
}
