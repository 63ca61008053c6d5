/**
 * Claims that can fail. A notebook states a number ("the spread of M-member averages is
 * sigma^2/M", "SWA beats the last iterate"); {@link claim} checks the measurement against the
 * prediction AND against the rival a sceptic would propose ("averaging gains nothing", "no
 * difference"), and refuses a check that could not tell the two apart. Every claim is recorded;
 * {@link claimsTable}, the last expression of a notebook, displays them as a table and carries
 * the records as JSON (MIME type {@link CLAIMS_MIME}), which the kit's tests re-evaluate with
 * {@link evaluateClaim}.
 *
 * Two kinds:
 * - `"equal"`: the measurement agrees with `predicted` within `tol`, and disagrees with `rival`
 *   by more than `tol`; moreover `|predicted - rival| > tol`, so that a measurement landing
 *   exactly on the rival would fail.
 * - `"above"` / `"below"`: an inequality, "the measurement exceeds (stays under) the rival by
 *   more than `tol`": the rival is the claim's negation at the margin (no gain: 0; the baseline's
 *   value). `predicted` is optional and only shown.
 *
 * The tolerance is derived before looking at the result: `z` standard errors (`tol = z * se`),
 * or an explicit `tol` from a bound, a step size or floating-point error, with `why` saying
 * which.
 *
 * @module
 */
import { AssertionError } from "node:assert";
import { word } from "./lang.ts";

/** MIME type of the claims' JSON records in the output of {@link claimsTable}. */
export const CLAIMS_MIME = "application/vnd.kit.claims+json";

/** What {@link claim} takes. */
export interface ClaimSpec {
  /** The claim in a few words, as the claims table shows it (unique within a notebook). */
  name: string;
  /** The measured value. */
  measured: number;
  /** Its standard error; 0 or omitted for an exact (closed-form, deterministic) measurement. */
  se?: number;
  /** `"equal"` (default), `"above"` or `"below"`. */
  kind?: ClaimKind;
  /** The claim's value: required for `"equal"`, optional (shown only) for inequalities. */
  predicted?: number;
  /** The sceptic's alternative value: for an inequality, the margin it must clear. */
  rival: number;
  /** What the rival means, in words (e.g. "members are copies: no gain"). */
  rivalIs?: string;
  /** The tolerance as a number of standard errors (`tol = z * se`). */
  z?: number;
  /** The tolerance itself, when it does not come from the standard error. */
  tol?: number;
  /** Where the tolerance comes from (shown in the table). */
  why?: string;
}

/** The kinds of claim. */
export type ClaimKind = "equal" | "above" | "below";

/** A recorded claim: the spec with its tolerance resolved. Plain data (JSON). */
export interface ClaimRecord {
  name: string;
  kind: ClaimKind;
  measured: number;
  se: number;
  predicted: number | null;
  rival: number;
  rivalIs: string | null;
  tol: number;
  why: string | null;
}

/** The outcome of {@link evaluateClaim}. */
export interface ClaimVerdict {
  /** The measurement supports the claim. */
  holds: boolean;
  /** The measurement is also consistent with the rival (a failed claim when true). */
  rivalHolds: boolean;
  /** A measurement equal to the rival would still pass: the check has no power. */
  blind: boolean;
  /** Distance of the measurement from the rival, in standard errors (Infinity when se is 0). */
  rivalDistanceSe: number;
  /** The check's verdict: `holds && !rivalHolds && !blind`. */
  ok: boolean;
}

function inequalityHolds(kind: ClaimKind, m: number, rival: number, tol: number): boolean {
  return kind === "above" ? m - rival > tol : rival - m > tol;
}

/**
 * Evaluates a claim record from its numbers alone: whether the measurement supports the claim,
 * whether the rival would pass too, and whether the check has power at all (a measurement
 * equal to the rival must fail). Pure; the tests re-evaluate recorded claims with it.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { evaluateClaim } from "@kit/claim.ts";
 * const rec = { name: "x", kind: "equal" as const, measured: 0.52, se: 0.01, predicted: 0.5,
 *   rival: 1, rivalIs: null, tol: 0.03, why: null };
 * assert.strictEqual(evaluateClaim(rec).ok, true);
 * // the rival in place of the prediction: the measurement does not support it
 * assert.strictEqual(evaluateClaim({ ...rec, predicted: rec.rival }).holds, false);
 * ```
 */
export function evaluateClaim(r: ClaimRecord): ClaimVerdict {
  const m = r.measured, tol = r.tol;
  let holds: boolean, rivalHolds: boolean, blind: boolean;
  if (r.kind === "equal") {
    const p = r.predicted ?? NaN;
    holds = Math.abs(m - p) <= tol;
    rivalHolds = Math.abs(m - r.rival) <= tol;
    blind = !(Math.abs(r.rival - p) > tol);
  } else {
    holds = inequalityHolds(r.kind, m, r.rival, tol);
    rivalHolds = !holds;
    blind = inequalityHolds(r.kind, r.rival, r.rival, tol); // only when tol < 0
  }
  const rivalDistanceSe = r.se > 0 ? Math.abs(m - r.rival) / r.se : Infinity;
  return { holds, rivalHolds, blind, rivalDistanceSe, ok: holds && !rivalHolds && !blind };
}

/**
 * The record as it would read if the rival were true: for an `"equal"` claim the rival takes the
 * prediction's place (does the measurement support the rival?); for an inequality the
 * measurement lands on the rival (would the check still pass?). A sound claim fails either way;
 * the kit's tests apply this to every recorded claim.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { evaluateClaim, withRival } from "@kit/claim.ts";
 * const gain = { name: "gain", kind: "above" as const, measured: 0.05, se: 0.01,
 *   predicted: null, rival: 0, rivalIs: "no gain", tol: 0.02, why: "2 SE" };
 * assert.strictEqual(evaluateClaim(gain).ok, true);
 * assert.strictEqual(evaluateClaim(withRival(gain)).holds, false);
 * ```
 */
export function withRival(r: ClaimRecord): ClaimRecord {
  return r.kind === "equal" ? { ...r, predicted: r.rival } : { ...r, measured: r.rival };
}

const registry = new Map<string, ClaimRecord>();

function fmt(x: number | null): string {
  if (x === null) return "-";
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  const a = Math.abs(x);
  return a >= 1e-3 && a < 1e5 ? String(Number(x.toPrecision(4))) : x.toExponential(3);
}

function measuredText(r: ClaimRecord): string {
  return r.se > 0 ? `${fmt(r.measured)} ± ${fmt(r.se)}` : fmt(r.measured);
}

function predictedText(r: ClaimRecord): string {
  if (r.kind === "equal") return `${fmt(r.predicted)} ± ${fmt(r.tol)}`;
  const side = r.kind === "above" ? ">" : "<";
  const bound = `${side} ${fmt(r.kind === "above" ? r.rival + r.tol : r.rival - r.tol)}`;
  return r.predicted === null ? bound : `${fmt(r.predicted)} (${bound})`;
}

function marginText(r: ClaimRecord): string {
  const v = evaluateClaim(r);
  if (r.se > 0) return `${v.rivalDistanceSe.toFixed(1)} ${word("claim.se")}`;
  const gap = Math.abs(r.measured - r.rival);
  return r.tol > 0 ? `${fmt(gap / r.tol)} × ${word("claim.tol")}` : word("claim.exact");
}

function toRecord(s: ClaimSpec): ClaimRecord {
  const kind = s.kind ?? "equal";
  const se = s.se ?? 0;
  const where = `claim "${s.name}"`;
  if (typeof s.name !== "string" || s.name.trim() === "") {
    throw new TypeError("claim: give the claim a name (the claims table shows it)");
  }
  if (kind !== "equal" && kind !== "above" && kind !== "below") {
    throw new TypeError(`${where}: kind must be "equal", "above" or "below", got ${String(kind)}`);
  }
  for (const [k, v] of [["measured", s.measured], ["rival", s.rival]] as const) {
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new TypeError(`${where}: ${k} must be a finite number, got ${String(v)}`);
    }
  }
  if (!(se >= 0) || !Number.isFinite(se)) {
    throw new TypeError(`${where}: se must be a finite number >= 0, got ${String(s.se)}`);
  }
  if (kind === "equal" && !(typeof s.predicted === "number" && Number.isFinite(s.predicted))) {
    throw new TypeError(`${where}: an "equal" claim needs a finite predicted value`);
  }
  if ((s.z === undefined) === (s.tol === undefined)) {
    throw new TypeError(
      `${where}: give exactly one of z (tolerance in standard errors) or tol (an explicit ` +
        `tolerance, with why)`,
    );
  }
  if (s.z !== undefined && !(se > 0)) {
    throw new TypeError(`${where}: z needs a standard error se > 0; for exact values give tol`);
  }
  const tol = s.z !== undefined ? s.z * se : s.tol!;
  if (!(tol >= 0) || !Number.isFinite(tol)) {
    throw new TypeError(`${where}: the tolerance must be a finite number >= 0, got ${tol}`);
  }
  const why = s.why ?? (s.z !== undefined ? `${s.z} SE` : null);
  return {
    name: s.name,
    kind,
    measured: s.measured,
    se,
    predicted: s.predicted ?? null,
    rival: s.rival,
    rivalIs: s.rivalIs ?? null,
    tol,
    why,
  };
}

/**
 * Checks a claim against its prediction and its rival, records it for {@link claimsTable}, and
 * prints one line saying how far the measurement sits from the rival. Throws an
 * `AssertionError` when the measurement does not support the claim, when the rival would pass
 * too, or when the check has no power (prediction and rival closer than the tolerance): a
 * check that cannot fail is an error, not a pass.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { claim } from "@kit/claim.ts";
 * // closed form: the variance of an average of 4 independent draws is 1/4 of one draw's
 * claim({ name: "Var of a 4-average", measured: 0.2497, se: 0.004, predicted: 0.25,
 *   rival: 1, rivalIs: "no variance reduction", z: 3 });
 * // an inequality: the gain exceeds two standard errors above "no gain"
 * claim({ name: "ensemble beats a member", kind: "above", measured: 0.08, se: 0.01, rival: 0,
 *   z: 2 });
 * // a check that could not tell 0.25 from its rival 0.26 is refused
 * assert.throws(() => claim({ name: "blind", measured: 0.25, se: 0.01, predicted: 0.25,
 *   rival: 0.26, z: 3 }), /cannot tell/);
 * ```
 */
export function claim(spec: ClaimSpec): ClaimRecord {
  const r = toRecord(spec);
  const v = evaluateClaim(r);
  const head = `claim "${r.name}": measured ${measuredText(r)}`;
  if (v.blind) {
    throw new AssertionError({
      message: `${head}; this check cannot tell the claim from its rival: prediction ` +
        `${fmt(r.predicted)} and rival ${fmt(r.rival)} are within the tolerance ${fmt(r.tol)} ` +
        `of each other. Measure more precisely (more seeds, larger samples) or compare at a ` +
        `setting where they differ.`,
      actual: r.measured,
      expected: r.predicted,
      operator: "claim",
    });
  }
  if (!v.holds) {
    const want = r.kind === "equal"
      ? `within ${fmt(r.tol)} of the prediction ${fmt(r.predicted)} (off by ${
        fmt(Math.abs(r.measured - r.predicted!))
      })`
      : `${r.kind} the rival ${fmt(r.rival)} by more than ${fmt(r.tol)}`;
    throw new AssertionError({
      message: `${head}, not ${want}${r.why ? ` [tolerance: ${r.why}]` : ""}`,
      actual: r.measured,
      expected: r.kind === "equal" ? r.predicted : r.rival,
      operator: "claim",
    });
  }
  if (v.rivalHolds) {
    throw new AssertionError({
      message: `${head} agrees with the prediction ${fmt(r.predicted)}, but the rival ` +
        `${fmt(r.rival)}${r.rivalIs ? ` (${r.rivalIs})` : ""} is within the tolerance ` +
        `${fmt(r.tol)} too: the measurement cannot tell them apart`,
      actual: r.measured,
      expected: r.predicted,
      operator: "claim",
    });
  }
  registry.set(r.name, r);
  console.log(word("claim.line", {
    name: r.name,
    measured: measuredText(r),
    predicted: predictedText(r),
    rival: `${fmt(r.rival)}${r.rivalIs ? ` (${r.rivalIs})` : ""}`,
    margin: marginText(r),
  }));
  return r;
}

/** The claims recorded so far in this process, in the order they were first made. */
export function claims(): ClaimRecord[] {
  return [...registry.values()];
}

/** Forgets every recorded claim (tests; a notebook's first cell may call it too). */
export function resetClaims(): void {
  registry.clear();
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** What {@link claimsTable} returns: displays itself in Jupyter. */
export interface ClaimsTable {
  /** The records shown. */
  readonly records: readonly ClaimRecord[];
  /** The MIME bundle: HTML table, plain text and the records as JSON. */
  toMimeBundle(): Record<string, unknown>;
}

/**
 * The table of every claim recorded so far: claim, measured ± SE, predicted (with its
 * tolerance), rival and the margin (distance of the measurement from the rival in standard
 * errors, or in tolerances for exact values). Make it the last expression of a notebook's last
 * cell; its output also carries the records as JSON ({@link CLAIMS_MIME}).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { claim, claimsTable, CLAIMS_MIME, resetClaims } from "@kit/claim.ts";
 * resetClaims();
 * claim({ name: "a", measured: 1.01, se: 0.01, predicted: 1, rival: 2, z: 3 });
 * const bundle = claimsTable().toMimeBundle();
 * assert.match(String(bundle["text/html"]), /<table/);
 * assert.strictEqual((bundle[CLAIMS_MIME] as { claims: unknown[] }).claims.length, 1);
 * ```
 */
export function claimsTable(): ClaimsTable {
  const records = claims();
  const rows = records.map((r) => [
    r.name,
    measuredText(r),
    predictedText(r),
    `${fmt(r.rival)}${r.rivalIs ? ` (${r.rivalIs})` : ""}`,
    marginText(r),
  ]);
  const head =
    (["claim.claim", "claim.measured", "claim.predicted", "claim.rival", "claim.margin"] as const)
      .map((k) => word(k));
  const bundle = () => ({
    "text/html": `<table class="kit-claims"><thead><tr>${
      head.map((h) => `<th>${h}</th>`).join("")
    }</tr></thead><tbody>${
      rows.map((row) => `<tr>${row.map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`)
        .join("")
    }</tbody></table>`,
    "text/plain": [head, ...rows].map((row) => row.join(" | ")).join("\n"),
    [CLAIMS_MIME]: { claims: records },
  });
  return {
    records,
    toMimeBundle: bundle,
    [Symbol.for("Jupyter.display")]: bundle,
  } as ClaimsTable;
}
