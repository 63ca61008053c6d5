// assertClose: pass/fail boundaries, messages (worst element, index, values, tolerances), input
// kinds. gradCheck: passes on correct gradients, catches a wrong one and says where.
import { AssertionError } from "node:assert";
import { deepStrictEqual, equal, ok, throws } from "node:assert";
import { assertClose, gradCheck } from "@kit/check.ts";
import { type Tensor, tensor } from "@kit/tensor.ts";

function message(fn: () => void): string {
  try {
    fn();
  } catch (e) {
    ok(e instanceof AssertionError, `expected an AssertionError, got ${e}`);
    return e.message;
  }
  throw new Error("expected a failure, but the assertion passed");
}

Deno.test("assertClose accepts values within atol + rtol*|expected|", () => {
  assertClose(0.1 + 0.2, 0.3);
  assertClose([1, 2, 3], [1, 2, 3 + 1e-8]);
  assertClose(tensor([[1, 2], [3, 4]]), [[1, 2], [3, 4]]);
  assertClose(tensor([1, 2]), Float64Array.of(1, 2));
  assertClose(tensor(5), 5);
  assertClose(100, 101, { rtol: 0.01, atol: 0 }); // |diff| 1 <= 0.01 * 101
  assertClose([Infinity, -Infinity], [Infinity, -Infinity]);
  assertClose([NaN, 1], [NaN, 1], { equalNan: true });
  assertClose([], []);
});

Deno.test("assertClose rejects just outside the tolerance", () => {
  throws(() => assertClose(100, 102, { rtol: 0.01, atol: 0 }), AssertionError);
  throws(() => assertClose(0, 1e-6), AssertionError); // default atol 1e-7
  throws(() => assertClose(NaN, NaN), AssertionError);
  throws(() => assertClose(1, NaN), AssertionError);
  throws(() => assertClose(Infinity, -Infinity), AssertionError);
  throws(() => assertClose(5, Infinity), AssertionError); // rtol * inf must not excuse it
});

Deno.test("assertClose names the worst element, its multi-index, both values and the tolerances", () => {
  const m = message(() =>
    assertClose(tensor([[1, 2, 3], [4, 5, 6]]), [[1, 2.1, 3], [4, 5, 7]], {
      rtol: 1e-3,
      atol: 1e-6,
      msg: "layer output",
    })
  );
  ok(m.startsWith("layer output: "), m);
  ok(m.includes("2 of 6 elements differ"), m);
  ok(m.includes("at index [1, 2]"), m); // |6 - 7| = 1 beats |2 - 2.1| = 0.1
  ok(m.includes("actual 6, expected 7"), m);
  ok(m.includes("rtol 0.001, atol 0.000001") || m.includes("rtol 0.001, atol 1e-6"), m);
});

Deno.test("assertClose ranks by excess over the tolerance, not raw difference", () => {
  // relative tolerance: |1000 - 1001| = 1 is within 1e-2 * 1001, |0 - 0.5| is not
  const m = message(() => assertClose([1000, 0], [1001, 0.5], { rtol: 1e-2, atol: 0.1 }));
  ok(m.includes("1 of 2 elements differ"), m);
  ok(m.includes("at index [1]: actual 0, expected 0.5"), m);
});

Deno.test("assertClose reports a shape mismatch with both shapes", () => {
  const m = message(() => assertClose(tensor([[1, 2]]), [1, 2]));
  ok(m.includes("shapes differ: actual [1, 2] vs expected [2]"), m);
  throws(() => assertClose(tensor([1]), 1), /shapes differ/);
});

Deno.test("assertClose on a scalar has no index and says 'value'", () => {
  const m = message(() => assertClose(1, 2));
  ok(m.includes("assertClose: value: actual 1, expected 2"), m);
});

Deno.test("gradCheck passes on correct gradients and reports the error size", () => {
  const x = tensor([0.3, -1.1, 2], { requiresGrad: true });
  const y = tensor([[0.5], [1.5]], { requiresGrad: true });
  const r = gradCheck((x, y) => x.mul(y).tanh(), [x, y]);
  ok(r.ok);
  ok(r.maxRelError < 1e-7, `${r.maxRelError}`);
  equal(r.checked, 6 * 3 + 6 * 2); // full Jacobian: 6 outputs times (3 + 2) inputs
});

Deno.test("gradCheck catches a wrong gradient and says where", () => {
  const x = tensor([1, 2, 3], { requiresGrad: true });
  // x * detach(x): autograd sees d/dx = x, the true derivative of x^2 is 2x
  const fn = (t: Tensor) => t.mul(t.detach());
  const r = gradCheck(fn, [x], { throws: false });
  equal(r.ok, false);
  ok(Math.abs(r.maxRelError - 0.5) < 1e-6, `${r.maxRelError}`); // |x - 2x| / 2x
  deepStrictEqual(r.worst!.input, 0);
  const m = message(() => gradCheck(fn, [x]));
  ok(/relative error 0\.5\d* > rtol 0\.000001 for input 0 at \[\d\], output \[\d\]/.test(m), m);
  ok(m.includes("autograd") && m.includes("central difference"), m);
});

Deno.test("gradCheck leaves inputs and their .grad as they were", () => {
  const x = tensor([0.5, 1.5], { requiresGrad: true });
  x.grad = tensor([7, 7]);
  gradCheck((x) => x.exp(), [x]);
  deepStrictEqual(x.grad.toArray(), [7, 7]);
  deepStrictEqual(x.toArray(), [0.5, 1.5]);
});

Deno.test("gradCheck requires inputs that require grad", () => {
  throws(() => gradCheck((x) => x.exp(), [tensor([1])]), /input 0 .*requiresGrad: true/);
});
