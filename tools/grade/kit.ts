/**
 * The student kit: a folder (and a zip of it) that a student unpacks anywhere, installs the
 * kit's Jupyter kernel from, and opens the notebooks in. It holds:
 *
 * - `notebooks/`: the student version of each course notebook ({@link studentNotebook}:
 *   solutions replaced by a stub, hidden checks removed, outputs cleared);
 * - `lib/` (the engine) and `data/` (the data sets), whole;
 * - the modules the kernel needs (the relay, the kernelspec installer and what they import),
 *   found from the import graph (`deno info --json`) plus the files they load by
 *   `new URL("./x", import.meta.url)` (workers, text loaded at run time), never from a hand list,
 *   so moving files in `tools/` cannot break the kit;
 * - `deno.json` (the import map entries those modules use, tasks `kernel:install` and
 *   `kernel:uninstall`), `deno.lock` (the repository's lock cut down to those packages) and a
 *   `README.md` for students.
 *
 * Nothing else: no instructor notebook, solution, hidden check, test, benchmark or grading code.
 * A module of `tests/`, `bench/`, `tools/grade/` or `notebooks/` turning up in the graph is an
 * error, not a silent inclusion.
 *
 * @module
 */
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { notebookJson, readNotebook } from "../notebook/io.ts";
import { studentNotebook } from "../notebook/exercises.ts";
import { LANGUAGES, SOURCE_LANG } from "../i18n/langs.ts";
import { localizedNotebook } from "../i18n/mod.ts";
import { writeZip, type ZipEntry } from "./zip.ts";

/** Languages the kit can be built in. */
export const KIT_LANGUAGES = LANGUAGES;

/** Options of {@link buildKit}. */
export interface KitOptions {
  /** The repository root (where deno.json is). */
  root: string;
  /** The kit folder to write; `<out>.zip` is written beside it. */
  out: string;
  /** Instructor notebooks to include (paths); default every `notebooks/*.ipynb`. */
  notebooks?: string[];
  /** The kit's language (default "en"): other languages' notebooks come from i18n/<lang>/. */
  lang?: string;
}

/** What {@link buildKit} wrote. */
export interface KitResult {
  dir: string;
  zip: string;
  /** Kit-relative paths of every file, sorted. */
  files: string[];
  /** Notebooks that could not be converted (the message names file and cell). */
  failed: string[];
}

/** Folders whose files never go into a kit, whatever imports them. */
const FORBIDDEN = ["tests/", "bench/", "tools/grade/", "notebooks/", "dist/", "node_modules/"];

async function walk(dir: string, base = dir): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) out.push(...await walk(p, base));
    else if (e.isFile) out.push(relative(base, p));
  }
  return out;
}

interface Graph {
  /** Repository-relative paths of local modules. */
  local: Set<string>;
  /** Bare specifiers the local modules import (resolved through the import map). */
  bare: Set<string>;
}

/** The local modules and bare specifiers reachable from `roots` (absolute paths). */
async function moduleGraph(root: string, roots: string[]): Promise<Graph> {
  const tmp = await Deno.makeTempDir({ prefix: "kit-graph-" });
  try {
    const entry = join(tmp, "entry.ts");
    await Deno.writeTextFile(
      entry,
      roots.map((r) => `import ${JSON.stringify(new URL(`file://${r}`).href)};`).join("\n") + "\n",
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--config", join(root, "deno.json"), entry],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(
        `student: "deno info" failed on the kit's modules: ${new TextDecoder().decode(out.stderr)}`,
      );
    }
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      modules: { specifier: string; error?: string; dependencies?: { specifier: string }[] }[];
    };
    const local = new Set<string>(), bare = new Set<string>();
    for (const m of info.modules) {
      if (!m.specifier.startsWith("file://") || m.specifier === new URL(`file://${entry}`).href) {
        continue;
      }
      if (m.error) throw new Error(`student: ${m.specifier}: ${m.error}`);
      const rel = relative(root, fileURLToPath(m.specifier));
      if (rel.startsWith("..")) continue;
      local.add(rel);
      for (const d of m.dependencies ?? []) {
        if (!/^(\.|\/|[a-z]+:)/.test(d.specifier)) bare.add(d.specifier);
      }
    }
    return { local, bare };
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

/** Files a module loads by `new URL("./x", import.meta.url)` (repository-relative). */
async function urlReferences(root: string, rel: string): Promise<string[]> {
  if (!/\.[cm]?[jt]sx?$/.test(rel)) return [];
  const src = await Deno.readTextFile(join(root, rel));
  const out: string[] = [];
  const re = /new URL\(\s*["'](\.{1,2}\/[^"'$`]+)["']\s*,\s*import\.meta\.url\s*\)/g;
  for (const m of src.matchAll(re)) {
    const target = relative(root, resolve(dirname(join(root, rel)), m[1]));
    if (target.startsWith("..")) continue;
    try {
      if ((await Deno.stat(join(root, target))).isFile) out.push(target);
    } catch { /* a folder or a name built at run time: not a file to copy */ }
  }
  return out;
}

/** The import map entries that the bare specifiers use. */
function usedImports(imports: Record<string, string>, bare: Set<string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(imports)) {
    const used = [...bare].some((s) => (k.endsWith("/") ? s.startsWith(k) : s === k));
    if (used) out[k] = v;
  }
  return out;
}

interface LockV5 {
  version: string;
  specifiers?: Record<string, string>;
  npm?: Record<string, { dependencies?: string[]; optionalDependencies?: string[] }>;
  workspace?: { dependencies?: string[] };
  [k: string]: unknown;
}

/** The repository's lock cut down to the npm packages `imports` needs (and theirs). */
export function cutLock(lock: LockV5, imports: Record<string, string>): LockV5 {
  const reqs = new Set<string>();
  for (const v of Object.values(imports)) {
    const m = /^npm:\/?((?:@[^/@]+\/)?[^/@]+@[^/]+)/.exec(v);
    if (m) reqs.add(`npm:${m[1]}`);
  }
  const specifiers: Record<string, string> = {};
  const todo: string[] = [];
  for (const [k, v] of Object.entries(lock.specifiers ?? {})) {
    if (!reqs.has(k)) continue;
    specifiers[k] = v;
    todo.push(`${k.slice(4).replace(/@[^@]*$/, "")}@${v}`);
  }
  const npmAll = lock.npm ?? {};
  const npm: NonNullable<LockV5["npm"]> = {};
  const nameOf = (key: string) => key.replace(/^(@?[^@]+)@.*$/, "$1");
  while (todo.length) {
    const key = todo.pop()!;
    if (npm[key] || !npmAll[key]) continue;
    npm[key] = npmAll[key];
    for (
      const dep of [
        ...(npmAll[key].dependencies ?? []),
        ...(npmAll[key].optionalDependencies ?? []),
      ]
    ) {
      // v5 names a dependency by package name (or "name@version" when several are locked).
      const exact = npmAll[dep] ? [dep] : Object.keys(npmAll).filter((k) => nameOf(k) === dep);
      todo.push(...exact);
    }
  }
  const sorted = <T>(o: Record<string, T>) =>
    Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return {
    version: lock.version,
    specifiers: sorted(specifiers),
    npm: sorted(npm),
    workspace: { dependencies: Object.keys(specifiers).sort() },
  };
}

/** The README.md a student finds in the kit. */
export function studentReadme(notebooks: readonly string[]): string {
  const list = notebooks.map((n) => `- \`notebooks/${n}\``).join("\n");
  return `# Regularization and training of deep networks: student kit

The course notebooks, the engine they use (\`lib/\`) and the data sets (\`data/\`). The notebooks
run on the kit's Jupyter kernel, "Deno (course kit)", on your own computer.

## 1. Install (once)

You need Node.js (https://nodejs.org, version 18 or later: it brings \`npx\`) and Jupyter
(JupyterLab, the classic Notebook, or VS Code with its Jupyter extension). Then, in a terminal
opened in this folder:

- **Linux and macOS**: \`npx -y deno@2.9.6 task kernel:install\`
- **Windows** (PowerShell or Command Prompt): \`npx -y deno@2.9.6 task kernel:install\`

The first run downloads Deno and the kit's few npm packages; after that everything works
offline. Check that Jupyter sees the kernel: \`jupyter kernelspec list\` shows \`deno-kit\`.
Keep this folder where it is: the kernel runs files from it (if you move it, run the install
command again). \`npx -y deno@2.9.6 task kernel:uninstall\` removes the kernel.

Hosted notebook services without a Deno kernel (Google Colab, Kaggle, ...) cannot run these
notebooks: they run Python only.

## 2. Work

Start Jupyter from this folder (\`jupyter lab\` or \`jupyter notebook\`), open a notebook under
\`notebooks/\`, and choose the kernel "Deno (course kit)" if Jupyter asks. Run the cells in
order. Each notebook ends with exercises: replace the line
\`throw new Error("Exercise N: your code here");\` with your code. The visible checks under each
exercise tell you whether you are on the right track; the grade comes from other checks that run
when your notebook is graded.

${list}

## 3. Submit

Save the notebook (Ctrl+S / Cmd+S) and upload the \`.ipynb\` file from \`notebooks/\` to the
assignment on Moodle or Canvas. Upload the notebook itself, not a zip, a PDF or a copy made by
another program: the grader matches your cells with the course notebook by the cell ids that
Jupyter keeps when it saves. Renaming the file is fine. Outputs are removed before grading, so
their size does not matter. The grader runs your whole notebook from the top, so make sure
"Restart and run all" works before you submit.
`;
}

/**
 * Builds the kit folder `o.out` and `o.out + ".zip"` (atomically: a failed build leaves the
 * previous kit in place).
 */
export async function buildKit(o: KitOptions): Promise<KitResult> {
  const lang = o.lang ?? "en";
  if (!(KIT_LANGUAGES as readonly string[]).includes(lang)) {
    throw new Error(
      `student: --lang ${lang} is not available; the kit exists in: ${KIT_LANGUAGES.join(", ")}`,
    );
  }
  const root = resolve(o.root);
  const out = resolve(o.out);
  if (out === root || root.startsWith(out + "/")) {
    throw new Error(`student: --out ${o.out} would overwrite the repository; choose a new folder`);
  }
  const inputs = o.notebooks ??
    (await walk(join(root, "notebooks"))).filter((p) => p.endsWith(".ipynb") && !p.includes("/"))
      .sort().map((p) => join(root, "notebooks", p));
  if (inputs.length === 0) throw new Error(`student: no notebooks found in ${root}/notebooks`);

  const files = new Map<string, Uint8Array | string>();
  const failed: string[] = [];
  const names: string[] = [];
  for (const path of inputs) {
    try {
      const source = await readNotebook(path);
      const nb = studentNotebook(
        lang === SOURCE_LANG ? source : await localizedNotebook(source, path, lang, root),
        path,
      );
      files.set(`notebooks/${basename(path)}`, notebookJson(nb));
      names.push(basename(path));
    } catch (e) {
      failed.push((e as Error).message);
    }
  }

  // The engine and the data, whole: students may import any of @kit/.
  for (const dir of ["lib", "data"]) {
    for (const rel of await walk(join(root, dir))) {
      files.set(`${dir}/${rel}`, await Deno.readFile(join(root, dir, rel)));
    }
  }

  // The kernel's modules, from the import graph (and what they load by URL).
  const roots = [
    "tools/jupyter/kernelspec.ts",
    "tools/jupyter/relay.ts",
    ...[...files.keys()].filter((p) => p.startsWith("lib/") && p.endsWith(".ts")),
  ];
  const local = new Set<string>(), bare = new Set<string>();
  let pending = roots;
  for (let pass = 0; pending.length && pass < 5; pass++) {
    const g = await moduleGraph(root, pending.map((p) => join(root, p)));
    g.bare.forEach((b) => bare.add(b));
    const fresh: string[] = [];
    for (const rel of g.local) {
      if (local.has(rel)) continue;
      local.add(rel);
      for (const ref of await urlReferences(root, rel)) {
        if (!local.has(ref) && !g.local.has(ref)) fresh.push(ref);
      }
    }
    // Referenced modules get their own graph; other referenced files are copied as they are.
    for (const ref of fresh) if (!/\.[cm]?[jt]sx?$/.test(ref)) local.add(ref);
    pending = fresh.filter((r) => /\.[cm]?[jt]sx?$/.test(r));
  }
  for (const rel of [...local].sort()) {
    const bad = FORBIDDEN.find((f) => rel.startsWith(f));
    if (bad) {
      throw new Error(
        `student: the kernel's modules import ${rel}, and nothing under ${bad} may go into the ` +
          `student kit; move what the kernel needs out of ${bad}`,
      );
    }
    if (!files.has(rel)) files.set(rel, await Deno.readFile(join(root, rel)));
  }

  const config = JSON.parse(await Deno.readTextFile(join(root, "deno.json")));
  const imports = usedImports(config.imports ?? {}, bare);
  imports["@kit/"] = "./lib/";
  const kitConfig = {
    nodeModulesDir: config.nodeModulesDir ?? "auto",
    tasks: {
      "kernel:install": "deno run -A tools/jupyter/kernelspec.ts install",
      "kernel:uninstall": "deno run -A tools/jupyter/kernelspec.ts uninstall",
    },
    imports: Object.fromEntries(Object.entries(imports).sort(([a], [b]) => (a < b ? -1 : 1))),
  };
  files.set("deno.json", JSON.stringify(kitConfig, null, 2) + "\n");
  const lock = JSON.parse(await Deno.readTextFile(join(root, "deno.lock")));
  files.set("deno.lock", JSON.stringify(cutLock(lock, imports), null, 2) + "\n");
  files.set("README.md", studentReadme(names));

  // Write beside the target, then swap, so a failed build leaves the previous kit.
  await Deno.mkdir(dirname(out), { recursive: true });
  const tmp = `${out}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  const enc = new TextEncoder();
  const entries: ZipEntry[] = [];
  const top = basename(out);
  try {
    for (const [rel, data] of files) {
      const bytes = typeof data === "string" ? enc.encode(data) : data;
      await Deno.mkdir(dirname(join(tmp, rel)), { recursive: true });
      await Deno.writeFile(join(tmp, rel), bytes);
      entries.push({ name: `${top}/${rel}`, data: bytes });
    }
    await Deno.remove(out, { recursive: true }).catch((e) => {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    });
    await Deno.rename(tmp, out);
  } catch (e) {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    throw e;
  }
  const zipPath = `${out}.zip`;
  const zipTmp = `${zipPath}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  try {
    await Deno.writeFile(zipTmp, writeZip(entries));
    await Deno.rename(zipTmp, zipPath);
  } catch (e) {
    await Deno.remove(zipTmp).catch(() => {});
    throw e;
  }
  return { dir: out, zip: zipPath, files: [...files.keys()].sort(), failed };
}
