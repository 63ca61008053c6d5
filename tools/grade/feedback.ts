/**
 * Per-student feedback pages, in the handouts' look (their style sheet, typography, colours) and
 * readable on a phone. The summary page lists each notebook's exercises by title with their
 * points; a failed check's message comes first, in its own words, and a long dump (such as
 * `assertClose`'s element list) folds under it. The graded notebook itself (the student's cells
 * and what they printed) goes through the handout exporter via {@link renderNotebookPage}, with a
 * link back to the summary. Every piece of student-controlled text is escaped.
 *
 * @module
 */
import { escapeHtml, renderNotebook, writeAssets } from "../export/mod.ts";
import type { Cell, Notebook, Output } from "../notebook/io.ts";
import { splitLines } from "../notebook/io.ts";
import type { CheckRow, NotebookGrade } from "./grader.ts";
import type { ResultRecord } from "./report.ts";
import { ui } from "../i18n/ui.ts";

/**
 * Adapter to the handout exporter: a complete HTML page for a graded notebook, with the
 * exporter's `assets/` next to it and a link back to the student's summary page.
 */
export function renderNotebookPage(
  nb: Notebook,
  name: string,
  summaryHref: string,
  lang = "en",
): string {
  return renderNotebook(nb, {
    name,
    indexHref: summaryHref,
    downloadHref: null,
    footer: ui(lang)("feedback.footer", { file: name }),
    lang,
  }).html;
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
 * A name that a phone can wrap: a zero-width space after `_`, `.` and `-` in a run of more than
 * 30 characters without a space (what shows is unchanged).
 */
function breakable(s: string): string {
  return s.replace(/\S{31,}/g, (w) => w.replace(/([_.-])/g, "$1\u200b"));
}

/** Markdown text that shows `s` literally (every markdown and HTML special escaped). */
function mdLiteral(s: string): string {
  return s.replace(/[\\`*_{}\[\]()#+\-.!<>&|~$]/g, (c) => `\\${c}`);
}

/**
 * The notebook shown on a feedback page: the cells that ran with what they printed. Hidden
 * checks show their exercise, outcome and message only (never their source, nor what the
 * submission printed while they ran). The submission's own markdown is not shown (its links
 * point at files that are not there).
 */
export function gradedNotebook(
  g: NotebookGrade,
  _submitted: Notebook | null,
  summaryHref: string,
  exercises: Readonly<Record<string, string>> = {},
  lang = "en",
): Notebook {
  const t = ui(lang);
  const cells: Cell[] = [];
  cells.push({
    cell_type: "markdown",
    metadata: {},
    source: `# ${t("feedback.nb.title")}\n\n${
      t("feedback.nb.lead", { file: mdLiteral(breakable(g.notebook)) })
    } [${t("feedback.nb.back")}](${encodeURI(summaryHref)}).`,
  });
  const hidden = new Set(g.rows.filter((r) => r.hidden).map((r) => r.check));
  g.cells.forEach((c, i) => {
    const outputs: Output[] = [];
    const isHidden = c.kind === "check" && hidden.has(c.checkId!);
    const label = c.kind === "check"
      ? `${exercises[c.checkId!] ?? c.checkId}, ${
        isHidden ? t("feedback.graded") : t("feedback.visible")
      }`
      : "";
    if (c.result.output.trim() && !isHidden) {
      outputs.push({ output_type: "stream", name: "stdout", text: splitLines(c.result.output) });
    }
    if (c.kind === "check") {
      outputs.push(
        c.result.passed
          ? { output_type: "stream", name: "stdout", text: [`${label}: ${t("feedback.passed")}\n`] }
          : {
            output_type: "error",
            ename: `${label}: ${t("feedback.failed")}`,
            evalue: c.result.message ?? "",
            traceback: [`${label}: ${t("feedback.failed")}: ${c.result.message ?? ""}`],
          },
      );
    } else if (c.result.status !== "ran") {
      outputs.push({
        output_type: "stream",
        name: "stderr",
        text: [`${t("feedback.nb.notrun", { why: c.result.reason ?? c.result.status })}\n`],
      });
    }
    const source = isHidden ? `// ${label} (${t("feedback.nb.hidden")})` : c.source;
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
      ...(lang !== "en" ? { lang } : {}),
    },
    cells,
  };
}

/** One notebook (or rejected file) on a student's summary page. */
export interface FeedbackItem {
  record: ResultRecord;
  grade: NotebookGrade | null;
}

/**
 * A failed check's message, first in its own words, the rest folded: the first line (up to 300
 * characters) is the lead; a longer message's remainder goes under a "details" fold.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { splitMessage } from "./feedback.ts";
 * assert.deepStrictEqual(splitMessage("x is wrong"), { lead: "x is wrong", rest: "" });
 * const long = "not close: worst at [3]\n" + "1.0 vs 2.0\n".repeat(40);
 * const { lead, rest } = splitMessage(long);
 * assert.strictEqual(lead, "not close: worst at [3]");
 * assert.ok(rest.startsWith("1.0 vs 2.0"));
 * ```
 */
export function splitMessage(message: string): { lead: string; rest: string } {
  const m = message.trim();
  const nl = m.indexOf("\n");
  let lead = nl < 0 ? m : m.slice(0, nl);
  let rest = nl < 0 ? "" : m.slice(nl + 1).trim();
  if (lead.length > 300) {
    const cut = lead.lastIndexOf(" ", 300);
    const at = cut > 120 ? cut : 300;
    rest = (lead.slice(at).trim() + (rest ? `\n${rest}` : "")).trim();
    lead = lead.slice(0, at) + " …";
  }
  return { lead, rest };
}

const FEEDBACK_CSS = `
.feedback { max-width: 46rem; margin: 0 auto; padding: 1.25rem 1rem 3rem; }
.feedback h1 { font-size: 1.6rem; line-height: 1.25; margin: 0.5rem 0 0.25rem; overflow-wrap: anywhere; }
.feedback .total { font-size: 1.1rem; color: var(--muted, #6b7280); margin: 0 0 1.5rem; }
.feedback section.nb { border-top: 1px solid var(--line, #e5e7eb); padding-top: 1rem; margin-top: 1.5rem; }
.feedback h2 { font-size: 1.25rem; margin: 0 0 0.25rem; overflow-wrap: anywhere; }
.feedback .file { font-family: var(--mono, monospace); font-size: 0.9rem; overflow-wrap: anywhere; }
.feedback .notes { background: var(--warn-bg, #fffbeb); border-left: 3px solid var(--warn-line, #f59e0b); padding: 0.4rem 0.8rem 0.4rem 1.6rem; margin: 0.6rem 0; }
.feedback ul.exercises { list-style: none; padding: 0; margin: 0.8rem 0; }
.feedback li.exercise { border: 1px solid var(--line, #e5e7eb); border-radius: 8px; padding: 0.6rem 0.8rem; margin: 0.6rem 0; }
.feedback .ex-head { display: flex; flex-wrap: wrap; justify-content: space-between; gap: 0.25rem 1rem; font-weight: 600; }
.feedback .ex-title { overflow-wrap: anywhere; min-width: 0; }
.feedback ul.checks { list-style: none; padding: 0; margin: 0.4rem 0 0; }
.feedback ul.checks li { margin: 0.3rem 0; overflow-wrap: anywhere; }
.feedback .passed { color: #1a7f37; } .feedback .failed { color: var(--error, #b91c1c); }
.feedback .msg { margin: 0.2rem 0 0 1.2rem; }
.feedback pre { white-space: pre-wrap; overflow-wrap: anywhere; max-width: 100%; background: var(--code-bg, #f6f8fa); padding: 0.5rem; border-radius: 6px; }
.feedback details summary { cursor: pointer; color: var(--muted, #6b7280); }
`;

let handoutCss: string | null = null;
/** The handouts' style sheet, for pages that stand alone (no assets/ beside them). */
function inlineCss(): string {
  handoutCss ??= Deno.readTextFileSync(new URL("../export/assets/handout.css", import.meta.url));
  return handoutCss;
}

function checkLine(r: CheckRow, e: (s: string) => string, lang = "en"): string {
  const t = ui(lang);
  const kind = r.hidden ? t("feedback.graded") : t("feedback.visible");
  const status = r.passed
    ? `<span class="passed">${t("feedback.passed")}</span>`
    : `<span class="failed">${t("feedback.failed")}</span>`;
  const pts = r.max > 0 ? ` (${r.points} / ${r.max})` : "";
  let msg = "";
  if (!r.passed && r.message) {
    const { lead, rest } = splitMessage(r.message);
    msg = `<div class="msg">${e(lead)}${
      rest
        ? `<details><summary>${t("feedback.details")}</summary><pre>${e(rest)}</pre></details>`
        : ""
    }</div>`;
  }
  return `<li>${kind}: ${status}${pts}${msg}</li>`;
}

/**
 * The results page of one student: each notebook's exercises by title, with points, every check
 * and what went wrong. `assetsHref` is where the handouts' `assets/` folder is; null inlines the
 * style sheet (a page that must stand alone, as in Moodle's feedback zip) and drops the links to
 * the notebook pages, which are not beside it there.
 */
export function feedbackPage(
  student: string,
  items: readonly FeedbackItem[],
  notebookPages: ReadonlyMap<string, string>,
  assetsHref: string | null,
  lang = "en",
): string {
  const e = escapeHtml;
  const t = ui(lang);
  const graded = items.filter((i) => i.record.notebook !== "-");
  const total = graded.reduce((s, i) => s + i.record.rows.reduce((t, r) => t + r.points, 0), 0);
  const max = graded.reduce((s, i) => s + i.record.rows.reduce((t, r) => t + r.max, 0), 0);
  const sections = items.map(({ record: r }) => {
    if (r.notebook === "-") {
      return `<section class="nb"><h2>${e(r.file ?? t("feedback.afile"))}</h2>
<p class="notes">${
        e(t("feedback.notgraded", { why: r.rows[0]?.message ?? r.invalid ?? "" }))
      }</p></section>`;
    }
    const pts = r.rows.reduce((t, x) => t + x.points, 0);
    const mx = r.rows.reduce((t, x) => t + x.max, 0);
    const groups = new Map<string, CheckRow[]>();
    for (const row of r.rows) {
      const title = r.exercises?.[row.check] ?? row.check;
      groups.set(title, [...(groups.get(title) ?? []), row]);
    }
    const exercises = [...groups].map(([title, rows]) => {
      const p = rows.reduce((t, x) => t + x.points, 0), m = rows.reduce((t, x) => t + x.max, 0);
      return `<li class="exercise"><div class="ex-head"><span class="ex-title">${
        e(title)
      }</span><span>${e(t("feedback.points", { points: p, max: m }))}</span></div>
<ul class="checks">${rows.map((x) => checkLine(x, e, lang)).join("")}</ul></li>`;
    }).join("\n");
    const notes = [...(r.invalid ? [r.invalid] : []), ...r.notes];
    const page = assetsHref !== null ? notebookPages.get(r.notebook) : undefined;
    return `<section class="nb">
<h2>${e(r.notebook)}: ${e(t("feedback.points", { points: pts, max: mx }))}</h2>
${
      r.file
        ? `<p>${
          e(t("feedback.submittedas", { file: "\u0000" })).replace(
            "\u0000",
            `<span class="file">${e(r.file)}</span>`,
          )
        }</p>`
        : ""
    }
${notes.length ? `<ul class="notes">${notes.map((n) => `<li>${e(n)}</li>`).join("")}</ul>` : ""}
<ul class="exercises">
${exercises}
</ul>
${page ? `<p><a href="${e(page)}">${e(t("feedback.asgraded"))}</a></p>` : ""}
</section>`;
  }).join("\n");
  const style = assetsHref === null
    ? `<style>${inlineCss()}</style>`
    : `<link rel="stylesheet" href="${e(assetsHref)}handout.css">`;
  return `<!DOCTYPE html>
<html lang="${e(lang)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:">
<title>${e(t("feedback.title", { student }))}</title>
${style}
<style>${FEEDBACK_CSS}</style>
</head><body>
<main class="feedback">
<h1>${e(t("feedback.heading", { student }))}</h1>
<p class="total">${e(t("feedback.points", { points: total, max }))}</p>
${sections}
</main>
</body></html>
`;
}
