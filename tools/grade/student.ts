/**
 * `deno task student [notebooks...] [--out DIR]`: writes the student version of each instructor
 * notebook (default: every `notebooks/*.ipynb`) into DIR (default `dist/student/`): solution
 * regions replaced by a stub that throws, hidden checks removed, outputs cleared (see
 * {@link studentNotebook}). A notebook that breaks the convention is reported and skipped; the
 * command then exits 1.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { runMain } from "../cli.ts";
import { projectNotebooks, readNotebook, writeNotebook } from "../notebook/io.ts";
import { studentNotebook } from "../notebook/exercises.ts";

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { out: { type: "string" } },
  });
  const out = values.out ?? "dist/student";
  const inputs = positionals.length ? positionals : await projectNotebooks();
  if (inputs.length === 0) throw new Error("student: no notebooks found (notebooks/*.ipynb)");
  let failed = 0;
  for (const path of inputs) {
    const name = path.slice(path.lastIndexOf("/") + 1);
    try {
      const nb = await readNotebook(path);
      await writeNotebook(`${out}/${name}`, studentNotebook(nb, path));
      console.log(`${path} -> ${out}/${name}`);
    } catch (e) {
      failed++;
      console.error((e as Error).message);
    }
  }
  return failed ? 1 : 0;
}

if (import.meta.main) runMain(main);
