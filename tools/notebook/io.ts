/**
 * Reading, validating and writing Jupyter notebooks (nbformat 4.5) for the Deno kernel.
 *
 * Every problem is reported as a {@link NotebookError} whose message names the file and the
 * problem, so the runner can print it and go on with the other notebooks.
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import Ajv from "ajv-draft-04";
import schema from "./schema/nbformat.v4.5.schema.json" with { type: "json" };

/** A multiline string as nbformat stores it: one string or a list of lines. */
export type MultilineString = string | string[];

/** nbformat v4 `stream` output. */
export interface StreamOutput {
  output_type: "stream";
  name: "stdout" | "stderr";
  text: MultilineString;
}
/** A MIME bundle: MIME type to data (JSON for `application/*json`, else text). */
export type MimeBundle = Record<string, unknown>;
/** nbformat v4 `display_data` output. */
export interface DisplayDataOutput {
  output_type: "display_data";
  data: MimeBundle;
  metadata: Record<string, unknown>;
}
/** nbformat v4 `execute_result` output. */
export interface ExecuteResultOutput {
  output_type: "execute_result";
  execution_count: number | null;
  data: MimeBundle;
  metadata: Record<string, unknown>;
}
/** nbformat v4 `error` output. */
export interface ErrorOutput {
  output_type: "error";
  ename: string;
  evalue: string;
  traceback: string[];
}
/** Any nbformat v4 code-cell output. */
export type Output = StreamOutput | DisplayDataOutput | ExecuteResultOutput | ErrorOutput;

/** A code cell. */
export interface CodeCell {
  cell_type: "code";
  id?: string;
  metadata: Record<string, unknown>;
  source: MultilineString;
  outputs: Output[];
  execution_count: number | null;
}
/** A markdown cell. */
export interface MarkdownCell {
  cell_type: "markdown";
  id?: string;
  metadata: Record<string, unknown>;
  source: MultilineString;
  attachments?: Record<string, MimeBundle>;
}
/** A raw cell. */
export interface RawCell {
  cell_type: "raw";
  id?: string;
  metadata: Record<string, unknown>;
  source: MultilineString;
  attachments?: Record<string, MimeBundle>;
}
/** Any notebook cell. */
export type Cell = CodeCell | MarkdownCell | RawCell;

/** A notebook (nbformat 4). */
export interface Notebook {
  nbformat: 4;
  nbformat_minor: number;
  metadata: {
    kernelspec?: { name: string; display_name: string; language?: string };
    language_info?: { name: string; [key: string]: unknown };
    [key: string]: unknown;
  };
  cells: Cell[];
}

/** A notebook file that cannot be used: the message names the file and the problem. */
export class NotebookError extends Error {
  /** The file (or label) the problem is about. */
  readonly file: string;
  /**
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { NotebookError } from "./io.ts";
   * const e = new NotebookError("a.ipynb", "a.ipynb: not JSON");
   * assert.ok(e.file === "a.ipynb");
   * ```
   */
  constructor(file: string, message: string) {
    super(message);
    this.name = "NotebookError";
    this.file = file;
  }
}

/**
 * Joins a multiline source or text (string or list of lines) into one string.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { sourceText } from "./io.ts";
 * assert.ok(sourceText(["a\n", "b"]) === "a\nb");
 * assert.ok(sourceText("x") === "x");
 * ```
 */
export function sourceText(source: MultilineString): string {
  return Array.isArray(source) ? source.join("") : source;
}

/**
 * Splits text into nbformat's list-of-lines form (each line keeps its "\n"), as Jupyter writes it.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { splitLines } from "./io.ts";
 * assert.ok(JSON.stringify(splitLines("a\nb")) === '["a\\n","b"]');
 * assert.ok(splitLines("").length === 0);
 * ```
 */
export function splitLines(text: string): string[] {
  const lines = text.split(/(?<=\n)/);
  return lines.length === 1 && lines[0] === "" ? [] : lines;
}

type AjvError = {
  instancePath: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
};
type Validator = { (data: unknown): boolean; errors?: AjvError[] | null };

// deno-lint-ignore no-explicit-any
const ajv = new (Ajv as any)({ allErrors: true, strict: false });
ajv.addSchema(schema, "nbformat");
const validateSchema: Validator = ajv.getSchema("nbformat");
const branchValidators = new Map<string, Validator>();
function branch(name: string): Validator {
  let v = branchValidators.get(name);
  if (!v) {
    v = ajv.compile({ $ref: `nbformat#/definitions/${name}` }) as Validator;
    branchValidators.set(name, v);
  }
  return v;
}

const CELL_TYPES = ["raw", "markdown", "code"];
const OUTPUT_TYPES = ["execute_result", "display_data", "stream", "error"];

/**
 * The schema's oneOf over cell and output types reports the errors of every branch. For a cell
 * (or output) that names a known type, re-validate it against that branch alone, so the
 * messages are about what is actually wrong.
 */
function preciseErrors(nb: unknown, all: AjvError[], outputsOnly = false): AjvError[] {
  const out: AjvError[] = [];
  const done = new Set<string>();
  for (const e of all) {
    const m = /^\/cells\/(\d+)(?:\/outputs\/(\d+))?/.exec(e.instancePath);
    // deno-lint-ignore no-explicit-any
    const cell = m && (nb as any)?.cells?.[Number(m[1])];
    let prefix = "", target: unknown = undefined, name = "";
    if (
      m && m[2] !== undefined && OUTPUT_TYPES.includes(cell?.outputs?.[Number(m[2])]?.output_type)
    ) {
      prefix = m[0];
      target = cell.outputs[Number(m[2])];
      name = (target as { output_type: string }).output_type;
    } else if (m && !outputsOnly && CELL_TYPES.includes(cell?.cell_type)) {
      prefix = `/cells/${m[1]}`;
      target = cell;
      name = `${cell.cell_type}_cell`;
    }
    if (!name) {
      out.push(e);
      continue;
    }
    if (done.has(prefix)) continue;
    done.add(prefix);
    const v = branch(name);
    if (v(target)) continue;
    const inner = (v.errors ?? []).map((x) => ({ ...x, instancePath: prefix + x.instancePath }));
    // Outputs inside a code cell are a oneOf again: refine them the same way.
    out.push(...(name === "code_cell" ? preciseErrors(nb, inner, true) : inner));
  }
  return out.filter((e) => e.keyword !== "oneOf" || out.length === 1);
}

/**
 * Checks a parsed notebook against the nbformat 4.5 schema and the Deno kernel metadata.
 * Throws a {@link NotebookError} naming `fileLabel`, the JSON path and message of the first
 * few schema errors, or the kernel found.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { validateNotebook } from "./io.ts";
 * const nb = {
 *   nbformat: 4, nbformat_minor: 5, cells: [],
 *   metadata: {
 *     kernelspec: { name: "deno", display_name: "Deno", language: "typescript" },
 *     language_info: { name: "typescript" },
 *   },
 * };
 * validateNotebook(nb, "example.ipynb");
 * let failed = false;
 * try { validateNotebook({ ...nb, cells: 3 }, "bad.ipynb"); } catch { failed = true; }
 * assert.ok(failed);
 * ```
 */
export function validateNotebook(nb: unknown, fileLabel: string): asserts nb is Notebook {
  if (!validateSchema(nb)) {
    const all = validateSchema.errors ?? [];
    const kept = preciseErrors(nb, all);
    const seen = new Set<string>();
    const errors = (kept.length ? kept : all).filter((e) => {
      const k = `${e.instancePath} ${e.message}`;
      return seen.has(k) ? false : (seen.add(k), true);
    });
    const shown = errors.slice(0, 3).map((e) =>
      `  at ${e.instancePath === "" ? "/" : e.instancePath}: ${e.message ?? "invalid"}` +
      (e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : "")
    );
    const more = errors.length > 3 ? `\n  (${errors.length - 3} more errors)` : "";
    const minor = (nb as { nbformat_minor?: unknown })?.nbformat_minor;
    const hint = typeof minor === "number" && minor < 5
      ? `\nThe file is nbformat 4.${minor}; re-save it with a current Jupyter (4.5 adds cell ids).`
      : "\nFix the file or re-save it from Jupyter.";
    throw new NotebookError(
      fileLabel,
      `${fileLabel}: not a valid nbformat 4.5 notebook (schema check failed):\n${
        shown.join("\n")
      }${more}${hint}`,
    );
  }
  const meta = (nb as Notebook).metadata;
  const kernel = meta.kernelspec?.name;
  const language = meta.language_info?.name;
  // "deno-kit": the kit's kernel relay (tools/jupyter/kernelspec.ts); "deno": Deno's own kernel.
  if ((kernel !== "deno" && kernel !== "deno-kit") || language !== "typescript") {
    throw new NotebookError(
      fileLabel,
      `${fileLabel}: not a Deno notebook: metadata.kernelspec.name is ${JSON.stringify(kernel)}` +
        ` and metadata.language_info.name is ${JSON.stringify(language)};` +
        ` expected "deno-kit" (or "deno") and "typescript". Select the kernel "Deno (course kit)"` +
        " in Jupyter and save again.",
    );
  }
}

/**
 * Parses notebook JSON text and validates it (see {@link validateNotebook}).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { parseNotebook } from "./io.ts";
 * let msg = "";
 * try { parseNotebook("{ nope", "x.ipynb"); } catch (e) { msg = (e as Error).message; }
 * assert.ok(msg.startsWith("x.ipynb: not JSON"));
 * ```
 */
export function parseNotebook(text: string, fileLabel: string): Notebook {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new NotebookError(
      fileLabel,
      `${fileLabel}: not JSON (${(e as Error).message}). A notebook file must be nbformat JSON.`,
    );
  }
  validateNotebook(data, fileLabel);
  return data;
}

/**
 * Reads and validates a `.ipynb` file written for the Deno kernel.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { readNotebook, writeNotebook } from "./io.ts";
 * const dir = await Deno.makeTempDir();
 * await writeNotebook(`${dir}/a.ipynb`, {
 *   nbformat: 4, nbformat_minor: 5, cells: [],
 *   metadata: {
 *     kernelspec: { name: "deno", display_name: "Deno", language: "typescript" },
 *     language_info: { name: "typescript" },
 *   },
 * });
 * const nb = await readNotebook(`${dir}/a.ipynb`);
 * assert.ok(nb.cells.length === 0);
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readNotebook(path: string): Promise<Notebook> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new NotebookError(path, `${path}: cannot read the notebook (${(e as Error).message}).`);
  }
  return parseNotebook(text, path);
}

/**
 * Serialises a notebook as Jupyter does: 1-space indented JSON, keys as given, trailing newline.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { notebookJson } from "./io.ts";
 * assert.ok(notebookJson({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [] }).endsWith("}\n"));
 * ```
 */
export function notebookJson(nb: Notebook): string {
  return JSON.stringify(nb, null, 1) + "\n";
}

/**
 * Validates the notebook, then writes it atomically (temporary file in the same folder, then
 * rename), so a reader never sees a half-written notebook and an invalid one is never written.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { writeNotebook } from "./io.ts";
 * const dir = await Deno.makeTempDir();
 * await writeNotebook(`${dir}/sub/b.ipynb`, {
 *   nbformat: 4, nbformat_minor: 5, cells: [],
 *   metadata: {
 *     kernelspec: { name: "deno", display_name: "Deno", language: "typescript" },
 *     language_info: { name: "typescript" },
 *   },
 * });
 * assert.ok((await Deno.readTextFile(`${dir}/sub/b.ipynb`)).startsWith("{\n \"nbformat\""));
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeNotebook(path: string, nb: Notebook): Promise<void> {
  validateNotebook(nb, path);
  await writeFileAtomic(path, notebookJson(nb));
}

/**
 * Writes text to `path` atomically: a temporary file in the same folder, then a rename.
 * Creates the folder if needed.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { writeFileAtomic } from "./io.ts";
 * const dir = await Deno.makeTempDir();
 * await writeFileAtomic(`${dir}/x.txt`, "hi");
 * assert.ok(await Deno.readTextFile(`${dir}/x.txt`) === "hi");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  await Deno.mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${crypto.randomUUID().slice(0, 8)}.tmp`);
  pendingTmp.add(tmp);
  if (!tmpCleanup) {
    tmpCleanup = true;
    // A write cut short by Ctrl-C, SIGTERM or Deno.exit leaves no temporary file behind.
    globalThis.addEventListener("unload", () => {
      for (const t of pendingTmp) {
        try {
          Deno.removeSync(t);
        } catch { /* not created yet, or renamed */ }
      }
    });
  }
  try {
    await Deno.writeTextFile(tmp, text);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  } finally {
    pendingTmp.delete(tmp);
  }
}

const pendingTmp = new Set<string>();
let tmpCleanup = false;

/** The project's `notebooks/*.ipynb`, sorted, relative to the cwd when inside it; [] without the folder. */
export async function projectNotebooks(): Promise<string[]> {
  const dir = new URL("../../notebooks/", import.meta.url).pathname;
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && e.name.endsWith(".ipynb")) out.push(`${dir}${e.name}`);
    }
  } catch { /* no folder: the caller reports that nothing was found */ }
  const cwd = Deno.cwd() + "/";
  return out.sort().map((p) => (p.startsWith(cwd) ? p.slice(cwd.length) : p));
}
