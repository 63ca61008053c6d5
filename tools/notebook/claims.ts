/**
 * The claims an executed notebook recorded: the JSON records in the output of its claims table
 * (`claimsTable()` of `lib/claim.ts`, MIME type `CLAIMS_MIME`), checked again from their numbers
 * so that a table cannot list a claim that does not hold or that its rival would pass.
 *
 * @module
 */
import { type ClaimRecord, CLAIMS_MIME, evaluateClaim, withRival } from "../../lib/claim.ts";
import type { Notebook } from "./io.ts";

/** Every claims table in the notebook's outputs: cell index and its records, in cell order. */
export function claimTables(nb: Notebook): { cell: number; claims: ClaimRecord[] }[] {
  const out: { cell: number; claims: ClaimRecord[] }[] = [];
  nb.cells.forEach((c, i) => {
    if (c.cell_type !== "code") return;
    for (const o of c.outputs ?? []) {
      if (o.output_type !== "display_data" && o.output_type !== "execute_result") continue;
      const rec = (o.data?.[CLAIMS_MIME] as { claims?: unknown } | undefined)?.claims;
      if (Array.isArray(rec)) out.push({ cell: i, claims: rec as ClaimRecord[] });
    }
  });
  return out;
}

/**
 * Problems with a notebook's claims: no claims table or more than one, an empty table, a
 * claim that does not hold, that its rival would pass, or that still passes with the rival in
 * place of its prediction. Empty when all is well.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { claimProblems } from "./claims.ts";
 * const rec = { name: "half", kind: "equal", measured: 0.5, se: 0.01, predicted: 0.5, rival: 1,
 *   rivalIs: null, tol: 0.03, why: "3 SE" };
 * const nb = (claims: unknown[]) => ({ nbformat: 4 as const, nbformat_minor: 5, metadata: {}, cells: [
 *   { cell_type: "code" as const, id: "a", metadata: {}, source: "claimsTable()",
 *     execution_count: 1, outputs: [{ output_type: "execute_result" as const,
 *       execution_count: 1, metadata: {}, data: { "application/vnd.kit.claims+json": { claims } } }] },
 * ] });
 * assert.deepStrictEqual(claimProblems(nb([rec])), []);
 * assert.match(claimProblems(nb([{ ...rec, predicted: 0.9 }]))[0], /does not hold/);
 * assert.match(claimProblems(nb([{ ...rec, rival: 0.52 }]))[0], /rival/);
 * ```
 */
export function claimProblems(nb: Notebook): string[] {
  const tables = claimTables(nb);
  if (tables.length !== 1) {
    return [`expected one claims table (claimsTable() in the last cell), found ${tables.length}`];
  }
  const { cell, claims } = tables[0];
  if (claims.length === 0) return [`the claims table in cell ${cell} lists no claim`];
  const problems: string[] = [];
  for (const r of claims) {
    const v = evaluateClaim(r);
    const what = `cell ${cell}, claim "${r.name}"`;
    if (!v.holds) problems.push(`${what}: does not hold (measured ${r.measured})`);
    else if (v.rivalHolds) problems.push(`${what}: its rival ${r.rival} holds too`);
    else if (v.blind) problems.push(`${what}: prediction and rival within the tolerance`);
    if (evaluateClaim(withRival(r)).holds) {
      problems.push(`${what}: still passes with the rival ${r.rival} in place of its prediction`);
    }
  }
  return problems;
}
