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
 * A worker costs tens of milliseconds of the grader's main thread to create (Deno builds its
 * isolate there) and more to import the kit, which slowed every sandboxed run that waited for
 * it. So one worker serves the successive runs of the same notebook (same imports, checks and
 * exercise names): no student code ever runs in it, only data crosses into it, and each run
 * binds it afresh (its own channel, and names looked up afresh per check). A worker is reused only
 * after a run that ended normally (every check it ran finished, no call was cut off); otherwise
 * it is terminated. Idle workers end after {@link IDLE_MS} or with {@link closeIdleCheckers}.
 * What a hidden check leaves behind in the realm (a global it sets, a kit object it passed to a
 * submission's function and that the function changed) is seen by the next run's checks: checks
 * keep their state in their own variables (`docs/exercises.md`).
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
/**
 * How long an idle checker realm waits for its next run before it ends (an idle worker keeps the
 * process alive; `gradeAll` ends them when it is done, with {@link closeIdleCheckers}).
 */
export const IDLE_MS = 30_000;

/** A worker that runs one notebook's hidden checks, bound to one run at a time. */
class Realm {
  readonly worker: Worker;
  readonly key: string;
  readonly ready: Promise<void>;
  /** The run it serves now (null: idle). */
  owner: Checker | null = null;
  /** The last run's channel and flag: a late request is answered there, never left waiting. */
  port: MessagePort | null = null;
  flag: Int32Array | null = null;
  broken = false;
  idleTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(key: string, init: Record<string, unknown>) {
    this.key = key;
    this.worker = new Worker(new URL("./checker_worker.ts", import.meta.url), { type: "module" });
    let readyResolve!: () => void, readyReject!: (e: Error) => void;
    this.ready = new Promise((res, rej) => {
      readyResolve = res;
      readyReject = rej;
    });
    this.ready.catch(() => this.broken = true);
    this.worker.onmessage = (e: MessageEvent) => {
      const m = e.data as Record<string, unknown>;
      if (m.ready) readyResolve();
      else if (typeof m.initError === "string") readyReject(new Error(m.initError));
      else if (this.owner) this.owner._fromWorker(m);
      else if (typeof m.req === "string") this.answer(JSON.stringify({ dead: "the run is over" }));
    };
    this.worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.broken = true;
      readyReject(new Error(e.message));
      this.owner?._fail(`the checker stopped: ${e.message}`);
    };
    this.worker.postMessage({ init });
  }

  /** Binds the realm to a run: a fresh channel and flag. */
  bind(owner: Checker): void {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.owner = owner;
    this.port?.close();
    const channel = new MessageChannel();
    const sab = new SharedArrayBuffer(4);
    this.port = channel.port1;
    this.flag = new Int32Array(sab);
    this.worker.postMessage({ bind: { sab, port: channel.port2 } }, [channel.port2]);
  }

  /** Answers the worker's waiting request. */
  answer(json: string): void {
    if (!this.port || !this.flag) return;
    this.port.postMessage(json);
    Atomics.store(this.flag, 0, FLAG_ANSWERED);
    Atomics.notify(this.flag, 0);
  }

  terminate(): void {
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.broken = true;
    this.owner = null;
    this.worker.terminate();
    this.port?.close();
    const list = idle.get(this.key);
    if (list) idle.set(this.key, list.filter((r) => r !== this));
  }
}

/** Idle realms by notebook (imports, checks, exercise names). */
const idle = new Map<string, Realm[]>();
let started = 0;

/** How many checker realms (workers) this process has started (for tests). */
export function checkerRealmsStarted(): number {
  return started;
}

function acquire(o: CheckerOptions): Realm {
  const specs = [...new Set(o.bindings.map((b) => b.spec))];
  const init = {
    specs: specs.map((s) => resolveSpec(s, o.root)),
    bindings: o.bindings.map((b) => [b.local, specs.indexOf(b.spec), b.name]),
    checks: [...new Map(o.checks.map((c) => [c.id, c.source]))].map(([id, source]) => ({
      id,
      source,
    })),
    exerciseNames: o.exerciseNames,
  };
  const key = JSON.stringify(init);
  const list = idle.get(key) ?? [];
  const realm = list.pop();
  if (realm && !realm.broken) return realm;
  started++;
  return new Realm(key, init);
}

function releaseRealm(realm: Realm): void {
  realm.owner = null;
  const list = idle.get(realm.key) ?? [];
  list.push(realm);
  idle.set(realm.key, list);
  realm.idleTimer = setTimeout(() => realm.terminate(), IDLE_MS);
}

/** Ends every idle checker realm now (a grading run calls it when it is done). */
export function closeIdleCheckers(): void {
  for (const list of [...idle.values()]) for (const r of [...list]) r.terminate();
  idle.clear();
}

/** The checker realm of one sandboxed run of a notebook. */
export class Checker {
  readonly #realm: Realm;
  readonly #send: (line: string) => void;
  readonly #ids = new Map<number, string>();
  #waiting = false;
  #dead: string | null = null;
  /** A call was cut off (answered "dead"): the realm may still be busy, so it is not reused. */
  #cutOff = false;
  #closed = false;
  #runs = new Map<number, (o: CheckOutcome) => void>();
  /** Resolves when the worker has imported the notebook's modules and compiled the checks. */
  readonly ready: Promise<void>;

  constructor(o: CheckerOptions) {
    this.#send = o.send;
    for (const c of o.checks) this.#ids.set(c.cell, c.id);
    this.#realm = acquire(o);
    this.#realm.bind(this);
    this.ready = this.#realm.ready;
  }

  /** Runs the hidden check of cell `cell`; resolves with its outcome (never rejects). */
  run(cell: number): Promise<CheckOutcome> {
    if (this.#dead !== null) {
      return Promise.resolve({ passed: false, message: this.#dead, output: "" });
    }
    return new Promise((resolve) => {
      this.#runs.set(cell, resolve);
      this.#realm.worker.postMessage({ run: cell, id: this.#ids.get(cell) ?? "" });
    });
  }

  /** An answer line from the sandbox (the JSON after the marker). */
  deliver(json: string): void {
    if (!this.#waiting) return; // nobody asked: a forged line, or one after a stop
    this.#answer(json);
  }

  /** The sandbox is gone: the waiting request and every later one fail with `why`. */
  sandboxGone(why: string): void {
    this._fail(`the submission's process stopped: ${why}`);
  }

  /** Ends the worker; a check still running fails with `why`. */
  terminate(why = "the run ended"): void {
    this._fail(why);
    if (this.#closed) return;
    this.#closed = true;
    this.#realm.terminate();
  }

  /**
   * The run is over: the realm serves the next run of this notebook if this one ended normally
   * (no check left running, no call cut off), else it is terminated.
   */
  release(): void {
    if (this.#closed) return;
    const clean = this.#runs.size === 0 && !this.#waiting && !this.#cutOff &&
      !this.#realm.broken;
    this._fail("the run ended");
    this.#closed = true;
    if (clean && this.#realm.owner === this) releaseRealm(this.#realm);
    else this.#realm.terminate();
  }

  /** @internal A message of the worker for this run. */
  _fromWorker(m: Record<string, unknown>): void {
    if (typeof m.req === "string") this.#request(m.req);
    else if (typeof m.done === "number") {
      const r = this.#runs.get(m.done);
      this.#runs.delete(m.done);
      r?.({ passed: m.passed === true, message: String(m.message), output: String(m.output) });
    }
  }

  #request(text: string): void {
    this.#waiting = true;
    if (this.#dead !== null) {
      this.#cutOff = true;
      this.#answer(JSON.stringify({ dead: this.#dead }));
    } else this.#send(text + "\n");
  }

  #answer(json: string): void {
    this.#waiting = false;
    this.#realm.answer(json);
  }

  /** @internal Every waiting request and check of this run fails with `why`. */
  _fail(why: string): void {
    if (this.#dead === null) this.#dead = why;
    if (this.#waiting) {
      this.#cutOff = true;
      this.#answer(JSON.stringify({ dead: this.#dead }));
    }
    for (const [cell, r] of this.#runs) {
      this.#runs.delete(cell);
      this.#cutOff = true;
      r({ passed: false, message: `not graded: ${this.#dead}`, output: "" });
    }
  }
}

export { FLAG_ANSWERED, FLAG_WAITING };
