/**
 * `deno run -A tools/export.ts [executed.ipynb ...] [--out DIR] [--pdf]`: exports executed
 * notebooks without running them. The index always lists every executed notebook in
 * `dist/notebooks/` (paths given on the command line replace their namesakes there), so
 * exporting one notebook never drops the others from the index.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { basename } from "node:path";
import { exportNotebooks, listExecuted } from "./mod.ts";
import { writePdfs } from "./pdf.ts";

/** The exporter's command line; returns the exit code. */
export async function exportMain(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: "string", short: "o" },
      pdf: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(
      "usage: deno run -A tools/export.ts [executed.ipynb ...] [--out DIR] [--pdf]\n" +
        "       deno task handouts:pdf [executed.ipynb ...] [--out DIR]   (the same with --pdf)\n" +
        "Exports executed notebooks (dist/notebooks/*.ipynb, and any paths given) to HTML\n" +
        "handouts in DIR (default dist/handouts), running nothing; --pdf also writes\n" +
        "DIR/pdf/*.pdf. To run the notebooks first, use `deno task handouts`.",
    );
    return 0;
  }
  for (const p of positionals) {
    try {
      await Deno.stat(p);
    } catch (e) {
      console.error(`export: cannot read ${p}: ${(e as Error).message}; nothing was changed`);
      return 1;
    }
  }
  const given = new Set(positionals.map((p) => basename(p)));
  const paths = [
    ...(await listExecuted("dist/notebooks")).filter((p) => !given.has(basename(p))),
    ...positionals,
  ];
  if (paths.length === 0) {
    console.error(
      "export: no executed notebooks (dist/notebooks/ is empty); run `deno task nb:run`",
    );
    return 1;
  }
  const out = values.out ?? "dist/handouts";
  const s = await exportNotebooks(paths, { outDir: out });
  for (const p of s.pages) {
    console.log(`${p.path}${p.status === "failed" ? "  (notebook did not run to the end)" : ""}`);
    for (const w of p.warnings) console.warn(`  warning: ${w}`);
  }
  for (const e of s.errors) console.error(`ERROR ${e.message}`);
  console.log(`export: ${s.pages.length} page(s) and index.html in ${out}`);
  let ok = s.ok && s.pages.every((p) => p.status === "ok");
  if (values.pdf) {
    const pdf = await writePdfs(s.pages.map((p) => p.path), { outDir: `${out}/pdf` });
    for (const f of pdf.written) console.log(f);
    for (const e of pdf.errors) console.error(`ERROR ${e}`);
    ok &&= pdf.errors.length === 0;
  }
  return ok ? 0 : 1;
}
