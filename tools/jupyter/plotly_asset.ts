/**
 * The kit's own copy of plotly.js for Jupyter: `deno task kernel:install` copies the pinned
 * `plotly.min.js` (npm `plotly.js-dist-min`) into the kit kernel's kernelspec folder, and every
 * Jupyter server serves a kernelspec's files at `<base_url>kernelspecs/<kernel>/<file>` (the
 * classic Notebook 6, nbclassic, and Jupyter Server under JupyterLab and Notebook 7). A
 * figure's `text/html` (lib/plot/html.ts) loads it from there, so figures draw with no network,
 * also after a page reload, and the notebooks do not carry 4.8 MB of plotly.js each.
 * `deno task kernel:uninstall` removes it with the kernelspec folder.
 *
 * @module
 */
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
// Importing the package's manifest makes Deno fetch the package into node_modules on first use,
// and puts the package in the student kit (tools/grade/kit.ts keeps the import map entries that
// the kit's modules use: this one is "plotly.js-dist-min/").
import plotlyPackage from "plotly.js-dist-min/package.json" with { type: "json" };
import { PLOTLY_KERNELSPEC_PATH, PLOTLY_VERSION } from "../../lib/plot/types.ts";

/** The file name in the kernelspec folder (the last part of `PLOTLY_KERNELSPEC_PATH`). */
export const PLOTLY_ASSET = basename(PLOTLY_KERNELSPEC_PATH);

/** Path of the pinned plotly.min.js in node_modules. */
export function plotlySource(): string {
  if (plotlyPackage.version !== PLOTLY_VERSION) {
    throw new Error(
      `kernel:install: node_modules has plotly.js-dist-min ${plotlyPackage.version}, the kit ` +
        `pins ${PLOTLY_VERSION}; run \`npx -y deno@2.9.6 install\` in the kit folder`,
    );
  }
  return fileURLToPath(import.meta.resolve("plotly.js-dist-min/plotly.min.js"));
}

/**
 * Copies plotly.min.js into `specDir` (atomically; nothing is written when an identical copy is
 * there) and returns its path.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { installPlotly } from "./plotly_asset.ts";
 * const dir = await Deno.makeTempDir();
 * const path = await installPlotly(dir);
 * assert.ok(path.endsWith("/plotly.min.js"));
 * assert.ok((await Deno.stat(path)).size > 1_000_000, "the whole plotly.js bundle");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function installPlotly(specDir: string): Promise<string> {
  const from = plotlySource();
  const target = join(specDir, PLOTLY_ASSET);
  const bytes = await Deno.readFile(from);
  try {
    const cur = await Deno.readFile(target);
    if (cur.length === bytes.length && cur.every((b, i) => b === bytes[i])) return target;
  } catch { /* not there yet */ }
  const tmp = `${target}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    await Deno.writeFile(tmp, bytes, { mode: 0o644 });
    await Deno.rename(tmp, target);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
  return target;
}
