/**
 * The notebook runner's Jupyter client (`tools/runner.ts` runs cells through it): one
 * {@link Kernel} is one Deno kernel (`inner.ts`: process, channels, handshake) and the cells run
 * on it, each with its nbformat outputs. The kernel's message order is repaired by `repair.ts`,
 * the same code the relay Jupyter starts uses (`relay.ts`): {@link Kernel.execute} returns when
 * the repair says the cell is complete (after its end-of-cell marker cell); an output whose cell
 * cannot be determined, or a marker that does not arrive in time, makes the cell "lost" instead
 * of "ok". While kernels run, SIGINT or SIGTERM kills them and exits (130 or 143).
 *
 * @module
 */
import type { ErrorOutput, Output } from "../notebook/io.ts";
import { type Message, OUTPUT_TYPES, withTimeout } from "./wire.ts";
import { OrderRepair, type RepairEvent } from "./repair.ts";
import {
  describeExit,
  diagnoseFailure,
  type ErrorInfo,
  type ExitStatus,
  InnerKernel,
  type InnerStartOptions,
  isBareFailure,
  killAllKernels,
} from "./inner.ts";

export type { ErrorInfo, ExitStatus };

/**
 * How a cell ended. "lost": the cell ran, but some of its output could not be placed (its
 * end-of-cell marker did not arrive in time, or an output came whose cell is unknown).
 */
export type ExecuteStatus = "ok" | "error" | "timeout" | "died" | "lost";

/** The outcome of {@link Kernel.execute}. */
export interface ExecuteResult {
  status: ExecuteStatus;
  /** The kernel's execution count for the cell, `null` if it never got one. */
  executionCount: number | null;
  /**
   * nbformat v4 outputs of the cell. The array stays live after `execute` returns: an output
   * that arrives late (a timer, a rejection) is still appended; call {@link Kernel.settle} first.
   */
  outputs: Output[];
  /** Set when status is not "ok". */
  errorInfo?: ErrorInfo;
  /** Set when status is "died" or "timeout" killed the kernel. */
  exit?: ExitStatus;
  /** Wall time of the cell in milliseconds. */
  elapsedMs: number;
}

/** Options of {@link Kernel.start}. */
export interface KernelStartOptions {
  /** Working directory of the kernel (the notebook's folder, as in JupyterLab). Default: cwd. */
  cwd?: string;
  /** How long the start may take (first `kernel_info_reply` and setup cell). Default 30 000 ms. */
  timeoutMs?: number;
  /** The command that runs the kernel (see `InnerStartOptions.command`). */
  command?: InnerStartOptions["command"];
}

/** Options of {@link Kernel.execute}. */
export interface ExecuteOptions {
  /** Per-cell timeout: interrupt, then kill after `graceMs`. Default 120 000 ms. */
  timeoutMs?: number;
  /** Time between the interrupt and the kill on timeout. Default 2 000 ms. */
  graceMs?: number;
  /** How long the end-of-cell marker may take once the cell is done. Default 10 000 ms. */
  markerTimeoutMs?: number;
  /** Jupyter `store_history`: false runs the cell without taking an execution count. */
  storeHistory?: boolean;
}

/** Per-cell bookkeeping. */
interface Pending {
  code: string;
  outputs: Output[];
  executionCount: number | null;
  reply?: Record<string, unknown>;
  clearOnNext: boolean;
  complete: boolean;
  done?: () => void;
  /** Kernel finished the cell (reply seen): only the marker is missing. */
  replied?: () => void;
}

/** Kernels of this client running now: while there are any, SIGINT and SIGTERM end them. */
let running = 0;

function onSignal(sig: Deno.Signal): void {
  killAllKernels();
  Deno.exit(sig === "SIGINT" ? 130 : 143);
}
const onSigint = () => onSignal("SIGINT");
const onSigterm = () => onSignal("SIGTERM");

function countKernel(delta: 1 | -1): void {
  const before = running;
  running += delta;
  if (Deno.build.os === "windows" || (before > 0) === (running > 0)) return;
  const f = running > 0 ? Deno.addSignalListener : Deno.removeSignalListener;
  f("SIGINT", onSigint);
  f("SIGTERM", onSigterm);
}

/**
 * A running Deno Jupyter kernel.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { Kernel } from "./kernel.ts";
 * const kernel = await Kernel.start();
 * try {
 *   const r = await kernel.execute("6 * 7");
 *   await kernel.settle();
 *   assert.ok(r.status === "ok");
 *   assert.ok(JSON.stringify(r.outputs).includes("42"));
 * } finally {
 *   await kernel.shutdown();
 * }
 * ```
 */
export class Kernel {
  #inner!: InnerKernel;
  #repair: OrderRepair<Pending>;
  /** Cells not complete yet; {@link Kernel.settle} waits for them. */
  #incomplete = new Set<Pending>();
  #settleWaiters = new Set<() => void>();
  /** Outputs that could not be attributed to a cell, as readable descriptions. */
  #orphans: string[] = [];
  #displays = new Map<string, Output[]>();
  #counted = false;

  private constructor() {
    this.#repair = new OrderRepair<Pending>((e) => this.#onRepair(e), crypto.randomUUID());
  }

  /**
   * Starts `deno jupyter --kernel` (see `inner.ts`) and returns when it is ready for cells.
   * Throws, naming the folder and quoting the kernel's output, when it cannot.
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { Kernel } from "./kernel.ts";
   * const k = await Kernel.start({ cwd: ".", timeoutMs: 30_000 });
   * assert.ok(k.startupMs > 0);
   * await k.shutdown();
   * ```
   */
  static async start(opts: KernelStartOptions = {}): Promise<Kernel> {
    const k = new Kernel();
    try {
      k.#inner = await InnerKernel.start({
        cwd: opts.cwd,
        timeoutMs: opts.timeoutMs,
        command: opts.command,
        logKey: k.#repair.logKey,
        onMessage: (channel, msg) => k.#onMessage(channel, msg),
      });
    } catch (e) {
      throw new Error(`Kernel.start: ${(e as Error).message}`);
    }
    k.#counted = true;
    countKernel(1);
    k.#inner.exited.then(() => k.#uncount());
    return k;
  }

  /** Process id of the kernel. */
  get pid(): number {
    return this.#inner.pid;
  }

  /** Milliseconds from spawn to ready (first `kernel_info_reply` and the setup cell). */
  get startupMs(): number {
    return this.#inner.startupMs;
  }

  /** `kernel_info_reply` content (language_info, implementation version, ...). */
  get info(): Record<string, unknown> {
    return this.#inner.info;
  }

  /** True until the kernel process exits. */
  get alive(): boolean {
    return this.#inner.alive;
  }

  /** Exit code and signal once the kernel process has exited, else null. */
  get exitStatus(): ExitStatus | null {
    return this.#inner.exit;
  }

  /** Last few kilobytes the kernel wrote to stdout/stderr (for error messages). */
  get stderrTail(): string {
    return this.#inner.stderrTail;
  }

  /** The connection file path (deleted on shutdown). */
  get connectionFile(): string {
    return this.#inner.connectionFile;
  }

  /**
   * Outputs so far that no cell could be determined for (each described in one line). The
   * runner fails a notebook that has any.
   */
  get orphans(): readonly string[] {
    return this.#orphans;
  }

  #uncount(): void {
    if (!this.#counted) return;
    this.#counted = false;
    countKernel(-1);
  }

  #onMessage(channel: string, msg: Message): void {
    if (channel === "shell") this.#repair.onShell(msg);
    else if (channel === "iopub") this.#repair.onIopub(msg);
  }

  #onRepair(e: RepairEvent<Pending>): void {
    switch (e.type) {
      case "output":
        return this.#route(e.cell, e.msg);
      case "reply": {
        const p = e.cell;
        p.reply = e.msg.content;
        if (typeof e.msg.content.execution_count === "number") {
          p.executionCount = e.msg.content.execution_count;
        }
        return;
      }
      case "marker":
        e.cell.replied?.();
        this.#inner.send("shell", { header: e.header, content: e.content });
        return;
      case "complete":
        e.cell.complete = true;
        e.cell.done?.();
        this.#settled(e.cell);
        return;
      case "foreign": {
        const t = e.msg.header.msg_type;
        if (OUTPUT_TYPES.has(t)) {
          const text = JSON.stringify(e.msg.content).slice(0, 120);
          this.#orphans.push(
            `a ${t} message of unknown origin (parent ${
              JSON.stringify(e.msg.parent_header?.msg_id ?? null)
            }): ${text}`,
          );
        }
        return;
      }
    }
  }

  /** The cell needs no more waiting for (complete, or given up): settle() may return. */
  #settled(p: Pending): void {
    p.complete = true;
    this.#incomplete.delete(p);
    if (!this.#incomplete.size) {
      for (const w of this.#settleWaiters) w();
      this.#settleWaiters.clear();
    }
  }

  #push(p: Pending, out: Output): void {
    if (p.clearOnNext) {
      p.outputs.length = 0;
      p.clearOnNext = false;
    }
    p.outputs.push(out);
  }

  #route(p: Pending, msg: Message): void {
    const c = msg.content;
    switch (msg.header.msg_type) {
      case "execute_input":
        if (typeof c.execution_count === "number") p.executionCount = c.execution_count;
        break;
      case "stream": {
        const name = c.name === "stderr" ? "stderr" : "stdout";
        const text = String(c.text ?? "");
        const last = p.outputs.at(-1);
        if (!p.clearOnNext && last?.output_type === "stream" && last.name === name) {
          last.text = String(last.text) + text;
        } else this.#push(p, { output_type: "stream", name, text });
        break;
      }
      case "display_data": {
        const out: Output = {
          output_type: "display_data",
          data: (c.data ?? {}) as Record<string, unknown>,
          metadata: (c.metadata ?? {}) as Record<string, unknown>,
        };
        this.#push(p, out);
        const id = (c.transient as { display_id?: string } | undefined)?.display_id;
        if (id) {
          const list = this.#displays.get(id) ?? [];
          list.push(out);
          this.#displays.set(id, list);
        }
        break;
      }
      case "update_display_data": {
        const id = (c.transient as { display_id?: string } | undefined)?.display_id;
        for (const out of (id && this.#displays.get(id)) || []) {
          if (out.output_type === "display_data") {
            out.data = (c.data ?? {}) as Record<string, unknown>;
            out.metadata = (c.metadata ?? {}) as Record<string, unknown>;
          }
        }
        break;
      }
      case "execute_result": {
        const count = typeof c.execution_count === "number" ? c.execution_count : p.executionCount;
        this.#push(p, {
          output_type: "execute_result",
          execution_count: count,
          data: (c.data ?? {}) as Record<string, unknown>,
          metadata: (c.metadata ?? {}) as Record<string, unknown>,
        });
        break;
      }
      case "error":
        this.#push(p, {
          output_type: "error",
          ename: String(c.ename ?? "Error"),
          evalue: String(c.evalue ?? ""),
          traceback: Array.isArray(c.traceback) ? c.traceback.map(String) : [],
        });
        break;
      case "clear_output":
        if (c.wait) p.clearOnNext = true;
        else p.outputs.length = 0;
        break;
    }
  }

  /**
   * Runs one cell and waits until all of its output has arrived (see `repair.ts`). Never throws
   * for cell problems: the status says "ok", "error", "timeout" (interrupted, then killed after
   * `graceMs` if still busy), "died" (the kernel process exited) or "lost" (its end-of-cell
   * marker did not arrive within `markerTimeoutMs`, or an output of unknown origin arrived while
   * it ran). A syntax error gets its message and position.
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { Kernel } from "./kernel.ts";
   * const k = await Kernel.start();
   * try {
   *   const r = await k.execute("throw new RangeError('no')", { timeoutMs: 10_000 });
   *   assert.ok(r.status === "error" && r.errorInfo?.ename === "RangeError");
   *   const s = await k.execute("let x = ;");
   *   assert.ok(s.status === "error" && s.errorInfo?.ename === "SyntaxError");
   *   assert.ok(s.outputs.some((o) => o.output_type === "error"));
   * } finally {
   *   await k.shutdown();
   * }
   * ```
   */
  async execute(code: string, opts: ExecuteOptions = {}): Promise<ExecuteResult> {
    const timeoutMs = opts.timeoutMs ?? 120_000;
    const graceMs = opts.graceMs ?? 2_000;
    const markerTimeoutMs = opts.markerTimeoutMs ?? 10_000;
    const t0 = performance.now();
    const p: Pending = {
      code,
      outputs: [],
      executionCount: null,
      clearOnNext: false,
      complete: false,
    };
    const elapsed = () => performance.now() - t0;
    if (!this.#inner.alive) return this.#died(p, elapsed());
    const finished = new Promise<"done">((r) => (p.done = () => r("done")));
    const replied = new Promise<"replied">((r) => (p.replied = () => r("replied")));
    const exited = this.#inner.exited.then(() => "died" as const);
    const orphansBefore = this.#orphans.length;
    const request = {
      code,
      silent: false,
      store_history: opts.storeHistory ?? true,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: true,
    };
    // Registered before any message about it can arrive (they are handled in later tasks).
    const header = this.#inner.request("shell", "execute_request", request);
    this.#repair.start(p, header);
    this.#incomplete.add(p);
    const how = await withTimeout(Promise.race([replied, finished, exited]), timeoutMs, "timeout");
    if (how === "died") return this.#died(p, elapsed());
    if (how === "timeout") {
      // Interrupt (Deno's kernel stops a busy loop, not an await), then kill: a notebook stops
      // at a timed-out cell anyway.
      this.#inner.interrupt();
      await withTimeout(Promise.race([finished, exited]), graceMs, undefined);
      if (this.#inner.alive) {
        this.#inner.killSync();
        await this.#inner.exited;
      }
      this.#settled(p);
      return {
        status: "timeout",
        executionCount: p.executionCount,
        outputs: p.outputs,
        errorInfo: {
          ename: "Timeout",
          evalue:
            `the cell did not finish within ${timeoutMs} ms; the kernel was interrupted and killed`,
          traceback: [],
        },
        exit: this.#inner.exit ?? undefined,
        elapsedMs: elapsed(),
      };
    }
    const end = await withTimeout(Promise.race([finished, exited]), markerTimeoutMs, "lost");
    if (end === "died") return this.#died(p, elapsed());
    if (end === "lost") {
      const missing = this.#repair.missing(header).join(", ");
      this.#settled(p);
      return this.#lost(
        p,
        elapsed(),
        `the cell finished, but its output did not end within ${markerTimeoutMs} ms` +
          ` (missing: ${missing}); some of it may be lost`,
      );
    }
    const reply = p.reply ?? {};
    const errOut = p.outputs.find((o): o is ErrorOutput => o.output_type === "error");
    if (reply.status === "ok") {
      if (errOut) {
        // Reported by the setup cell: a throw in a timer, an unhandled rejection.
        return {
          status: "error",
          executionCount: p.executionCount,
          outputs: p.outputs,
          errorInfo: { ename: errOut.ename, evalue: errOut.evalue, traceback: errOut.traceback },
          elapsedMs: elapsed(),
        };
      }
      if (this.#orphans.length > orphansBefore) {
        return this.#lost(p, elapsed(), this.#orphans.slice(orphansBefore).join("; "));
      }
      return {
        status: "ok",
        executionCount: p.executionCount,
        outputs: p.outputs,
        elapsedMs: elapsed(),
      };
    }
    let errorInfo: ErrorInfo;
    if (!errOut && isBareFailure(reply)) {
      errorInfo = await diagnoseFailure(code);
      this.#push(p, { output_type: "error", ...errorInfo });
    } else {
      errorInfo = {
        ename: String(reply.ename ?? errOut?.ename ?? "Error"),
        evalue: String(
          reply.evalue ?? errOut?.evalue ?? `execute_reply status ${String(reply.status)}`,
        ),
        traceback: Array.isArray(reply.traceback)
          ? reply.traceback.map(String)
          : errOut?.traceback ?? [],
      };
    }
    return {
      status: "error",
      executionCount: p.executionCount,
      outputs: p.outputs,
      errorInfo,
      elapsedMs: elapsed(),
    };
  }

  #lost(p: Pending, elapsedMs: number, evalue: string): ExecuteResult {
    return {
      status: "lost",
      executionCount: p.executionCount,
      outputs: p.outputs,
      errorInfo: { ename: "LostOutput", evalue, traceback: [] },
      elapsedMs,
    };
  }

  #died(p: Pending, elapsedMs: number): ExecuteResult {
    this.#settled(p);
    const exit = this.#inner.exit ?? { code: -1, signal: null };
    return {
      status: "died",
      executionCount: p.executionCount,
      outputs: p.outputs,
      errorInfo: {
        ename: "KernelDied",
        evalue: `the kernel process exited (${describeExit(exit)}) while running the cell`,
        traceback: this.#inner.stderrTail.split("\n")
          .filter((l) => l.trim() !== "" && !l.includes('"deno jupyter" is unstable')),
      },
      exit,
      elapsedMs,
    };
  }

  /**
   * Waits until every output of the cells run so far has arrived (each cell's end-of-cell
   * marker). Call it before reading the outputs of the last cell. Throws if that takes longer
   * than `timeoutMs`, or if outputs of unknown origin arrived.
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { Kernel } from "./kernel.ts";
   * const k = await Kernel.start();
   * const r = await k.execute("console.log(1); 2 + 2");
   * await k.settle();
   * assert.deepEqual(r.outputs.map((o) => o.output_type), ["stream", "execute_result"]);
   * await k.shutdown();
   * ```
   */
  async settle(timeoutMs = 10_000): Promise<void> {
    if (!this.#inner.alive) return;
    const drained = this.#incomplete.size
      ? new Promise<void>((r) => this.#settleWaiters.add(r))
      : Promise.resolve();
    const ok = await withTimeout(
      Promise.race([drained.then(() => true), this.#inner.exited.then(() => true)]),
      timeoutMs,
      false,
    );
    if (!ok) {
      throw new Error(
        `Kernel.settle: the cells' output did not end within ${timeoutMs} ms; some of it may be lost`,
      );
    }
    if (this.#orphans.length) {
      throw new Error(`Kernel.settle: outputs of unknown origin: ${this.#orphans.join("; ")}`);
    }
  }

  /** Kills the kernel process at once (SIGKILL) and closes the sockets, synchronously. Idempotent. */
  killSync(): void {
    this.#inner.killSync();
  }

  /**
   * Asks the kernel to shut down, kills it if it has not exited within `graceMs`, closes the
   * sockets and deletes the connection file. Safe to call twice.
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { Kernel } from "./kernel.ts";
   * const k = await Kernel.start();
   * await k.shutdown();
   * assert.ok(!k.alive);
   * ```
   */
  async shutdown(graceMs = 1_000): Promise<void> {
    await this.#inner.shutdown(graceMs);
    this.#uncount();
  }
}
