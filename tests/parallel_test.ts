// parallelMap: order, equality with a serial map, shared values, and the errors a student
// meets (a closure over an outer variable, a throwing job, a method that cannot be sent).
import { deepStrictEqual, equal, match, rejects, throws } from "node:assert";
import { parallelMap } from "@kit/parallel.ts";
import * as kit from "@kit/mod.ts";

const job = (seed: number, k: typeof kit) => {
  const g = k.rng(seed);
  const x = k.randn([20, 5], g), y = k.randn([20], g);
  return Array.from(k.minNormLstsq(x, y).data);
};

Deno.test("parallelMap: results in the items' order, bit-identical to a serial map", async () => {
  const seeds = [5, 3, 8, 1, 9, 2, 7];
  const serial = seeds.map((s) => job(s, kit));
  deepStrictEqual(await parallelMap(seeds, job), serial);
  deepStrictEqual(await parallelMap(seeds, job, { workers: 1 }), serial);
  deepStrictEqual(await parallelMap(seeds, job, { workers: 3 }), serial);
});

Deno.test("parallelMap: shared value, async jobs, typed arrays, empty input", async () => {
  const out = await parallelMap(
    [1, 2, 3],
    async (x, _kit, shared) => {
      await new Promise((r) => setTimeout(r, 5));
      return Float64Array.from(shared.scale, (s) => s * x);
    },
    { shared: { scale: [1, 10] } },
  );
  deepStrictEqual(out, [
    new Float64Array([1, 10]),
    new Float64Array([2, 20]),
    new Float64Array([3, 30]),
  ]);
  deepStrictEqual(await parallelMap([], (x: number) => x), []);
});

Deno.test("parallelMap: a failing job rejects with its index and message", async () => {
  await rejects(
    parallelMap([0, 1, 2, 3], (i) => {
      if (i === 2) throw new RangeError("bad lambda");
      return i;
    }),
    /parallelMap: item 2 failed: RangeError: bad lambda/,
  );
});

Deno.test("parallelMap: a closure over an outer variable says why it fails", async () => {
  const outer = 3;
  const err = await parallelMap([1], (x) => x * outer).then(() => null, (e: Error) => e);
  equal(err instanceof Error, true);
  match(err!.message, /outer is not defined.*runs in a worker: pass what it needs/);
});

Deno.test("parallelMap: methods and built-ins are refused before any worker starts", () => {
  const obj = {
    f(x: number) {
      return x;
    },
  };
  throws(() => parallelMap([1], obj.f), /cannot send the method f/);
  throws(() => parallelMap([1], Math.sqrt), /sqrt is built in or bound/);
});

Deno.test("parallelMap: a job exported by a module, with its own imports", async () => {
  const module = new URL("./fixtures/parallel_job.ts", import.meta.url);
  deepStrictEqual(await parallelMap([2, 3], { module, name: "cube" }), [8, 27]);
  await rejects(
    parallelMap([1], { module, name: "missing" }),
    /a worker could not load the job: cannot load .*parallel_job\.ts: it exports no function "missing"/,
  );
  throws(
    () => parallelMap([1], { module: "./fixtures/parallel_job.ts", name: "cube" }),
    /not an absolute URL; use new URL/,
  );
});

Deno.test("parallelMap: what cannot be cloned is named, and no worker is left running", async () => {
  await rejects(
    parallelMap([1, () => 2, 3], (x: unknown) => x),
    /item 1 cannot be sent to a worker .*structured-cloneable/,
  );
  await rejects(
    parallelMap([1], (x, _kit, s) => x + s.k, { shared: { k: 1, f: () => 0 } }),
    /shared cannot be sent to a worker/,
  );
  await rejects(
    parallelMap([1], () => () => 0),
    /item 0 failed: TypeError: its result cannot be sent back/,
  );
});
