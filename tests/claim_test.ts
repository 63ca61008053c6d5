// lib/claim.ts: a claim passes only when the measurement supports it and not its rival, and a
// check without power is refused.
import assert from "node:assert/strict";
import {
  claim,
  type ClaimRecord,
  claims,
  CLAIMS_MIME,
  claimsTable,
  evaluateClaim,
  resetClaims,
  withRival,
} from "../lib/claim.ts";

function quiet<T>(f: () => T): T {
  const log = console.log;
  console.log = () => {};
  try {
    return f();
  } finally {
    console.log = log;
  }
}

Deno.test("claim: an equality passes near its prediction, away from its rival", () => {
  resetClaims();
  const r = quiet(() =>
    claim({ name: "half", measured: 0.505, se: 0.01, predicted: 0.5, rival: 1, z: 3 })
  );
  assert.equal(r.tol, 0.03);
  assert.equal(r.why, "3 SE");
  assert.deepEqual(claims().map((c) => c.name), ["half"]);
  assert.equal(evaluateClaim(withRival(r)).holds, false, "the rival in the prediction's place");
});

Deno.test("claim: fails when the measurement misses the prediction, with a teaching message", () => {
  resetClaims();
  assert.throws(
    () => claim({ name: "half", measured: 0.6, se: 0.01, predicted: 0.5, rival: 1, z: 3 }),
    (e: Error) =>
      /claim "half": measured 0.6 ± 0.01, not within 0.03 of the prediction 0.5/.test(e.message),
  );
  assert.equal(claims().length, 0, "a failed claim is not recorded");
});

Deno.test("claim: a measurement the rival explains too is a failure", () => {
  assert.throws(
    () =>
      claim({
        name: "m",
        measured: 0.75,
        se: 0.1,
        predicted: 0.5,
        rival: 1,
        rivalIs: "none",
        z: 3,
      }),
    /the rival 1 \(none\) is within the tolerance/,
  );
});

Deno.test("claim: a check whose prediction and rival lie within the tolerance is refused", () => {
  // The measurement sits on the prediction; the rival is 0.8 tolerances away: blind check.
  assert.throws(
    () =>
      claim({ name: "blind", measured: 0.5, tol: 0.1, why: "bound", predicted: 0.5, rival: 0.58 }),
    /cannot tell the claim from its rival/,
  );
});

Deno.test("claim: inequalities clear the rival by the tolerance, in both directions", () => {
  resetClaims();
  quiet(() => {
    claim({ name: "gain", kind: "above", measured: 0.05, se: 0.01, rival: 0, z: 2 });
    claim({ name: "loss", kind: "below", measured: 1.2, se: 0.05, rival: 1.5, z: 3 });
  });
  assert.throws(
    () => claim({ name: "tiny gain", kind: "above", measured: 0.015, se: 0.01, rival: 0, z: 2 }),
    /above the rival 0 by more than 0.02/,
  );
  for (const r of claims()) {
    assert.equal(evaluateClaim(r).ok, true, r.name);
    assert.equal(evaluateClaim(withRival(r)).holds, false, `${r.name} under its rival`);
  }
});

Deno.test("claim: bad specs are refused with what to do", () => {
  assert.throws(() => claim({ name: "", measured: 1, rival: 0, tol: 1 }), /give the claim a name/);
  assert.throws(
    () => claim({ name: "x", measured: 1, predicted: 1, rival: 0, tol: 0.1, z: 2, se: 0.1 }),
    /exactly one of z/,
  );
  assert.throws(() => claim({ name: "x", measured: 1, predicted: 1, rival: 0, z: 2 }), /z needs/);
  assert.throws(
    () => claim({ name: "x", measured: NaN, predicted: 1, rival: 0, tol: 0.1 }),
    /finite/,
  );
  assert.throws(
    () => claim({ name: "x", measured: 1, rival: 0, tol: 0.1 }),
    /needs a finite predicted/,
  );
});

Deno.test("claimsTable: one row per claim (a re-run replaces its row), JSON records", () => {
  resetClaims();
  quiet(() => {
    claim({ name: "a <b>", measured: 1.01, se: 0.01, predicted: 1, rival: 2, z: 3 });
    claim({ name: "exact", measured: 2, tol: 1e-12, why: "rounding", predicted: 2, rival: 3 });
    claim({ name: "a <b>", measured: 1.0, se: 0.01, predicted: 1, rival: 2, z: 3 });
  });
  const b = claimsTable().toMimeBundle();
  const html = String(b["text/html"]);
  assert.equal(html.match(/<tr>/g)?.length, 3, "a header and two rows");
  assert.ok(html.includes("a &#60;b&#62;"), "names are escaped");
  assert.ok(!html.includes("<b>"));
  const recs = (b[CLAIMS_MIME] as { claims: ClaimRecord[] }).claims;
  assert.deepEqual(recs.map((r) => [r.name, r.measured]), [["a <b>", 1.0], ["exact", 2]]);
  assert.match(String(b["text/plain"]), /exact \| 2 \| 2 ± 1\.000e-12 \| 3 \| 1\.000e\+12 × tol/);
});
