/**
 * `deno task grade:merge DIR... [--out DIR]`: combines the output folders of `deno task grade
 * --shard K/N` runs into one `grades.csv`, `results.json`, `summary.md` and `feedback/` (default
 * `dist/grades`). A student found in two shards is an error (the shards overlap).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { runMain } from "../cli.ts";
import { type ResultRecord, writeReports } from "./report.ts";
import type { RunInfo } from "./gradebook.ts";

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyTree(`${from}/${e.name}`, `${to}/${e.name}`);
    else if (e.isFile) await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

/** Merges shard folders into `out`; returns the summary table. */
export async function mergeShards(dirs: readonly string[], out: string): Promise<string> {
  const records: ResultRecord[] = [];
  const owner = new Map<string, string>();
  for (const dir of dirs) {
    let parsed: ResultRecord[];
    try {
      parsed = JSON.parse(await Deno.readTextFile(`${dir}/results.json`));
    } catch (e) {
      throw new Error(
        `grade:merge: ${dir}/results.json cannot be read (${(e as Error).message}); ` +
          `pass the --out folders of finished "deno task grade --shard K/N" runs`,
      );
    }
    for (const r of parsed) {
      const prev = owner.get(r.student);
      if (prev !== undefined && prev !== dir) {
        throw new Error(
          `grade:merge: student "${r.student}" is in both ${prev} and ${dir}; ` +
            `shards must come from the same N with different K`,
        );
      }
      owner.set(r.student, dir);
      records.push(r);
    }
  }
  for (const dir of dirs) {
    try {
      await copyTree(`${dir}/feedback`, `${out}/feedback`);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  // The run's description: the shards' must agree; the last to finish dates the import file.
  let run: RunInfo | undefined;
  for (const dir of dirs) {
    let r: RunInfo;
    try {
      r = JSON.parse(await Deno.readTextFile(`${dir}/run.json`));
    } catch {
      continue; // a shard from before run.json: no import files
    }
    if (
      run && JSON.stringify({ ...run, gradedAt: "" }) !== JSON.stringify({ ...r, gradedAt: "" })
    ) {
      throw new Error(
        `grade:merge: ${dir} was graded with other options (--from, --assignment, --lms, ` +
          `--roster or other notebooks) than the shards before it; merge shards of one run`,
      );
    }
    run = !run || r.gradedAt > run.gradedAt ? r : run;
  }
  return await writeReports(out, records, run);
}

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { out: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  const usage = "usage: deno task grade:merge SHARD_DIR... [--out DIR]\n\n" +
    "Joins the --out folders of `deno task grade --shard K/N` runs into DIR (default " +
    "dist/grades):\nthe same grades.csv, gradebook.csv, results.json, summary.md, feedback/ " +
    "and import files\none run would write.";
  if (values.help) {
    console.log(usage);
    return 0;
  }
  if (positionals.length === 0) throw new Error(usage);
  console.log(await mergeShards(positionals, values.out ?? "dist/grades"));
  return 0;
}

if (import.meta.main) runMain(main);
