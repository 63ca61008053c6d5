/**
 * The checker realm, seen from the grader: a Web Worker of the grading process that runs the
 * hidden checks of one sandboxed run, in built-ins and kit modules that no student code ever
 * touched. A check reaches the submission only by name: each name it does not declare itself nor
 * import (an exercise's function) is looked up in the student's realm, and calls to it cross the
 * process boundary synchronously (the worker waits on a shared flag while this side relays the
 * request to the sandbox's stdin and the answer from its stdout). Arguments and results cross as
 * data (`codec.ts`). The checks' source exists only here and in the worker, never in the
 * sandbox and never on disk.
 *
 * @module
 */
import type { ImportBinding } from "../notebook/exercises.ts";

/** A hidden check to run: its cell's index in the run, its id and its source (TypeScript). */
export interface HiddenCheck {
  cell: number;
  id: string;
  source: string;
}

/** The outcome of one hidden check. */
export interface CheckOutcome {
  passed: boolean;
  message: string;
  /** What the check itself printed (capped). */
  output: string;
}

/** Removes import statements from a check cell (its bindings are the notebook's imports). */
export function withoutImports(source: string): string {
  return source.replace(/^\s*import\s[^;]*?from\s+["'][^"']+["'];?[ \t]*$/gm, "");
}

/** Where `spec` (as written in a notebook) points, for a worker of this process. */
export function resolveSpec(spec: string, root: string): string {
  if (spec.startsWith("@kit/")) return new URL(spec.slice(5), `file://${root}/lib/`).href;
  if (/^(node|npm|jsr|https?|file):/.test(spec)) return spec;
  return import.meta.resolve(spec);
}

/** Options of a {@link Checker}. */
export interface CheckerOptions {
  checks: readonly HiddenCheck[];
  bindings: readonly ImportBinding[];
  root: string;
  /** The names a hidden check may take from the submission; null: any name. */
  exerciseNames: readonly string[] | null;
  /** Writes one request line to the sandbox's stdin. */
  send(line: string): void;
}

const FLAG_WAITING = 0, FLAG_ANSWERED = 1;

/** One checker realm (one worker) for one sandboxed run of a notebook. */
export class Checker {
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #flag: Int32Array;
  readonly #send: (line: string) => void;
  #waiting = false;
  #dead: string | null = null;
  #runs = new Map<number, (o: CheckOutcome) => void>();
  /** Resolves when the worker has imported the notebook's modules and compiled the checks. */
  readonly ready: Promise<void>;

  constructor(o: CheckerOptions) {
    this.#send = o.send;
    this.#worker = new Worker(new URL("./checker_worker.ts", import.meta.url), { type: "module" });
    const channel = new MessageChannel();
    this.#port = channel.port1;
    const sab = new SharedArrayBuffer(4);
    this.#flag = new Int32Array(sab);
    const specs = [...new Set(o.bindings.map((b) => b.spec))];
    let readyResolve!: () => void, readyReject!: (e: Error) => void;
    this.ready = new Promise((res, rej) => {
      readyResolve = res;
      readyReject = rej;
    });
    this.ready.catch(() => {});
    this.#worker.onmessage = (e: MessageEvent) => {
      const m = e.data as Record<string, unknown>;
      if (m.ready) readyResolve();
      else if (typeof m.initError === "string") readyReject(new Error(m.initError));
      else if (typeof m.req === "string") this.#request(m.req);
      else if (typeof m.done === "number") {
        const r = this.#runs.get(m.done);
        this.#runs.delete(m.done);
        r?.({ passed: m.passed === true, message: String(m.message), output: String(m.output) });
      }
    };
    this.#worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.#fail(`the checker stopped: ${e.message}`);
      readyReject(new Error(e.message));
    };
    this.#worker.postMessage({
      init: {
        specs: specs.map((s) => resolveSpec(s, o.root)),
        bindings: o.bindings.map((b) => [b.local, specs.indexOf(b.spec), b.name]),
        checks: o.checks,
        exerciseNames: o.exerciseNames,
        sab,
        port: channel.port2,
      },
    }, [channel.port2]);
  }

  /** Runs the hidden check of cell `cell`; resolves with its outcome (never rejects). */
  run(cell: number): Promise<CheckOutcome> {
    if (this.#dead !== null) {
      return Promise.resolve({ passed: false, message: this.#dead, output: "" });
    }
    return new Promise((resolve) => {
      this.#runs.set(cell, resolve);
      this.#worker.postMessage({ run: cell });
    });
  }

  /** An answer line from the sandbox (the JSON after the marker). */
  deliver(json: string): void {
    if (!this.#waiting) return; // nobody asked: a forged line, or one after a stop
    this.#answer(json);
  }

  /** The sandbox is gone: the waiting request and every later one fail with `why`. */
  sandboxGone(why: string): void {
    this.#fail(`the submission's process stopped: ${why}`);
  }

  /** Ends the worker; a check still running fails with `why`. */
  terminate(why = "the run ended"): void {
    this.#fail(why);
    this.#worker.terminate();
    this.#port.close();
  }

  #request(text: string): void {
    this.#waiting = true;
    if (this.#dead !== null) this.#answer(JSON.stringify({ dead: this.#dead }));
    else this.#send(text + "\n");
  }

  #answer(json: string): void {
    this.#waiting = false;
    this.#port.postMessage(json);
    Atomics.store(this.#flag, 0, FLAG_ANSWERED);
    Atomics.notify(this.#flag, 0);
  }

  #fail(why: string): void {
    if (this.#dead === null) this.#dead = why;
    if (this.#waiting) this.#answer(JSON.stringify({ dead: this.#dead }));
    for (const [cell, r] of this.#runs) {
      this.#runs.delete(cell);
      r({ passed: false, message: `not graded: ${this.#dead}`, output: "" });
    }
  }
}

export { FLAG_ANSWERED, FLAG_WAITING };
