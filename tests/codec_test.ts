/**
 * The grader's codec (`tools/grade/codec.ts`): which of the kit's classes cross between the
 * student's realm and the checker realm is derived from the kit's exports, so every layer the kit
 * exports crosses, a layer added later crosses with no codec edit, and anything else (a student's
 * subclass, an object posing as a kit value, a Proxy) is refused. Values are rebuilt by the
 * receiving side's own kit: here a second copy of `lib/` (its own module graph, so its classes
 * are not the sending side's), as the checker realm imports the kit afresh.
 */
import assert from "node:assert";
import { types } from "node:util";
import * as kitA from "@kit/mod.ts";
import {
  captureIntrinsics,
  CloneError,
  type Codec,
  kitClasses,
  makeCodec,
} from "../tools/grade/codec.ts";

type Kit = typeof kitA;
const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** A second, independent copy of the kit: `lib/` copied to a temporary folder and imported. */
async function copyOfKit(): Promise<Kit> {
  const dir = await Deno.makeTempDir({ prefix: "codec_kit_" });
  const copy = async (from: string, to: string) => {
    await Deno.mkdir(to, { recursive: true });
    for await (const e of Deno.readDir(from)) {
      if (e.isDirectory) await copy(`${from}/${e.name}`, `${to}/${e.name}`);
      else await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
    }
  };
  await copy(`${ROOT}/lib`, `${dir}/lib`);
  const kit = await import(`file://${dir}/lib/mod.ts`) as Kit;
  await Deno.remove(dir, { recursive: true });
  return kit;
}
const kitB = await copyOfKit();

const codecOf = (ns: Record<string, unknown>): Codec =>
  makeCodec(captureIntrinsics(types.isProxy), kitClasses(ns));
/** `v` encoded by `from` and decoded by `to`, as a value crosses between the realms. */
const cross = (from: Codec, to: Codec, v: unknown): unknown =>
  to.decode(JSON.parse(from.encode(v, "value")));

const A = codecOf(kitA), B = codecOf(kitB);

/** `instanceof` without narrowing the type (the two kits' classes have the same type). */
// deno-lint-ignore ban-types
const isInstance = (v: unknown, C: Function): boolean => v instanceof C;

/** A module's state dict as plain data. */
const stateOf = (m: kitA.Module) =>
  Object.entries(m.stateDict()).map(([k, t]: [string, kitA.Tensor]) => [
    k,
    [...t.shape],
    [...t.data],
  ]);

/** Sample constructor arguments for the layers whose constructors need some. */
function sampleArgs(name: string, kit: Kit): unknown[] | undefined {
  const g = kit.rng(3);
  const table: Record<string, unknown[]> = {
    Linear: [3, 2, { rng: g }],
    BatchNorm1d: [3],
    LayerNorm: [3],
    Dropout: [0.5, { rng: g }],
    Sequential: [new kit.Linear(3, 3, { rng: g }), new kit.ReLU(), new kit.BatchNorm1d(3)],
  };
  return table[name];
}

Deno.test("codec: the kit's classes are derived from lib/mod.ts, not listed", () => {
  const k = kitClasses(kitA)!;
  const layers = Object.keys(kitA).filter((n) => {
    const C = (kitA as Record<string, unknown>)[n];
    return typeof C === "function" && C !== kitA.Module &&
      (C as { prototype?: unknown }).prototype instanceof kitA.Module;
  });
  assert.ok(layers.length >= 11, layers.join());
  assert.deepStrictEqual(Object.keys(k.modules).sort(), layers.sort());
  assert.deepStrictEqual(Object.keys(k.tensors).sort(), ["Parameter", "Tensor"]);
  assert.deepStrictEqual(Object.keys(k.generators), ["Rng"]);
  assert.strictEqual(kitClasses({ Tensor: kitA.Tensor }), null, "not a kit");
});

Deno.test("codec: every layer the kit exports crosses and is rebuilt by the other kit", () => {
  const names = Object.keys(kitClasses(kitA)!.modules);
  for (const name of names) {
    const CA = (kitA as Record<string, unknown>)[name] as new (...a: unknown[]) => kitA.Module;
    const CB = (kitB as Record<string, unknown>)[name] as new (...a: unknown[]) => kitA.Module;
    let m: kitA.Module;
    try {
      m = new CA(...(sampleArgs(name, kitA) ?? []));
    } catch (e) {
      throw new Error(
        `${name} needs constructor arguments: add a sample for it to sampleArgs in this test ` +
          `(${(e as Error).message})`,
      );
    }
    const x = kitA.randn([4, 3], kitA.rng(7));
    m.call(x); // training mode: BatchNorm's running statistics move, Dropout draws a mask
    const back = cross(A, B, m) as kitA.Module;
    assert.ok(
      isInstance(back, CB) && !isInstance(back, CA),
      `${name}: rebuilt with the other kit's class, not the sending kit's`,
    );
    assert.strictEqual(back.training, true, name);
    assert.deepStrictEqual(
      stateOf(back),
      stateOf(m),
      `${name}: the same state (parameters and buffers)`,
    );
    assert.ok(back.parameters().every((p) => p instanceof kitB.Parameter), name);
    // The same forward in eval mode (Dropout draws nothing there), computed by the other kit.
    m.eval();
    back.eval();
    const xb = new kitB.Tensor(x.data.slice(), [...x.shape]);
    assert.deepStrictEqual([...back.call(xb).data], [...m.call(x).data], `${name}: forward`);
    // And back again: the second crossing gives the first kit's class.
    const again = cross(B, A, back) as kitA.Module;
    assert.ok(isInstance(again, CA) && again.training === false, name);
  }
});

/** A layer as the kit might add it later: its state is its own fields. */
function swishClass(kit: Kit) {
  return class Swish extends kit.Module {
    beta: number;
    constructor(beta: number) {
      super();
      this.beta = beta;
    }
    forward(x: kitA.Tensor): kitA.Tensor {
      return x.mul(x.mul(this.beta).sigmoid());
    }
  };
}

Deno.test("codec: a layer added to the kit crosses with no codec edit", () => {
  const SwishA = swishClass(kitA), SwishB = swishClass(kitB);
  const withA = codecOf({ ...kitA, Swish: SwishA });
  const withB = codecOf({ ...kitB, Swish: SwishB });
  const back = cross(withA, withB, new SwishA(1.5)) as InstanceType<typeof SwishB>;
  assert.ok(back instanceof SwishB);
  assert.strictEqual(back.beta, 1.5);
  const y = back.call(kitB.tensor([-1, 0, 2]));
  assert.deepStrictEqual([...y.data], [...new SwishA(1.5).call(kitA.tensor([-1, 0, 2])).data]);
  // The same class, not exported by the kit the codec was derived from, does not cross.
  assert.throws(() => A.encode(new SwishA(1.5), "value"), CloneError);
});

Deno.test("codec: tensors, parameters with gradients and generators cross", () => {
  const p = kitA.Parameter.from(kitA.tensor([[1, 2], [3, 4]]));
  p.sum().backward();
  const back = cross(A, B, { p, t: kitA.tensor([5]), g: kitA.rng(11) }) as {
    p: kitA.Parameter;
    t: kitA.Tensor;
    g: kitA.Rng;
  };
  assert.ok(back.p instanceof kitB.Parameter && back.p.requiresGrad);
  assert.deepStrictEqual(back.p.toArray(), [[1, 2], [3, 4]]);
  assert.ok(back.p.grad instanceof kitB.Tensor);
  assert.deepStrictEqual(back.p.grad!.toArray(), [[1, 1], [1, 1]]);
  assert.ok(back.t instanceof kitB.Tensor && !(back.t instanceof kitB.Parameter));
  assert.ok(back.g instanceof kitB.Rng);
  const ref = kitA.rng(11);
  assert.deepStrictEqual([back.g.uniform(), back.g.uniform()], [ref.uniform(), ref.uniform()]);
});

Deno.test("codec: what the kit did not make is refused; data never becomes behaviour", () => {
  const g = kitA.rng(0);
  class MyLinear extends kitA.Linear {
    override forward(x: kitA.Tensor) {
      return x;
    }
  }
  const refusals: [string, unknown, RegExp][] = [
    ["a student's subclass of a layer", new MyLinear(2, 2, { rng: g }), /class that cannot be/],
    [
      "an object posing as a layer",
      Object.assign(Object.create(kitA.Linear.prototype), { ...new kitA.Linear(2, 2, { rng: g }) }),
      /posing as a layer/,
    ],
    ["a Proxy of a layer", new Proxy(new kitA.ReLU(), {}), /a Proxy/],
    [
      "a layer holding a function",
      Object.assign(new kitA.ReLU(), { hook: () => 1 }),
      /a function/,
    ],
  ];
  for (const [what, v, msg] of refusals) {
    assert.throws(() => A.encode(v, "value"), (e: unknown) => {
      assert.ok(e instanceof CloneError, `${what}: ${e}`);
      assert.match(e.message, msg, what);
      return true;
    });
  }
  // An object posing as a tensor: refused where the kit's Tensor has private state to check
  // (its getters throw on a stranger), else only its data crosses, into a genuine tensor.
  // Own data properties, defined (not assigned: `grad` is an accessor of the kit's Tensor whose
  // setter would throw on a stranger before the codec ever saw it).
  const posing = Object.create(kitA.Tensor.prototype, {
    data: { value: new Float64Array([4]), enumerable: true },
    shape: { value: [1], enumerable: true },
    requiresGrad: { value: false, enumerable: true },
    grad: { value: null, enumerable: true },
  });
  let arrived: unknown;
  try {
    arrived = cross(A, B, posing);
  } catch (e) {
    assert.ok(e instanceof CloneError && /posing as a Tensor/.test(e.message), String(e));
  }
  if (arrived !== undefined) {
    assert.strictEqual(Object.getPrototypeOf(arrived), kitB.Tensor.prototype);
    assert.deepStrictEqual((arrived as kitA.Tensor).toArray(), [4]);
  }
  // Hostile encodings: an unknown class, and fields named like methods or the prototype.
  assert.throws(() => B.decode({ $: "m", c: "Function", f: [], b: [] }), /layer class Function/);
  assert.throws(() => B.decode({ $: "t", c: "Object", s: [], d: null }), /tensor class Object/);
  const relu = B.decode({
    $: "m",
    c: "ReLU",
    f: [["forward", 1], ["call", "x"], ["__proto__", { $: "o", v: [] }], ["training", false]],
    b: ["forward"],
  }) as kitA.Module;
  assert.ok(relu instanceof kitB.ReLU);
  assert.strictEqual(Object.getPrototypeOf(relu), kitB.ReLU.prototype);
  assert.deepStrictEqual(Object.keys(relu), ["training"]);
  assert.strictEqual(relu.training, false);
  assert.deepStrictEqual(relu.call(kitB.tensor([-1, 1])).toArray(), [0, 1]);
});

Deno.test("codec: a layer changed in place by the other side is written back", () => {
  const fc = new kitA.Linear(2, 1, { rng: kitA.rng(1) });
  const weight = fc.weight;
  // The other side zeroes the weight and switches to eval mode.
  const there = cross(A, B, fc) as kitA.Linear;
  there.weight.data.fill(0);
  there.eval();
  A.writeBack(fc, JSON.parse(B.encode(there, "argument 1")));
  assert.strictEqual(fc.weight, weight, "the same Parameter object, updated in place");
  assert.deepStrictEqual([...fc.weight.data], [0, 0]);
  assert.strictEqual(fc.training, false);
});
