/**
 * The student kit as a student meets it: built by `deno task student`, unzipped into a folder
 * outside the repository, its kernel installed by its own `kernel:install` into a fresh Jupyter
 * data folder, and every notebook run through nbconvert (`--allow-errors`). 00_welcome runs
 * without an error; in every other notebook the first error is an exercise stub or a check;
 * nothing is "file not found"; no solution or hidden check of the instructor notebooks is in any
 * file of the kit or its zip; no test, bench or grading code is in it.
 */
import assert from "node:assert";
import { join } from "node:path";
import { readZip } from "../tools/grade/zip.ts";
import { type Notebook, sourceText } from "../tools/notebook/io.ts";
import { checkCells, hasSolution } from "../tools/notebook/exercises.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const ci = Deno.env.get("CI") === "true";

function haveNbconvert(): boolean {
  try {
    return new Deno.Command("/usr/bin/jupyter-nbconvert", { args: ["--version"] }).outputSync()
      .success;
  } catch {
    return false;
  }
}
const nbconvert = haveNbconvert();
if (!nbconvert && !ci) {
  console.warn(
    "\n*** tests/student_kit_test.ts: the nbconvert part is SKIPPED (jupyter-nbconvert is not " +
      "installed; apt-get install jupyter-nbconvert python3-nbclient) ***\n",
  );
}

/** What must never be in a kit: each hidden check's source and each solution region. */
async function secrets(): Promise<{ where: string; text: string }[]> {
  const out: { where: string; text: string }[] = [];
  for await (const e of Deno.readDir(`${ROOT}/notebooks`)) {
    if (!e.name.endsWith(".ipynb")) continue;
    const nb: Notebook = JSON.parse(await Deno.readTextFile(`${ROOT}/notebooks/${e.name}`));
    for (const c of checkCells(nb, e.name)) {
      if (c.hidden) out.push({ where: `${e.name} hidden check ${c.id}`, text: c.source.trim() });
    }
    nb.cells.forEach((c, i) => {
      if (!hasSolution(c)) return;
      for (
        const m of sourceText(c.source).matchAll(
          /BEGIN SOLUTION\n([\s\S]*?)\n[ \t]*\/\/ END SOLUTION/g,
        )
      ) {
        const body = m[1].trim();
        if (body) out.push({ where: `${e.name} cell ${i + 1} solution`, text: body });
      }
    });
  }
  return out;
}

/** The searchable text of a file: notebooks as their cells' joined sources, others as text. */
function textOf(name: string, data: Uint8Array): string {
  const text = new TextDecoder().decode(data);
  if (!name.endsWith(".ipynb")) return text;
  const nb = JSON.parse(text) as Notebook;
  return nb.cells.map((c) => sourceText(c.source)).join("\n\n");
}

function leaks(files: Map<string, string>, found: { where: string; text: string }[]): string[] {
  const out: string[] = [];
  for (const [name, text] of files) {
    for (const s of found) if (text.includes(s.text)) out.push(`${name} holds ${s.where}`);
  }
  return out;
}

async function readTree(dir: string, base = dir): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) { for (const [k, v] of await readTree(p, base)) out.set(k, v); }
    else if (e.isFile) out.set(p.slice(base.length + 1), await Deno.readFile(p));
  }
  return out;
}

Deno.test({
  name: "student kit: self-contained, no secrets, every notebook runs in Jupyter from a copy",
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  const tmp = await Deno.makeTempDir({ prefix: "kit-student-" });
  try {
    const build = await new Deno.Command(Deno.execPath(), {
      args: ["task", "student", "--out", `${tmp}/build/course-kit`],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(build.success, new TextDecoder().decode(build.stderr));

    const zip = await Deno.readFile(`${tmp}/build/course-kit.zip`);
    const { entries, skipped } = readZip(zip, "course-kit.zip");
    assert.deepStrictEqual(skipped, []);
    const files = new Map(entries.map((e) => [e.name.replace(/^course-kit\//, ""), e.data]));

    await t.step("the zip holds exactly the folder's files", async () => {
      const tree = await readTree(`${tmp}/build/course-kit`);
      assert.deepStrictEqual([...files.keys()].sort(), [...tree.keys()].sort());
      for (const [k, v] of tree) assert.deepStrictEqual(files.get(k), v, k);
    });

    await t.step("the pinned layout, and nothing of tests, bench or grading", () => {
      for (const need of ["deno.json", "deno.lock", "README.md", "lib/mod.ts", "data/digits.csv"]) {
        assert.ok(files.has(need), `missing ${need}`);
      }
      const nbs = [...files.keys()].filter((f) => f.startsWith("notebooks/"));
      assert.ok(nbs.includes("notebooks/00_welcome.ipynb") && nbs.length >= 2, nbs.join());
      assert.ok(files.has("tools/jupyter/relay.ts") && files.has("tools/jupyter/kernelspec.ts"));
      for (const f of files.keys()) {
        assert.ok(!/^(tests|bench|tools\/grade|dist)\//.test(f), `${f} must not be in the kit`);
      }
      const config = JSON.parse(new TextDecoder().decode(files.get("deno.json")));
      assert.ok(config.tasks["kernel:install"] && config.tasks["kernel:uninstall"]);
      assert.strictEqual(config.imports["@kit/"], "./lib/");
      for (const spec of Object.values(config.imports) as string[]) {
        assert.ok(!/tensorflow|playwright|ml-matrix|sanitize-html/.test(spec), spec);
      }
      const readme = new TextDecoder().decode(files.get("README.md"));
      for (const w of ["kernel:install", "Windows", "macOS", "Linux", "Colab", "Submit"]) {
        assert.ok(readme.includes(w), `the student README mentions ${w}`);
      }
    });

    await t.step("no hidden check's source and no solution in any file", async () => {
      const found = await secrets();
      assert.ok(found.length >= 20, `expected the lecture notebooks' secrets, got ${found.length}`);
      // The scan finds them where they are (the instructor notebooks)...
      const instructor = new Map<string, string>();
      for await (const e of Deno.readDir(`${ROOT}/notebooks`)) {
        const p = `${ROOT}/notebooks/${e.name}`;
        instructor.set(e.name, textOf(e.name, await Deno.readFile(p)));
      }
      assert.ok(leaks(instructor, found).length >= found.length, "the scan finds planted secrets");
      // ...and not in the kit.
      const kit = new Map([...files].map(([k, v]) => [k, textOf(k, v)]));
      assert.deepStrictEqual(leaks(kit, found), []);
    });

    if (!nbconvert && !ci) return;
    assert.ok(nbconvert, "CI=true but jupyter-nbconvert is missing (see .ci/run)");

    // A copy elsewhere, unpacked from the zip, with a Jupyter data folder of its own.
    const home = `${tmp}/student`;
    for (const [name, data] of files) {
      await Deno.mkdir(join(home, "kit", name, ".."), { recursive: true });
      await Deno.writeFile(join(home, "kit", name), data);
    }
    const env = { JUPYTER_DATA_DIR: `${home}/jupyter`, NO_COLOR: "1" };
    const kit = `${home}/kit`;

    await t.step("its own kernel:install registers the kit's relay", async () => {
      const run = await new Deno.Command(Deno.execPath(), {
        args: ["task", "kernel:install"],
        cwd: kit,
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(run.success, new TextDecoder().decode(run.stderr));
      const spec = JSON.parse(
        await Deno.readTextFile(`${home}/jupyter/kernels/deno-kit/kernel.json`),
      );
      assert.ok(spec.argv.includes(`${kit}/tools/jupyter/relay.ts`), spec.argv.join(" "));
      // The lock the kit ships is complete: installing did not change it.
      assert.deepStrictEqual(await Deno.readFile(`${kit}/deno.lock`), files.get("deno.lock"));
    });

    await t.step("every notebook runs: 00 clean, the others stop only at exercises", async () => {
      const names = [...files.keys()].filter((f) => f.startsWith("notebooks/")).sort();
      const half = [names.filter((_, i) => i % 2 === 0), names.filter((_, i) => i % 2 === 1)];
      const runs = await Promise.all(
        half.map((list) =>
          new Deno.Command("/usr/bin/jupyter-nbconvert", {
            args: [
              "--to",
              "notebook",
              "--execute",
              "--allow-errors",
              "--ExecutePreprocessor.kernel_name=deno-kit",
              "--ExecutePreprocessor.timeout=300",
              "--output-dir",
              `${home}/out`,
              ...list.map((n) => `${kit}/${n}`),
            ],
            cwd: `${kit}/notebooks`,
            env,
            stdout: "piped",
            stderr: "piped",
          }).output()
        ),
      );
      for (const r of runs) assert.ok(r.success, new TextDecoder().decode(r.stderr).slice(-3000));
      for (const n of names) {
        const base = n.slice("notebooks/".length);
        const nb = JSON.parse(await Deno.readTextFile(`${home}/out/${base}`)) as Notebook;
        const errors = nb.cells.flatMap((c) =>
          c.cell_type === "code"
            ? c.outputs.filter((o) => o.output_type === "error") as {
              ename: string;
              evalue: string;
            }[]
            : []
        );
        const all = JSON.stringify(nb.cells.map((c) => c.cell_type === "code" ? c.outputs : []));
        assert.ok(!/file not found/i.test(all), `${base}: a "file not found" error`);
        if (base.startsWith("00_")) {
          assert.deepStrictEqual(errors.map((e) => e.evalue), [], `${base} runs without error`);
          continue;
        }
        assert.ok(errors.length > 0, `${base}: its exercise stubs throw`);
        const first = errors[0];
        assert.ok(
          /^Exercise \d+: your code here$/.test(first.evalue) || first.ename === "AssertionError",
          `${base}: the first error is not an exercise stub or a check: ${first.ename}: ${first.evalue}`,
        );
      }
    });
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
});
