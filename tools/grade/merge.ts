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
  return await writeReports(out, records);
}

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { out: { type: "string" } },
  });
  if (positionals.length === 0) {
    throw new Error("usage: deno task grade:merge SHARD_DIR... [--out DIR]");
  }
  console.log(await mergeShards(positionals, values.out ?? "dist/grades"));
  return 0;
}

if (import.meta.main) runMain(main);
