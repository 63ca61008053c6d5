/**
 * HTML exporter entry point: the code lives in `tools/export/` (see `tools/export/mod.ts`);
 * this file keeps the import path and the command line.
 *
 * CLI: `deno run -A tools/export.ts [executed.ipynb ...] [--out DIR] [--pdf]`.
 *
 * @module
 */
import { runMain } from "./cli.ts";
import { exportMain } from "./export/cli.ts";

export * from "./export/mod.ts";

if (import.meta.main) await runMain(exportMain);
