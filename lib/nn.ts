/**
 * Neural-network layers after `torch.nn`: a {@link Module} base class with parameters, buffers,
 * train / eval modes and state dicts, and the layers the lectures use: {@link Linear},
 * {@link ReLU}, {@link LeakyReLU}, {@link ELU}, {@link SELU} (and their functional forms
 * {@link leakyRelu}, {@link elu}, {@link selu}), {@link Tanh}, {@link Sigmoid}, {@link Dropout},
 * {@link BatchNorm1d}, {@link LayerNorm}, {@link Flatten}, {@link Identity} and
 * {@link Sequential}.
 *
 * How a module finds its parts (PyTorch does this in `__setattr__`; here it is done by looking at
 * the module's own properties, in the order they were first assigned):
 * - a property holding a {@link Parameter} is a parameter (wrap a tensor with
 *   `Parameter.from(t)` or call `registerParameter(name, t)`);
 * - a property holding a {@link Module}, or an array of modules (like `nn.ModuleList`), is a
 *   child; an array `layers` gives children "layers.0", "layers.1", ...;
 * - buffers (state that is not trained, such as BatchNorm's running statistics) are declared with
 *   `registerBuffer(name, tensor)`;
 * - any other property (numbers, generators, a plain Tensor such as Dropout's `lastMask`) is
 *   ignored.
 *
 * Calling a module: `m.call(x)` (the counterpart of PyTorch's `m(x)`) runs `m.forward(x)`.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { BatchNorm1d, Dropout, Linear, ReLU, Sequential } from "@kit/nn.ts";
 * import { randn } from "@kit/tensor.ts";
 * import { rng } from "@kit/random.ts";
 * const g = rng(0);
 * const model = new Sequential(
 *   new Linear(4, 8, { rng: g }),
 *   new BatchNorm1d(8),
 *   new ReLU(),
 *   new Dropout(0.5, { rng: g }),
 *   new Linear(8, 3, { rng: g }),
 * );
 * const logits = model.call(randn([5, 4], g));
 * deepStrictEqual(logits.shape, [5, 3]);
 * deepStrictEqual(model.namedParameters().map(([name]) => name).slice(0, 3), [
 *   "0.weight",
 *   "0.bias",
 *   "1.weight",
 * ]);
 * ```
 *
 * @module
 */
import { _linear, type Shape, Tensor } from "./tensor.ts";
import type { Rng } from "./random.ts";
import { kaimingUniform, uniform } from "./init.ts";

const fmtShape = (s: Shape): string => `[${s.join(", ")}]`;

/**
 * A tensor that a {@link Module} trains: `requiresGrad` is true by default and `parameters()`
 * lists it (PyTorch's `nn.Parameter`).
 *
 * @example
 * ```ts
 * import { Parameter } from "@kit/nn.ts";
 * import { zeros } from "@kit/tensor.ts";
 * import { strictEqual } from "node:assert";
 * const z = zeros([3, 2]);
 * const w = Parameter.from(z); // shares the tensor's data, requiresGrad = true
 * strictEqual(w.data, z.data);
 * strictEqual(w.requiresGrad, true);
 * ```
 */
export class Parameter extends Tensor {
  /** Wrap `data` of the given shape; `requiresGrad` defaults to true. */
  constructor(
    data: Float64Array,
    shape: Shape,
    { requiresGrad = true }: { requiresGrad?: boolean } = {},
  ) {
    super(data, shape, { requiresGrad });
  }

  /**
   * A parameter that shares `t`'s data (as `nn.Parameter(t)` shares storage).
   *
   * @example
   * ```ts
   * import { Parameter } from "@kit/nn.ts";
   * import { tensor } from "@kit/tensor.ts";
   * import { strictEqual } from "node:assert";
   * const b = Parameter.from(tensor([0.5, -0.5]));
   * strictEqual(b instanceof Parameter && b.requiresGrad, true);
   * ```
   */
  static from(t: Tensor, { requiresGrad = true }: { requiresGrad?: boolean } = {}): Parameter {
    return new Parameter(t.data, [...t.shape], { requiresGrad });
  }
}

/** The result of a non-strict {@link Module.loadStateDict}. */
export interface LoadResult {
  /** Keys the module expected but the state dict lacked. */
  missingKeys: string[];
  /** Keys in the state dict the module does not have. */
  unexpectedKeys: string[];
}

const INSPECT = Symbol.for("Deno.customInspect");

/**
 * Base class of every layer and model (PyTorch's `nn.Module`). Subclasses implement
 * `forward(x)`; users call `module.call(x)`.
 *
 * @example
 * ```ts
 * import { Linear, Module, ReLU } from "@kit/nn.ts";
 * import { type Tensor, randn } from "@kit/tensor.ts";
 * import { rng } from "@kit/random.ts";
 * class MLP extends Module {
 *   fc1: Linear;
 *   act = new ReLU();
 *   fc2: Linear;
 *   constructor(g: ReturnType<typeof rng>) {
 *     super();
 *     this.fc1 = new Linear(4, 16, { rng: g });
 *     this.fc2 = new Linear(16, 3, { rng: g });
 *   }
 *   forward(x: Tensor): Tensor {
 *     return this.fc2.call(this.act.call(this.fc1.call(x)));
 *   }
 * }
 * const g = rng(1);
 * import { deepStrictEqual } from "node:assert";
 * const net = new MLP(g);
 * deepStrictEqual(net.namedParameters().map(([n]) => n), [
 *   "fc1.weight",
 *   "fc1.bias",
 *   "fc2.weight",
 *   "fc2.bias",
 * ]);
 * const y = net.call(randn([2, 4], g));
 * deepStrictEqual(y.shape, [2, 3]);
 * ```
 */
export abstract class Module {
  /** True in training mode (the default), false after `eval()`. */
  training = true;
  #bufferNames: string[] = [];

  /** The computation of the layer; call it through {@link Module.call}. */
  abstract forward(x: Tensor): Tensor;

  /**
   * Run the module on `x` (PyTorch's `module(x)`).
   *
   * @example
   * ```ts
   * import { ReLU } from "@kit/nn.ts";
   * import { tensor } from "@kit/tensor.ts";
   * import { deepStrictEqual } from "node:assert";
   * deepStrictEqual(new ReLU().call(tensor([-1, 2])).toArray(), [0, 2]);
   * ```
   */
  call(x: Tensor): Tensor {
    return this.forward(x);
  }

  /**
   * Declare a parameter under `name` (a property of the module); a plain tensor is wrapped in a
   * {@link Parameter} sharing its data; `null` declares an absent parameter (like `bias=False`).
   *
   * @example
   * ```ts
   * import { Module } from "@kit/nn.ts";
   * import { type Tensor, ones } from "@kit/tensor.ts";
   * class Scale extends Module {
   *   constructor() { super(); this.registerParameter("gain", ones([3])); }
   *   forward(x: Tensor): Tensor { return x.mul((this as unknown as { gain: Tensor }).gain); }
   * }
   * import { strictEqual } from "node:assert";
   * strictEqual(new Scale().namedParameters()[0][0], "gain");
   * ```
   */
  registerParameter(name: string, t: Tensor | null): void {
    (this as unknown as Record<string, unknown>)[name] = t === null || t instanceof Parameter
      ? t
      : Parameter.from(t);
  }

  /**
   * Declare a buffer: a tensor that is part of the module's state (saved in `stateDict()`) but
   * not trained, such as BatchNorm's running mean. It becomes the property `name`.
   *
   * @example
   * ```ts
   * import { Module } from "@kit/nn.ts";
   * import { type Tensor, zeros } from "@kit/tensor.ts";
   * class Counter extends Module {
   *   constructor() { super(); this.registerBuffer("seen", zeros([1])); }
   *   forward(x: Tensor): Tensor { return x; }
   * }
   * import { deepStrictEqual } from "node:assert";
   * deepStrictEqual(Object.keys(new Counter().stateDict()), ["seen"]);
   * ```
   */
  registerBuffer(name: string, t: Tensor | null): void {
    if (t !== null && !(t instanceof Tensor)) {
      throw new TypeError(
        `${this.constructor.name}.registerBuffer("${name}"): expected a Tensor or null`,
      );
    }
    if (!this.#bufferNames.includes(name)) this.#bufferNames.push(name);
    (this as unknown as Record<string, unknown>)[name] = t;
  }

  /** Own parameters (not those of children), in declaration order. */
  #ownParameters(): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    for (const [k, v] of Object.entries(this)) {
      if (v instanceof Parameter && !this.#bufferNames.includes(k)) out.push([k, v]);
    }
    return out;
  }

  /** Own buffers (not those of children), in registration order; `null` buffers are skipped. */
  #ownBuffers(): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const k of this.#bufferNames) {
      const v = (this as unknown as Record<string, unknown>)[k];
      if (v instanceof Tensor) out.push([k, v]);
    }
    return out;
  }

  /**
   * Direct children with their names (arrays of modules give "name.0", "name.1", ...).
   *
   * @example
   * ```ts
   * import { Linear, ReLU, Sequential } from "@kit/nn.ts";
   * import { rng } from "@kit/random.ts";
   * const m = new Sequential(new Linear(2, 2, { rng: rng(0) }), new ReLU());
   * import { deepStrictEqual } from "node:assert";
   * deepStrictEqual(m.namedChildren().map(([n]) => n), ["0", "1"]);
   * ```
   */
  namedChildren(): [string, Module][] {
    const out: [string, Module][] = [];
    for (const [k, v] of Object.entries(this)) {
      if (v instanceof Module) out.push([k, v]);
      else if (Array.isArray(v) && v.length > 0 && v.every((m) => m instanceof Module)) {
        v.forEach((m: Module, i) => out.push([`${k}.${i}`, m]));
      }
    }
    return out;
  }

  /**
   * Direct children.
   *
   * @example
   * ```ts
   * import { ReLU, Sequential, Tanh } from "@kit/nn.ts";
   * import { strictEqual } from "node:assert";
   * strictEqual(new Sequential(new ReLU(), new Tanh()).children().length, 2);
   * ```
   */
  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /**
   * This module and all its descendants, depth first, with dotted names ("" for this one);
   * a module shared by two parents is listed once.
   *
   * @example
   * ```ts
   * import { ReLU, Sequential, Tanh } from "@kit/nn.ts";
   * import { deepStrictEqual } from "node:assert";
   * const names = new Sequential(new ReLU(), new Tanh()).namedModules().map(([n]) => n);
   * deepStrictEqual(names, ["", "0", "1"]);
   * ```
   */
  namedModules(prefix = ""): [string, Module][] {
    const seen = new Set<Module>();
    const out: [string, Module][] = [];
    const visit = (m: Module, name: string) => {
      if (seen.has(m)) return;
      seen.add(m);
      out.push([name, m]);
      for (const [k, c] of m.namedChildren()) visit(c, name ? `${name}.${k}` : k);
    };
    visit(this, prefix);
    return out;
  }

  /**
   * This module and all its descendants.
   *
   * @example
   * ```ts
   * import { Dropout, ReLU, Sequential } from "@kit/nn.ts";
   * const m = new Sequential(new ReLU(), new Dropout(0.5));
   * import { strictEqual } from "node:assert";
   * strictEqual(m.modules().filter((x) => x instanceof Dropout).length, 1);
   * ```
   */
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /**
   * All parameters with PyTorch's dotted names ("0.weight", "fc1.bias"), this module's own
   * first, then each child's in order; a parameter shared by two layers is listed once.
   *
   * @example
   * ```ts
   * import { Linear } from "@kit/nn.ts";
   * import { rng } from "@kit/random.ts";
   * import { deepStrictEqual } from "node:assert";
   * const named = new Linear(3, 2, { rng: rng(0) }).namedParameters();
   * deepStrictEqual(named.map(([n, p]) => `${n} ${p.shape}`), ["weight 2,3", "bias 2"]);
   * ```
   */
  namedParameters(prefix = ""): [string, Parameter][] {
    const seen = new Set<Parameter>();
    const out: [string, Parameter][] = [];
    for (const [mname, m] of this.namedModules(prefix)) {
      for (const [pname, p] of m.#ownParameters()) {
        if (seen.has(p)) continue;
        seen.add(p);
        out.push([mname ? `${mname}.${pname}` : pname, p]);
      }
    }
    return out;
  }

  /**
   * All parameters (give them to an optimizer).
   *
   * @example
   * ```ts
   * import { Linear } from "@kit/nn.ts";
   * import { rng } from "@kit/random.ts";
   * import { strictEqual } from "node:assert";
   * strictEqual(new Linear(3, 2, { rng: rng(0) }).parameters().length, 2); // weight and bias
   * ```
   */
  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /**
   * All buffers with dotted names ("1.runningMean", ...).
   *
   * @example
   * ```ts
   * import { BatchNorm1d } from "@kit/nn.ts";
   * import { deepStrictEqual } from "node:assert";
   * deepStrictEqual(new BatchNorm1d(4).namedBuffers().map(([n]) => n), [
   *   "runningMean",
   *   "runningVar",
   *   "numBatchesTracked",
   * ]);
   * ```
   */
  namedBuffers(prefix = ""): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [mname, m] of this.namedModules(prefix)) {
      for (const [bname, b] of m.#ownBuffers()) out.push([mname ? `${mname}.${bname}` : bname, b]);
    }
    return out;
  }

  /**
   * All buffers.
   *
   * @example
   * ```ts
   * import { BatchNorm1d } from "@kit/nn.ts";
   * import { strictEqual } from "node:assert";
   * strictEqual(new BatchNorm1d(4).buffers().length, 3);
   * ```
   */
  buffers(): Tensor[] {
    return this.namedBuffers().map(([, b]) => b);
  }

  /**
   * Number of scalar parameters (the sum of the parameters' sizes).
   *
   * @example
   * ```ts
   * import { Linear } from "@kit/nn.ts";
   * import { rng } from "@kit/random.ts";
   * import { strictEqual } from "node:assert";
   * strictEqual(new Linear(64, 10, { rng: rng(0) }).numParameters(), 64 * 10 + 10);
   * ```
   */
  numParameters(): number {
    let n = 0;
    for (const p of this.parameters()) n += p.data.length;
    return n;
  }

  /**
   * Set training mode (`mode = true`) or evaluation mode, on this module and every descendant.
   * Dropout and BatchNorm behave differently in the two modes.
   *
   * @example
   * ```ts
   * import { Dropout, Sequential } from "@kit/nn.ts";
   * import { strictEqual } from "node:assert";
   * const m = new Sequential(new Dropout(0.5)).train(false);
   * strictEqual(m.at(0).training, false);
   * ```
   */
  train(mode = true): this {
    if (typeof mode !== "boolean") {
      throw new TypeError(
        `${this.constructor.name}.train(mode): mode must be a boolean, got ${mode}`,
      );
    }
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /**
   * Evaluation mode, the same as `train(false)`.
   *
   * @example
   * ```ts
   * import { BatchNorm1d } from "@kit/nn.ts";
   * import { strictEqual } from "node:assert";
   * const bn = new BatchNorm1d(3).eval(); // uses the running statistics from now on
   * strictEqual(bn.training, false);
   * ```
   */
  eval(): this {
    return this.train(false);
  }

  /**
   * Call `fn` on every child (recursively) and then on this module, as `nn.Module.apply`.
   *
   * @example
   * ```ts
   * import { Linear, Sequential } from "@kit/nn.ts";
   * import { rng } from "@kit/random.ts";
   * import * as init from "@kit/init.ts";
   * const g = rng(0);
   * const m = new Sequential(new Linear(2, 2, { rng: g }));
   * import { deepStrictEqual } from "node:assert";
   * m.apply((l) => { if (l instanceof Linear) init.zeros(l.weight); });
   * deepStrictEqual((m.at(0) as Linear).weight.toArray(), [[0, 0], [0, 0]]);
   * ```
   */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children()) c.apply(fn);
    fn(this);
    return this;
  }

  /**
   * Clear the gradients of all parameters. As PyTorch (>= 2.0) the default sets `grad` to null;
   * `{ setToNone: false }` fills the existing gradients with zeros instead.
   *
   * @example
   * ```ts
   * import { Linear } from "@kit/nn.ts";
   * import { ones } from "@kit/tensor.ts";
   * import { rng } from "@kit/random.ts";
   * const l = new Linear(2, 1, { rng: rng(0) });
   * import { strictEqual } from "node:assert";
   * l.call(ones([1, 2])).sum().backward();
   * l.zeroGrad();
   * strictEqual(l.weight.grad, null);
   * ```
   */
  zeroGrad({ setToNone = true }: { setToNone?: boolean } = {}): void {
    for (const p of this.parameters()) {
      if (setToNone) p._dropGrad();
      else p._peekGrad()?.data.fill(0);
    }
  }

  /** Live references to parameters and buffers, in PyTorch's state-dict order. */
  #stateEntries(prefix: string, out: [string, Tensor][]): [string, Tensor][] {
    for (const [n, p] of this.#ownParameters()) out.push([prefix + n, p]);
    for (const [n, b] of this.#ownBuffers()) out.push([prefix + n, b]);
    for (const [n, c] of this.namedChildren()) c.#stateEntries(`${prefix}${n}.`, out);
    return out;
  }

  /**
   * Copies of all parameters and buffers, keyed by dotted name (PyTorch's `state_dict()`;
   * PyTorch returns views, here they are copies so that later training does not change a saved
   * snapshot). Use it to keep the best model during early stopping.
   *
   * @example
   * ```ts
   * import { BatchNorm1d, Linear, Sequential } from "@kit/nn.ts";
   * import { rng } from "@kit/random.ts";
   * const m = new Sequential(new Linear(2, 3, { rng: rng(0) }), new BatchNorm1d(3));
   * import { deepStrictEqual } from "node:assert";
   * deepStrictEqual(Object.keys(m.stateDict()), [
   *   "0.weight",
   *   "0.bias",
   *   "1.weight",
   *   "1.bias",
   *   "1.runningMean",
   *   "1.runningVar",
   *   "1.numBatchesTracked",
   * ]);
   * ```
   */
  stateDict(): Record<string, Tensor> {
    const sd: Record<string, Tensor> = {};
    for (const [k, t] of this.#stateEntries("", [])) {
      sd[k] = new Tensor(t.data.slice(), [...t.shape]);
    }
    return sd;
  }

  /**
   * Copy the values of a state dict into this module's parameters and buffers, in place (the
   * tensors an optimizer holds stay valid). With `strict` (the default) missing and unexpected
   * keys are errors; a shape mismatch is always an error. Returns the missing and unexpected keys.
   *
   * @example
   * ```ts
   * import { Linear } from "@kit/nn.ts";
   * import { rng } from "@kit/random.ts";
   * const a = new Linear(3, 2, { rng: rng(0) });
   * const b = new Linear(3, 2, { rng: rng(1) });
   * b.loadStateDict(a.stateDict()); // b now computes exactly what a computes
   * import { deepStrictEqual } from "node:assert";
   * import { tensor } from "@kit/tensor.ts";
   * const x = tensor([[1, 2, 3]]);
   * deepStrictEqual(b.call(x).toArray(), a.call(x).toArray());
   * ```
   */
  loadStateDict(
    sd: Record<string, Tensor>,
    { strict = true }: { strict?: boolean } = {},
  ): LoadResult {
    const own = new Map(this.#stateEntries("", []));
    const missingKeys = [...own.keys()].filter((k) => !(k in sd));
    const unexpectedKeys = Object.keys(sd).filter((k) => !own.has(k));
    const errors: string[] = [];
    if (strict && missingKeys.length) {
      errors.push(`Missing key(s) in state_dict: ${missingKeys.map((k) => `"${k}"`).join(", ")}.`);
    }
    if (strict && unexpectedKeys.length) {
      errors.push(
        `Unexpected key(s) in state_dict: ${unexpectedKeys.map((k) => `"${k}"`).join(", ")}.`,
      );
    }
    for (const [k, t] of own) {
      if (!(k in sd)) continue;
      const src = sd[k];
      if (!(src instanceof Tensor)) {
        errors.push(`value for ${k} is not a Tensor.`);
        continue;
      }
      if (src.shape.length !== t.shape.length || src.shape.some((d, i) => d !== t.shape[i])) {
        errors.push(
          `size mismatch for ${k}: copying a param with shape ${
            fmtShape(src.shape)
          } from checkpoint, ` +
            `the shape in current model is ${fmtShape(t.shape)}.`,
        );
      }
    }
    if (errors.length) {
      throw new Error(
        `Error(s) in loading state_dict for ${this.constructor.name}:\n\t${errors.join("\n\t")}\n` +
          `Load a state dict saved from the same architecture (same layers, sizes and order), ` +
          `or pass { strict: false } to load only the keys that match.`,
      );
    }
    for (const [k, t] of own) if (k in sd) t.data.set(sd[k].data);
    return { missingKeys, unexpectedKeys };
  }

  /** Extra text inside the module's printed form, e.g. "inFeatures=3, outFeatures=2, bias=true". */
  extraRepr(): string {
    return "";
  }

  /**
   * PyTorch-style printout of the module tree.
   *
   * @example
   * ```ts
   * import { Linear, ReLU, Sequential } from "@kit/nn.ts";
   * import { rng } from "@kit/random.ts";
   * import { strictEqual } from "node:assert";
   * strictEqual(
   *   new Sequential(new Linear(2, 3, { rng: rng(0) }), new ReLU()).toString(),
   *   "Sequential(\n  (0): Linear(inFeatures=2, outFeatures=3, bias=true)\n  (1): ReLU()\n)",
   * );
   * ```
   */
  toString(): string {
    const kids = this.namedChildren();
    const name = this.constructor.name;
    if (kids.length === 0) return `${name}(${this.extraRepr()})`;
    const lines = kids.map(([k, m]) => `  (${k}): ${m.toString().replaceAll("\n", "\n  ")}`);
    const extra = this.extraRepr();
    return `${name}(${extra ? `\n  ${extra}` : ""}\n${lines.join("\n")}\n)`;
  }

  /** Deno.inspect / the Jupyter kernel print the module as {@link Module.toString}. */
  [INSPECT](): string {
    return this.toString();
  }

  /**
   * A module of this class holding `fields` as its own properties, made without running the
   * class's constructor (as Python's pickle restores an object from its `__dict__`); the fields
   * named in `buffers` become buffers. This is how a module is copied into another JavaScript
   * realm: the grader's checker rebuilds a submission's layers with its own kit from their data
   * (`tools/grade/codec.ts`). A key that names a method or an accessor of the class (or of
   * `Object.prototype`) is skipped. A subclass whose state is not all in its own properties
   * (`#private` fields) overrides it, as {@link Sequential} does.
   *
   * @example
   * ```ts
   * import { Linear } from "@kit/nn.ts";
   * import { tensor } from "@kit/tensor.ts";
   * import { rng } from "@kit/random.ts";
   * import { deepStrictEqual, ok } from "node:assert";
   * const fc = new Linear(2, 1, { rng: rng(0) });
   * const copy = Linear.fromFields({ ...fc });
   * ok(copy instanceof Linear && copy !== fc);
   * const x = tensor([[1, 2]]);
   * deepStrictEqual(copy.call(x).toArray(), fc.call(x).toArray());
   * ```
   */
  static fromFields<M extends Module>(
    this: abstract new (...args: never[]) => M,
    fields: Readonly<Record<string, unknown>>,
    buffers: readonly string[] = [],
  ): M {
    const m = Reflect.construct(
      Module as unknown as new () => M,
      [],
      this as unknown as new () => M,
    );
    assignFields(m, fields, buffers);
    return m;
  }
}

/** Sets `fields` as own properties of `m` (see {@link Module.fromFields}). */
function assignFields(
  m: Module,
  fields: Readonly<Record<string, unknown>>,
  buffers: readonly string[],
): void {
  const proto = Object.getPrototypeOf(m);
  for (const [k, v] of Object.entries(fields)) {
    if (k in proto) continue;
    Object.defineProperty(m, k, { value: v, writable: true, enumerable: true, configurable: true });
  }
  for (const b of buffers) {
    const t = Object.hasOwn(fields, b) && !(b in proto) ? fields[b] : undefined;
    if (t === null || t instanceof Tensor) m.registerBuffer(b, t);
  }
}

function checkPositiveInt(v: number, what: string, where: string): void {
  if (!Number.isInteger(v) || v <= 0) {
    throw new RangeError(`${where}: ${what} must be a positive integer, got ${v}`);
  }
}

function requireRng(rng: Rng | undefined, where: string): Rng {
  if (!rng || typeof rng.uniform !== "function") {
    throw new TypeError(
      `${where}: pass a seeded generator, { rng: rng(seed) } with rng from "@kit/random.ts" ` +
        `(every random draw in the kit is seeded)`,
    );
  }
  return rng;
}

/**
 * Fully connected layer `y = x W^T + b` (PyTorch's `nn.Linear`), weight `[outFeatures,
 * inFeatures]`, bias `[outFeatures]`. Initialised as PyTorch: `kaiming_uniform_(W, a=sqrt(5))`,
 * i.e. W ~ U(-1/sqrt(in), 1/sqrt(in)), then b ~ U(-1/sqrt(in), 1/sqrt(in)), drawn from `rng`
 * (weight first, row-major, then bias).
 *
 * @example
 * ```ts
 * import { Linear } from "@kit/nn.ts";
 * import { randn } from "@kit/tensor.ts";
 * import { rng } from "@kit/random.ts";
 * const g = rng(0);
 * import { deepStrictEqual } from "node:assert";
 * const fc = new Linear(64, 10, { rng: g });
 * const y = fc.call(randn([32, 64], g));
 * deepStrictEqual([fc.weight.shape, y.shape], [[10, 64], [32, 10]]); // weight is [out, in]
 * ```
 */
export class Linear extends Module {
  /** Size of each input sample. */
  readonly inFeatures: number;
  /** Size of each output sample. */
  readonly outFeatures: number;
  /** `[outFeatures, inFeatures]`. */
  weight: Parameter;
  /** `[outFeatures]`, or null with `{ bias: false }`. */
  bias: Parameter | null;

  /** `rng` draws the initial weights. */
  constructor(
    inFeatures: number,
    outFeatures: number,
    { bias = true, rng }: { bias?: boolean; rng: Rng },
  ) {
    super();
    const where = `Linear(${inFeatures}, ${outFeatures})`;
    checkPositiveInt(inFeatures, "inFeatures", where);
    checkPositiveInt(outFeatures, "outFeatures", where);
    requireRng(rng, where);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.weight = new Parameter(new Float64Array(outFeatures * inFeatures), [
      outFeatures,
      inFeatures,
    ]);
    kaimingUniform(this.weight, { a: Math.sqrt(5), rng });
    if (bias) {
      const bound = 1 / Math.sqrt(inFeatures);
      this.bias = new Parameter(new Float64Array(outFeatures), [outFeatures]);
      uniform(this.bias, { a: -bound, b: bound, rng });
    } else {
      this.bias = null;
    }
  }

  /** `x` of shape `[..., inFeatures]` to `[..., outFeatures]`. */
  forward(x: Tensor): Tensor {
    return this._fused(x, false, false);
  }

  /**
   * @internal The forward, followed by ReLU in the same operation when `relu`; with `hidden` the
   * result is pooled (see `_linear`). For {@link Sequential}.
   */
  _fused(x: Tensor, relu: boolean, hidden: boolean): Tensor {
    if (x.ndim < 1 || x.shape[x.ndim - 1] !== this.inFeatures) {
      throw new RangeError(
        `Linear(${this.inFeatures} -> ${this.outFeatures}): input of shape ${fmtShape(x.shape)} ` +
          `must end in inFeatures = ${this.inFeatures} (e.g. [batch, ${this.inFeatures}]); ` +
          `check the previous layer's size or reshape / flatten the input`,
      );
    }
    return _linear(x, this.weight, this.bias, relu, hidden);
  }

  override extraRepr(): string {
    return `inFeatures=${this.inFeatures}, outFeatures=${this.outFeatures}, bias=${
      this.bias !== null
    }`;
  }
}

/**
 * `max(0, x)` elementwise.
 *
 * @example
 * ```ts
 * import { ReLU } from "@kit/nn.ts";
 * import { tensor } from "@kit/tensor.ts";
 * import { deepStrictEqual } from "node:assert";
 * deepStrictEqual(new ReLU().call(tensor([-2, 0, 3])).toArray(), [0, 0, 3]);
 * ```
 */
export class ReLU extends Module {
  /** Elementwise ReLU. */
  forward(x: Tensor): Tensor {
    return x.relu();
  }
}

/**
 * `x` for x > 0, `negativeSlope * x` otherwise (PyTorch's `nn.LeakyReLU`, slope 0.01 by default,
 * any finite slope). The gradient at 0 is the slope, as PyTorch's. Its He gain is
 * `init.calculateGain("leaky_relu", negativeSlope)`.
 *
 * @example
 * ```ts
 * import { LeakyReLU } from "@kit/nn.ts";
 * import { tensor } from "@kit/tensor.ts";
 * import { deepStrictEqual } from "node:assert";
 * deepStrictEqual(new LeakyReLU(0.1).call(tensor([-2, 3])).toArray(), [-0.2, 3]);
 * ```
 */
export class LeakyReLU extends Module {
  /** Slope for negative inputs. */
  readonly negativeSlope: number;
  /** `negativeSlope`: a finite number (default 0.01). */
  constructor(negativeSlope = 0.01) {
    super();
    if (!Number.isFinite(negativeSlope)) {
      throw new RangeError(`LeakyReLU(${negativeSlope}): negativeSlope must be a finite number`);
    }
    this.negativeSlope = negativeSlope;
  }
  /** Elementwise leaky ReLU. */
  forward(x: Tensor): Tensor {
    return x.leakyRelu(this.negativeSlope);
  }
  override extraRepr(): string {
    return `negativeSlope=${this.negativeSlope}`;
  }
}

/**
 * Exponential linear unit (PyTorch's `nn.ELU`, Clevert et al. 2016): `x` for x > 0,
 * `alpha * (e^x - 1)` otherwise; it saturates at `-alpha` for large negative inputs, so a unit
 * never dies (its gradient `alpha * e^x` is never exactly 0) and its mean output is nearer 0 than
 * a ReLU's.
 *
 * @example
 * ```ts
 * import { ELU } from "@kit/nn.ts";
 * import { tensor } from "@kit/tensor.ts";
 * import { assertClose } from "@kit/check.ts";
 * assertClose(new ELU().call(tensor([-1, 2])), [Math.exp(-1) - 1, 2]);
 * ```
 */
export class ELU extends Module {
  /** Saturation value for negative inputs (the output tends to `-alpha`). */
  readonly alpha: number;
  /** `alpha`: a finite number (default 1). */
  constructor(alpha = 1) {
    super();
    if (!Number.isFinite(alpha)) {
      throw new RangeError(`ELU(${alpha}): alpha must be a finite number`);
    }
    this.alpha = alpha;
  }
  /** Elementwise ELU. */
  forward(x: Tensor): Tensor {
    return x.elu(this.alpha);
  }
  override extraRepr(): string {
    return `alpha=${this.alpha}`;
  }
}

/**
 * Scaled exponential linear unit (PyTorch's `nn.SELU`, Klambauer et al. 2017):
 * `scale * elu(x, alpha)` with `alpha = 1.6732632423543772`, `scale = 1.0507009873554805`. With
 * weights of variance `1 / fan_in` (`init.lecunNormal`) a deep SELU network keeps its activations
 * near mean 0 and variance 1 without normalisation layers.
 *
 * @example
 * ```ts
 * import { SELU } from "@kit/nn.ts";
 * import { SELU_SCALE, tensor } from "@kit/tensor.ts";
 * import { deepStrictEqual } from "node:assert";
 * deepStrictEqual(new SELU().call(tensor([0, 2])).toArray(), [0, 2 * SELU_SCALE]);
 * ```
 */
export class SELU extends Module {
  /** Elementwise SELU. */
  forward(x: Tensor): Tensor {
    return x.selu();
  }
}

/**
 * Functional leaky ReLU, as `torch.nn.functional.leaky_relu(x, negative_slope)`: the same as
 * `x.leakyRelu(negativeSlope)`.
 *
 * @example
 * ```ts
 * import { leakyRelu } from "@kit/nn.ts";
 * import { tensor } from "@kit/tensor.ts";
 * import { deepStrictEqual } from "node:assert";
 * deepStrictEqual(leakyRelu(tensor([-1, 1]), 0.2).toArray(), [-0.2, 1]);
 * ```
 */
export function leakyRelu(x: Tensor, negativeSlope = 0.01): Tensor {
  return x.leakyRelu(negativeSlope);
}

/**
 * Functional ELU, as `torch.nn.functional.elu(x, alpha)`: the same as `x.elu(alpha)`.
 *
 * @example
 * ```ts
 * import { elu } from "@kit/nn.ts";
 * import { tensor } from "@kit/tensor.ts";
 * import { deepStrictEqual } from "node:assert";
 * deepStrictEqual(elu(tensor([0, 3])).toArray(), [0, 3]);
 * ```
 */
export function elu(x: Tensor, alpha = 1): Tensor {
  return x.elu(alpha);
}

/**
 * Functional SELU, as `torch.nn.functional.selu(x)`: the same as `x.selu()`.
 *
 * @example
 * ```ts
 * import { selu } from "@kit/nn.ts";
 * import { SELU_SCALE, tensor } from "@kit/tensor.ts";
 * import { deepStrictEqual } from "node:assert";
 * deepStrictEqual(selu(tensor([1])).toArray(), [SELU_SCALE]);
 * ```
 */
export function selu(x: Tensor): Tensor {
  return x.selu();
}

/**
 * Hyperbolic tangent elementwise.
 *
 * @example
 * ```ts
 * import { Tanh } from "@kit/nn.ts";
 * import { tensor } from "@kit/tensor.ts";
 * import { assertClose } from "@kit/check.ts";
 * assertClose(new Tanh().call(tensor([0, 1])), [0, Math.tanh(1)]);
 * ```
 */
export class Tanh extends Module {
  /** Elementwise tanh. */
  forward(x: Tensor): Tensor {
    return x.tanh();
  }
}

/**
 * Logistic sigmoid `1 / (1 + exp(-x))` elementwise.
 *
 * @example
 * ```ts
 * import { Sigmoid } from "@kit/nn.ts";
 * import { tensor } from "@kit/tensor.ts";
 * import { assertClose } from "@kit/check.ts";
 * assertClose(new Sigmoid().call(tensor([0, 2])), [0.5, 1 / (1 + Math.exp(-2))]);
 * ```
 */
export class Sigmoid extends Module {
  /** Elementwise sigmoid. */
  forward(x: Tensor): Tensor {
    return x.sigmoid();
  }
}

/**
 * Returns its input (PyTorch's `nn.Identity`): a placeholder, e.g. to switch a layer off.
 *
 * @example
 * ```ts
 * import { Identity } from "@kit/nn.ts";
 * import { tensor } from "@kit/tensor.ts";
 * import { deepStrictEqual } from "node:assert";
 * deepStrictEqual(new Identity().call(tensor([1, 2])).toArray(), [1, 2]);
 * ```
 */
export class Identity extends Module {
  /** `x` itself. */
  forward(x: Tensor): Tensor {
    return x;
  }
}

/**
 * Flattens dimensions `startDim..endDim` into one (PyTorch's `nn.Flatten`, defaults 1 and -1):
 * `[N, 8, 8]` becomes `[N, 64]`.
 *
 * @example
 * ```ts
 * import { Flatten } from "@kit/nn.ts";
 * import { zeros } from "@kit/tensor.ts";
 * import { deepStrictEqual } from "node:assert";
 * deepStrictEqual(new Flatten().call(zeros([2, 8, 8])).shape, [2, 64]);
 * ```
 */
export class Flatten extends Module {
  /** First dimension to flatten. */
  readonly startDim: number;
  /** Last dimension to flatten (negative counts from the end). */
  readonly endDim: number;
  /** PyTorch's defaults: keep the batch dimension. */
  constructor(startDim = 1, endDim = -1) {
    super();
    this.startDim = startDim;
    this.endDim = endDim;
  }
  /** Reshape with the flattened block. */
  forward(x: Tensor): Tensor {
    const n = x.ndim;
    const s = this.startDim < 0 ? this.startDim + n : this.startDim;
    const e = this.endDim < 0 ? this.endDim + n : this.endDim;
    if (!(s >= 0 && e < n && s <= e)) {
      throw new RangeError(
        `Flatten(${this.startDim}, ${this.endDim}): invalid dimensions for input of shape ${
          fmtShape(x.shape)
        }`,
      );
    }
    let block = 1;
    for (let i = s; i <= e; i++) block *= x.shape[i];
    return x.reshape([...x.shape.slice(0, s), block, ...x.shape.slice(e + 1)]);
  }
  override extraRepr(): string {
    return `startDim=${this.startDim}, endDim=${this.endDim}`;
  }
}

/**
 * Dropout with `p` the probability of DROPPING a unit (PyTorch's convention; some lecture slides
 * use the keep probability r = 1 - p).
 *
 * - `mode: "inverted"` (default, PyTorch): in training a keep mask m ~ Bernoulli(1 - p) and the
 *   output `x * m / (1 - p)`, so E[output] = x; in eval the identity.
 * - `mode: "standard"` (Srivastava et al. 2014): in training `x * m` without scaling; in eval
 *   `x * (1 - p)` (weight scaling at inference).
 *
 * `p = 0` returns the input unchanged; `p = 1` returns zeros in training (as PyTorch). The mask is
 * drawn from `rng` in row-major order, one `rng.bernoulli(1 - p)` (i.e. `rng.uniform() < 1 - p`)
 * per element, and kept as `lastMask` (0/1, the input's shape) for teaching.
 *
 * @example
 * ```ts
 * import { Dropout } from "@kit/nn.ts";
 * import { ones } from "@kit/tensor.ts";
 * import { rng } from "@kit/random.ts";
 * const drop = new Dropout(0.5, { rng: rng(0) });
 * import assert from "node:assert";
 * const y = drop.call(ones([2, 4])); // kept entries are scaled by 1 / (1 - 0.5)
 * assert.ok(y.data.every((v, i) => v === 2 * drop.lastMask!.data[i]));
 * assert.deepStrictEqual(drop.eval().call(ones([2, 4])).toArray(), [[1, 1, 1, 1], [1, 1, 1, 1]]);
 * ```
 */
export class Dropout extends Module {
  /** Drop probability. */
  readonly p: number;
  /** Where the 1 / (1 - p) correction goes: training ("inverted") or inference ("standard"). */
  readonly mode: "inverted" | "standard";
  /** Generator for the masks. */
  rng: Rng | undefined;
  /** The 0/1 keep mask of the last training forward (null before the first one). */
  lastMask: Tensor | null = null;

  /** `p` in [0, 1]; `rng` is needed for 0 < p < 1 in training. */
  constructor(
    p = 0.5,
    { rng, mode = "inverted" }: { rng?: Rng; mode?: "inverted" | "standard" } = {},
  ) {
    super();
    if (!(p >= 0 && p <= 1)) {
      throw new RangeError(
        `Dropout(p=${p}): p is the drop probability and must be in [0, 1] (keep probability = 1 - p)`,
      );
    }
    if (mode !== "inverted" && mode !== "standard") {
      throw new RangeError(`Dropout: mode must be "inverted" or "standard", got "${mode}"`);
    }
    this.p = p;
    this.mode = mode;
    this.rng = rng;
  }

  /** Masked (training) or scaled (eval, standard mode) input. */
  forward(x: Tensor): Tensor {
    const p = this.p;
    if (!this.training) {
      return this.mode === "inverted" || p === 0 ? x : x.mul(1 - p);
    }
    const n = x.data.length;
    const mask = new Float64Array(n);
    if (p === 0) {
      mask.fill(1);
      this.lastMask = new Tensor(mask, [...x.shape]);
      return x;
    }
    if (p < 1) {
      const g = requireRng(this.rng, `Dropout(p=${p}) in training mode`);
      for (let i = 0; i < n; i++) mask[i] = g.bernoulli(1 - p);
    }
    this.lastMask = new Tensor(mask, [...x.shape]);
    const scale = this.mode === "inverted" && p < 1 ? 1 / (1 - p) : 1;
    const factor = new Float64Array(n);
    for (let i = 0; i < n; i++) factor[i] = mask[i] * scale;
    return x.mul(new Tensor(factor, [...x.shape]));
  }

  override extraRepr(): string {
    return `p=${this.p}, mode=${this.mode}`;
  }
}

/** Options of {@link BatchNorm1d}. */
export interface BatchNormOptions {
  /** Weight of the new batch in the running averages; null = cumulative moving average. Default 0.1. */
  momentum?: number | null;
  /** Added to the variance before the square root. Default 1e-5. */
  eps?: number;
  /** Learnable scale gamma (weight, init 1) and shift beta (bias, init 0). Default true. */
  affine?: boolean;
  /** Keep running mean and variance for eval mode. Default true. */
  trackRunningStats?: boolean;
}

/**
 * Batch normalization over `[N, C]` inputs (Ioffe and Szegedy 2015; PyTorch's `nn.BatchNorm1d`):
 * `y = (x - mean) / sqrt(var + eps) * gamma + beta`, per feature (column).
 *
 * - Training: mean and the BIASED variance (divide by N) of the batch normalise the input, and
 *   differentiate through (the gradient flows through the batch statistics). The running
 *   statistics are updated as `running = (1 - m) * running + m * batchStat`, with the UNBIASED
 *   batch variance (times N / (N - 1)) for `runningVar`; `numBatchesTracked` counts the updates;
 *   with `momentum: null`, m = 1 / numBatchesTracked (cumulative average).
 * - Eval: the running statistics normalise (initially mean 0, variance 1).
 * - A training batch of one sample is an error, as in PyTorch.
 *
 * @example
 * ```ts
 * import { BatchNorm1d } from "@kit/nn.ts";
 * import { tensor } from "@kit/tensor.ts";
 * const bn = new BatchNorm1d(2);
 * import { assertClose } from "@kit/check.ts";
 * const y = bn.call(tensor([[1, 10], [3, 30]])); // each column -> about [-1, 1]
 * assertClose(y, [[-1, -1], [1, 1]], { atol: 1e-4 }); // eps = 1e-5 in the denominator
 * assertClose(bn.runningMean!, [0.2, 2]); // 0.9 * 0 + 0.1 * [2, 20]
 * ```
 */
export class BatchNorm1d extends Module {
  /** Number of features C. */
  readonly numFeatures: number;
  /** Added to the variance. */
  readonly eps: number;
  /** Running-average weight, or null for the cumulative average. */
  momentum: number | null;
  /** Whether gamma and beta exist. */
  readonly affine: boolean;
  /** Whether running statistics are kept. */
  readonly trackRunningStats: boolean;
  /** gamma `[C]`, initialised to 1 (null without affine). */
  weight: Parameter | null;
  /** beta `[C]`, initialised to 0 (null without affine). */
  bias: Parameter | null;
  /** Buffer `[C]`, initialised to 0. */
  declare runningMean: Tensor | null;
  /** Buffer `[C]` (unbiased estimates), initialised to 1. */
  declare runningVar: Tensor | null;
  /** Buffer `[]` (a scalar), the number of training batches seen. */
  declare numBatchesTracked: Tensor | null;

  /** `numFeatures` = C, the size of the second dimension of the input. */
  constructor(
    numFeatures: number,
    { momentum = 0.1, eps = 1e-5, affine = true, trackRunningStats = true }: BatchNormOptions = {},
  ) {
    super();
    checkPositiveInt(numFeatures, "numFeatures", `BatchNorm1d(${numFeatures})`);
    if (momentum !== null && !(momentum >= 0 && momentum <= 1)) {
      throw new RangeError(`BatchNorm1d: momentum must be in [0, 1] or null, got ${momentum}`);
    }
    this.numFeatures = numFeatures;
    this.eps = eps;
    this.momentum = momentum;
    this.affine = affine;
    this.trackRunningStats = trackRunningStats;
    this.weight = affine
      ? new Parameter(new Float64Array(numFeatures).fill(1), [numFeatures])
      : null;
    this.bias = affine ? new Parameter(new Float64Array(numFeatures), [numFeatures]) : null;
    if (trackRunningStats) {
      this.registerBuffer("runningMean", new Tensor(new Float64Array(numFeatures), [numFeatures]));
      this.registerBuffer(
        "runningVar",
        new Tensor(new Float64Array(numFeatures).fill(1), [numFeatures]),
      );
      this.registerBuffer("numBatchesTracked", new Tensor(new Float64Array(1), []));
    } else {
      this.registerBuffer("runningMean", null);
      this.registerBuffer("runningVar", null);
      this.registerBuffer("numBatchesTracked", null);
    }
  }

  /** Normalise `x` of shape `[N, C]`. */
  forward(x: Tensor): Tensor {
    const C = this.numFeatures;
    if (x.ndim !== 2 || x.shape[1] !== C) {
      throw new RangeError(
        `BatchNorm1d(${C}): expected input of shape [N, ${C}], got ${fmtShape(x.shape)}; ` +
          `the second dimension must equal numFeatures`,
      );
    }
    const N = x.shape[0];
    const useBatchStats = this.training || this.runningMean === null || this.runningVar === null;
    let xhat: Tensor;
    if (useBatchStats) {
      if (N <= 1) {
        throw new RangeError(
          `BatchNorm1d(${C}): Expected more than 1 value per channel when training, got input size ` +
            `${
              fmtShape(x.shape)
            }. A batch of one has zero variance; use batches of at least 2 samples ` +
            `(e.g. drop the last incomplete batch) or call .eval() to normalise with the running statistics.`,
        );
      }
      const mean = x.mean(0, true); // [1, C]
      const xc = x.sub(mean);
      const varBiased = xc.mul(xc).mean(0, true); // [1, C], divides by N
      xhat = xc.div(varBiased.add(this.eps).sqrt());
      if (this.training && this.runningMean && this.runningVar && this.numBatchesTracked) {
        this.numBatchesTracked.data[0] += 1;
        const m = this.momentum ?? 1 / this.numBatchesTracked.data[0];
        const rm = this.runningMean.data, rv = this.runningVar.data;
        const bessel = N / (N - 1);
        for (let c = 0; c < C; c++) {
          rm[c] = (1 - m) * rm[c] + m * mean.data[c];
          rv[c] = (1 - m) * rv[c] + m * varBiased.data[c] * bessel;
        }
      }
    } else {
      xhat = x.sub(this.runningMean!).div(this.runningVar!.add(this.eps).sqrt());
    }
    return this.weight && this.bias ? xhat.mul(this.weight).add(this.bias) : xhat;
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum}, affine=${this.affine}, ` +
      `trackRunningStats=${this.trackRunningStats}`;
  }
}

/**
 * Layer normalization (Ba, Kiros and Hinton 2016; PyTorch's `nn.LayerNorm`): each sample is
 * normalised over its last dimensions (`normalizedShape`) with its own mean and biased variance,
 * then scaled by `weight` (init 1) and shifted by `bias` (init 0). Same in training and eval.
 *
 * @example
 * ```ts
 * import { LayerNorm } from "@kit/nn.ts";
 * import { tensor } from "@kit/tensor.ts";
 * const ln = new LayerNorm(3);
 * import { assertClose } from "@kit/check.ts";
 * const y = ln.call(tensor([[1, 2, 3], [10, 20, 30]])); // each row -> about [-1.22, 0, 1.22]
 * const z = Math.sqrt(3 / 2); // (x - mean) / std with the biased std sqrt(2/3) of [1, 2, 3]
 * assertClose(y, [[-z, 0, z], [-z, 0, z]], { atol: 1e-4 });
 * ```
 */
export class LayerNorm extends Module {
  /** Trailing dimensions normalised together. */
  readonly normalizedShape: readonly number[];
  /** Added to the variance. */
  readonly eps: number;
  /** `normalizedShape`, initialised to 1 (null without elementwiseAffine). */
  weight: Parameter | null;
  /** `normalizedShape`, initialised to 0 (null without elementwiseAffine or with bias: false). */
  bias: Parameter | null;

  /** `normalizedShape`: a size or the trailing shape to normalise over. */
  constructor(
    normalizedShape: number | readonly number[],
    { eps = 1e-5, elementwiseAffine = true, bias = true }: {
      eps?: number;
      elementwiseAffine?: boolean;
      bias?: boolean;
    } = {},
  ) {
    super();
    const shape = typeof normalizedShape === "number" ? [normalizedShape] : [...normalizedShape];
    if (shape.length === 0) throw new RangeError("LayerNorm: normalizedShape must not be empty");
    for (const d of shape) {
      checkPositiveInt(d, "every normalizedShape entry", `LayerNorm(${fmtShape(shape)})`);
    }
    this.normalizedShape = shape;
    this.eps = eps;
    const D = shape.reduce((a, b) => a * b, 1);
    this.weight = elementwiseAffine ? new Parameter(new Float64Array(D).fill(1), shape) : null;
    this.bias = elementwiseAffine && bias ? new Parameter(new Float64Array(D), shape) : null;
  }

  /** Normalise over the trailing `normalizedShape` dimensions. */
  forward(x: Tensor): Tensor {
    const k = this.normalizedShape.length;
    const tail = x.shape.slice(x.ndim - k);
    if (x.ndim < k || tail.some((d, i) => d !== this.normalizedShape[i])) {
      throw new RangeError(
        `LayerNorm(${fmtShape(this.normalizedShape)}): input of shape ${
          fmtShape(x.shape)
        } must end in ` +
          `${fmtShape(this.normalizedShape)}`,
      );
    }
    const D = this.normalizedShape.reduce((a, b) => a * b, 1);
    const x2 = x.reshape([-1, D]);
    const xc = x2.sub(x2.mean(1, true));
    const v = xc.mul(xc).mean(1, true);
    let y = xc.div(v.add(this.eps).sqrt()).reshape([...x.shape]);
    if (this.weight) y = y.mul(this.weight);
    if (this.bias) y = y.add(this.bias);
    return y;
  }

  override extraRepr(): string {
    return `${fmtShape(this.normalizedShape)}, eps=${this.eps}, elementwiseAffine=${
      this.weight !== null
    }`;
  }
}

/** `m` is an instance of `cls` whose forward and call are the library's own (not overridden). */
// deno-lint-ignore no-explicit-any
function isPlain(m: Module, cls: abstract new (...args: any[]) => Module): boolean {
  return m instanceof cls && m.forward === cls.prototype.forward &&
    m.call === Module.prototype.call;
}

/**
 * A chain of modules applied in order (PyTorch's `nn.Sequential`). Children are named "0", "1",
 * ... (so parameters are "0.weight", "0.bias", ...) and indexable: `seq[0]`, `seq.at(-1)`.
 *
 * @example
 * ```ts
 * import { Linear, ReLU, Sequential } from "@kit/nn.ts";
 * import { randn } from "@kit/tensor.ts";
 * import { rng } from "@kit/random.ts";
 * const g = rng(0);
 * const mlp = new Sequential(new Linear(64, 32, { rng: g }), new ReLU(), new Linear(32, 10, { rng: g }));
 * import { deepStrictEqual } from "node:assert";
 * const first = mlp[0] as Linear;
 * const out = mlp.call(randn([4, 64], g));
 * deepStrictEqual([mlp.length, first.weight.shape, out.shape], [3, [32, 64], [4, 10]]);
 * ```
 */
export class Sequential extends Module {
  [index: number]: Module;
  #length = 0;

  /** The modules, in the order they are applied. */
  constructor(...modules: Module[]) {
    super();
    for (const m of modules) this.append(m);
  }

  /** Number of children. */
  get length(): number {
    return this.#length;
  }

  /**
   * The child at `index` (negative counts from the end).
   *
   * @example
   * ```ts
   * import { ReLU, Sequential, Tanh } from "@kit/nn.ts";
   * import { ok } from "node:assert";
   * ok(new Sequential(new ReLU(), new Tanh()).at(-1) instanceof Tanh);
   * ```
   */
  at(index: number): Module {
    const i = index < 0 ? index + this.#length : index;
    if (!Number.isInteger(i) || i < 0 || i >= this.#length) {
      throw new RangeError(
        `Sequential.at(${index}): index out of range for ${this.#length} modules`,
      );
    }
    return this[i];
  }

  /**
   * Add a module at the end.
   *
   * @example
   * ```ts
   * import { ReLU, Sequential } from "@kit/nn.ts";
   * import { strictEqual } from "node:assert";
   * const s = new Sequential().append(new ReLU());
   * strictEqual(s.length, 1);
   * ```
   */
  append(m: Module): this {
    if (!(m instanceof Module)) {
      throw new TypeError(
        `Sequential: argument ${this.#length} is not a Module instance (got ${
          typeof m === "function"
            ? `the class/function ${(m as { name: string }).name}; use new`
            : typeof m
        })`,
      );
    }
    this[this.#length++] = m;
    return this;
  }

  /**
   * A Sequential of this class with the children `fields["0"]`, `fields["1"]`, ... and the other
   * fields as own properties (see {@link Module.fromFields}): the children go through the
   * constructor, which counts them.
   *
   * @example
   * ```ts
   * import { ReLU, Sequential, Tanh } from "@kit/nn.ts";
   * import { strictEqual } from "node:assert";
   * const s = new Sequential(new ReLU(), new Tanh()).eval();
   * const copy = Sequential.fromFields({ ...s });
   * strictEqual(copy.length, 2);
   * strictEqual(copy.training, false);
   * ```
   */
  static override fromFields<M extends Module>(
    this: abstract new (...args: never[]) => M,
    fields: Readonly<Record<string, unknown>>,
    buffers: readonly string[] = [],
  ): M {
    const children: unknown[] = [];
    for (let i = 0; Object.hasOwn(fields, String(i)); i++) children.push(fields[String(i)]);
    const rest = Object.fromEntries(Object.entries(fields).filter(([k]) => !/^\d+$/.test(k)));
    const s = Reflect.construct(Sequential, children, this as unknown as new () => M) as M;
    assignFields(s, rest, buffers);
    return s;
  }

  /** The children in order. */
  *[Symbol.iterator](): IterableIterator<Module> {
    for (let i = 0; i < this.#length; i++) yield this[i];
  }

  /**
   * Apply the children in order. A `Linear` followed by a `ReLU` runs as one operation (product,
   * bias and ReLU in one pass; the backward masks, sums and multiplies in one), with the same
   * values as the two layers one after the other. When the next layer is a `Linear` too, the
   * result, which only that layer reads, lives in a reused buffer that the backward() through it
   * frees (as PyTorch frees saved tensors): see `Tensor.backward`.
   */
  forward(x: Tensor): Tensor {
    const n = this.#length;
    for (let i = 0; i < n; i++) {
      const m = this[i];
      if (isPlain(m, Linear)) {
        const relu = i + 1 < n && isPlain(this[i + 1], ReLU);
        const next = i + (relu ? 2 : 1);
        x = (m as Linear)._fused(x, relu, next < n && isPlain(this[next], Linear));
        if (relu) i++;
      } else {
        x = m.call(x);
      }
    }
    return x;
  }
}
