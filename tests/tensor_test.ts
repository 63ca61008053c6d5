// Forward values, autograd semantics (accumulation, leaves, noGrad, detach), PyTorch's choices at
// kinks and ties, creation functions, error messages, and the fast matmul kernel against the
// reference triple loop.
import { deepStrictEqual, equal, ok, throws } from "node:assert";
import { assertClose } from "@kit/check.ts";
import {
  gemm,
  gemmBackend,
  gemmBlocked,
  gemmSimd,
  matmulReference,
  reluBackward,
  setGemmBackend,
} from "@kit/kernels.ts";
import { rng } from "@kit/random.ts";
import {
  arange,
  broadcastShapes,
  concat,
  eye,
  full,
  isGradEnabled,
  linear,
  linspace,
  noGrad,
  ones,
  rand,
  randn,
  stack,
  Tensor,
  tensor,
  where,
  zeros,
} from "@kit/tensor.ts";

// ---------------------------------------------------------------------------------------------
// Construction and conversion

Deno.test("tensor() infers the shape and copies nested arrays", () => {
  const src = [[1, 2, 3], [4, 5, 6]];
  const t = tensor(src);
  deepStrictEqual(t.shape, [2, 3]);
  equal(t.size, 6);
  equal(t.ndim, 2);
  deepStrictEqual(Array.from(t.data), [1, 2, 3, 4, 5, 6]);
  src[0][0] = 99;
  equal(t.data[0], 1);
  deepStrictEqual(t.toArray(), [[1, 2, 3], [4, 5, 6]]);
  equal(tensor(3.5).ndim, 0);
  equal(tensor(3.5).toArray(), 3.5);
  equal(tensor(3.5).item(), 3.5);
  deepStrictEqual(tensor([[[1], [2]]]).toArray(), [[[1], [2]]]);
  deepStrictEqual(tensor([]).shape, [0]);
  const ints = Int32Array.of(3, 1);
  const fromTyped = tensor(ints);
  deepStrictEqual(fromTyped.toArray(), [3, 1]);
  ints[0] = 9;
  equal(fromTyped.data[0], 3); // copied
});

Deno.test("tensor() rejects ragged and non-numeric nested arrays, naming the position", () => {
  throws(() => tensor([[1, 2], [3]]), /ragged.*\[1\].*length 1.*length 2/);
  throws(() => tensor([[1, 2], [3, "x" as unknown as number]]), /element at \[1, 1\]/);
});

Deno.test("new Tensor checks data type and size against the shape", () => {
  throws(
    () => new Tensor(new Float64Array(5), [2, 3]),
    /shape \[2, 3\] holds 6 elements but data has 5/,
  );
  throws(() => new Tensor([1, 2] as unknown as Float64Array, [2]), /Float64Array/);
  throws(() => new Tensor(new Float64Array(2), [2.5]), /non-negative integers/);
});

Deno.test("item() needs exactly one element and says how to reduce", () => {
  equal(tensor([[7]]).item(), 7);
  throws(() => tensor([1, 2]).item(), /shape \[2\].*sum\(\)/);
});

Deno.test("creation functions: zeros, ones, full, eye", () => {
  deepStrictEqual(zeros([2, 2]).toArray(), [[0, 0], [0, 0]]);
  deepStrictEqual(ones([3]).toArray(), [1, 1, 1]);
  deepStrictEqual(full([2, 1], -2.5).toArray(), [[-2.5], [-2.5]]);
  deepStrictEqual(eye(3).toArray(), [[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
  deepStrictEqual(eye(2, 3).toArray(), [[1, 0, 0], [0, 1, 0]]);
  ok(zeros([2], { requiresGrad: true }).requiresGrad);
  throws(() => zeros([2, -1]), /non-negative integers/);
});

Deno.test("arange follows torch.arange: length ceil((end-start)/step), element start + i*step", () => {
  deepStrictEqual(arange(5).toArray(), [0, 1, 2, 3, 4]);
  deepStrictEqual(arange(2, 5).toArray(), [2, 3, 4]);
  deepStrictEqual(arange(5, 0, -2).toArray(), [5, 3, 1]);
  // torch.arange(0, 1, 0.1) has 10 elements; the last is 9 * 0.1 = 0.9000000000000001
  const a = arange(0, 1, 0.1);
  equal(a.size, 10);
  equal(a.data[9], 9 * 0.1);
  equal(a.data[3], 3 * 0.1);
  equal(arange(0).size, 0);
  throws(() => arange(0, 5, 0), /step must be a non-zero/);
  throws(() => arange(5, 0, 1), /sign/);
});

Deno.test("linspace matches torch.linspace (both ends exact, symmetric halves)", () => {
  deepStrictEqual(linspace(0, 1, 5).toArray(), [0, 0.25, 0.5, 0.75, 1]);
  deepStrictEqual(linspace(-1, 1, 3).toArray(), [-1, 0, 1]);
  deepStrictEqual(linspace(3, 7, 1).toArray(), [3]);
  equal(linspace(0, 1, 0).size, 0);
  // torch computes the upper half from the end: element i >= steps/2 is end - step*(steps-1-i),
  // so with step 1/9 element 9 is exactly 1 and element 8 is 1 - 1/9
  const l = linspace(0, 1, 10);
  equal(l.data[9], 1);
  equal(l.data[8], 1 - 1 / 9);
  equal(l.data[4], 4 * (1 / 9));
});

Deno.test("rand and randn draw in row-major order as NumPy's legacy RandomState", () => {
  // np.random.seed(0); np.random.rand(3)
  assertClose(rand([3], rng(0)), [0.5488135039273248, 0.7151893663724195, 0.6027633760716439], {
    rtol: 1e-15,
    atol: 0,
  });
  // np.random.seed(0); np.random.randn(2, 2)
  assertClose(
    randn([2, 2], rng(0)),
    [[1.764052345967664, 0.4001572083672233], [0.9787379841057392, 2.240893199201458]],
    { rtol: 1e-14, atol: 0 },
  );
});

Deno.test("toString renders values, shape and the grad flag", () => {
  equal(String(tensor([[1, 2.5], [3, 4]])), "tensor([[1, 2.5], [3, 4]], shape=[2, 2])");
  equal(String(tensor([1, 2], { requiresGrad: true })), "tensor([1, 2], requiresGrad=true)");
  ok(String(zeros([2000])).includes("..."));
});

// ---------------------------------------------------------------------------------------------
// Forward values

Deno.test("elementwise ops with broadcasting: values", () => {
  deepStrictEqual(tensor([[1], [2]]).add(tensor([10, 20])).toArray(), [[11, 21], [12, 22]]);
  deepStrictEqual(tensor([5, 7]).sub(2).toArray(), [3, 5]);
  deepStrictEqual(tensor([1, 2, 3]).mul(tensor([2])).toArray(), [2, 4, 6]);
  deepStrictEqual(tensor([1, 2]).div(4).toArray(), [0.25, 0.5]);
  deepStrictEqual(tensor([2, 3]).pow(tensor([[2], [0]])).toArray(), [[4, 9], [1, 1]]);
  deepStrictEqual(tensor([1, 5]).maximum(3).toArray(), [3, 5]);
  deepStrictEqual(tensor([1, 5]).minimum(3).toArray(), [1, 3]);
  deepStrictEqual(tensor(2).add(tensor([[1, 2]])).shape, [1, 2]);
  deepStrictEqual(broadcastShapes([2, 1, 4], [3, 1]), [2, 3, 4]);
  deepStrictEqual(broadcastShapes([], [3]), [3]);
});

Deno.test("unary ops: values, including stable sigmoid and clamp", () => {
  deepStrictEqual(tensor([1, -2]).neg().toArray(), [-1, 2]);
  deepStrictEqual(tensor([0]).exp().toArray(), [1]);
  deepStrictEqual(tensor([1]).log().toArray(), [0]);
  deepStrictEqual(tensor([4, 9]).sqrt().toArray(), [2, 3]);
  deepStrictEqual(tensor([-2, 0, 3]).abs().toArray(), [2, 0, 3]);
  deepStrictEqual(tensor([-2, 0, 3]).sign().toArray(), [-1, 0, 1]);
  deepStrictEqual(tensor([-1, 0, 2]).relu().toArray(), [0, 0, 2]);
  ok(Number.isNaN(tensor([NaN]).relu().item())); // as torch.relu
  deepStrictEqual(tensor([0, -1000, 1000]).sigmoid().toArray(), [0.5, 0, 1]);
  assertClose(tensor([2]).sigmoid(), [1 / (1 + Math.exp(-2))], { rtol: 1e-15, atol: 0 });
  assertClose(tensor([0.5]).tanh(), [Math.tanh(0.5)], { rtol: 0, atol: 0 });
  deepStrictEqual(tensor([-2, 0.5, 3]).clamp(0, 1).toArray(), [0, 0.5, 1]);
  deepStrictEqual(tensor([-2, 0.5, 3]).clamp(null, 1).toArray(), [-2, 0.5, 1]);
  deepStrictEqual(tensor([-2, 0.5, 3]).clamp(0).toArray(), [0, 0.5, 3]);
  throws(() => tensor([1]).clamp(), /at least one/);
});

Deno.test("softmax and logSoftmax are stable and sum to one", () => {
  assertClose(tensor([0, Math.log(3)]).softmax(), [0.25, 0.75], { rtol: 1e-15, atol: 0 });
  const big = tensor([[1000, 1001, 1002], [-1000, -1000, -1000]]);
  const s = big.softmax(1);
  ok(s.data.every(Number.isFinite));
  assertClose(s.sum(1), [1, 1], { rtol: 1e-15, atol: 1e-15 });
  // log-sum-exp of [1000, 1000] is 1000 + log 2
  assertClose(tensor([1000, 1000]).logSoftmax(), [-Math.LN2, -Math.LN2], { rtol: 1e-15, atol: 0 });
  assertClose(big.logSoftmax(1).exp(), s, { rtol: 1e-13, atol: 1e-300 });
  // along axis 0 of a 3-D tensor: the columns sum to one
  const t = randn([3, 2, 2], rng(1)).softmax(0);
  assertClose(t.sum(0), ones([2, 2]), { rtol: 1e-15, atol: 1e-15 });
});

Deno.test("matmul: 1-D and 2-D cases and batch broadcasting, as torch.matmul", () => {
  const A = tensor([[1, 2], [3, 4]]);
  deepStrictEqual(A.matmul(tensor([[5], [6]])).toArray(), [[17], [39]]);
  deepStrictEqual(tensor([1, 2]).matmul(tensor([3, 4])).shape, []);
  equal(tensor([1, 2]).matmul(tensor([3, 4])).item(), 11);
  deepStrictEqual(tensor([1, 1]).matmul(A).toArray(), [4, 6]);
  deepStrictEqual(A.matmul(tensor([1, 1])).toArray(), [3, 7]);
  const g = rng(5);
  const a = randn([2, 1, 3, 4], g), b = randn([3, 4, 5], g);
  const c = a.matmul(b);
  deepStrictEqual(c.shape, [2, 3, 3, 5]);
  // batch (1, 2) uses a[1, 0] and b[2]
  const a10 = new Float64Array(a.data.subarray(12, 24)), b2 = b.data.subarray(40, 60);
  const ref = matmulReference(a10, new Float64Array(b2), 3, 4, 5);
  assertClose(c.data.subarray((1 * 3 + 2) * 15, (1 * 3 + 2) * 15 + 15), ref, { rtol: 1e-14 });
});

Deno.test("linear equals x W^T + b", () => {
  const g = rng(3);
  const x = randn([6, 4], g), w = randn([3, 4], g), b = randn([3], g);
  assertClose(linear(x, w, b), x.matmul(w.T).add(b), { rtol: 1e-13, atol: 1e-13 });
  assertClose(linear(x, w), x.matmul(w.T), { rtol: 1e-13, atol: 1e-13 });
  deepStrictEqual(linear(randn([2, 5, 4], g), w).shape, [2, 5, 3]);
});

Deno.test("transpose, T, reshape, squeeze, unsqueeze", () => {
  const t = arange(6).reshape([2, 3]);
  deepStrictEqual(t.T.toArray(), [[0, 3], [1, 4], [2, 5]]);
  deepStrictEqual(t.transpose(0, 1).toArray(), [[0, 3], [1, 4], [2, 5]]);
  const u = arange(24).reshape([2, 3, 4]).transpose(0, 2);
  deepStrictEqual(u.shape, [4, 3, 2]);
  equal(u.toArray() && (u.toArray() as number[][][])[3][2][1], 1 * 12 + 2 * 4 + 3);
  deepStrictEqual(arange(6).reshape([3, -1]).shape, [3, 2]);
  deepStrictEqual(tensor([1, 2]).unsqueeze(1).shape, [2, 1]);
  deepStrictEqual(tensor([1, 2]).unsqueeze(-1).shape, [2, 1]);
  deepStrictEqual(zeros([2, 1, 3, 1]).squeeze().shape, [2, 3]);
  deepStrictEqual(zeros([2, 1, 3, 1]).squeeze(1).shape, [2, 3, 1]);
  throws(() => zeros([3, 4, 5]).T, /transpose\(dim0, dim1\)/);
  throws(() => arange(6).reshape([4, -1]), /cannot reshape a tensor of shape \[6\]/);
  throws(() => arange(6).reshape([4, 2]), /\[6\].*\[4, 2\]/);
  throws(() => arange(6).reshape([-1, -1]), /only one -1/);
});

Deno.test("reductions: sum, mean, var (both corrections), max, min, argmax", () => {
  const t = tensor([[1, 2], [3, 4]]);
  equal(t.sum().item(), 10);
  deepStrictEqual(t.sum(0).toArray(), [4, 6]);
  deepStrictEqual(t.sum(-1, true).toArray(), [[3], [7]]);
  deepStrictEqual(t.sum([0, 1]).shape, []);
  deepStrictEqual(t.mean(1).toArray(), [1.5, 3.5]);
  equal(t.mean().item(), 2.5);
  // unbiased: sum of squared deviations 5 over (4 - 1); biased: over 4
  assertClose(t.var(), 5 / 3, { rtol: 1e-15, atol: 0 });
  assertClose(t.var(undefined, false, 0), 1.25, { rtol: 1e-15, atol: 0 });
  deepStrictEqual(t.var(0).toArray(), [2, 2]);
  deepStrictEqual(t.var(1, true, 0).toArray(), [[0.25], [0.25]]);
  deepStrictEqual(tensor([[1, 5], [7, 2]]).max(1).toArray(), [5, 7]);
  deepStrictEqual(tensor([[1, 5], [7, 2]]).max(0, true).toArray(), [[7, 5]]);
  equal(tensor([[1, 5], [7, 2]]).max().item(), 7);
  deepStrictEqual(tensor([[1, 5], [7, 2]]).min(1).toArray(), [1, 2]);
  deepStrictEqual(tensor([[1, 5], [7, 2]]).argmax(1).toArray(), [1, 0]);
  equal(tensor([[1, 5], [7, 2]]).argmax().item(), 2);
  deepStrictEqual(tensor([3, 3, 1]).argmax().item(), 0);
  const r = randn([2, 3, 4], rng(9));
  assertClose(r.sum([0, 2]), r.sum(2).sum(0), { rtol: 1e-14, atol: 1e-14 });
  assertClose(r.mean([0, 2], true).reshape([3]), r.sum([0, 2]).div(8), { rtol: 1e-14 });
  throws(() => t.sum(2), /axis 2 is out of range.*\[-2, 1\]/);
  throws(() => t.sum([1, -1]), /twice/);
});

Deno.test("gather follows torch.gather and validates its index", () => {
  const t = tensor([[1, 2, 3], [4, 5, 6]]);
  deepStrictEqual(t.gather(1, tensor([[2], [0]])).toArray(), [[3], [4]]);
  deepStrictEqual(t.gather(0, tensor([[1, 0, 1]])).toArray(), [[4, 2, 6]]);
  deepStrictEqual(t.gather(1, tensor([[0, 0], [2, 1]])).toArray(), [[1, 1], [6, 5]]);
  throws(() => t.gather(1, tensor([2, 0])), /same number of dimensions|as many dimensions/);
  throws(() => t.gather(1, tensor([[3], [0]])), /index value 3 at position \[0, 0\].*\[0, 3\)/);
  throws(() => t.gather(1, tensor([[0.5], [0]])), /not an integer/);
});

Deno.test("concat, stack and where: values and shape errors", () => {
  deepStrictEqual(concat([tensor([[1, 2]]), tensor([[3, 4]])], 0).toArray(), [[1, 2], [3, 4]]);
  deepStrictEqual(concat([tensor([[1], [2]]), tensor([[3, 4], [5, 6]])], 1).toArray(), [
    [1, 3, 4],
    [2, 5, 6],
  ]);
  deepStrictEqual(stack([tensor([1, 2]), tensor([3, 4])], 1).toArray(), [[1, 3], [2, 4]]);
  deepStrictEqual(stack([tensor([1, 2]), tensor([3, 4])]).toArray(), [[1, 2], [3, 4]]);
  deepStrictEqual(where(tensor([1, 0, 1]), tensor([1, 2, 3]), 0).toArray(), [1, 0, 3]);
  deepStrictEqual(where(tensor([[1], [0]]), 1, tensor([5, 6])).toArray(), [[1, 1], [5, 6]]);
  throws(
    () => concat([tensor([[1, 2]]), tensor([[3]])], 0),
    /tensor 1 has shape \[1, 1\].*\[1, 2\]/,
  );
  throws(() => stack([tensor([1, 2]), tensor([3])]), /tensor 1 has shape \[1\]/);
  throws(() => where(tensor([1, 0]), tensor([1, 2, 3]), 0), /\[2\] and \[3\]/);
});

// ---------------------------------------------------------------------------------------------
// Autograd semantics

Deno.test("backward of a scalar loss fills .grad of leaves only", () => {
  const x = tensor([1, 2, 3], { requiresGrad: true });
  const y = x.mul(x);
  const loss = y.sum();
  loss.backward();
  deepStrictEqual(x.grad!.toArray(), [2, 4, 6]);
  equal(y.grad, null); // non-leaf gradients are not kept
  equal(loss.grad, null);
  ok(y.requiresGrad);
});

Deno.test("gradients accumulate across backward calls, as PyTorch", () => {
  const w = tensor([1, -1], { requiresGrad: true });
  w.mul(3).sum().backward();
  w.mul(3).sum().backward();
  deepStrictEqual(w.grad!.toArray(), [6, 6]);
  w.grad = null;
  w.mul(2).sum().backward();
  deepStrictEqual(w.grad!.toArray(), [2, 2]);
});

Deno.test("a tensor used twice receives the sum of both paths", () => {
  const x = tensor([2], { requiresGrad: true });
  // y = x * x + 3x -> dy/dx = 2x + 3 = 7
  x.mul(x).add(x.mul(3)).sum().backward();
  deepStrictEqual(x.grad!.toArray(), [7]);
  // diamond: a = 2x, b = a + a, c = b * a -> c = 8x^2, dc/dx = 16x = 32
  const z = tensor([2], { requiresGrad: true });
  const a = z.mul(2);
  a.add(a).mul(a).sum().backward();
  deepStrictEqual(z.grad!.toArray(), [32]);
});

Deno.test("backward with an explicit upstream gradient on a non-scalar", () => {
  const x = tensor([[1, 2], [3, 4]], { requiresGrad: true });
  x.mul(2).backward(tensor([[1, 0], [0, 10]]));
  deepStrictEqual(x.grad!.toArray(), [[2, 0], [0, 20]]);
  throws(() => x.mul(2).backward(tensor([1, 2])), /grad has shape \[2\].*\[2, 2\]/);
});

Deno.test("backward errors: non-scalar without gradient, graph without grad", () => {
  const x = tensor([1, 2], { requiresGrad: true });
  throws(() => x.mul(2).backward(), /shape \[2\].*one-element.*\.sum\(\)/);
  throws(() => tensor([1, 2]).sum().backward(), /does not require grad.*requiresGrad: true/);
  throws(() => noGrad(() => x.mul(2).sum()).backward(), /does not require grad.*noGrad/);
});

Deno.test("backward on a leaf itself, and leaves that were never used keep grad null", () => {
  const x = tensor(3, { requiresGrad: true });
  const unused = tensor([1], { requiresGrad: true });
  x.backward();
  equal(x.grad!.item(), 1);
  equal(unused.grad, null);
});

Deno.test("noGrad builds no graph, restores the flag even when fn throws", () => {
  const w = tensor([1, 2], { requiresGrad: true });
  ok(isGradEnabled());
  const y = noGrad(() => {
    equal(isGradEnabled(), false);
    return w.mul(2).add(1);
  });
  equal(y.requiresGrad, false);
  deepStrictEqual(y.toArray(), [3, 5]);
  ok(isGradEnabled());
  throws(() =>
    noGrad(() => {
      throw new Error("boom");
    }), /boom/);
  ok(isGradEnabled());
  // nested: the inner call restores "disabled"
  noGrad(() => {
    noGrad(() => 0);
    equal(isGradEnabled(), false);
  });
});

Deno.test("detach shares data and cuts the graph; clone copies and keeps it", () => {
  const w = tensor([1, 2], { requiresGrad: true });
  const d = w.detach();
  equal(d.requiresGrad, false);
  equal(d.data, w.data);
  const c = w.clone();
  ok(c.data !== w.data);
  c.data[0] = 100;
  equal(w.data[0], 1);
  // loss = sum(w * detach(w)): gradient is detach(w) only
  w.mul(w.detach()).sum().backward();
  deepStrictEqual(w.grad!.toArray(), [1, 2]);
  const v = tensor([1, 2], { requiresGrad: true });
  v.clone().mul(3).sum().backward();
  deepStrictEqual(v.grad!.toArray(), [3, 3]);
});

Deno.test("reshape shares data, like a PyTorch view", () => {
  const w = tensor([1, 2, 3, 4]);
  const r = w.reshape([2, 2]);
  w.data[0] = 9;
  equal(r.data[0], 9);
});

Deno.test("PyTorch's gradients at kinks: relu(0), abs(0), sign, clamp bounds, pow exponent 0", () => {
  const x = tensor([-1, 0, 2], { requiresGrad: true });
  x.relu().sum().backward();
  deepStrictEqual(x.grad!.toArray(), [0, 0, 1]);
  const y = tensor([-1, 0, 2], { requiresGrad: true });
  y.abs().sum().backward();
  deepStrictEqual(y.grad!.toArray(), [-1, 0, 1]);
  const s = tensor([-1, 0, 2], { requiresGrad: true });
  s.sign().sum().backward();
  deepStrictEqual(s.grad!.toArray(), [0, 0, 0]);
  // clamp passes the gradient where min <= x <= max, bounds included
  const c = tensor([-1, 0, 0.5, 1, 2], { requiresGrad: true });
  c.clamp(0, 1).sum().backward();
  deepStrictEqual(c.grad!.toArray(), [0, 1, 1, 1, 0]);
  // d/dx x^0 = 0 even at x = 0; d/dp 0^p = 0 for p >= 0
  const b = tensor([0, 2], { requiresGrad: true }), p = tensor([0, 0], { requiresGrad: true });
  b.pow(p).sum().backward();
  deepStrictEqual(b.grad!.toArray(), [0, 0]);
  deepStrictEqual(p.grad!.toArray(), [0, Math.log(2)]);
  // sqrt at 0: infinite slope, as PyTorch
  const q = tensor([0], { requiresGrad: true });
  q.sqrt().sum().backward();
  equal(q.grad!.item(), Infinity);
});

Deno.test("ties: max(axis) routes to the first maximum, max() and maximum split evenly", () => {
  const x = tensor([[3, 1, 3], [2, 2, 0]], { requiresGrad: true });
  x.max(1).sum().backward();
  deepStrictEqual(x.grad!.toArray(), [[1, 0, 0], [1, 0, 0]]);
  const y = tensor([[3, 1, 3], [2, 3, 0]], { requiresGrad: true });
  y.max().backward();
  deepStrictEqual(y.grad!.toArray(), [[1 / 3, 0, 1 / 3], [0, 1 / 3, 0]]);
  const a = tensor([1, 2, 3], { requiresGrad: true }),
    b = tensor([2, 2, 2], { requiresGrad: true });
  a.maximum(b).sum().backward();
  deepStrictEqual(a.grad!.toArray(), [0, 0.5, 1]);
  deepStrictEqual(b.grad!.toArray(), [1, 0.5, 0]);
});

Deno.test("broadcast gradients are summed over the broadcast dimensions", () => {
  const a = tensor([[1], [2], [3]], { requiresGrad: true });
  const b = tensor([[10, 20, 30, 40]], { requiresGrad: true });
  a.mul(b).sum().backward();
  deepStrictEqual(a.grad!.toArray(), [[100], [100], [100]]);
  deepStrictEqual(b.grad!.toArray(), [[6, 6, 6, 6]]);
  const s = tensor(2, { requiresGrad: true });
  ones([2, 3]).mul(s).sum().backward();
  equal(s.grad!.item(), 6);
  deepStrictEqual(s.grad!.shape, []);
});

Deno.test("linear backward: dX = dY W, dW = dY^T X, db = column sums of dY", () => {
  const g = rng(11);
  const x = randn([5, 3], g, { requiresGrad: true });
  const w = randn([4, 3], g, { requiresGrad: true });
  const b = randn([4], g, { requiresGrad: true });
  const dy = randn([5, 4], g);
  linear(x, w, b).backward(dy);
  assertClose(x.grad!, dy.matmul(w), { rtol: 1e-13, atol: 1e-13 });
  assertClose(w.grad!, dy.T.matmul(x), { rtol: 1e-13, atol: 1e-13 });
  assertClose(b.grad!, dy.sum(0), { rtol: 1e-13, atol: 1e-13 });
});

Deno.test("shape errors name the operation, both shapes and a remedy", () => {
  throws(
    () => tensor([[1, 2]]).add(tensor([1, 2, 3])),
    /add: shapes \[1, 2\] and \[3\] cannot be broadcast.*reshape/,
  );
  throws(
    () => ones([3, 2]).mul(ones([4, 2])),
    /mul: shapes \[3, 2\] and \[4, 2\].*dimension -2.*sizes 3 and 4/,
  );
  throws(
    () => ones([2, 3]).matmul(ones([2, 3])),
    /matmul: shapes \[2, 3\] and \[2, 3\] are not aligned.*\(3\).*\(2\).*Transpose/,
  );
  throws(() => ones([3]).matmul(ones([4])), /matmul: shapes \[3\] and \[4\]/);
  throws(
    () => ones([2, 2, 3]).matmul(ones([3, 3, 4])),
    /matmul of \[2, 2, 3\] and \[3, 3, 4\] \(batch dimensions\).*\[2\] and \[3\]/,
  );
  throws(() => ones([2]).matmul(tensor(3)), /at least one dimension.*mul\(\)/);
  throws(
    () => linear(ones([5, 3]), ones([4, 2])),
    /linear: input of shape \[5, 3\].*weight of shape \[4, 2\].*inFeatures = 2/,
  );
  throws(() => linear(ones([5, 2]), ones([4, 2]), ones([3])), /bias of shape \[3\].*\[4\]/);
});

// ---------------------------------------------------------------------------------------------
// The matmul kernel against the reference triple loop on odd shapes

function transposeOf(a: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
  return t;
}

const kernels = { gemm, gemmBlocked, gemmSimd };

for (const [name, kernel] of Object.entries(kernels)) {
  Deno.test(`${name} (all transpose variants, offsets, accumulation) equals matmulReference`, () => {
    const g = rng(2024);
    const sizes = [1, 7, 33, 65, 129];
    const fill = (n: number) => Float64Array.from({ length: n }, () => g.normal());
    let cases = 0;
    for (const m of sizes) {
      for (const k of sizes) {
        for (const n of sizes) {
          if (m * k * n > 129 * 129 * 65) continue; // keep the test fast; 129^3 is covered below
          const a = fill(m * k), b = fill(k * n);
          const ref = matmulReference(a, b, m, k, n);
          const at = transposeOf(a, m, k), bt = transposeOf(b, k, n);
          for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]]) {
            // offsets and a non-zero C check indexing and accumulation
            const pad = 3;
            const A = new Float64Array(pad + a.length), B = new Float64Array(pad + b.length);
            A.set(ta ? at : a, pad);
            B.set(tb ? bt : b, pad);
            const C = new Float64Array(pad + m * n + pad).fill(1);
            kernel(ta, tb, m, n, k, A, pad, B, pad, C, pad);
            const expected = ref.map((v) => v + 1);
            assertClose(C.subarray(pad, pad + m * n), expected, {
              rtol: 1e-12,
              atol: 1e-12,
              msg: `${name}(transA=${ta}, transB=${tb}) m=${m} k=${k} n=${n}`,
            });
            ok(C[0] === 1 && C[pad + m * n] === 1, `${name} wrote outside C's block`);
            cases++;
          }
        }
      }
    }
    ok(cases > 400);
    const big = 129;
    const a = fill(big * big), b = fill(big * big);
    const c = new Float64Array(big * big);
    kernel(false, false, big, big, big, a, 0, b, 0, c, 0);
    assertClose(c, matmulReference(a, b, big, big, big), { rtol: 1e-12, atol: 1e-12 });
  });
}

Deno.test("the SIMD and TypeScript kernels give bitwise identical results (same summation order)", () => {
  const g = rng(7);
  for (const [m, k, n] of [[64, 300, 70], [130, 64, 10], [7, 513, 9]]) {
    const a = Float64Array.from({ length: m * k }, () => g.normal());
    const b = Float64Array.from({ length: n * k }, () => g.normal());
    const c1 = new Float64Array(m * n), c2 = new Float64Array(m * n);
    gemmBlocked(false, true, m, n, k, a, 0, b, 0, c1, 0);
    gemmSimd(false, true, m, n, k, a, 0, b, 0, c2, 0);
    deepStrictEqual(c2, c1);
  }
});

Deno.test("gemmSimd on single blocks (operands read in place, C whole tiles wide) is bitwise gemmBlocked", () => {
  // m <= 128, n <= 512, k <= 256 take the unpacked single-block path; widths that are multiples
  // of 8 make the kernel accumulate into a copy of C; other widths add a scratch block back.
  const g = rng(11);
  const fill = (len: number) => Float64Array.from({ length: len }, () => g.normal());
  const shapes = [[1, 8, 1], [2, 8, 3], [3, 16, 5], [8, 8, 8], [32, 32, 32], [5, 24, 256]];
  shapes.push([128, 64, 17], [17, 512, 9], [64, 10, 128], [10, 64, 128], [9, 7, 2], [2, 3, 1]);
  for (const [m, n, k] of shapes) {
    for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]]) {
      const a = fill(m * k + 2), b = fill(k * n + 2), c0 = fill(m * n + 4);
      const c1 = c0.slice(), c2 = c0.slice();
      gemmBlocked(ta, tb, m, n, k, a, 2, b, 2, c1, 2);
      gemmSimd(ta, tb, m, n, k, a, 2, b, 2, c2, 2);
      deepStrictEqual(c2, c1, `transA=${ta} transB=${tb} m=${m} n=${n} k=${k}`);
    }
  }
});

Deno.test("gemmSimd ignores what earlier products left in its scratch memory (padding reads)", () => {
  // a product full of NaN, then small odd shapes whose padding rows and columns read past the
  // operands into that leftover memory: none of it may reach C
  const big = 130, nan = new Float64Array(big * big).fill(NaN);
  gemmSimd(false, false, big, big, big, nan, 0, nan, 0, new Float64Array(big * big), 0);
  gemmSimd(
    false,
    true,
    100,
    500,
    250,
    nan,
    0,
    new Float64Array(500 * 250).fill(NaN),
    0,
    new Float64Array(100 * 500),
    0,
  );
  const g = rng(12);
  for (const [m, n, k] of [[3, 5, 7], [7, 9, 33], [33, 17, 65], [5, 16, 3]]) {
    for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]]) {
      const a = Float64Array.from({ length: m * k }, () => g.normal());
      const b = Float64Array.from({ length: k * n }, () => g.normal());
      const c = new Float64Array(m * n);
      gemmSimd(ta, tb, m, n, k, a, 0, b, 0, c, 0);
      const ref = matmulReference(
        ta ? transposeOf(a, k, m) : a,
        tb ? transposeOf(b, n, k) : b,
        m,
        k,
        n,
      );
      assertClose(c, ref, { rtol: 1e-12, atol: 1e-12, msg: `${ta} ${tb} ${m} ${n} ${k}` });
    }
  }
});

Deno.test("reluBackward (WebAssembly SIMD, in chunks) equals the plain loop bitwise", () => {
  const g = rng(13);
  const special = [0, -0, NaN, Infinity, -Infinity, 1e-300, -1e-300];
  for (const n of [1, 63, 64, 65, 1001, 131072 * 2 + 3]) {
    const x = Float64Array.from({ length: n }, (_, i) => i < 7 ? special[i] : g.normal());
    const grad = Float64Array.from(
      { length: n },
      (_, i) => i % 5 === 0 ? special[i % 7] : g.normal(),
    );
    const expected = grad.map((v, i) => (x[i] > 0 ? v : 0));
    reluBackward(x, grad);
    deepStrictEqual(grad, expected, `n=${n}`);
  }
});

Deno.test("tensor ops give the same values on either gemm backend", () => {
  const g = rng(8);
  const x = randn([33, 65], g), w = randn([17, 65], g);
  const before = gemmBackend();
  try {
    setGemmBackend("ts");
    const viaTs = linear(x, w).data;
    setGemmBackend("wasm");
    deepStrictEqual(linear(x, w).data, viaTs);
  } finally {
    setGemmBackend(before);
  }
  equal(gemmBackend(), before);
});
