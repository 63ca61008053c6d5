/**
 * TensorFlow.js for the baselines, with its "cpu" (plain JavaScript) and "wasm" (XNNPACK, SIMD)
 * backends both initialised; tfjs has no float64, so its benches run in float32.
 *
 * - The wasm backend reads its `.wasm` binaries from a folder given to `setWasmPaths`: the one
 *   next to the package's entry point, found through the import map, so this works with a local
 *   `node_modules/` or Deno's global cache alike. Under Deno the npm package resolves to its
 *   Node.js build, which reads that path with `fs`, so a plain file path is what it needs.
 * - Of the three binaries the single-threaded SIMD one is used: the threaded one fails under
 *   Deno (its worker script path is rejected by `node:worker_threads`), and without threads
 *   tfjs, like our kernels, runs on one core.
 * - `enableProdMode()` drops tfjs's debug checks and its "install our node backend" notice.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { fileURLToPath } from "node:url";

export { tf };

/** The tfjs backends benchmarked. */
export const TF_BACKENDS = ["cpu", "wasm"] as const;
export type TfBackend = (typeof TF_BACKENDS)[number];

setWasmPaths(fileURLToPath(new URL(".", import.meta.resolve("@tensorflow/tfjs-backend-wasm"))));
tf.enableProdMode();
for (const b of TF_BACKENDS) {
  if (!(await tf.setBackend(b))) throw new Error(`tfjs: the "${b}" backend did not initialise`);
}
if (!(await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT"))) {
  throw new Error("tfjs: the wasm backend runs without SIMD here; the baseline would be unfair");
}

/** Makes `b` tfjs's current backend (a no-op when it already is). */
export async function useBackend(b: TfBackend): Promise<void> {
  if (tf.getBackend() !== b) await tf.setBackend(b);
}
