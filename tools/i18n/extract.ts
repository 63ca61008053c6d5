/**
 * The translatable units of a notebook: what a student reads, found by parsers.
 *
 * - Markdown cells: one unit per top-level block (paragraph, heading, list, table, fenced code,
 *   quote, HTML), found by markdown-it with the kit's math rule; display math (`$$...$$` on its
 *   own lines) and rules (`---`) are not units.
 * - Code cells, parsed as TypeScript by `@babel/parser`:
 *   - string and template literals whose text reaches the student: arguments of `console.*`,
 *     the message argument of `assert` and its methods, `new Error(...)` and `throw`, values of
 *     text options (`title`, `xLabel`, `name`, `msg`, ...; {@link TEXT_KEYS}), and a cell's last
 *     expression (Jupyter shows it). The text flows through `+`, `? :`, `??`, `||`, arrays,
 *     parentheses, `as`, string methods (`"x".padEnd(9)`) and template placeholders. Everything
 *     else (imports, keys, `mode: "markers"`, comparisons, types) is code and stays as it is;
 *   - comments, except tool directives (`deno-lint-ignore`, `@ts-expect-error`, ...) and the
 *     exercise markers `BEGIN SOLUTION` / `END SOLUTION`.
 *
 * A unit's text (its gettext msgid) is the source as written: a string literal's text between its
 * quotes (escapes as written), a template literal's text between its backticks with every
 * placeholder `${...}` exactly as in the code, a comment's text without `//` or the `/* *\/`
 * delimiters and without surrounding blanks, a markdown block's lines.
 *
 * Units are keyed by cell id (gettext msgctxt): `<cell id>/<n>` for markdown blocks,
 * `<cell id>/s<n>` for literals, `<cell id>/c<n>` for comments, numbered in source order.
 *
 * @module
 */
import { parse } from "@babel/parser";
import MarkdownIt from "markdown-it";
import { mathPlugin } from "../export/markdown.ts";
import { type Cell, type Notebook, sourceText } from "../notebook/io.ts";

/** What kind of text a unit is. */
export type UnitKind = "markdown" | "string" | "template" | "comment";

/** One translatable piece of a notebook. */
export interface Unit {
  /** The gettext msgctxt: `<cell id>/<n>`, `<cell id>/s<n>` or `<cell id>/c<n>`. */
  ctx: string;
  cellId: string;
  /** 0-based index of the cell. */
  cellIndex: number;
  kind: UnitKind;
  /** The English text (gettext msgid). */
  text: string;
  /** Where the text sits in the cell's source (the part a translation replaces). */
  start: number;
  end: number;
  /** Template literals: each placeholder's expression, as written and where it is. */
  placeholders?: { source: string; start: number; end: number }[];
  /** String literals: the quote character. */
  quote?: string;
  /** Comments: a block comment (`/* *\/`) rather than a line comment. */
  block?: boolean;
  /** For the translator: where the text appears (gettext extracted comment). */
  note: string;
}

/** An instructor notebook that cannot be split into units: names the cell and the fix. */
export class ExtractError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExtractError";
  }
}

/**
 * Option names whose string values are text a student reads (figure titles, axis titles,
 * legend names, slider labels, check messages, claim descriptions).
 */
export const TEXT_KEYS: ReadonlySet<string> = new Set([
  "title",
  "xLabel",
  "yLabel",
  "zLabel",
  "sliderLabel",
  "label",
  "labels",
  "name",
  "names",
  "groupNames",
  "msg",
  "message",
  "text",
  "caption",
  "rivalIs",
  "why",
]);

const CONSOLE = new Set(["log", "info", "warn", "error", "debug", "table"]);
/** `assert.<method>`: the position of the message argument. */
const ASSERT_MESSAGE_ARG: Record<string, number> = {
  ok: 1,
  equal: 2,
  notEqual: 2,
  strictEqual: 2,
  notStrictEqual: 2,
  deepEqual: 2,
  notDeepEqual: 2,
  deepStrictEqual: 2,
  notDeepStrictEqual: 2,
  match: 2,
  doesNotMatch: 2,
  throws: 2,
  doesNotThrow: 2,
  rejects: 2,
  doesNotReject: 2,
  fail: 0,
  ifError: -1,
};
/** String methods whose result is still the (displayed) text. */
const STRING_METHODS = new Set([
  "padEnd",
  "padStart",
  "repeat",
  "trim",
  "trimEnd",
  "trimStart",
  "toUpperCase",
  "toLowerCase",
  "concat",
]);
/** Comments that are instructions to tools or exercise markers, not prose. */
const DIRECTIVE =
  /^(?:deno-(?:lint|fmt)-ignore|deno-lint-ignore-file|deno-fmt-ignore-file|@ts-|eslint|prettier|<reference\b|@jsx|(?:BEGIN|END) SOLUTION\s*$)/;

// deno-lint-ignore no-explicit-any
type Node = any;

/** Parses one code cell as TypeScript (module code, top-level await, redeclarations allowed). */
export function parseCell(src: string, where: string): Node {
  try {
    return parse(src, {
      sourceType: "module",
      plugins: ["typescript"],
      errorRecovery: true,
      allowAwaitOutsideFunction: true,
      allowReturnOutsideFunction: true,
      allowUndeclaredExports: true,
    });
  } catch (e) {
    throw new ExtractError(
      `${where}: cannot parse the code as TypeScript (${(e as Error).message}); fix the cell`,
    );
  }
}

function isNode(v: unknown): v is Node {
  return typeof v === "object" && v !== null && typeof (v as { type?: unknown }).type === "string";
}

const SKIP_KEYS = new Set([
  "loc",
  "start",
  "end",
  "extra",
  "range",
  "leadingComments",
  "trailingComments",
  "innerComments",
  "errors",
  "comments",
  "tokens",
]);

/** Calls `visit` on every node under `root` with its ancestors (nearest last). */
function walk(root: Node, visit: (node: Node, ancestors: Node[]) => void): void {
  const stack: Node[] = [];
  const go = (node: Node) => {
    visit(node, stack);
    stack.push(node);
    for (const key of Object.keys(node)) {
      if (SKIP_KEYS.has(key)) continue;
      const v = node[key];
      if (Array.isArray(v)) {
        for (const x of v) if (isNode(x)) go(x);
      } else if (isNode(v)) go(v);
    }
    stack.pop();
  };
  go(root);
}

function calleeName(callee: Node): { object?: string; property?: string; name?: string } {
  if (callee?.type === "Identifier") return { name: callee.name };
  if (callee?.type === "MemberExpression" && !callee.computed) {
    const obj = callee.object;
    return {
      object: obj.type === "Identifier"
        ? obj.name
        : obj.type === "MemberExpression" && !obj.computed
        ? obj.property.name
        : undefined,
      property: callee.property.name,
    };
  }
  return {};
}

function keyName(prop: Node): string | undefined {
  if (prop.computed) return undefined;
  const k = prop.key;
  return k.type === "Identifier" ? k.name : k.type === "StringLiteral" ? k.value : undefined;
}

/** Record-of-series arguments: their quoted keys are legend names. */
const SERIES_RECORD_FNS = new Set(["line", "scatter", "histogram", "bar", "trainingCurves"]);
/** Array methods whose callback's result becomes the elements of the (shown) result. */
const MAP_METHODS = new Set(["map", "flatMap"]);

interface CellAst {
  src: string;
  program: Node;
  comments: Node[];
  cellId: string;
  cellIndex: number;
}

/** An identifier reference: the node and its ancestors. */
interface Ref {
  node: Node;
  ancestors: Node[];
  cell: CellAst;
}

/**
 * The flow analysis over a whole notebook (its cells share one scope, as in the kernel). A
 * literal is shown when it reaches a display position (a sink) through expressions that keep its
 * text, or through a variable, loop variable or helper-function parameter ALL of whose uses are
 * shown: a value that is also used as code (compared, passed to an API, used as a key) is never
 * translated, so the Spanish notebook computes exactly what the English one does.
 */
class Flow {
  private refs = new Map<string, Ref[]>();
  private memo = new Map<Node, string | null>();
  private busy = new Set<Node>();

  constructor(private readonly cells: CellAst[]) {
    for (const cell of cells) {
      walk(cell.program, (node, ancestors) => {
        if (node.type !== "Identifier" || isDeclarationOrKey(node, ancestors)) return;
        const list = this.refs.get(node.name) ?? [];
        list.push({ node, ancestors: [...ancestors], cell });
        this.refs.set(node.name, list);
      });
    }
  }

  /** Where the value of `node` is shown (for the translator), or null when it is code. */
  shown(node: Node, ancestors: Node[], cell: CellAst): string | null {
    if (this.memo.has(node)) return this.memo.get(node)!;
    if (this.busy.has(node)) return null; // a cycle: not proven to be shown
    this.busy.add(node);
    const r = this.walkUp(node, ancestors, cell);
    this.busy.delete(node);
    this.memo.set(node, r);
    return r;
  }

  /** Every use of `name` within `scope` (a node; null: the whole notebook) is shown. */
  private allUsesShown(name: string, scope: Node | null, what: string): string | null {
    const uses = (this.refs.get(name) ?? []).filter((r) =>
      scope === null || r.ancestors.includes(scope)
    );
    if (uses.length === 0) return null;
    for (const u of uses) {
      if (this.shown(u.node, u.ancestors, u.cell) === null) return null;
    }
    return what;
  }

  private walkUp(node: Node, ancestors: Node[], cell: CellAst): string | null {
    let cur = node;
    for (let i = ancestors.length - 1; i >= 0; i--) {
      const p = ancestors[i];
      switch (p.type) {
        case "BinaryExpression":
          if (p.operator !== "+") return null;
          break;
        case "ConditionalExpression":
          if (cur === p.test) return null;
          break;
        case "LogicalExpression":
          if (p.operator === "&&" && cur === p.left) return null;
          break;
        case "ParenthesizedExpression":
        case "TSAsExpression":
        case "TSSatisfiesExpression":
        case "TSNonNullExpression":
        case "ArrayExpression":
        case "SpreadElement":
        case "TemplateLiteral": // a placeholder: shown when the template is
          break;
        case "MemberExpression": {
          if (cur !== p.object || p.computed) return null;
          const call = ancestors[i - 1];
          if (
            call?.type !== "CallExpression" || call.callee !== p ||
            !STRING_METHODS.has(p.property.name)
          ) return null;
          i--; // continue from the call: "text".padEnd(9) is still the text
          cur = call;
          continue;
        }
        case "ArrowFunctionExpression": {
          // xs.map((x) => `p = ${x}`): the callback's result is the shown array's element.
          if (cur !== p.body) return null;
          const call = ancestors[i - 1];
          if (
            call?.type !== "CallExpression" || call.arguments[0] !== p ||
            call.callee.type !== "MemberExpression" || !MAP_METHODS.has(call.callee.property?.name)
          ) return null;
          i--;
          cur = call;
          continue;
        }
        case "ReturnStatement": {
          // The returned value of a `.map` callback with a block body.
          const fn = ancestors.slice(0, i).reverse().find((a) => /Function/.test(a.type));
          if (fn?.type !== "ArrowFunctionExpression" && fn?.type !== "FunctionExpression") {
            return null;
          }
          const at = ancestors.lastIndexOf(fn);
          const call = ancestors[at - 1];
          if (
            call?.type !== "CallExpression" || call.arguments[0] !== fn ||
            call.callee.type !== "MemberExpression" || !MAP_METHODS.has(call.callee.property?.name)
          ) return null;
          i = at - 1;
          cur = call;
          continue;
        }
        case "ObjectProperty": {
          if (cur !== p.value) return null;
          const key = keyName(p);
          return key !== undefined && TEXT_KEYS.has(key) ? `option "${key}"` : null;
        }
        case "VariableDeclarator": {
          if (cur !== p.init || p.id.type !== "Identifier") return null;
          return this.allUsesShown(p.id.name, scopeOf(ancestors.slice(0, i)), "a text variable");
        }
        case "ForOfStatement": {
          // for (const label of ["a", "b"]) console.log(label)
          if (cur !== p.right || p.left.type !== "VariableDeclaration") return null;
          const id = p.left.declarations[0]?.id;
          if (id?.type !== "Identifier") return null;
          return this.allUsesShown(id.name, p.body, "a text loop variable");
        }
        case "CallExpression":
        case "NewExpression":
          return this.argumentShown(p, cur);
        case "ThrowStatement":
          return "thrown message";
        case "ExpressionStatement": {
          const body = cell.program.body;
          return ancestors[i - 1] === cell.program && body[body.length - 1] === p
            ? "the cell's result (shown under the cell)"
            : null;
        }
        default:
          return null;
      }
      cur = p;
    }
    return null;
  }

  private argumentShown(p: Node, cur: Node): string | null {
    if (cur === p.callee) return null;
    const arg = p.arguments.indexOf(cur);
    const c = calleeName(p.callee);
    if (p.type === "NewExpression") {
      return /Error$/.test(c.name ?? c.property ?? "") && arg === 0 ? "error message" : null;
    }
    if (c.object === "console" && CONSOLE.has(c.property!)) return `console.${c.property}`;
    if (c.name === "assert") return arg === 1 ? "assertion message" : null;
    if (c.object === "assert" && c.property! in ASSERT_MESSAGE_ARG) {
      const at = ASSERT_MESSAGE_ARG[c.property!];
      // assert.throws(fn, "message") has no error matcher.
      const alt = /^(throws|rejects|doesNotThrow|doesNotReject)$/.test(c.property!) && arg === 1;
      return arg === at || alt ? "assertion message" : null;
    }
    if (c.object === "plot" && c.property === "bar" && arg === 0) return "bar labels";
    if (c.name !== undefined) return this.parameterShown(c.name, arg);
    return null;
  }

  /** The notebook's own helper `name`: is its parameter `index` only ever shown? */
  private parameterShown(name: string, index: number): string | null {
    const decls: Node[] = [];
    for (const cell of this.cells) {
      for (const st of cell.program.body) {
        if (st.type === "FunctionDeclaration" && st.id?.name === name) decls.push(st);
        if (st.type === "VariableDeclaration") {
          for (const d of st.declarations) {
            if (
              d.id.type === "Identifier" && d.id.name === name &&
              /^(Arrow)?Function(Expression)?$/.test(d.init?.type ?? "")
            ) decls.push(d.init);
          }
        }
      }
    }
    // One definition only: with several, which one a call reaches depends on the cell order.
    if (decls.length !== 1) return null;
    const param = decls[0].params[index];
    if (param?.type !== "Identifier") return null;
    return this.allUsesShown(param.name, decls[0].body, `an argument of ${name}() that it shows`);
  }

  /** Quoted keys of an object literal passed to a plot function as a record of series. */
  seriesRecord(obj: Node, ancestors: Node[]): boolean {
    let cur = obj;
    for (let i = ancestors.length - 1; i >= 0; i--) {
      const p = ancestors[i];
      if (/^(ParenthesizedExpression|TS(As|Satisfies|NonNull)Expression)$/.test(p.type)) {
        cur = p;
        continue;
      }
      if (p.type === "CallExpression" && p.arguments.includes(cur)) {
        const c = calleeName(p.callee);
        return c.object === "plot" && SERIES_RECORD_FNS.has(c.property!);
      }
      if (p.type === "VariableDeclarator" && cur === p.init && p.id.type === "Identifier") {
        const uses = (this.refs.get(p.id.name) ?? []).filter((r) =>
          r.ancestors.includes(scopeOf(ancestors.slice(0, i)) ?? r.ancestors[0])
        );
        return uses.length > 0 && uses.every((u) => this.seriesRecord(u.node, u.ancestors));
      }
      return false;
    }
    return false;
  }
}

/** The node whose descendants can see a declaration made under `ancestors` (null: notebook). */
function scopeOf(ancestors: Node[]): Node | null {
  for (let i = ancestors.length - 1; i >= 0; i--) {
    const a = ancestors[i];
    if (a.type === "Program") return null;
    if (a.type === "BlockStatement" || /Function/.test(a.type) || /^For/.test(a.type)) return a;
  }
  return null;
}

/** An identifier that names rather than reads: a declaration, a parameter, a key, a member. */
function isDeclarationOrKey(node: Node, ancestors: Node[]): boolean {
  const p = ancestors[ancestors.length - 1];
  if (!p) return true;
  if (p.type === "VariableDeclarator" && p.id === node) return true;
  if (/Function/.test(p.type) && (p.id === node || p.params?.includes(node))) return true;
  if ((p.type === "ObjectProperty" || p.type === "ObjectMethod") && p.key === node && !p.computed) {
    return !p.shorthand;
  }
  if (p.type === "MemberExpression" && p.property === node && !p.computed) return true;
  if (/^(Import|Export)/.test(p.type) || /^TS/.test(p.type)) return true;
  if (p.type === "ClassMethod" || p.type === "ClassProperty" || p.type === "LabeledStatement") {
    return true;
  }
  if (p.type === "AssignmentPattern" && p.left === node) return true;
  if (p.type === "ArrayPattern" || p.type === "RestElement" || p.type === "ObjectPattern") {
    return true;
  }
  if (p.type === "ObjectProperty" && ancestors[ancestors.length - 2]?.type === "ObjectPattern") {
    return true;
  }
  return false;
}

function lettersIn(s: string): boolean {
  return /\p{L}/u.test(s);
}

function isCodeLiteral(node: Node, ancestors: Node[]): boolean {
  const parent = ancestors[ancestors.length - 1];
  // Type positions, module specifiers and keys are code.
  if (
    ancestors.some((a) =>
      /^TS/.test(a.type) && !/^TS(As|Satisfies|NonNull)Expression$/.test(a.type)
    )
  ) return true;
  if (/^(Import|Export)/.test(parent?.type ?? "") || parent?.type === "ImportAttribute") {
    return true;
  }
  if (node.type === "TemplateLiteral" && parent?.type === "TaggedTemplateExpression") return true;
  return false;
}

/** The units of the code cells of a notebook (one scope, as in the kernel). */
function codeUnitsOf(cells: CellAst[]): Unit[] {
  const flow = new Flow(cells);
  const out: Unit[] = [];
  // Object literals that are records of series: their keys are legend names.
  const seriesRecords = new Set<Node>();
  for (const cell of cells) {
    const { src, cellId, cellIndex } = cell;
    const found: Unit[] = [];
    const push = (u: Omit<Unit, "ctx" | "cellId" | "cellIndex">) =>
      found.push({ ctx: "", cellId, cellIndex, ...u });
    walk(cell.program, (node, ancestors) => {
      if (node.type === "ObjectExpression" && flow.seriesRecord(node, ancestors)) {
        for (const prop of node.properties) {
          if (
            prop.type !== "ObjectProperty" || prop.computed || prop.key.type !== "StringLiteral"
          ) {
            continue;
          }
          if (!lettersIn(prop.key.value)) continue;
          const start = prop.key.start + 1, end = prop.key.end - 1;
          push({
            kind: "string",
            text: src.slice(start, end),
            start,
            end,
            quote: src[prop.key.start],
            note: "series name",
          });
        }
        // A computed key (`[`λ = ${l}`]`) is a legend name too: see keyOfSeries below.
        seriesRecords.add(node);
        return;
      }
      if (node.type !== "StringLiteral" && node.type !== "TemplateLiteral") return;
      if (isCodeLiteral(node, ancestors)) return;
      const parent = ancestors[ancestors.length - 1];
      const keyOfSeries = parent?.type === "ObjectProperty" && parent.computed &&
        parent.key === node && seriesRecords.has(ancestors[ancestors.length - 2]);
      if (
        (parent?.type === "ObjectProperty" || parent?.type === "ObjectMethod") &&
        parent.key === node && !keyOfSeries
      ) return;
      const where = keyOfSeries ? "series name" : flow.shown(node, ancestors, cell);
      if (where === null) return;
      const start = node.start + 1, end = node.end - 1;
      const text = src.slice(start, end);
      if (node.type === "StringLiteral") {
        if (lettersIn(node.value)) {
          push({ kind: "string", text, start, end, quote: src[node.start], note: where });
        }
        return;
      }
      const cooked = node.quasis.map((q: Node) => q.value.cooked ?? "").join("");
      if (!lettersIn(cooked)) return;
      push({
        kind: "template",
        text,
        start,
        end,
        placeholders: node.expressions.map((e: Node) => {
          // The placeholder is "${" + expression (with any blanks or comments) + "}".
          const open = src.lastIndexOf("${", e.start);
          const close = matchingBrace(src, e.end);
          return { source: src.slice(open, close + 1), start: open + 2, end: close };
        }),
        note: where,
      });
    });
    for (const c of cell.comments) {
      const inner = c.type === "CommentLine"
        ? { start: c.start + 2, end: c.end }
        : { start: c.start + (src[c.start + 2] === "*" ? 3 : 2), end: c.end - 2 }; // JSDoc: /**
      const raw = src.slice(inner.start, inner.end);
      const text = raw.trim();
      if (!lettersIn(text) || DIRECTIVE.test(text)) continue;
      const start = inner.start + raw.length - raw.trimStart().length;
      push({
        kind: "comment",
        text,
        start,
        end: start + text.length,
        block: c.type !== "CommentLine",
        note: "code comment",
      });
    }
    found.sort((a, b) => a.start - b.start);
    let s = 0, k = 0;
    for (const u of found) u.ctx = `${cellId}/${u.kind === "comment" ? `c${++k}` : `s${++s}`}`;
    out.push(...found);
  }
  return out;
}

/**
 * The units of one code cell on its own (no other cell's helpers or uses are seen), in source
 * order.
 */
export function codeUnits(src: string, cellId: string, cellIndex: number, where: string): Unit[] {
  const ast = parseCell(src, where);
  return codeUnitsOf([{
    src,
    program: ast.program,
    comments: ast.comments ?? [],
    cellId,
    cellIndex,
  }]);
}

/** The index of the `}` closing the placeholder whose expression ends at `from`. */
function matchingBrace(src: string, from: number): number {
  // Only blanks and comments may sit between the expression and its `}`.
  let i = from;
  while (i < src.length && src[i] !== "}") {
    if (src.startsWith("//", i)) i = src.indexOf("\n", i);
    else if (src.startsWith("/*", i)) i = src.indexOf("*/", i) + 2;
    else i++;
  }
  return i;
}

const MARKDOWN = new MarkdownIt({ html: true }).use(mathPlugin);
const NOT_TEXT = new Set(["hr", "math_block"]);

/** The units of one markdown cell: one per top-level block, in order. */
export function markdownUnits(src: string, cellId: string, cellIndex: number): Unit[] {
  const tokens = MARKDOWN.parse(src, {});
  // Offsets of line starts, to turn markdown-it's line maps into character ranges.
  const lineStart = [0];
  for (let i = 0; i < src.length; i++) if (src[i] === "\n") lineStart.push(i + 1);
  lineStart.push(src.length + 1);
  const out: Unit[] = [];
  let n = 0;
  for (const t of tokens) {
    if (t.level !== 0 || !t.map || t.nesting === -1 || NOT_TEXT.has(t.type)) continue;
    const [from, to] = t.map;
    const start = lineStart[from];
    const end = Math.min(lineStart[to] - 1, src.length);
    const text = src.slice(start, end).replace(/\n+$/, "");
    if (!lettersIn(text)) continue;
    out.push({
      ctx: `${cellId}/${++n}`,
      cellId,
      cellIndex,
      kind: "markdown",
      text,
      start,
      end: start + text.length,
      note: `markdown ${t.type.replace(/_open$/, "")}`,
    });
  }
  return out;
}

function requireId(cell: Cell, where: string): string {
  if (!cell.id) {
    throw new ExtractError(
      `${where}: the cell has no id (nbformat 4.5); translations are keyed by cell id: re-save ` +
        `the notebook in Jupyter or give the cell an "id"`,
    );
  }
  return cell.id;
}

/**
 * Every translatable unit of a notebook, in cell order. Throws an {@link ExtractError} for a
 * cell without an id, duplicate ids, or code that does not parse.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { notebookUnits } from "./extract.ts";
 * const units = notebookUnits({
 *   nbformat: 4, nbformat_minor: 5, metadata: {},
 *   cells: [
 *     { cell_type: "markdown", id: "intro", metadata: {}, source: "# Title\n\nSome text." },
 *     { cell_type: "code", id: "fig", metadata: {}, execution_count: null, outputs: [],
 *       source: 'plot.line([1, 2], { title: `loss at λ = ${lam}`, mode: "markers" }); // a note' },
 *   ],
 * }, "x.ipynb");
 * assert.deepEqual(units.map((u) => [u.ctx, u.text]), [
 *   ["intro/1", "# Title"], ["intro/2", "Some text."],
 *   ["fig/s1", "loss at λ = ${lam}"], ["fig/c1", "a note"],
 * ]);
 * ```
 */
export function notebookUnits(nb: Notebook, label: string): Unit[] {
  const seen = new Map<string, number>();
  const out: Unit[] = [];
  const code: CellAst[] = [];
  nb.cells.forEach((cell, i) => {
    if (cell.cell_type === "raw") return;
    const where = `${label}, cell ${i + 1}`;
    const id = requireId(cell, where);
    const before = seen.get(id);
    if (before !== undefined) {
      throw new ExtractError(
        `${where}: cell id "${id}" is also the id of cell ${before + 1}; ids must be unique`,
      );
    }
    seen.set(id, i);
    const src = sourceText(cell.source);
    if (cell.cell_type === "markdown") out.push(...markdownUnits(src, id, i));
    else {
      const ast = parseCell(src, where);
      code.push({
        src,
        program: ast.program,
        comments: ast.comments ?? [],
        cellId: id,
        cellIndex: i,
      });
    }
  });
  out.push(...codeUnitsOf(code));
  return out.sort((a, b) => a.cellIndex - b.cellIndex || a.start - b.start);
}
