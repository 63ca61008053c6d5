// bench/ has a Deno config of its own (its baselines, TensorFlow.js and ml-matrix, stay out of
// the kit's node_modules); it repeats the kit's imports, which must not drift from deno.json.
import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);
const read = async (path: string) => JSON.parse(await Deno.readTextFile(new URL(path, root)));

Deno.test("bench/deno.json: the kit's imports, same versions, plus the baselines only", async () => {
  const kit = await read("deno.json");
  const bench = await read("bench/deno.json");
  for (const [name, target] of Object.entries(kit.imports as Record<string, string>)) {
    const want = name === "@kit/" ? "../lib/" : target;
    assert.equal(
      bench.imports[name],
      want,
      `bench/deno.json: "${name}" must be "${want}" as in deno.json (add or update it there)`,
    );
  }
  const extra = Object.keys(bench.imports).filter((k) => !(k in kit.imports)).sort();
  assert.deepEqual(extra, ["@tensorflow/tfjs", "@tensorflow/tfjs-backend-wasm", "ml-matrix"]);
  for (const name of extra) {
    assert.ok(!JSON.stringify(kit).includes(name), `deno.json must not name ${name}`);
  }
  assert.equal(bench.fmt.lineWidth, kit.fmt.lineWidth, "one line width for all the code");
  assert.equal(bench.nodeModulesDir, kit.nodeModulesDir);
});

Deno.test("deno.lock holds no benchmark baseline; bench/deno.lock holds them", async () => {
  const kitLock = await Deno.readTextFile(new URL("deno.lock", root));
  const benchLock = await Deno.readTextFile(new URL("bench/deno.lock", root));
  for (const name of ["@tensorflow/tfjs", "ml-matrix", "core-js"]) {
    assert.ok(!kitLock.includes(`"${name}@`), `deno.lock installs ${name} for everybody`);
    assert.ok(benchLock.includes(`"${name}@`), `bench/deno.lock lacks ${name}`);
  }
});
