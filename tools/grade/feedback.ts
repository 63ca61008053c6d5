/**
 * Per-student feedback pages. The page with the results is built here, every piece of
 * student-controlled text escaped. The graded notebook itself (the student's cells and what
 * they printed) goes through the handout exporter via {@link renderNotebookPage}, the one place
 * to repoint when the exporter changes.
 *
 * @module
 */
import { escapeHtml, renderNotebook, writeAssets } from "../export/mod.ts";
import type { Cell, Notebook, Output } from "../notebook/io.ts";
import { splitLines } from "../notebook/io.ts";
import type { NotebookGrade } from "./grader.ts";

/**
 * Adapter to the handout exporter: a complete HTML page for an (executed) notebook, with the
 * exporter's `assets/` next to it. Everything given to it was built by {@link gradedNotebook},
 * which strips student metadata and raw HTML from markdown.
 */
export function renderNotebookPage(nb: Notebook, name: string): string {
  // Not a literal in the call: the page options of the split exporter (handouts branch) pass
  // through to it, and the current one ignores them.
  const opts = {
    name,
    indexHref: null,
    downloadHref: null,
    footer: `Feedback on ${name}, written by deno task grade.`,
  };
  return renderNotebook(nb, opts).html;
}

/** Writes the exporter's shared assets (style sheet, fonts) into `dir/assets`. */
export async function writeNotebookAssets(dir: string): Promise<void> {
  await writeAssets(dir);
}

/** A file-name-safe, collision-free form of a student's name. */
export function studentSlug(student: string): string {
  const clean = student.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_").slice(0, 80);
  if (clean === student) return clean;
  let h = 0x811c9dc5;
  for (const ch of new TextEncoder().encode(student)) h = Math.imul(h ^ ch, 0x01000193) >>> 0;
  return `${clean}-${h.toString(16)}`;
}

/**
 * The notebook shown on a feedback page: the cells that ran with what they printed. Hidden
 * checks show their id, outcome and message only (never their source, nor what the submission
 * printed while they ran); markdown from the submission is
 * shown with `<` escaped, so raw HTML in it is text.
 */
export function gradedNotebook(g: NotebookGrade, submitted: Notebook | null): Notebook {
  const cells: Cell[] = [];
  const title = `# Feedback: ${g.notebook.replace(/[<>&*_`$\\[\]]/g, "")}`;
  cells.push({ cell_type: "markdown", metadata: {}, source: title });
  for (const md of (submitted?.cells ?? []).filter((c) => c.cell_type === "markdown").slice(0, 1)) {
    const text = Array.isArray(md.source) ? md.source.join("") : md.source;
    cells.push({ cell_type: "markdown", metadata: {}, source: text.replace(/</g, "&lt;") });
  }
  const hidden = new Set(g.rows.filter((r) => r.hidden).map((r) => r.check));
  g.cells.forEach((c, i) => {
    const outputs: Output[] = [];
    const isHidden = c.kind === "check" && hidden.has(c.checkId!);
    // What a submission prints while a hidden check calls it would show the hidden inputs.
    if (c.result.output.trim() && !isHidden) {
      outputs.push({ output_type: "stream", name: "stdout", text: splitLines(c.result.output) });
    }
    if (c.kind === "check") {
      outputs.push(
        c.result.passed
          ? { output_type: "stream", name: "stdout", text: [`check ${c.checkId}: passed\n`] }
          : {
            output_type: "error",
            ename: `check ${c.checkId} failed`,
            evalue: c.result.message ?? "",
            traceback: [`check ${c.checkId} failed: ${c.result.message ?? ""}`],
          },
      );
    } else if (c.result.status !== "ran") {
      outputs.push({
        output_type: "stream",
        name: "stderr",
        text: [`not run: ${c.result.reason ?? c.result.status}\n`],
      });
    }
    const source = isHidden ? `// hidden check ${c.checkId}` : c.source;
    cells.push({
      cell_type: "code",
      metadata: {},
      source: splitLines(source),
      outputs,
      execution_count: i + 1,
    });
  });
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: "deno", display_name: "Deno", language: "typescript" },
      language_info: { name: "typescript" },
    },
    cells,
  };
}

/** The results page of one student: every notebook, every check, escaped. */
export function feedbackPage(
  student: string,
  grades: readonly NotebookGrade[],
  notebookPages: ReadonlyMap<string, string>,
): string {
  const e = escapeHtml;
  const total = grades.reduce((s, g) => s + g.rows.reduce((t, r) => t + r.points, 0), 0);
  const max = grades.reduce((s, g) => s + g.rows.reduce((t, r) => t + r.max, 0), 0);
  const sections = grades.map((g) => {
    const pts = g.rows.reduce((t, r) => t + r.points, 0);
    const mx = g.rows.reduce((t, r) => t + r.max, 0);
    const page = notebookPages.get(g.notebook);
    const rows = g.rows.map((r) =>
      `<tr class="${r.passed ? "pass" : "fail"}"><td>${e(r.check)}${
        r.hidden ? " (hidden)" : ""
      }</td><td>${r.passed ? "passed" : "failed"}</td><td>${r.points} / ${r.max}</td><td><pre>${
        e(r.message)
      }</pre></td></tr>`
    ).join("\n");
    const notes = [...(g.invalid ? [g.invalid] : []), ...g.notes];
    return `<section>
<h2>${e(g.notebook)}: ${pts} / ${mx}</h2>
${notes.length ? `<ul class="notes">${notes.map((n) => `<li>${e(n)}</li>`).join("")}</ul>` : ""}
<table><thead><tr><th>check</th><th>result</th><th>points</th><th>message</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${page ? `<p><a href="${e(page)}">Your notebook as graded, with its outputs</a></p>` : ""}
</section>`;
  }).join("\n");
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Feedback: ${e(student)}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
table { border-collapse: collapse; width: 100%; } td, th { border: 1px solid #ccc; padding: .3rem .5rem; vertical-align: top; text-align: left; }
tr.pass td:nth-child(2) { color: #1a7f37; } tr.fail td:nth-child(2) { color: #cf222e; }
pre { white-space: pre-wrap; margin: 0; font-size: .85rem; } .notes { color: #8a4b00; }
</style></head><body>
<h1>Feedback for ${e(student)}: ${total} / ${max} points</h1>
${sections}
</body></html>
`;
}
