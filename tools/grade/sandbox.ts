/**
 * Runs untrusted notebook cells in a separate `deno repl` process with least permissions, and
 * learns which check cells passed over a channel the cells cannot forge.
 *
 * Why `deno repl --eval-file`: it evaluates each file as one REPL input, exactly as the Deno
 * Jupyter kernel evaluates a cell (TypeScript, top-level await, a later input may re-declare a
 * `const`, an input that throws does not stop the next one), but with the permission flags of
 * `deno run` instead of the kernel's `--allow-all`. The eval files live in a folder the cells
 * cannot read, so the hidden checks and the per-run secret stay out of their reach.
 *
 * The protocol: a trusted prelude (first eval file) imports the notebook's modules and captures
 * what the checks need before any student code runs, hardens the shared built-ins, and binds
 * the reporting object to a global lexical name that contains a random nonce. Every check cell
 * is wrapped so that it gets the captured bindings and reports `pass` only when its body
 * finished without throwing. Reports are lines on stdout carrying the nonce; the cells can
 * print, but they never see the nonce, so they cannot print a report.
 *
 * A cell that stops the run (endless loop, memory, process exit) is skipped on a re-run, so
 * the checks after it still run.
 *
 * @module
 */
import type { ImportBinding } from "../notebook/exercises.ts";

/** One cell to run. */
export interface SandboxCell {
  kind: "code" | "check";
  source: string;
  /** Check id (for `kind: "check"`). */
  checkId?: string;
  /**
   * The instructor's own cell, unchanged (not student code). When it is the one that runs out of
   * time, the machine is slow rather than the submission hostile: the run is repeated once with
   * twice the time before the cell is skipped.
   */
  trusted?: boolean;
}

/** What happened to one cell. */
export interface CellResult {
  /** "ran", or why it did not: skipped after it stopped an earlier run, or never reached. */
  status: "ran" | "skipped" | "not-reached";
  /** Why the cell was skipped ("timeout after 10 s", "memory above 512 MB", ...). */
  reason?: string;
  /** What the cell printed (capped), REPL error reports included. */
  output: string;
  /** For a check: whether its body finished without throwing, and the error message. */
  passed?: boolean;
  message?: string;
}

/** Limits and locations of a sandboxed run. */
export interface SandboxOptions {
  /** The kit's root (holding `deno.json`, `lib/`, `data/`). */
  root: string;
  /** Modules the prelude imports for the check cells. */
  bindings: readonly ImportBinding[];
  /** Wall-clock limit of one run of the notebook, in seconds. */
  timeoutSec: number;
  /** Resident-memory cap in MB. */
  memoryMb: number;
  /** How many cells may be skipped after they stop a run (each costs a re-run). */
  maxSkips?: number;
  /** The `deno` executable. */
  deno?: string;
}

/** The result of running a notebook's cells in the sandbox. */
export interface SandboxResult {
  cells: CellResult[];
  /** Runs it took (1 + skipped cells). */
  runs: number;
  /** Largest resident memory seen in any run, in MB (sampled every 25 ms). */
  peakMb: number;
  /** Problems of the sandbox itself (the prelude failed, ...), for the report. */
  problems: string[];
  /** Things the instructor should know (a run repeated with more time, ...). */
  notes: string[];
}

const OUTPUT_CAP = 20_000;
const TIMEOUT_REASON = "the run took longer than";

/** Built-ins whose global binding is made read-only and that are frozen with their prototype. */
const INTRINSICS = [
  "Object",
  "Function",
  "Array",
  "Number",
  "Boolean",
  "String",
  "Symbol",
  "BigInt",
  "Math",
  "JSON",
  "Reflect",
  "Promise",
  "Map",
  "Set",
  "WeakMap",
  "WeakSet",
  "ArrayBuffer",
  "DataView",
  "Float64Array",
  "Float32Array",
  "Int8Array",
  "Uint8Array",
  "Uint8ClampedArray",
  "Int16Array",
  "Uint16Array",
  "Int32Array",
  "Uint32Array",
  "BigInt64Array",
  "BigUint64Array",
  "RegExp",
  "Proxy",
  "isNaN",
  "isFinite",
  "parseFloat",
  "parseInt",
];

function jsString(s: string): string {
  return JSON.stringify(s).replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/** The trusted first eval file. `name` is the nonce-bearing global lexical name. */
export function preludeSource(name: string, mark: string, bindings: readonly ImportBinding[]) {
  const specs = [...new Set(bindings.map((b) => b.spec))];
  const importLines = specs.map((s, i) => `  const m${i} = await import(${jsString(s)});`);
  const bindLines = bindings.map((b) => {
    const m = `m${specs.indexOf(b.spec)}`;
    const v = b.name === "*" ? m : `${m}[${jsString(b.name)}]`;
    return `  imports[${jsString(b.local)}] = ${v};`;
  });
  return `const ${name} = await (async () => {
  "use strict";
  const g = globalThis;
  const O = Object, R = Reflect;
  const freeze = O.freeze, isFrozen = O.isFrozen, defineProperty = O.defineProperty;
  const getOwnPropertyDescriptor = O.getOwnPropertyDescriptor, getPrototypeOf = O.getPrototypeOf;
  const ownKeys = R.ownKeys, apply = R.apply, stringify = JSON.stringify, S = String;
  const subarray = Uint8Array.prototype.subarray, sliceStr = String.prototype.slice;
  const encoder = new TextEncoder(), encode = TextEncoder.prototype.encode;
  const stdout = Deno.stdout, writeSync = Deno.stdout.writeSync;
  const mark = ${jsString(mark)};
  const emit = (obj) => {
    try {
      const bytes = apply(encode, encoder, ["\\n" + mark + stringify(obj) + "\\n"]);
      let off = 0;
      while (off < bytes.length) off += apply(writeSync, stdout, [apply(subarray, bytes, [off])]);
    } catch { /* stdout closed by the cell: the check simply reports nothing */ }
  };
  const imports = { __proto__: null };
${importLines.join("\n")}
${bindLines.join("\n")}
  // assertClose reads its arguments more than once (a length, then the elements): a value with
  // a getter that answers differently each time could pass unchecked. Checks get a version that
  // first copies both values into plain arrays, reading everything exactly once.
  let TensorC = null;
  try { TensorC = (await import("@kit/tensor.ts")).Tensor; } catch { /* not this kit */ }
  const isArray = Array.isArray, isView = ArrayBuffer.isView;
  const taLength = getOwnPropertyDescriptor(getPrototypeOf(Uint8Array).prototype, "length").get;
  const snap = (v, depth) => {
    if (typeof v !== "object" || v === null) return v;
    if (depth > 64) throw new TypeError("assertClose: value nested too deeply");
    if (isView(v)) {
      const n = apply(taLength, v, []), out = [];
      for (let i = 0; i < n; i++) out[i] = v[i];
      return out;
    }
    if (TensorC !== null && v instanceof TensorC) {
      const shape = snap(v.shape, depth + 1), flat = snap(v.data, depth + 1);
      if (!isArray(shape) || !isArray(flat)) throw new TypeError("assertClose: malformed Tensor");
      let k = 0;
      const build = (d) => {
        if (d === shape.length) return flat[k++];
        const out = [];
        for (let i = 0; i < shape[d]; i++) out[i] = build(d + 1);
        return out;
      };
      const nested = build(0);
      if (k !== flat.length) throw new TypeError("assertClose: Tensor data does not match its shape");
      return nested;
    }
    if (isArray(v)) {
      const n = v.length, out = [];
      if (typeof n !== "number" || !(n >= 0 && n < 1e8)) throw new TypeError("assertClose: bad array length");
      for (let i = 0; i < n; i++) out[i] = snap(v[i], depth + 1);
      return out;
    }
    return v;
  };
  for (const k of ownKeys(imports)) {
    const f = imports[k];
    if (k !== "assertClose" || typeof f !== "function") continue;
    imports[k] = function assertClose(actual, expected, opts) {
      const o = opts === undefined || opts === null ? undefined : {
        rtol: opts.rtol, atol: opts.atol, equalNan: opts.equalNan, msg: opts.msg,
      };
      return apply(f, undefined, [snap(actual, 0), snap(expected, 0), o]);
    };
  }
  // Leaving early would end the run: make it an ordinary error instead. node:process is loaded
  // before the built-ins are frozen (its lazy set-up assigns to a Set's Symbol.iterator).
  const noExit = () => { throw new Error("grading: ending the process is disabled"); };
  for (const [obj, k] of [[Deno, "exit"], [g, "close"]]) {
    try { defineProperty(obj, k, { value: noExit, writable: false, configurable: false }); } catch {}
  }
  try {
    const proc = (await import("node:process")).default;
    for (const k of ["exit", "reallyExit", "abort", "kill"]) {
      try { defineProperty(proc, k, { value: noExit, writable: false, configurable: false }); } catch {}
    }
  } catch {}
  // Built-ins: the checks and lib/ read them by name, so pin the global bindings and freeze them.
  const intrinsics = { __proto__: null };
  const seen = new WeakSet();
  const harden = (v, depth) => {
    if ((typeof v !== "object" && typeof v !== "function") || v === null || seen.has(v)) return;
    seen.add(v);
    if (isView(v)) return;
    try { freeze(v); } catch { /* module namespaces cannot be frozen; their bindings are fixed */ }
    if (depth <= 0) return;
    for (const k of ownKeys(v)) {
      const d = getOwnPropertyDescriptor(v, k);
      if (d && "value" in d) harden(d.value, k === "prototype" ? depth : depth - 1);
    }
  };
  // Instances may still define their own toString, constructor, ... (the "override mistake").
  const overridable = (proto, keys) => {
    for (const k of keys) {
      const d = getOwnPropertyDescriptor(proto, k);
      if (!d || !("value" in d)) continue;
      const value = d.value;
      defineProperty(proto, k, {
        get() { return value; },
        set(x) {
          if (this === proto) throw new TypeError("grading: built-in " + S(k) + " is read-only");
          defineProperty(this, k, { value: x, writable: true, enumerable: true, configurable: true });
        },
        enumerable: d.enumerable, configurable: false,
      });
    }
  };
  overridable(Object.prototype, ["constructor", "toString", "valueOf", "toLocaleString",
    "hasOwnProperty", "isPrototypeOf", "propertyIsEnumerable"]);
  overridable(Function.prototype, ["toString"]);
  for (const k of ${JSON.stringify(INTRINSICS)}) {
    const v = g[k];
    if (v === undefined) continue;
    intrinsics[k] = v;
    defineProperty(g, k, { value: v, writable: false, enumerable: false, configurable: false });
  }
  harden(getPrototypeOf(Uint8Array), 2);
  harden(getPrototypeOf(function* () {}), 1);
  harden(getPrototypeOf(async function () {}), 1);
  for (const k of ownKeys(intrinsics)) harden(intrinsics[k], 2);
  // Every export of every module the notebook imports, not only the names it binds: a check's
  // tensor() builds Tensors whose methods must be the library's even if Tensor is not imported.
  const modules = [${specs.map((_, i) => `m${i}`).join(", ")}];
  try { modules.push(await import("@kit/mod.ts")); } catch { /* not this kit */ }
  for (const m of modules) {
    for (const k of ownKeys(m)) harden(m[k], 2);
  }
  for (const k of ownKeys(imports)) harden(imports[k], 2);
  const message = (e) => {
    try {
      if (e !== null && typeof e === "object") {
        const m = e.message;
        const n = e.name;
        return apply(sliceStr, (typeof n === "string" ? n + ": " : "") + S(m), [0, 4000]);
      }
      return apply(sliceStr, "thrown: " + S(e), [0, 4000]);
    } catch { return "a value that could not be turned into a message was thrown"; }
  };
  const check = async (id, body) => {
    emit({ check: id, event: "start" });
    let ok = false, msg = "";
    try {
      await body();
      ok = true;
    } catch (e) {
      msg = message(e);
    }
    emit(ok ? { check: id, event: "pass" } : { check: id, event: "fail", message: msg });
  };
  const cell = (i) => emit({ cell: i });
  const end = () => emit({ end: true });
  emit({ ready: true });
  return freeze({ check, cell, end, imports: freeze(imports), intrinsics: freeze(intrinsics) });
})();
`;
}

/** Removes import statements from a check cell (its bindings come from the prelude). */
function withoutImports(source: string): string {
  return source.replace(/^\s*import\s[^;]*?from\s+["'][^"']+["'];?[ \t]*$/gm, "");
}

/** A check cell wrapped so that it uses the captured bindings and reports its outcome. */
export function checkSource(
  name: string,
  id: string,
  source: string,
  bindings: readonly ImportBinding[],
): string {
  const locals = [...new Set(bindings.map((b) => b.local))];
  const names = INTRINSICS.filter((k) => !locals.includes(k));
  // One line of prefix keeps the error line numbers of the check's own lines off by one only.
  return `await ${name}.check(${jsString(id)}, async () => { "use strict"; const { ${
    names.join(", ")
  } } = ${name}.intrinsics; const { ${
    locals.map((l) => jsString(l) + ": " + l).join(", ")
  } } = ${name}.imports; {\n${withoutImports(source)}\n} });\n`;
}

/** Resident memory of a process in MB (from /proc), or null when it is gone. */
async function residentMb(pid: number): Promise<number | null> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

interface Attempt {
  peakMb: number;
  outputs: string[];
  checks: Map<number, { passed: boolean; message: string }>;
  /** Index of the cell running when the run stopped early; null when the run finished. */
  stoppedAt: number | null;
  stopReason: string;
  ready: boolean;
  stderr: string;
  /** What was printed before the first cell (the prelude's errors). */
  preamble: string;
}

async function runOnce(
  cells: readonly SandboxCell[],
  skip: ReadonlyMap<number, string>,
  opts: SandboxOptions,
  tmp: string,
): Promise<Attempt> {
  const nonce = Array.from(crypto.getRandomValues(new Uint8Array(16)))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  const name = `__kit_grade_${nonce}`;
  const mark = `\u001e#kit-grade:${nonce}#`;
  const ctl = await Deno.makeTempDir({ dir: tmp, prefix: "ctl-" });
  const work = await Deno.makeTempDir({ dir: tmp, prefix: "work-" });
  const files: string[] = [];
  const add = async (file: string, text: string) => {
    await Deno.writeTextFile(`${ctl}/${file}`, text);
    files.push(`${ctl}/${file}`);
  };
  await add("prelude.ts", preludeSource(name, mark, opts.bindings));
  for (let i = 0; i < cells.length; i++) {
    if (skip.has(i)) continue;
    const c = cells[i];
    await add(`m${i}.ts`, `${name}.cell(${i});\n`);
    await add(
      `cell${i + 1}.ts`,
      c.kind === "check" ? checkSource(name, c.checkId!, c.source, opts.bindings) : c.source,
    );
  }
  await add("end.ts", `${name}.end();\n`);

  const root = opts.root;
  const env: Record<string, string> = {
    NO_COLOR: "1",
    DENO_NO_UPDATE_CHECK: "1",
    DENO_NO_PROMPT: "1",
    PATH: "/usr/bin:/bin",
  };
  for (const k of ["HOME", "DENO_DIR"]) {
    const v = Deno.env.get(k);
    if (v) env[k] = v;
  }
  let cwd = `${root}/notebooks`;
  try {
    if (!(await Deno.stat(cwd)).isDirectory) cwd = work;
  } catch {
    cwd = work;
  }
  const child = new Deno.Command(opts.deno ?? Deno.execPath(), {
    args: [
      "repl",
      "--no-prompt",
      `--config=${root}/deno.json`,
      "--node-modules-dir=manual",
      "--cached-only",
      "--no-lock",
      "--no-remote",
      `--allow-read=${root}/lib,${root}/data,${work}`,
      `--allow-write=${work}`,
      `--v8-flags=--max-old-space-size=${Math.max(64, Math.round(opts.memoryMb * 0.75))}`,
      `--eval-file=${files.join(",")}`,
    ],
    cwd,
    env,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  const att: Attempt = {
    outputs: cells.map(() => ""),
    checks: new Map(),
    stoppedAt: null,
    stopReason: "",
    ready: false,
    stderr: "",
    preamble: "",
    peakMb: 0,
  };
  let current = -1, ended = false, killedFor = "";
  const append = (raw: string) => {
    if (current < 0 && !ended && att.preamble.length < OUTPUT_CAP) att.preamble += raw;
    if (current < 0 || ended || !raw) return;
    const text = raw.replace(
      /Error in --eval-file file "[^"]*\/cell(\d+)\.ts": /g,
      "Error in cell $1: ",
    );
    const o = att.outputs[current];
    if (o.length < OUTPUT_CAP) {
      att.outputs[current] = (o + text).slice(0, OUTPUT_CAP);
      if (att.outputs[current].length === OUTPUT_CAP) att.outputs[current] += "\n[output cut]\n";
    }
  };
  const handleLine = (line: string, newline: boolean) => {
    const at = line.indexOf(mark);
    if (at < 0) {
      append(line + (newline ? "\n" : ""));
      return;
    }
    append(line.slice(0, at));
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line.slice(at + mark.length));
    } catch {
      return;
    }
    if (msg.ready) att.ready = true;
    else if (typeof msg.cell === "number") current = msg.cell;
    else if (msg.end) ended = true;
    else if (typeof msg.check === "string" && current >= 0) {
      if (msg.event === "pass") att.checks.set(current, { passed: true, message: "" });
      if (msg.event === "fail") {
        att.checks.set(current, { passed: false, message: String(msg.message ?? "") });
      }
    }
  };
  const readOut = (async () => {
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of child.stdout) {
      buf += dec.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        handleLine(buf.slice(0, nl), true);
        buf = buf.slice(nl + 1);
      }
      // A line without end (a student printing megabytes without "\n"): flush all but a tail
      // long enough to hold a report that is still arriving.
      if (buf.length > 65536) {
        handleLine(buf.slice(0, buf.length - 4096), false);
        buf = buf.slice(buf.length - 4096);
      }
    }
    if (buf) handleLine(buf, false);
  })();
  const readErr = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of child.stderr) {
      const text = dec.decode(chunk, { stream: true });
      if (att.stderr.length < OUTPUT_CAP) att.stderr += text;
      append(text); // uncaught async errors of the cell that is running
    }
  })();
  const kill = (why: string) => {
    if (killedFor) return;
    killedFor = why;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  };
  const timer = setTimeout(
    () => kill(`${TIMEOUT_REASON} ${opts.timeoutSec} s`),
    opts.timeoutSec * 1000,
  );
  let watching = true;
  const watchdog = (async () => {
    while (watching) {
      const mb = await residentMb(child.pid);
      if (mb === null) break;
      if (mb > att.peakMb) att.peakMb = mb;
      if (mb > opts.memoryMb) {
        kill(`it used more than ${opts.memoryMb} MB of memory`);
        break;
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  const status = await child.status;
  clearTimeout(timer);
  watching = false;
  await Promise.all([readOut, readErr, watchdog]);
  await Deno.remove(ctl, { recursive: true }).catch(() => {});
  await Deno.remove(work, { recursive: true }).catch(() => {});
  if (!ended) {
    att.stoppedAt = current;
    att.stopReason = killedFor ||
      (status.signal
        ? `the process was killed by ${status.signal}`
        : `the process ended (exit code ${status.code})`);
    if (/out of memory|heap limit/i.test(att.stderr) && !killedFor) {
      att.stopReason = `it ran out of memory (${att.stopReason})`;
    }
  }
  return att;
}

/**
 * Runs `cells` in order in a fresh sandboxed process and reports each cell's output and each
 * check's outcome. When a cell stops the run early, the notebook is run again without it (at
 * most `maxSkips` times), so later checks are still graded. Temporary files go under a folder
 * made for this run and removed before returning.
 */
export async function runSandboxed(
  cells: readonly SandboxCell[],
  opts: SandboxOptions,
): Promise<SandboxResult> {
  const tmp = await Deno.makeTempDir({ prefix: "kit-grade-" });
  const skip = new Map<number, string>();
  const problems: string[] = [];
  let last: Attempt | null = null, runs = 0, peakMb = 0, extended = false;
  let runOpts = opts;
  const notes: string[] = [];
  try {
    for (;;) {
      runs++;
      last = await runOnce(cells, skip, runOpts, tmp);
      peakMb = Math.max(peakMb, last.peakMb);
      if (!last.ready) {
        problems.push(
          `the sandbox did not start (${last.stopReason || "no prelude"}): ${
            (last.preamble + last.stderr).slice(0, 2000)
          }`,
        );
        break;
      }
      if (last.stoppedAt === null) break;
      if (last.stoppedAt < 0) break;
      if (
        cells[last.stoppedAt].trusted && !extended && last.stopReason.startsWith(TIMEOUT_REASON)
      ) {
        extended = true;
        notes.push(
          `the instructor's cell ${
            last.stoppedAt + 1
          } did not finish within ${runOpts.timeoutSec}` +
            ` s; the notebook ran again with ${
              runOpts.timeoutSec * 2
            } s (consider a larger --timeout)`,
        );
        runOpts = { ...runOpts, timeoutSec: runOpts.timeoutSec * 2 };
        continue;
      }
      if (skip.size >= (opts.maxSkips ?? 2)) break;
      skip.set(last.stoppedAt, last.stopReason);
    }
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  const a = last!;
  const cellsOut: CellResult[] = cells.map((c, i) => {
    if (skip.has(i)) {
      return {
        status: "skipped",
        reason: skip.get(i),
        output: "",
        ...(c.kind === "check"
          ? { passed: false, message: `not graded: this check stopped the run: ${skip.get(i)}` }
          : {}),
      };
    }
    const reached = a.ready && (a.stoppedAt === null || i <= a.stoppedAt);
    const r: CellResult = { status: reached ? "ran" : "not-reached", output: a.outputs[i] };
    if (a.stoppedAt === i) r.reason = a.stopReason;
    if (c.kind === "check") {
      const got = a.checks.get(i);
      r.passed = got?.passed ?? false;
      r.message = got
        ? got.message
        : a.stoppedAt === i
        ? `the run stopped in this check: ${a.stopReason}`
        : !reached
        ? "not run: an earlier cell stopped the run" +
          (a.stoppedAt !== null ? ` (cell ${a.stoppedAt + 1}: ${a.stopReason})` : "")
        : "the check did not run (it could not be compiled; see the output)";
    }
    return r;
  });
  return { cells: cellsOut, runs, peakMb: Math.round(peakMb), problems, notes };
}
