/**
 * Tensors with reverse-mode automatic differentiation, in the spirit of micrograd at tensor
 * granularity: every operation computes its forward value and, right next to it, the local
 * backward rule that turns the gradient of its output into gradients of its inputs.
 * {@link Tensor.backward} sorts the graph topologically and runs those rules in reverse.
 *
 * Conventions follow PyTorch: float64 data in a row-major `Float64Array`, NumPy broadcasting,
 * gradients accumulate into `.grad` of leaf tensors created with `{ requiresGrad: true }`,
 * intermediate gradients are freed, {@link noGrad} turns graph building off, and the gradients at
 * kinks are PyTorch's (relu'(0) = 0, leakyRelu'(0) = the negative slope, elu'(0) = alpha,
 * abs'(0) = 0, clamp passes the gradient at its bounds).
 *
 * Differences from PyTorch, each documented where it occurs:
 * - `reshape`, `unsqueeze`, `squeeze` and `detach` share data (views); `transpose` and `T` copy.
 * - There are no in-place operations; optimizers update `param.data` directly.
 * - `backward()` keeps the graph, so a second call adds the gradients again (PyTorch would need
 *   `retain_graph=True`), except through the hidden activations of a `Sequential` that runs
 *   `Linear` + `ReLU` fused: those are freed (reused by the next forward), as PyTorch frees
 *   saved tensors, unless `backward(grad, { retainGraph: true })`. Gradients of non-leaf tensors
 *   are never kept (no `retain_grad`).
 * - `noGrad(fn)` takes a synchronous function (the switch is a module-level flag).
 * - Matrix products run on the WebAssembly kernels of `kernels.ts`, with fused multiply-add where
 *   the CPU has it: not the same rounding as a BLAS (different summation order), and the last
 *   bits differ between CPUs with and without FMA (see `setGemmBackend`).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { tensor } from "@kit/tensor.ts";
 * const w = tensor([1, 2, 3], { requiresGrad: true });
 * const loss = w.mul(w).sum(); // sum of squares
 * loss.backward();
 * deepStrictEqual(w.grad!.toArray(), [2, 4, 6]);
 * ```
 *
 * @module
 */
import type { Rng } from "./random.ts";
import { gemm, linearBackward, linearForward, reluBackward, reluForward } from "./kernels.ts";

/** A tensor shape: sizes of the dimensions, outermost first. */
export type Shape = readonly number[];
/** Nested arrays of numbers, as accepted by {@link tensor} and returned by {@link Tensor.toArray}. */
export type NestedArray = number[] | NestedArray[];
/** SELU's alpha, as PyTorch's `torch.nn.SELU` (Klambauer et al. 2017, the fixed point (0, 1)). */
export const SELU_ALPHA = 1.6732632423543772;
/** SELU's scale lambda, as PyTorch's `torch.nn.SELU`. */
export const SELU_SCALE = 1.0507009873554805;
/** Options of the creation functions. */
export interface TensorOptions {
  /** Track operations on this tensor so that `backward()` fills its `.grad` (default false). */
  requiresGrad?: boolean;
}

/**
 * A local backward rule: receives the gradient of the operation's output and adds the gradients
 * of its inputs with `acc`. The array belongs to the rule (no other node holds it), so unary
 * rules overwrite it in place instead of allocating a new one.
 */
type BackwardFn = (grad: Float64Array) => void;

let gradEnabled = true;

/**
 * Runs `fn` with graph building turned off (PyTorch's `torch.no_grad()`): results of operations
 * inside do not require grad and keep no references to their inputs. Use it for evaluation and
 * for in-place parameter updates.
 *
 * The switch is a module-level flag restored when `fn` returns or throws. Pass a synchronous
 * function: for an `async` function the flag is restored at its first `await`, so work after that
 * runs with gradients enabled again.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { noGrad, tensor } from "@kit/tensor.ts";
 * const w = tensor([1, 2], { requiresGrad: true });
 * const y = noGrad(() => w.mul(2));
 * deepStrictEqual(y.requiresGrad, false);
 * ```
 */
export function noGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/**
 * Whether operations currently build the autograd graph (false inside {@link noGrad}).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { isGradEnabled, noGrad } from "@kit/tensor.ts";
 * deepStrictEqual(isGradEnabled(), true);
 * deepStrictEqual(noGrad(() => isGradEnabled()), false);
 * ```
 */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

// ---------------------------------------------------------------------------------------------
// Shape helpers

function numel(shape: Shape): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  return n;
}

function fmt(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}

function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** Normalises a possibly negative axis; `op` names the operation in the error. */
function normAxis(axis: number, ndim: number, op: string): number {
  const n = Math.max(ndim, 1); // a 0-d tensor accepts axis 0 and -1, as PyTorch
  if (!Number.isInteger(axis) || axis < -n || axis >= n) {
    throw new RangeError(
      `${op}: axis ${axis} is out of range for a tensor with ${ndim} dimension(s); ` +
        `use an axis in [${-ndim}, ${ndim - 1}]`,
    );
  }
  return axis < 0 ? axis + n : axis;
}

/** Normalised, sorted, distinct axes; `undefined` means all axes. */
function normAxes(axis: number | number[] | undefined, ndim: number, op: string): number[] {
  if (axis === undefined) return Array.from({ length: ndim }, (_, i) => i);
  const list = typeof axis === "number" ? [axis] : axis;
  const out = list.map((a) => normAxis(a, ndim, op));
  if (ndim === 0) return []; // a 0-d tensor accepts axis 0 or -1, as PyTorch, and has nothing to reduce
  if (new Set(out).size !== out.length) {
    throw new RangeError(`${op}: axis ${JSON.stringify(axis)} names a dimension twice`);
  }
  return out.sort((a, b) => a - b);
}

/**
 * The shape two operands broadcast to under NumPy's rules (align trailing dimensions; each pair
 * must be equal or one of them 1). Throws an error naming both shapes and `op` otherwise.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { broadcastShapes } from "@kit/tensor.ts";
 * deepStrictEqual(broadcastShapes([3, 1], [1, 4]), [3, 4]);
 * ```
 */
export function broadcastShapes(a: Shape, b: Shape, op = "broadcast"): number[] {
  const nd = Math.max(a.length, b.length);
  const out = new Array<number>(nd);
  for (let i = 0; i < nd; i++) {
    const da = i < nd - a.length ? 1 : a[i - (nd - a.length)];
    const db = i < nd - b.length ? 1 : b[i - (nd - b.length)];
    if (da !== db && da !== 1 && db !== 1) {
      throw new RangeError(
        `${op}: shapes ${fmt(a)} and ${fmt(b)} cannot be broadcast together: dimension ${
          i - nd
        } (counting from the end) has sizes ${da} and ${db}. Broadcasting aligns trailing ` +
          `dimensions, which must be equal or 1; reshape one operand (e.g. x.reshape([-1, 1])) ` +
          `or transpose it so they line up.`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides for reading an array of `small` shape as if expanded to `big` (0 on broadcast dims). */
function broadcastStrides(small: Shape, big: Shape): number[] {
  const nd = big.length, off = nd - small.length;
  const st = new Array<number>(nd).fill(0);
  let acc = 1;
  for (let i = small.length - 1; i >= 0; i--) {
    st[i + off] = small[i] === 1 ? 0 : acc;
    acc *= small[i];
  }
  return st;
}

/**
 * Copies `src` into a new row-major array of shape `shape`, reading element (i0, i1, ...) at
 * `sum(i_d * strides[d])`. Broadcast expansion (zero strides) and permutations are both this loop.
 */
function strided(src: Float64Array, strides: number[], shape: Shape): Float64Array {
  const n = numel(shape);
  const dst = new Float64Array(n);
  if (n === 0) return dst;
  const nd = shape.length;
  if (nd === 0) {
    dst[0] = src[0];
    return dst;
  }
  const inner = shape[nd - 1], si = strides[nd - 1];
  const idx = new Array<number>(nd).fill(0);
  let off = 0;
  for (let base = 0; base < n; base += inner) {
    if (si === 1) { for (let j = 0; j < inner; j++) dst[base + j] = src[off + j]; }
    else if (si === 0) dst.fill(src[off], base, base + inner);
    else for (let j = 0; j < inner; j++) dst[base + j] = src[off + j * si];
    for (let d = nd - 2; d >= 0; d--) {
      idx[d]++;
      off += strides[d];
      if (idx[d] < shape[d]) break;
      off -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
  return dst;
}

/** `src` (shape `from`) broadcast to shape `to`; returns `src` itself when the shapes agree. */
function expandTo(src: Float64Array, from: Shape, to: Shape): Float64Array {
  if (sameShape(from, to)) return src;
  if (src.length === 1) return new Float64Array(numel(to)).fill(src[0]);
  return strided(src, broadcastStrides(from, to), to);
}

/** Sums `src` (shape `big`) down to shape `small` (the reverse of broadcasting `small` to `big`). */
function sumTo(src: Float64Array, big: Shape, small: Shape): Float64Array {
  if (sameShape(big, small)) return src;
  const dst = new Float64Array(numel(small));
  const n = src.length;
  if (dst.length === 1) {
    let s = 0;
    for (let i = 0; i < n; i++) s += src[i];
    dst[0] = s;
    return dst;
  }
  const nd = big.length;
  const st = broadcastStrides(small, big);
  const inner = big[nd - 1], si = st[nd - 1];
  const idx = new Array<number>(nd).fill(0);
  let off = 0;
  for (let base = 0; base < n; base += inner) {
    if (si === 1) { for (let j = 0; j < inner; j++) dst[off + j] += src[base + j]; }
    else {
      let s = 0;
      for (let j = 0; j < inner; j++) s += src[base + j];
      dst[off] += s;
    }
    for (let d = nd - 2; d >= 0; d--) {
      idx[d]++;
      off += st[d];
      if (idx[d] < big[d]) break;
      off -= st[d] * big[d];
      idx[d] = 0;
    }
  }
  return dst;
}

/** Sizes (outer, length, inner) around `axis`, for loops along one dimension. */
function around(shape: Shape, axis: number): [number, number, number] {
  let outer = 1, inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i];
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i];
  return [outer, shape[axis], inner];
}

// ---------------------------------------------------------------------------------------------
// The Tensor

/**
 * An n-dimensional array of float64 values, row-major, that records the operations applied to it
 * when gradients are needed.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { Tensor } from "@kit/tensor.ts";
 * const t = new Tensor(Float64Array.of(1, 2, 3, 4, 5, 6), [2, 3]);
 * deepStrictEqual(t.shape, [2, 3]);
 * deepStrictEqual(t.toArray(), [[1, 2, 3], [4, 5, 6]]);
 * ```
 */
export class Tensor {
  /** The values, contiguous and row-major; optimizers update parameters through it in place. */
  data: Float64Array;
  /** Sizes of the dimensions. */
  readonly shape: Shape;
  /** Whether `backward()` computes a gradient for this tensor. */
  requiresGrad: boolean;
  #grad: Tensor | null = null;
  /** Code outside the engine may hold `#grad` (it was read or set through `grad`). */
  #gradSeen = false;
  /** @internal Inputs of the operation that produced this tensor (those requiring grad). */
  _prev: Tensor[] = [];
  /** @internal Local backward rule of that operation; null for leaves. */
  _backward: BackwardFn | null = null;
  /** @internal Gradient being accumulated during a backward pass. */
  _g: Float64Array | null = null;
  /** @internal Name of the operation that produced this tensor (for messages). */
  _op = "";
  /** @internal The backward rule uses its gradient up (the array may be reused afterwards). */
  _consumes = false;
  /** @internal `data` came from the buffer pool (a hidden activation) and goes back to it. */
  _pooled = false;
  /** @internal `data` went back to the pool: the graph through this tensor is spent. */
  _freed = false;

  /**
   * Wraps `data` (not copied) as a tensor of the given shape.
   *
   * @example
   * ```ts
   * import { Tensor } from "@kit/tensor.ts";
   * import { deepStrictEqual } from "node:assert";
   * const w = new Tensor(new Float64Array(6), [2, 3], { requiresGrad: true });
   * deepStrictEqual([w.shape, w.requiresGrad, w.grad], [[2, 3], true, null]);
   * ```
   */
  constructor(data: Float64Array, shape: Shape, opts: TensorOptions = {}) {
    if (!(data instanceof Float64Array)) {
      throw new TypeError(
        `new Tensor(data, shape): data must be a Float64Array, got ${typeof data}; ` +
          `use tensor([...]) to build a tensor from numbers or nested arrays`,
      );
    }
    let n = 1;
    for (let i = 0; i < shape.length; i++) {
      const d = shape[i];
      if (!Number.isInteger(d) || d < 0) {
        throw new RangeError(
          `new Tensor: shape ${fmt(shape)} must hold non-negative integers`,
        );
      }
      n *= d;
    }
    if (n !== data.length) {
      throw new RangeError(
        `new Tensor: shape ${fmt(shape)} holds ${n} elements but data has ${data.length}`,
      );
    }
    this.data = data;
    // a frozen shape (another tensor's) cannot change: share it instead of copying
    this.shape = Object.isFrozen(shape) ? shape : Object.freeze(shape.slice());
    this.requiresGrad = opts.requiresGrad ?? false;
  }

  /**
   * Gradient accumulated by `backward()` (leaf tensors only), same shape as the tensor; `null`
   * before the first `backward()` and after `zeroGrad()`.
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * const w = tensor([1, 2], { requiresGrad: true });
   * w.mul(w).sum().backward();
   * deepStrictEqual(w.grad!.toArray(), [2, 4]);
   * w.grad = null;
   * deepStrictEqual(w.grad, null);
   * ```
   */
  get grad(): Tensor | null {
    this.#gradSeen = true;
    return this.#grad;
  }

  set grad(g: Tensor | null) {
    this.#gradSeen = true;
    this.#grad = g;
  }

  /** @internal The gradient, read by the engine (which keeps no reference to its array). */
  _peekGrad(): Tensor | null {
    return this.#grad;
  }

  /** @internal Code outside the engine received the gradient's array: never recycle it. */
  _markGradSeen(): void {
    this.#gradSeen = true;
  }

  /**
   * @internal Sets the gradient to null (`zeroGrad`); its array goes back to the buffer pool
   * unless code outside the engine read `grad` (or set it) since `backward()` created it.
   */
  _dropGrad(): void {
    const g = this.#grad;
    this.#grad = null;
    if (g !== null && !this.#gradSeen) giveBuffer(g.data);
    this.#gradSeen = false;
  }

  /**
   * Number of elements.
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { zeros } from "@kit/tensor.ts";
   * deepStrictEqual(zeros([2, 3]).size, 6);
   * ```
   */
  get size(): number {
    return this.data.length;
  }

  /**
   * Number of dimensions.
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { zeros } from "@kit/tensor.ts";
   * deepStrictEqual(zeros([2, 3]).ndim, 2);
   * ```
   */
  get ndim(): number {
    return this.shape.length;
  }

  /**
   * The values as nested arrays (a number for a 0-dimensional tensor).
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([[1, 2], [3, 4]]).toArray(), [[1, 2], [3, 4]]);
   * ```
   */
  toArray(): number | NestedArray {
    if (this.ndim === 0) return this.data[0];
    const data = this.data, shape = this.shape;
    const build = (dim: number, off: number, stride: number): NestedArray => {
      const n = shape[dim];
      const inner = stride / (n || 1);
      if (dim === shape.length - 1) return Array.from(data.subarray(off, off + n));
      const out: NestedArray[] = [];
      for (let i = 0; i < n; i++) out.push(build(dim + 1, off + i * inner, inner));
      return out;
    };
    return build(0, 0, this.size);
  }

  /**
   * The single value of a one-element tensor.
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([1, 2, 3]).sum().item(), 6);
   * ```
   */
  item(): number {
    if (this.size !== 1) {
      throw new RangeError(
        `item(): only a tensor with exactly one element converts to a number, got shape ` +
          `${fmt(this.shape)}; reduce it first (sum(), mean()) or use toArray()`,
      );
    }
    return this.data[0];
  }

  /**
   * A copy with its own data; differentiable (gradients flow back to this tensor), as
   * `torch.clone`.
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * const a = tensor([1, 2]);
   * const b = a.clone();
   * b.data[0] = 5;
   * deepStrictEqual(a.toArray(), [1, 2]); // a is unchanged
   * ```
   */
  clone(): Tensor {
    return op("clone", this.data.slice(), this.shape, [this], (g) => acc(this, g, true));
  }

  /**
   * A tensor sharing this tensor's data but cut from the graph (no grad), as `torch.detach`.
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * const w = tensor([1, 2], { requiresGrad: true });
   * deepStrictEqual(w.mul(3).detach().requiresGrad, false);
   * ```
   */
  detach(): Tensor {
    return new Tensor(this.data, this.shape);
  }

  /** A readable rendering such as `tensor([[1, 2], [3, 4]])`, shortened for large tensors. */
  toString(): string {
    const flag = this.requiresGrad ? ", requiresGrad=true" : "";
    return `tensor(${render(this)}${this.ndim > 1 ? `, shape=${fmt(this.shape)}` : ""}${flag})`;
  }

  /** Deno's console and the Jupyter kernel show tensors through this. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }

  // -------------------------------------------------------------------------------------------
  // Elementwise binary operations (NumPy broadcasting; `o` may be a plain number)

  /**
   * Elementwise sum with broadcasting.
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([[1], [2]]).add(tensor([10, 20])).toArray(), [[11, 21], [12, 22]]);
   * ```
   */
  add(o: Tensor | number): Tensor {
    const b = asTensor(o);
    const { shape, n, x, y, sx, sy } = prepare(this, b, "add");
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = x[i * sx] + y[i * sy];
    return op("add", out, shape, [this, b], (g) => {
      if (this.requiresGrad) accReduced(this, g, shape);
      if (b.requiresGrad) accReduced(b, g, shape, true); // last use of g: may take it over
    });
  }

  /**
   * Elementwise difference with broadcasting.
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([5, 7]).sub(2).toArray(), [3, 5]);
   * ```
   */
  sub(o: Tensor | number): Tensor {
    const b = asTensor(o);
    const { shape, n, x, y, sx, sy } = prepare(this, b, "sub");
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = x[i * sx] - y[i * sy];
    return op("sub", out, shape, [this, b], (g) => {
      if (this.requiresGrad) accReduced(this, g, shape);
      if (b.requiresGrad) {
        const gb = gradBuffer(g.length);
        for (let i = 0; i < g.length; i++) gb[i] = -g[i];
        accReduced(b, gb, shape, true);
      }
    }, true);
  }

  /**
   * Elementwise product with broadcasting.
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([1, 2, 3]).mul(tensor([2])).toArray(), [2, 4, 6]);
   * ```
   */
  mul(o: Tensor | number): Tensor {
    const b = asTensor(o);
    const { shape, n, x, y, sx, sy } = prepare(this, b, "mul");
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = x[i * sx] * y[i * sy];
    return op("mul", out, shape, [this, b], (g) => {
      if (this.requiresGrad) {
        const ga = gradBuffer(g.length);
        for (let i = 0; i < g.length; i++) ga[i] = g[i] * y[i * sy];
        accReduced(this, ga, shape, true);
      }
      if (b.requiresGrad) {
        const gb = gradBuffer(g.length);
        for (let i = 0; i < g.length; i++) gb[i] = g[i] * x[i * sx];
        accReduced(b, gb, shape, true);
      }
    }, true);
  }

  /**
   * Elementwise quotient with broadcasting.
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([1, 2]).div(4).toArray(), [0.25, 0.5]);
   * ```
   */
  div(o: Tensor | number): Tensor {
    const b = asTensor(o);
    const { shape, n, x, y, sx, sy } = prepare(this, b, "div");
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = x[i * sx] / y[i * sy];
    return op("div", out, shape, [this, b], (g) => {
      if (this.requiresGrad) {
        const ga = gradBuffer(g.length);
        for (let i = 0; i < g.length; i++) ga[i] = g[i] / y[i * sy];
        accReduced(this, ga, shape, true);
      }
      if (b.requiresGrad) {
        // d(x/y)/dy = -x/y^2 = -out/y
        const gb = gradBuffer(g.length);
        for (let i = 0; i < g.length; i++) gb[i] = -g[i] * out[i] / y[i * sy];
        accReduced(b, gb, shape, true);
      }
    }, true);
  }

  /**
   * Elementwise power `this ** o`; the exponent may be a tensor (broadcast) or a number.
   * Gradients as PyTorch: d/dx = o·x^(o-1) (0 where o = 0), d/do = x^o·ln(x) (0 where x = 0 and
   * o >= 0; NaN for negative x, as the real logarithm is undefined there).
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([1, 2, 3]).pow(2).toArray(), [1, 4, 9]);
   * ```
   */
  pow(o: Tensor | number): Tensor {
    const b = asTensor(o);
    const { shape, n, x, y, sx, sy } = prepare(this, b, "pow");
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = Math.pow(x[i * sx], y[i * sy]);
    return op("pow", out, shape, [this, b], (g) => {
      if (this.requiresGrad) {
        const ga = gradBuffer(g.length);
        for (let i = 0; i < g.length; i++) {
          ga[i] = y[i * sy] === 0 ? 0 : g[i] * y[i * sy] * Math.pow(x[i * sx], y[i * sy] - 1);
        }
        accReduced(this, ga, shape, true);
      }
      if (b.requiresGrad) {
        const gb = gradBuffer(g.length);
        for (let i = 0; i < g.length; i++) {
          gb[i] = x[i * sx] === 0 && y[i * sy] >= 0 ? 0 : g[i] * out[i] * Math.log(x[i * sx]);
        }
        accReduced(b, gb, shape, true);
      }
    }, true);
  }

  /**
   * Elementwise maximum with broadcasting. Where both are equal the gradient is split in half
   * between them, as `torch.maximum`.
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([1, 5]).maximum(3).toArray(), [3, 5]);
   * ```
   */
  maximum(o: Tensor | number): Tensor {
    return this.#extremum(o, 1, "maximum");
  }

  /**
   * Elementwise minimum with broadcasting; ties split the gradient in half, as `torch.minimum`.
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([1, 5]).minimum(3).toArray(), [1, 3]);
   * ```
   */
  minimum(o: Tensor | number): Tensor {
    return this.#extremum(o, -1, "minimum");
  }

  #extremum(o: Tensor | number, sign: 1 | -1, name: string): Tensor {
    const b = asTensor(o);
    const { shape, n, x, y, sx, sy } = prepare(this, b, name);
    const out = new Float64Array(n);
    // share[i]: fraction of the gradient going to `this` (1, 0, or 0.5 on ties); NaN propagates
    const share = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const xi = x[i * sx], yi = y[i * sy];
      if (xi !== xi || yi !== yi) {
        out[i] = NaN;
        share[i] = xi !== xi ? 1 : 0;
      } else if (xi === yi) {
        out[i] = xi;
        share[i] = 0.5;
      } else if ((xi > yi) === (sign === 1)) {
        out[i] = xi;
        share[i] = 1;
      } else out[i] = yi;
    }
    return op(name, out, shape, [this, b], (g) => {
      if (this.requiresGrad) {
        const ga = gradBuffer(g.length);
        for (let i = 0; i < g.length; i++) ga[i] = g[i] * share[i];
        accReduced(this, ga, shape, true);
      }
      if (b.requiresGrad) {
        const gb = gradBuffer(g.length);
        for (let i = 0; i < g.length; i++) gb[i] = g[i] * (1 - share[i]);
        accReduced(b, gb, shape, true);
      }
    }, true);
  }

  // -------------------------------------------------------------------------------------------
  // Elementwise unary operations

  /**
   * Elementwise negation.
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([1, -2]).neg().toArray(), [-1, 2]);
   * ```
   */
  neg(): Tensor {
    const x = this.data, out = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = -x[i];
    return op("neg", out, this.shape, [this], (g) => {
      for (let i = 0; i < g.length; i++) g[i] = -g[i];
      acc(this, g, true);
    });
  }

  /**
   * Elementwise exponential.
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([0]).exp().toArray(), [1]);
   * ```
   */
  exp(): Tensor {
    const x = this.data, out = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = Math.exp(x[i]);
    return op("exp", out, this.shape, [this], (g) => {
      for (let i = 0; i < g.length; i++) g[i] = g[i] * out[i];
      acc(this, g, true);
    });
  }

  /**
   * Elementwise natural logarithm.
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([1]).log().toArray(), [0]);
   * ```
   */
  log(): Tensor {
    const x = this.data, out = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = Math.log(x[i]);
    return op("log", out, this.shape, [this], (g) => {
      for (let i = 0; i < g.length; i++) g[i] = g[i] / x[i];
      acc(this, g, true);
    });
  }

  /**
   * Elementwise square root.
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([4, 9]).sqrt().toArray(), [2, 3]);
   * ```
   */
  sqrt(): Tensor {
    const x = this.data, out = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = Math.sqrt(x[i]);
    return op("sqrt", out, this.shape, [this], (g) => {
      for (let i = 0; i < g.length; i++) g[i] = g[i] / (2 * out[i]);
      acc(this, g, true);
    });
  }

  /**
   * Elementwise absolute value; its gradient is sign(x), 0 at x = 0 (as PyTorch).
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([-2, 3]).abs().toArray(), [2, 3]);
   * ```
   */
  abs(): Tensor {
    const x = this.data, out = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = Math.abs(x[i]);
    return op("abs", out, this.shape, [this], (g) => {
      for (let i = 0; i < g.length; i++) g[i] = x[i] > 0 ? g[i] : x[i] < 0 ? -g[i] : 0;
      acc(this, g, true);
    });
  }

  /**
   * Elementwise sign (-1, 0 or 1); its gradient is 0 everywhere (as PyTorch).
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([-2, 0, 3]).sign().toArray(), [-1, 0, 1]);
   * ```
   */
  sign(): Tensor {
    const x = this.data, out = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = x[i] > 0 ? 1 : x[i] < 0 ? -1 : x[i];
    // zero gradient (not "no gradient"): x.grad becomes zeros, as in PyTorch
    return op("sign", out, this.shape, [this], () => acc(this, gradBuffer(x.length), true));
  }

  /**
   * Rectified linear unit max(x, 0); its gradient at 0 is 0 (as PyTorch).
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([-1, 0, 2]).relu().toArray(), [0, 0, 2]);
   * ```
   */
  relu(): Tensor {
    const x = this.data, out = new Float64Array(x.length);
    reluForward(x, out); // max(x, 0); NaN stays NaN
    return op("relu", out, this.shape, [this], (g) => {
      reluBackward(x, g); // g[i] = x[i] > 0 ? g[i] : 0
      acc(this, g, true);
    });
  }

  /**
   * Logistic sigmoid 1 / (1 + e^-x), computed without overflow for large |x|.
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([0]).sigmoid().toArray(), [0.5]);
   * ```
   */
  sigmoid(): Tensor {
    const x = this.data, out = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (v >= 0) out[i] = 1 / (1 + Math.exp(-v));
      else {
        const e = Math.exp(v);
        out[i] = e / (1 + e);
      }
    }
    return op("sigmoid", out, this.shape, [this], (g) => {
      for (let i = 0; i < g.length; i++) g[i] = g[i] * out[i] * (1 - out[i]);
      acc(this, g, true);
    });
  }

  /**
   * Hyperbolic tangent.
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([0]).tanh().toArray(), [0]);
   * ```
   */
  tanh(): Tensor {
    const x = this.data, out = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = Math.tanh(x[i]);
    return op("tanh", out, this.shape, [this], (g) => {
      for (let i = 0; i < g.length; i++) g[i] = g[i] * (1 - out[i] * out[i]);
      acc(this, g, true);
    });
  }

  /**
   * Leaky ReLU: `x` for x > 0, `negativeSlope * x` otherwise (`torch.nn.functional.leaky_relu`,
   * default slope 0.01, any finite slope). The gradient at 0 is `negativeSlope`, as PyTorch's.
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * const x = tensor([-2, 0, 3], { requiresGrad: true });
   * const y = x.leakyRelu(0.25);
   * deepStrictEqual(y.toArray(), [-0.5, 0, 3]);
   * y.sum().backward();
   * deepStrictEqual(x.grad!.toArray(), [0.25, 0.25, 1]);
   * ```
   */
  leakyRelu(negativeSlope = 0.01): Tensor {
    if (!Number.isFinite(negativeSlope)) {
      throw new RangeError(`leakyRelu(${negativeSlope}): the negative slope must be a number`);
    }
    const x = this.data, a = negativeSlope, out = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = x[i] > 0 ? x[i] : x[i] * a;
    return op("leakyRelu", out, this.shape, [this], (g) => {
      for (let i = 0; i < g.length; i++) if (!(x[i] > 0)) g[i] *= a;
      acc(this, g, true);
    });
  }

  /**
   * Exponential linear unit (Clevert et al. 2016): `x` for x > 0, `alpha * (e^x - 1)` otherwise
   * (`torch.nn.functional.elu`, default alpha 1; `expm1` keeps small negative inputs exact). The
   * gradient is 1 for x > 0 and `alpha * e^x` for x <= 0, so at 0 it is `alpha`, as PyTorch's.
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * const x = tensor([0, 2], { requiresGrad: true });
   * const y = x.elu(0.5);
   * deepStrictEqual(y.toArray(), [0, 2]);
   * y.sum().backward();
   * deepStrictEqual(x.grad!.toArray(), [0.5, 1]);
   * ```
   */
  elu(alpha = 1): Tensor {
    if (!Number.isFinite(alpha)) throw new RangeError(`elu(${alpha}): alpha must be a number`);
    return this.#elu(alpha, 1, "elu");
  }

  /**
   * Scaled ELU (Klambauer et al. 2017), `torch.nn.functional.selu`: `scale * elu(x, alpha)` with
   * PyTorch's constants `alpha = 1.6732632423543772` and `scale = 1.0507009873554805`
   * ({@link SELU_ALPHA}, {@link SELU_SCALE}). With weights of variance 1/fan_in, activations of
   * mean 0 and variance 1 stay so from layer to layer (self-normalisation).
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { SELU_SCALE, tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([0, 1]).selu().toArray(), [0, SELU_SCALE]);
   * ```
   */
  selu(): Tensor {
    return this.#elu(SELU_ALPHA, SELU_SCALE, "selu");
  }

  /** `scale * (x > 0 ? x : alpha * expm1(x))` with its gradient (PyTorch's `elu_backward`). */
  #elu(alpha: number, scale: number, name: string): Tensor {
    const x = this.data, out = new Float64Array(x.length);
    const neg = alpha * scale;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      out[i] = v > 0 ? scale * v : neg * Math.expm1(v);
    }
    return op(name, out, this.shape, [this], (g) => {
      for (let i = 0; i < g.length; i++) {
        g[i] *= x[i] > 0 ? scale : neg * Math.exp(x[i]);
      }
      acc(this, g, true);
    });
  }

  /**
   * Clamps every element into [min, max] (either bound may be null or omitted). The gradient
   * passes where min <= x <= max, bounds included, and is 0 outside (as PyTorch).
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([-2, 0.5, 3]).clamp(0, 1).toArray(), [0, 0.5, 1]);
   * ```
   */
  clamp(min?: number | null, max?: number | null): Tensor {
    const lo = min ?? -Infinity, hi = max ?? Infinity;
    if (min == null && max == null) {
      throw new RangeError("clamp(min, max): give at least one of min and max");
    }
    const x = this.data, out = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      out[i] = v < lo ? lo : v > hi ? hi : v;
    }
    if (lo > hi) out.fill(hi); // as torch.clamp when min > max
    return op("clamp", out, this.shape, [this], (g) => {
      for (let i = 0; i < g.length; i++) g[i] = x[i] >= lo && x[i] <= hi ? g[i] : 0;
      acc(this, g, true);
    });
  }

  // -------------------------------------------------------------------------------------------
  // Softmax family

  /**
   * Softmax along `axis`, computed stably (the maximum is subtracted first).
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([0, Math.log(3)]).softmax().toArray(), [0.25, 0.75]);
   * ```
   */
  softmax(axis = -1): Tensor {
    const ax = normAxis(axis, this.ndim, "softmax");
    const [outer, len, inner] = this.ndim === 0 ? [1, 1, 1] : around(this.shape, ax);
    const x = this.data, out = new Float64Array(x.length);
    for (let o = 0; o < outer; o++) {
      for (let r = 0; r < inner; r++) {
        const base = o * len * inner + r;
        let m = -Infinity;
        for (let j = 0; j < len; j++) m = Math.max(m, x[base + j * inner]);
        if (m === -Infinity) m = 0;
        let s = 0;
        for (let j = 0; j < len; j++) {
          const e = Math.exp(x[base + j * inner] - m);
          out[base + j * inner] = e;
          s += e;
        }
        for (let j = 0; j < len; j++) out[base + j * inner] /= s;
      }
    }
    return op("softmax", out, this.shape, [this], (g) => {
      // dx = y * (g - sum(g * y))
      const ga = gradBuffer(g.length);
      for (let o = 0; o < outer; o++) {
        for (let r = 0; r < inner; r++) {
          const base = o * len * inner + r;
          let dot = 0;
          for (let j = 0; j < len; j++) dot += g[base + j * inner] * out[base + j * inner];
          for (let j = 0; j < len; j++) {
            const k = base + j * inner;
            ga[k] = out[k] * (g[k] - dot);
          }
        }
      }
      acc(this, ga, true);
    }, true);
  }

  /**
   * Log-softmax along `axis`: x - max - log(sum(exp(x - max))), stable for large inputs.
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([1000, 1000]).logSoftmax().toArray(), [-0.6931471805599453, -0.6931471805599453]);
   * ```
   */
  logSoftmax(axis = -1): Tensor {
    const ax = normAxis(axis, this.ndim, "logSoftmax");
    const [outer, len, inner] = this.ndim === 0 ? [1, 1, 1] : around(this.shape, ax);
    const x = this.data, out = new Float64Array(x.length);
    for (let o = 0; o < outer; o++) {
      for (let r = 0; r < inner; r++) {
        const base = o * len * inner + r;
        let m = -Infinity;
        for (let j = 0; j < len; j++) m = Math.max(m, x[base + j * inner]);
        if (m === -Infinity) m = 0;
        let s = 0;
        for (let j = 0; j < len; j++) s += Math.exp(x[base + j * inner] - m);
        // (x - m) - log(s), not x - (m + log s): the latter loses digits when |m| is large
        const ls = Math.log(s);
        for (let j = 0; j < len; j++) out[base + j * inner] = x[base + j * inner] - m - ls;
      }
    }
    return op("logSoftmax", out, this.shape, [this], (g) => {
      // dx = g - softmax * sum(g)
      const ga = gradBuffer(g.length);
      for (let o = 0; o < outer; o++) {
        for (let r = 0; r < inner; r++) {
          const base = o * len * inner + r;
          let s = 0;
          for (let j = 0; j < len; j++) s += g[base + j * inner];
          for (let j = 0; j < len; j++) {
            const k = base + j * inner;
            ga[k] = g[k] - Math.exp(out[k]) * s;
          }
        }
      }
      acc(this, ga, true);
    }, true);
  }

  // -------------------------------------------------------------------------------------------
  // Linear algebra and shape

  /**
   * Matrix product with `torch.matmul` semantics: 1-D·1-D is a dot product, 2-D·2-D a matrix
   * product, a 1-D operand is treated as a row (first) or column (second) vector and that
   * dimension removed from the result, and higher-dimensional operands are batches of matrices
   * whose leading (batch) dimensions broadcast.
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([[1, 2], [3, 4]]).matmul(tensor([[5], [6]])).toArray(), [[17], [39]]);
   * ```
   */
  matmul(o: Tensor): Tensor {
    if (!(o instanceof Tensor)) {
      throw new TypeError("matmul(o): o must be a Tensor; use mul() to scale by a number");
    }
    const b = o;
    if (this.ndim === 0 || b.ndim === 0) {
      throw new RangeError(
        `matmul: both operands need at least one dimension, got shapes ${fmt(this.shape)} and ` +
          `${fmt(b.shape)}; use mul() to multiply by a scalar`,
      );
    }
    const a2 = this.ndim === 1 ? this.reshape([1, this.shape[0]]) : this;
    const b2 = b.ndim === 1 ? b.reshape([b.shape[0], 1]) : b;
    const out = batchedMatmul(a2, b2, this.shape, b.shape);
    if (this.ndim === 1 && b.ndim === 1) return out.reshape([]);
    if (this.ndim === 1) return out.reshape([...out.shape.slice(0, -2), out.shape[out.ndim - 1]]);
    if (b.ndim === 1) return out.reshape(out.shape.slice(0, -1));
    return out;
  }

  /**
   * Swaps two dimensions (a copy, not a view).
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([[1, 2, 3]]).transpose().toArray(), [[1], [2], [3]]);
   * ```
   */
  transpose(dim0 = -2, dim1 = -1): Tensor {
    const nd = this.ndim;
    if (nd < 2 && dim0 === -2 && dim1 === -1) return this.clone();
    const d0 = normAxis(dim0, nd, "transpose"), d1 = normAxis(dim1, nd, "transpose");
    if (d0 === d1) return this.clone();
    const perm = Array.from({ length: nd }, (_, i) => i);
    perm[d0] = d1;
    perm[d1] = d0;
    const st = stridesOf(this.shape);
    const shape = perm.map((p) => this.shape[p]);
    const out = transposeData(this.data, this.shape, perm, st, shape);
    return op("transpose", out, shape, [this], (g) => {
      acc(this, transposeData(g, shape, perm, stridesOf(shape), this.shape), true);
    }, true);
  }

  /**
   * Transpose of a 2-D tensor (1-D and 0-D tensors are returned as a copy, as PyTorch's `.T`).
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([[1, 2], [3, 4]]).T.toArray(), [[1, 3], [2, 4]]);
   * ```
   */
  get T(): Tensor {
    if (this.ndim > 2) {
      throw new RangeError(
        `T: only for tensors with at most 2 dimensions, got shape ${fmt(this.shape)}; ` +
          `use transpose(dim0, dim1) to choose the dimensions to swap`,
      );
    }
    return this.ndim < 2 ? this.clone() : this.transpose(0, 1);
  }

  /**
   * The same data under another shape with the same number of elements; one entry may be -1
   * (inferred). Shares the data, like a PyTorch view.
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { arange } from "@kit/tensor.ts";
   * deepStrictEqual(arange(6).reshape([2, -1]).shape, [2, 3]);
   * ```
   */
  reshape(shape: readonly number[]): Tensor {
    let infer = -1, known = 1;
    for (let i = 0; i < shape.length; i++) {
      if (shape[i] === -1) {
        if (infer >= 0) throw new RangeError(`reshape ${fmt(shape)}: only one -1 allowed`);
        infer = i;
      } else if (!Number.isInteger(shape[i]) || shape[i] < 0) {
        throw new RangeError(`reshape ${fmt(shape)}: sizes must be non-negative integers or -1`);
      } else known *= shape[i];
    }
    const target = shape.slice();
    if (infer >= 0) {
      if (known === 0 || this.size % known !== 0) {
        throw new RangeError(
          `reshape: cannot reshape a tensor of shape ${fmt(this.shape)} (${this.size} elements) ` +
            `into ${fmt(shape)}`,
        );
      }
      target[infer] = this.size / known;
    } else if (known !== this.size) {
      throw new RangeError(
        `reshape: cannot reshape a tensor of shape ${fmt(this.shape)} (${this.size} elements) ` +
          `into ${fmt(shape)} (${known} elements); the sizes must multiply to the same total`,
      );
    }
    return op("reshape", this.data, target, [this], (g) => acc(this, g, true));
  }

  /**
   * Inserts a dimension of size 1 at `dim` (shares data).
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([1, 2]).unsqueeze(1).shape, [2, 1]);
   * ```
   */
  unsqueeze(dim: number): Tensor {
    const d = normAxis(dim, this.ndim + 1, "unsqueeze");
    const shape = this.shape.slice();
    shape.splice(d, 0, 1);
    return this.reshape(shape);
  }

  /**
   * Removes dimensions of size 1 (all of them, or only `dim`) (shares data).
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { zeros } from "@kit/tensor.ts";
   * deepStrictEqual(zeros([2, 1, 3]).squeeze().shape, [2, 3]);
   * ```
   */
  squeeze(dim?: number): Tensor {
    if (dim === undefined) return this.reshape(this.shape.filter((s) => s !== 1));
    const d = normAxis(dim, this.ndim, "squeeze");
    if (this.ndim === 0 || this.shape[d] !== 1) return this.reshape(this.shape);
    return this.reshape(this.shape.filter((_, i) => i !== d));
  }

  // -------------------------------------------------------------------------------------------
  // Reductions

  /**
   * Sum over all elements, or over `axis` (a number or a list; negative counts from the end).
   * With `keepdim` the reduced dimensions stay with size 1.
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([[1, 2], [3, 4]]).sum(0).toArray(), [4, 6]);
   * ```
   */
  sum(axis?: number | number[], keepdim = false): Tensor {
    const axes = normAxes(axis, this.ndim, "sum");
    const kept = this.shape.map((s, i) => (axes.includes(i) ? 1 : s));
    const shape = keepdim ? kept : this.shape.filter((_, i) => !axes.includes(i));
    let out = sumTo(this.data, this.shape, kept);
    if (out === this.data) out = out.slice();
    return op("sum", out, shape, [this], (g) => {
      acc(this, expandTo(g, kept, this.shape), sameShape(kept, this.shape) ? false : true);
    }, true);
  }

  /**
   * Mean over all elements or over `axis` (number or list), as {@link Tensor.sum}.
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([[1, 2], [3, 4]]).mean(1).toArray(), [1.5, 3.5]);
   * ```
   */
  mean(axis?: number | number[], keepdim = false): Tensor {
    const axes = normAxes(axis, this.ndim, "mean");
    let count = 1;
    for (const a of axes) count *= this.shape[a];
    return this.sum(axes, keepdim).div(count);
  }

  /**
   * Variance over all elements or over `axis`, with `correction` subtracted from the count in
   * the denominator: 1 (the default, as `torch.var`) for the unbiased estimate, 0 for the biased
   * one.
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([1, 2, 3, 4]).var().item(), 1.6666666666666667);
   * deepStrictEqual(tensor([1, 2, 3, 4]).var(0, false, 0).item(), 1.25);
   * ```
   */
  var(axis?: number | number[], keepdim = false, correction = 1): Tensor {
    const axes = normAxes(axis, this.ndim, "var");
    let count = 1;
    for (const a of axes) count *= this.shape[a];
    const centered = this.sub(this.mean(axes, true));
    return centered.mul(centered).sum(axes, keepdim).div(Math.max(0, count - correction));
  }

  /**
   * Maximum over all elements, or along one `axis`.
   *
   * Gradient routing follows PyTorch: along an axis (`torch.max(x, dim)`) the whole gradient goes
   * to the first index holding the maximum; over all elements (`torch.max(x)`, like `amax`) it is
   * split evenly among all elements equal to the maximum.
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([[1, 5], [7, 2]]).max(1).toArray(), [5, 7]);
   * ```
   */
  max(axis?: number, keepdim = false): Tensor {
    const x = this.data;
    if (axis === undefined) {
      if (x.length === 0) throw new RangeError("max(): the tensor is empty");
      let m = -Infinity;
      for (let i = 0; i < x.length; i++) {
        if (x[i] > m || x[i] !== x[i]) m = x[i];
        if (m !== m) break;
      }
      const shape = keepdim ? this.shape.map(() => 1) : [];
      return op("max", Float64Array.of(m), shape, [this], (g) => {
        let count = 0;
        for (let i = 0; i < x.length; i++) if (x[i] === m) count++;
        const ga = gradBuffer(x.length);
        for (let i = 0; i < x.length; i++) if (x[i] === m) ga[i] = g[0] / count;
        acc(this, ga, true);
      }, true);
    }
    const { out, at, shape } = argReduce(this, axis, keepdim, "max");
    return op("max", out, shape, [this], (g) => {
      const ga = gradBuffer(x.length);
      for (let i = 0; i < at.length; i++) ga[at[i]] += g[i];
      acc(this, ga, true);
    }, true);
  }

  /**
   * Minimum over all elements or along one `axis` (gradient routing as {@link Tensor.max}).
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([[1, 5], [7, 2]]).min(1).toArray(), [1, 2]);
   * ```
   */
  min(axis?: number, keepdim = false): Tensor {
    return this.neg().max(axis, keepdim).neg();
  }

  /**
   * Indices of the maximum (first occurrence) over all elements (flat index) or along `axis`,
   * as float64 values; not differentiable.
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([[1, 5], [7, 2]]).argmax(1).toArray(), [1, 0]);
   * ```
   */
  argmax(axis?: number, keepdim = false): Tensor {
    if (axis === undefined) {
      const x = this.data;
      if (x.length === 0) throw new RangeError("argmax(): the tensor is empty");
      let best = 0;
      for (let i = 1; i < x.length; i++) {
        if (x[i] > x[best] || (x[i] !== x[i] && x[best] === x[best])) best = i;
      }
      return new Tensor(Float64Array.of(best), keepdim ? this.shape.map(() => 1) : []);
    }
    const { index, shape } = argReduce(this, axis, keepdim, "argmax");
    return new Tensor(index, shape);
  }

  /**
   * Picks values along `dim` at the positions given by `index` (`torch.gather`): for a 2-D input
   * and dim = 1, `out[i][j] = this[i][index[i][j]]`. `index` holds integers (as float64), has the
   * same number of dimensions, and no larger sizes than this tensor outside `dim`; the result has
   * `index`'s shape. The gradient is scattered back (added) to the picked positions.
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * deepStrictEqual(tensor([[1, 2, 3], [4, 5, 6]]).gather(1, tensor([[2], [0]])).toArray(), [[3], [4]]);
   * ```
   */
  gather(dim: number, index: Tensor): Tensor {
    const d = normAxis(dim, this.ndim, "gather");
    const ish = index.shape;
    if (ish.length !== this.ndim) {
      throw new RangeError(
        `gather: index of shape ${fmt(ish)} must have as many dimensions as the input of shape ` +
          `${fmt(this.shape)} (${this.ndim}); e.g. targets.reshape([-1, 1]) for dim = 1`,
      );
    }
    for (let i = 0; i < ish.length; i++) {
      if (i !== d && ish[i] > this.shape[i]) {
        throw new RangeError(
          `gather: index of shape ${fmt(ish)} is larger than the input of shape ` +
            `${fmt(this.shape)} in dimension ${i}`,
        );
      }
    }
    const st = stridesOf(this.shape);
    const n = index.size, nd = ish.length;
    const offsets = new Int32Array(n);
    const idx = new Array<number>(nd).fill(0);
    const iv = index.data, limit = this.shape[d];
    for (let t = 0; t < n; t++) {
      const v = iv[t];
      if (!Number.isInteger(v) || v < 0 || v >= limit) {
        throw new RangeError(
          `gather: index value ${v} at position [${idx.join(", ")}] is not an integer in ` +
            `[0, ${limit}) for dimension ${d} of the input of shape ${fmt(this.shape)}`,
        );
      }
      let off = v * st[d];
      for (let k = 0; k < nd; k++) if (k !== d) off += idx[k] * st[k];
      offsets[t] = off;
      for (let k = nd - 1; k >= 0; k--) {
        if (++idx[k] < ish[k]) break;
        idx[k] = 0;
      }
    }
    const x = this.data, out = new Float64Array(n);
    for (let t = 0; t < n; t++) out[t] = x[offsets[t]];
    return op("gather", out, ish, [this], (g) => {
      const ga = gradBuffer(x.length);
      for (let t = 0; t < n; t++) ga[offsets[t]] += g[t];
      acc(this, ga, true);
    }, true);
  }

  // -------------------------------------------------------------------------------------------
  // Autograd

  /**
   * Computes gradients of this tensor with respect to every leaf tensor that requires grad, and
   * adds them to their `.grad` (gradients accumulate across calls, as PyTorch; zero them between
   * steps). For a one-element tensor (a loss) `grad` defaults to 1; otherwise pass the upstream
   * gradient, of this tensor's shape. Gradients of intermediate tensors are not kept.
   *
   * Unlike PyTorch the graph is not freed afterwards, so calling `backward()` twice adds the
   * gradients twice (PyTorch needs `retain_graph=True` for that).
   *
   * @example
   * ```ts
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * const x = tensor([1, 2, 3], { requiresGrad: true });
   * x.mul(x).sum().backward();
   * deepStrictEqual(x.grad!.toArray(), [2, 4, 6]);
   * ```
   */
  backward(grad?: Tensor, { retainGraph = false }: { retainGraph?: boolean } = {}): void {
    if (!this.requiresGrad) {
      throw new Error(
        `backward(): this tensor (shape ${fmt(this.shape)}${
          this._op ? `, from ${this._op}` : ""
        }) does not require grad, so there is nothing to differentiate. Create the parameters ` +
          `with { requiresGrad: true } and make sure the loss was not computed inside noGrad() ` +
          `or from detach()ed tensors.`,
      );
    }
    let seed: Float64Array;
    if (grad === undefined) {
      if (this.size !== 1) {
        throw new Error(
          `backward(): called without a gradient on a tensor of shape ${fmt(this.shape)}; ` +
            `an implicit gradient exists only for one-element tensors (a loss). Reduce it ` +
            `first (e.g. .sum() or .mean()) or pass the upstream gradient: backward(g).`,
        );
      }
      seed = Float64Array.of(1);
    } else {
      if (!sameShape(grad.shape, this.shape)) {
        throw new RangeError(
          `backward(grad): grad has shape ${fmt(grad.shape)} but the tensor has shape ` +
            `${fmt(this.shape)}; they must match`,
        );
      }
      seed = grad.data.slice();
    }
    const order = topoSort(this);
    for (let i = 0; i < order.length; i++) {
      if (order[i]._freed) {
        throw new Error(
          `backward(): this graph was already used by a backward() that freed its hidden ` +
            `activations (the layers between Linear + ReLU pairs of a Sequential, ` +
            `${order[i]._op}), as PyTorch frees them. Call backward() once per forward, or pass ` +
            `{ retainGraph: true } to the first backward() to keep them.`,
        );
      }
    }
    try {
      this._g = seed;
      for (let i = order.length - 1; i >= 0; i--) {
        const t = order[i];
        const g = t._g;
        if (g === null) continue;
        t._g = null;
        if (t._backward !== null) {
          t._backward(g);
          if (t._consumes) giveBuffer(g);
        } else if (t.#grad === null) {
          t.#grad = new Tensor(g, t.shape);
          t.#gradSeen = false;
        } else {
          const gd = t.#grad.data;
          for (let k = 0; k < gd.length; k++) gd[k] += g[k];
          giveBuffer(g);
        }
      }
    } finally {
      for (const t of order) t._g = null;
    }
    if (!retainGraph) {
      for (let i = 0; i < order.length; i++) if (order[i]._pooled) freeHidden(order[i]);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Autograd plumbing

/**
 * Creates the result of an operation; records its inputs and backward rule only when gradients
 * are enabled and some input requires grad. `consumes`: the rule only reads its gradient (never
 * passes it on nor keeps it), so backward() may reuse the array afterwards.
 */
function op(
  name: string,
  data: Float64Array,
  shape: Shape,
  inputs: Tensor[],
  backward: BackwardFn,
  consumes = false,
): Tensor {
  const out = new Tensor(data, shape);
  if (!gradEnabled) return out;
  let needed = false;
  for (let i = 0; i < inputs.length; i++) if (inputs[i].requiresGrad) needed = true;
  if (!needed) return out;
  out.requiresGrad = true;
  out._prev = inputs.filter((t) => t.requiresGrad);
  out._backward = backward;
  out._op = name;
  out._consumes = consumes;
  return out;
}

/**
 * Adds gradient `g` into `t._g`. `owned` says `g` is a fresh array nobody else holds, so it can
 * become `t._g` without a copy.
 */
function acc(t: Tensor, g: Float64Array, owned: boolean): void {
  if (!t.requiresGrad) return;
  const cur = t._g;
  if (cur === null) t._g = owned ? g : g.slice();
  else {
    for (let i = 0; i < cur.length; i++) cur[i] += g[i];
    if (owned) giveBuffer(g);
  }
}

// ---------------------------------------------------------------------------------------------
// Buffer pool
//
// A fresh Float64Array costs far more than its zeroing: measured on the course machine, 650 KB of
// new arrays a training step took 120 to 370 µs (the pages are faulted in anew), reusing them 17
// to 27 µs. The engine therefore recycles the arrays only it can see: gradients in flight during
// backward() (after the rule that used them up), and the hidden activations of a Sequential's
// fused Linear + ReLU layers (after the backward() through them). An array goes back only when
// no other reference to it can be used again; `takeBuffer` returns it with stale contents.

/** Arrays shorter than this are not pooled: V8 keeps arrays of up to 64 bytes on its heap. */
const POOL_MIN = 9;
/** At most this many bytes are kept in the pool, and this many arrays of one length. */
const POOL_MAX_BYTES = 64 * 2 ** 20, POOL_PER_LENGTH = 16;
const pool = new Map<number, Float64Array[]>();
let pooledBytes = 0;

/** An array of length `n` from the pool (stale contents: overwrite it all) or a new one. */
function takeBuffer(n: number): Float64Array {
  const free = n >= POOL_MIN ? pool.get(n) : undefined;
  if (free !== undefined && free.length > 0) {
    const a = free.pop()!;
    pooledBytes -= a.byteLength;
    return a;
  }
  return new Float64Array(n);
}

/** A zeroed array of length `n` for a backward rule's result: from the pool, or new. */
function gradBuffer(n: number): Float64Array {
  const free = n >= POOL_MIN ? pool.get(n) : undefined;
  if (free !== undefined && free.length > 0) {
    const a = free.pop()!;
    pooledBytes -= a.byteLength;
    return a.fill(0);
  }
  return new Float64Array(n);
}

/** Returns `a` to the pool; the caller guarantees nothing else will use it. */
function giveBuffer(a: Float64Array): void {
  const n = a.length;
  if (n < POOL_MIN || a.byteOffset !== 0 || a.buffer.byteLength !== a.byteLength) return;
  if (pooledBytes + a.byteLength > POOL_MAX_BYTES) return;
  let free = pool.get(n);
  if (free === undefined) pool.set(n, free = []);
  if (free.length >= POOL_PER_LENGTH) return;
  free.push(a);
  pooledBytes += a.byteLength;
}

/** Returns a hidden activation's array to the pool, once; its graph is spent afterwards. */
function freeHidden(t: Tensor): void {
  if (t._freed) return;
  t._freed = true;
  giveBuffer(t.data);
}

/** Accumulates a gradient of the broadcast shape `shape` into `t`, summing broadcast dims. */
function accReduced(t: Tensor, g: Float64Array, shape: Shape, owned = false): void {
  if (sameShape(t.shape, shape)) acc(t, g, owned);
  else acc(t, sumTo(g, shape, t.shape), true);
}

function topoSort(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>([root]);
  const stack: [Tensor, number][] = [[root, 0]];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    if (i < t._prev.length) {
      top[1] = i + 1;
      const p = t._prev[i];
      if (!seen.has(p)) {
        seen.add(p);
        stack.push([p, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order;
}

function asTensor(o: Tensor | number): Tensor {
  if (typeof o === "number") return new Tensor(Float64Array.of(o), []);
  if (!(o instanceof Tensor)) {
    throw new TypeError(`expected a Tensor or a number, got ${typeof o}`);
  }
  return o;
}

/**
 * Both operands' data for an elementwise loop over their broadcast shape: element i of the result
 * reads x[i * sx] and y[i * sy]. A one-element operand keeps its data with stride 0 (no copy);
 * other broadcasts are expanded to the full shape (stride 1).
 */
function prepare(
  a: Tensor,
  b: Tensor,
  name: string,
): { shape: Shape; n: number; x: Float64Array; y: Float64Array; sx: number; sy: number } {
  if (sameShape(a.shape, b.shape)) {
    return { shape: a.shape, n: a.size, x: a.data, y: b.data, sx: 1, sy: 1 };
  }
  const shape = broadcastShapes(a.shape, b.shape, name);
  const n = numel(shape);
  const x = a.size === 1 ? a.data : expandTo(a.data, a.shape, shape);
  const y = b.size === 1 ? b.data : expandTo(b.data, b.shape, shape);
  return { shape, n, x, y, sx: a.size === 1 ? 0 : 1, sy: b.size === 1 ? 0 : 1 };
}

function transposeData(
  src: Float64Array,
  _srcShape: Shape,
  perm: number[],
  srcStrides: number[],
  outShape: Shape,
): Float64Array {
  return strided(src, perm.map((p) => srcStrides[p]), outShape);
}

/** Max along one axis: values, flat source positions of the (first) maxima, and their indices. */
function argReduce(t: Tensor, axis: number, keepdim: boolean, name: string) {
  const ax = normAxis(axis, t.ndim, name);
  const [outer, len, inner] = t.ndim === 0 ? [1, 1, 1] : around(t.shape, ax);
  if (len === 0) {
    throw new RangeError(`${name}: dimension ${ax} of shape ${fmt(t.shape)} is empty`);
  }
  const kept = t.shape.map((s, i) => (i === ax ? 1 : s));
  const shape = keepdim ? kept : t.shape.filter((_, i) => i !== ax);
  const x = t.data;
  const out = new Float64Array(outer * inner);
  const at = new Int32Array(outer * inner);
  const index = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let r = 0; r < inner; r++) {
      const base = o * len * inner + r;
      let best = 0, m = x[base];
      for (let j = 1; j < len && m === m; j++) {
        const v = x[base + j * inner];
        if (v > m || v !== v) {
          m = v;
          best = j;
        }
      }
      out[o * inner + r] = m;
      at[o * inner + r] = base + best * inner;
      index[o * inner + r] = best;
    }
  }
  return { out, at, index, kept, shape };
}

/** Matrix product of a [..., n, k] and b [..., k, m] with broadcast batch dimensions. */
function batchedMatmul(a: Tensor, b: Tensor, shapeA: Shape, shapeB: Shape): Tensor {
  const n = a.shape[a.ndim - 2], k = a.shape[a.ndim - 1];
  const k2 = b.shape[b.ndim - 2], m = b.shape[b.ndim - 1];
  if (k !== k2) {
    throw new RangeError(
      `matmul: shapes ${fmt(shapeA)} and ${fmt(shapeB)} are not aligned: the last dimension ` +
        `of the first (${k}) must equal the ${
          shapeB.length === 1 ? "only" : "second-to-last"
        } dimension of the second (${k2}). Transpose one operand (x.T or transpose()) or ` +
        `check the layer sizes.`,
    );
  }
  const batchA = a.shape.slice(0, -2), batchB = b.shape.slice(0, -2);
  const batch = broadcastShapes(
    batchA,
    batchB,
    `matmul of ${fmt(shapeA)} and ${fmt(shapeB)} (batch dimensions)`,
  );
  const nb = numel(batch);
  const iota = (len: number) => Float64Array.from({ length: len }, (_, i) => i);
  const ia = expandTo(iota(numel(batchA)), batchA, batch);
  const ib = expandTo(iota(numel(batchB)), batchB, batch);
  const out = new Float64Array(nb * n * m);
  const A = a.data, B = b.data;
  for (let t = 0; t < nb; t++) {
    gemm(false, false, n, m, k, A, ia[t] * n * k, B, ib[t] * k * m, out, t * n * m);
  }
  return op("matmul", out, [...batch, n, m], [a, b], (g) => {
    if (a.requiresGrad) {
      // dA = dC · B^T
      const ga = gradBuffer(A.length);
      for (let t = 0; t < nb; t++) {
        gemm(false, true, n, k, m, g, t * n * m, B, ib[t] * k * m, ga, ia[t] * n * k);
      }
      acc(a, ga, true);
    }
    if (b.requiresGrad) {
      // dB = A^T · dC
      const gb = gradBuffer(B.length);
      for (let t = 0; t < nb; t++) {
        gemm(true, false, k, m, n, A, ia[t] * n * k, g, t * n * m, gb, ib[t] * k * m);
      }
      acc(b, gb, true);
    }
  }, true);
}

function render(t: Tensor): string {
  const fmtNum = (
    v: number,
  ) => (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6))));
  if (t.ndim === 0) return fmtNum(t.data[0]);
  const big = t.size > 1000;
  const rec = (dim: number, off: number): string => {
    const n = t.shape[dim];
    let stride = 1;
    for (let i = dim + 1; i < t.ndim; i++) stride *= t.shape[i];
    const items: string[] = [];
    const show = (i: number) =>
      items.push(dim === t.ndim - 1 ? fmtNum(t.data[off + i]) : rec(dim + 1, off + i * stride));
    if (big && n > 6) {
      for (let i = 0; i < 3; i++) show(i);
      items.push("...");
      for (let i = n - 3; i < n; i++) show(i);
    } else for (let i = 0; i < n; i++) show(i);
    return `[${items.join(", ")}]`;
  };
  return rec(0, 0);
}

// ---------------------------------------------------------------------------------------------
// Creation

/**
 * A tensor from a number, (rectangular) nested arrays of numbers, or a typed array (1-D); the
 * data is copied.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { tensor } from "@kit/tensor.ts";
 * const x = tensor([[1, 2, 3], [4, 5, 6]]);
 * deepStrictEqual(x.shape, [2, 3]);
 * deepStrictEqual(tensor(Int32Array.of(2, 0, 1)).toArray(), [2, 0, 1]);
 * ```
 */
export function tensor(
  values: number | NestedArray | ArrayLike<number>,
  opts: TensorOptions = {},
): Tensor {
  if (typeof values === "number") return new Tensor(Float64Array.of(values), [], opts);
  if (ArrayBuffer.isView(values)) {
    const data = Float64Array.from(values as ArrayLike<number>);
    return new Tensor(data, [data.length], opts);
  }
  const shape: number[] = [];
  let probe: unknown = values;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = probe[0];
  }
  const data = new Float64Array(numel(shape));
  let k = 0;
  const walk = (v: unknown, dim: number, path: number[]) => {
    if (dim === shape.length) {
      if (typeof v !== "number") {
        throw new TypeError(
          `tensor(): element at [${path.join(", ")}] is ${
            Array.isArray(v) ? "an array" : JSON.stringify(v)
          }, expected a number (the arrays must be rectangular, shape ${fmt(shape)})`,
        );
      }
      data[k++] = v;
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[dim]) {
      throw new RangeError(
        `tensor(): ragged nested array: the entry at [${path.join(", ")}] has ${
          Array.isArray(v) ? `length ${v.length}` : "no array"
        } but its siblings suggest length ${shape[dim]} (shape ${fmt(shape)})`,
      );
    }
    for (let i = 0; i < v.length; i++) walk(v[i], dim + 1, [...path, i]);
  };
  walk(values, 0, []);
  return new Tensor(data, shape, opts);
}

/**
 * A tensor of zeros.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { zeros } from "@kit/tensor.ts";
 * deepStrictEqual(zeros([2, 2]).toArray(), [[0, 0], [0, 0]]);
 * ```
 */
export function zeros(shape: Shape, opts: TensorOptions = {}): Tensor {
  return new Tensor(new Float64Array(numelChecked(shape, "zeros")), shape, opts);
}

/**
 * A tensor of ones.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { ones } from "@kit/tensor.ts";
 * deepStrictEqual(ones([3]).toArray(), [1, 1, 1]);
 * ```
 */
export function ones(shape: Shape, opts: TensorOptions = {}): Tensor {
  return full(shape, 1, opts);
}

/**
 * A tensor filled with `value`.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { full } from "@kit/tensor.ts";
 * deepStrictEqual(full([2], 7).toArray(), [7, 7]);
 * ```
 */
export function full(shape: Shape, value: number, opts: TensorOptions = {}): Tensor {
  return new Tensor(new Float64Array(numelChecked(shape, "full")).fill(value), shape, opts);
}

function numelChecked(shape: Shape, name: string): number {
  if (!Array.isArray(shape) || shape.some((s) => !Number.isInteger(s) || s < 0)) {
    throw new RangeError(
      `${name}(shape): shape must be an array of non-negative integers, got ${
        JSON.stringify(shape)
      }`,
    );
  }
  return numel(shape);
}

/**
 * Evenly spaced values in [start, end) with `step`, as `torch.arange`: `arange(end)` counts from
 * 0; the length is ceil((end - start) / step) and element i is start + i * step.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { arange } from "@kit/tensor.ts";
 * deepStrictEqual(arange(4).toArray(), [0, 1, 2, 3]);
 * deepStrictEqual(arange(1, 2, 0.25).toArray(), [1, 1.25, 1.5, 1.75]);
 * ```
 */
export function arange(end: number): Tensor;
/** Values start, start + step, ... below end. */
export function arange(start: number, end: number, step?: number): Tensor;
export function arange(a: number, b?: number, step = 1): Tensor {
  const start = b === undefined ? 0 : a, end = b === undefined ? a : b;
  if (step === 0 || !Number.isFinite(step)) {
    throw new RangeError(`arange(${start}, ${end}, ${step}): step must be a non-zero number`);
  }
  if ((end - start) * step < 0) {
    throw new RangeError(
      `arange(${start}, ${end}, ${step}): the step's sign does not lead from start to end`,
    );
  }
  const n = Math.ceil((end - start) / step);
  const data = new Float64Array(n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return new Tensor(data, [n]);
}

/**
 * `steps` evenly spaced values from start to end inclusive, as `torch.linspace` (computed from
 * both ends, so the last value is exactly `end`).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { linspace } from "@kit/tensor.ts";
 * deepStrictEqual(linspace(0, 1, 5).toArray(), [0, 0.25, 0.5, 0.75, 1]);
 * ```
 */
export function linspace(start: number, end: number, steps: number): Tensor {
  if (!Number.isInteger(steps) || steps < 0) {
    throw new RangeError(
      `linspace(${start}, ${end}, ${steps}): steps must be a non-negative integer`,
    );
  }
  const data = new Float64Array(steps);
  if (steps === 1) data[0] = start;
  else if (steps > 1) {
    // as PyTorch's CPU kernel: the first half counts up from start, the second down from end
    const step = (end - start) / (steps - 1);
    const half = Math.floor(steps / 2);
    for (let i = 0; i < steps; i++) {
      data[i] = i < half ? start + step * i : end - step * (steps - 1 - i);
    }
  }
  return new Tensor(data, [steps]);
}

/**
 * The n x n identity matrix (n x m with a second argument).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { eye } from "@kit/tensor.ts";
 * deepStrictEqual(eye(2).toArray(), [[1, 0], [0, 1]]);
 * ```
 */
export function eye(n: number, m = n): Tensor {
  const data = new Float64Array(numelChecked([n, m], "eye"));
  for (let i = 0; i < Math.min(n, m); i++) data[i * m + i] = 1;
  return new Tensor(data, [n, m]);
}

/**
 * Uniform values in [0, 1) drawn from `rng` in row-major order (as NumPy's `rand(*shape)` after
 * the same seed).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { rand } from "@kit/tensor.ts";
 * import { rng } from "@kit/random.ts";
 * deepStrictEqual(rand([2], rng(0)).toArray(), [0.5488135039273248, 0.7151893663724195]);
 * ```
 */
export function rand(shape: Shape, rng: Rng, opts: TensorOptions = {}): Tensor {
  const data = new Float64Array(numelChecked(shape, "rand"));
  for (let i = 0; i < data.length; i++) data[i] = rng.uniform();
  return new Tensor(data, shape, opts);
}

/**
 * Standard normal values drawn from `rng` in row-major order (as NumPy's `randn(*shape)`).
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { randn } from "@kit/tensor.ts";
 * import { rng } from "@kit/random.ts";
 * deepStrictEqual(randn([2, 3], rng(0)).shape, [2, 3]);
 * ```
 */
export function randn(shape: Shape, rng: Rng, opts: TensorOptions = {}): Tensor {
  const data = new Float64Array(numelChecked(shape, "randn"));
  for (let i = 0; i < data.length; i++) data[i] = rng.normal();
  return new Tensor(data, shape, opts);
}

// ---------------------------------------------------------------------------------------------
// Functions of several tensors

/**
 * Joins tensors along an existing `axis`; all other dimensions must agree.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { concat, tensor } from "@kit/tensor.ts";
 * deepStrictEqual(concat([tensor([[1, 2]]), tensor([[3, 4]])], 0).toArray(), [[1, 2], [3, 4]]);
 * ```
 */
export function concat(tensors: Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new RangeError("concat: needs at least one tensor");
  const first = tensors[0];
  if (first.ndim === 0) {
    throw new RangeError("concat: zero-dimensional tensors cannot be concatenated; use stack()");
  }
  const ax = normAxis(axis, first.ndim, "concat");
  let total = 0;
  for (const [i, t] of tensors.entries()) {
    const ok = t.ndim === first.ndim && t.shape.every((s, d) => d === ax || s === first.shape[d]);
    if (!ok) {
      throw new RangeError(
        `concat along axis ${ax}: tensor ${i} has shape ${fmt(t.shape)} but tensor 0 has ` +
          `${fmt(first.shape)}; all dimensions except the concatenation axis must match`,
      );
    }
    total += t.shape[ax];
  }
  const shape = first.shape.slice();
  shape[ax] = total;
  const [outer, , inner] = around(shape, ax);
  const out = new Float64Array(numel(shape));
  const rowOut = total * inner;
  let col = 0;
  const cols: number[] = [];
  for (const t of tensors) {
    cols.push(col);
    const w = t.shape[ax] * inner;
    for (let o = 0; o < outer; o++) out.set(t.data.subarray(o * w, (o + 1) * w), o * rowOut + col);
    col += w;
  }
  return op("concat", out, shape, tensors, (g) => {
    tensors.forEach((t, i) => {
      if (!t.requiresGrad) return;
      const w = t.shape[ax] * inner;
      const gt = gradBuffer(t.size);
      for (let o = 0; o < outer; o++) {
        gt.set(g.subarray(o * rowOut + cols[i], o * rowOut + cols[i] + w), o * w);
      }
      acc(t, gt, true);
    });
  }, true);
}

/**
 * Joins tensors of equal shape along a new `axis`.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { stack, tensor } from "@kit/tensor.ts";
 * deepStrictEqual(stack([tensor([1, 2]), tensor([3, 4])], 1).toArray(), [[1, 3], [2, 4]]);
 * ```
 */
export function stack(tensors: Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new RangeError("stack: needs at least one tensor");
  const first = tensors[0];
  for (const [i, t] of tensors.entries()) {
    if (!sameShape(t.shape, first.shape)) {
      throw new RangeError(
        `stack: tensor ${i} has shape ${fmt(t.shape)} but tensor 0 has ${fmt(first.shape)}; ` +
          `stack needs equal shapes (use concat to join along an existing axis)`,
      );
    }
  }
  const ax = normAxis(axis, first.ndim + 1, "stack");
  return concat(tensors.map((t) => t.unsqueeze(ax)), ax);
}

/**
 * Elementwise choice: `a` where `cond` is non-zero, else `b` (all three broadcast). Gradients
 * flow to `a` and `b` where each was chosen.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { tensor, where } from "@kit/tensor.ts";
 * deepStrictEqual(where(tensor([1, 0, 1]), tensor([1, 2, 3]), 0).toArray(), [1, 0, 3]);
 * ```
 */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  const ta = asTensor(a), tb = asTensor(b);
  const shape = broadcastShapes(
    broadcastShapes(cond.shape, ta.shape, "where(cond, a, b)"),
    tb.shape,
    "where(cond, a, b)",
  );
  const c = expandTo(cond.data, cond.shape, shape);
  const x = expandTo(ta.data, ta.shape, shape), y = expandTo(tb.data, tb.shape, shape);
  const out = new Float64Array(c.length);
  for (let i = 0; i < c.length; i++) out[i] = c[i] !== 0 ? x[i] : y[i];
  return op("where", out, shape, [ta, tb], (g) => {
    if (ta.requiresGrad) {
      const ga = gradBuffer(g.length);
      for (let i = 0; i < g.length; i++) ga[i] = c[i] !== 0 ? g[i] : 0;
      accReduced(ta, ga, shape, true);
    }
    if (tb.requiresGrad) {
      const gb = gradBuffer(g.length);
      for (let i = 0; i < g.length; i++) gb[i] = c[i] !== 0 ? 0 : g[i];
      accReduced(tb, gb, shape, true);
    }
  }, true);
}

/**
 * @internal Cross-entropy of logits [N, C] against class indices, averaged over the rows, as one
 * operation: the values and gradients of `logits.logSoftmax(1)`, gathering each row's target,
 * negating and taking the mean, bit for bit (the same operations in the same order), without
 * their six intermediate tensors. `crossEntropy` takes this path when it has no class weights,
 * no label smoothing and reduction "mean". `idx` must hold valid class indices.
 */
export function _crossEntropyMean(logits: Tensor, idx: readonly number[]): Tensor {
  const [N, C] = logits.shape;
  const x = logits.data;
  const m = new Float64Array(N), ls = new Float64Array(N);
  let s = 0;
  for (let i = 0; i < N; i++) {
    const base = i * C;
    let mi = -Infinity;
    for (let j = 0; j < C; j++) mi = Math.max(mi, x[base + j]);
    if (mi === -Infinity) mi = 0;
    let e = 0;
    for (let j = 0; j < C; j++) e += Math.exp(x[base + j] - mi);
    const li = Math.log(e);
    m[i] = mi;
    ls[i] = li;
    s += -(x[base + idx[i]] - mi - li);
  }
  return op("crossEntropy", Float64Array.of(s / N), [], [logits], function crossEntropyBackward(g) {
    const v = -(g[0] / N);
    const ga = gradBuffer(N * C);
    for (let i = 0; i < N; i++) {
      const base = i * C, mi = m[i], li = ls[i], y = idx[i];
      for (let j = 0; j < C; j++) {
        ga[base + j] = (j === y ? v : 0) - Math.exp(x[base + j] - mi - li) * v;
      }
    }
    acc(logits, ga, true);
  }, true);
}

/**
 * `torch.nn.functional.linear`: `x W^T + b` with `weight` of shape [out, in], `x` of shape
 * [..., in] and `bias` of shape [out]. One fused operation: the forward multiplies by W^T without
 * building it, and the backward computes dX = dY·W, dW = dY^T·X and db = the column sums of dY
 * directly.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { linear, tensor } from "@kit/tensor.ts";
 * const x = tensor([[1, 2]]);
 * const w = tensor([[1, 0], [0, 1], [1, 1]]); // 2 inputs -> 3 outputs
 * deepStrictEqual(linear(x, w, tensor([0, 0, 10])).toArray(), [[1, 2, 13]]);
 * ```
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null): Tensor {
  return _linear(x, weight, bias ?? null, false, false);
}

/**
 * @internal {@link linear}, optionally followed by ReLU in the same operation (`relu`), the path
 * `Sequential` takes for a `Linear` followed by a `ReLU`. With `hidden` the result's array comes
 * from the buffer pool and goes back to it after the backward() through it: only for results that
 * nothing but the next fused `_linear` reads (Sequential's hidden activations). A pooled input
 * whose consumer builds no graph goes back right away.
 */
export function _linear(
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  relu: boolean,
  hidden: boolean,
): Tensor {
  if (weight.ndim !== 2) {
    throw new RangeError(
      `linear: weight must be 2-D [outFeatures, inFeatures], got shape ${fmt(weight.shape)}`,
    );
  }
  const [outF, inF] = weight.shape;
  if (x.ndim === 0 || x.shape[x.ndim - 1] !== inF) {
    throw new RangeError(
      `linear: input of shape ${fmt(x.shape)} does not fit weight of shape ${fmt(weight.shape)}: ` +
        `the input's last dimension must be inFeatures = ${inF}`,
    );
  }
  if (bias && !(bias.ndim === 1 && bias.shape[0] === outF)) {
    throw new RangeError(
      `linear: bias of shape ${fmt(bias.shape)} does not fit weight of shape ` +
        `${fmt(weight.shape)}; it must be [${outF}]`,
    );
  }
  if (x._freed) {
    throw new Error("linear: the input is a hidden activation already given back to the pool");
  }
  const rows = x.size / inF;
  const X = x.data, W = weight.data;
  const out = hidden ? takeBuffer(rows * outF) : new Float64Array(rows * outF);
  linearForward(X, W, bias ? bias.data : null, out, rows, inF, outF, relu);
  const shape = [...x.shape.slice(0, -1), outF];
  const inputs = bias ? [x, weight, bias] : [x, weight];
  const t = op(relu ? "linear+relu" : "linear", out, shape, inputs, function linearRule(g) {
    const gx = x.requiresGrad ? takeBuffer(X.length) : null;
    const gw = weight.requiresGrad ? takeBuffer(W.length) : null;
    const gb = bias && bias.requiresGrad ? takeBuffer(outF) : null;
    linearBackward(g, X, W, relu ? out : null, gx, gw, gb, rows, inF, outF);
    if (gx) acc(x, gx, true);
    if (gw) acc(weight, gw, true);
    if (gb) acc(bias!, gb, true);
  }, true);
  t._pooled = hidden;
  if (x._pooled && !t.requiresGrad) freeHidden(x); // no graph holds x: this was its only reader
  return t;
}
