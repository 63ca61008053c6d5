/**
 * The shared `assets/` folder next to the pages: KaTeX's CSS and fonts, plotly.js, the handout
 * style sheet (`assets/handout.css` here, with highlight.js's GitHub theme appended) and the
 * page script (`assets/handout.js` here). The only scripts a page runs are these files.
 *
 * @module
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFileAtomic } from "../notebook/io.ts";

const require = createRequire(import.meta.url);

function packageFile(spec: string): string {
  try {
    return require.resolve(spec);
  } catch (e) {
    throw new Error(
      `export: cannot find ${spec} in node_modules (${(e as Error).message}); ` +
        "run `deno install` in the project folder",
    );
  }
}

/** Copies a file unless an identical one is there, atomically (temp + rename). */
export async function copyAtomic(from: string, to: string): Promise<void> {
  const bytes = await Deno.readFile(from);
  try {
    const cur = await Deno.readFile(to);
    if (cur.length === bytes.length && cur.every((b, i) => b === bytes[i])) return;
  } catch { /* not there yet */ }
  await Deno.mkdir(dirname(to), { recursive: true });
  const tmp = join(dirname(to), `.${crypto.randomUUID().slice(0, 8)}.tmp`);
  try {
    await Deno.writeFile(tmp, bytes);
    await Deno.rename(tmp, to);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

const own = (name: string) => fileURLToPath(new URL(`./assets/${name}`, import.meta.url));

/**
 * Writes the shared assets into `outDir/assets/`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { writeAssets } from "./assets.ts";
 * const dir = await Deno.makeTempDir();
 * await writeAssets(dir);
 * assert.ok((await Deno.readTextFile(`${dir}/assets/handout.js`)).includes("plot-data"));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeAssets(outDir: string): Promise<void> {
  const assets = join(outDir, "assets");
  const katexCss = packageFile("katex/dist/katex.min.css");
  const katexDir = dirname(katexCss);
  await copyAtomic(katexCss, join(assets, "katex", "katex.min.css"));
  const fonts: string[] = [];
  for await (const e of Deno.readDir(join(katexDir, "fonts"))) if (e.isFile) fonts.push(e.name);
  for (const f of fonts.sort()) {
    await copyAtomic(join(katexDir, "fonts", f), join(assets, "katex", "fonts", f));
  }
  await copyAtomic(packageFile("plotly.js-dist-min"), join(assets, "plotly.min.js"));
  await copyAtomic(own("handout.js"), join(assets, "handout.js"));
  const hljsCss = await Deno.readTextFile(packageFile("highlight.js/styles/github.css"));
  const css = `${await Deno.readTextFile(own("handout.css"))}\n` +
    `/* highlight.js GitHub theme (BSD-3-Clause) */\n${hljsCss}`;
  await writeFileAtomic(join(assets, "handout.css"), css);
}
