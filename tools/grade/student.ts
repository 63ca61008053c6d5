/**
 * `deno task student [--out DIR] [--lang en] [notebooks...]`: writes the student kit (see
 * `kit.ts`) into DIR (default `dist/student-kit`) and `DIR.zip` beside it. A notebook that
 * breaks the exercise convention is reported and left out; the command then exits 1.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { runMain } from "../cli.ts";
import { buildKit, KIT_LANGUAGES } from "./kit.ts";

const USAGE = `usage: deno task student [--out DIR] [--lang LANG] [notebooks...]

Writes the student kit into DIR (default dist/student-kit) and DIR.zip beside it: the student
version of each notebook (solutions replaced by a stub, hidden checks removed, outputs cleared),
the engine (lib/), the data sets (data/), the kernel's modules, deno.json with the tasks
kernel:install and kernel:uninstall, deno.lock, and a README for students. Hand out DIR.zip.

  --out DIR     the kit folder (replaced as a whole; DIR.zip is written beside it)
  --lang LANG   the kit's language: ${
  KIT_LANGUAGES.join(", ")
} (default en; other languages from i18n/LANG/)
  notebooks     instructor notebooks to include (default: every notebooks/*.ipynb)
  -h, --help    this text`;

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      out: { type: "string" },
      lang: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
  const r = await buildKit({
    root,
    out: values.out ?? "dist/student-kit",
    lang: values.lang,
    notebooks: positionals.length ? positionals : undefined,
  });
  for (const f of r.failed) console.error(f);
  const nbs = r.files.filter((f) => f.startsWith("notebooks/")).length;
  console.log(`student kit: ${r.dir} (${r.files.length} files, ${nbs} notebooks) and ${r.zip}`);
  return r.failed.length ? 1 : 0;
}

if (import.meta.main) runMain(main);
