/**
 * The HTML exporter's command line; the library is `tools/export/mod.ts`.
 *
 * CLI: `deno run -A tools/export.ts [executed.ipynb ...] [--out DIR] [--pdf]`.
 *
 * @module
 */
import { runMain } from "./cli.ts";
import { exportMain } from "./export/cli.ts";

if (import.meta.main) await runMain(exportMain);
