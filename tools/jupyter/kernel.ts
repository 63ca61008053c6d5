/**
 * A Jupyter client for the Deno kernel (`deno jupyter --kernel`), speaking the Jupyter
 * messaging protocol 5.3 over ZeroMQ (the kit's own ZMTP sockets, `tools/jupyter/zmtp.ts`). The notebook runner (`tools/run.ts`) runs
 * cells through it.
 *
 * Facts this client is built around (observed with Deno 2.9.6):
 * - the kernel answers `kernel_info_request` only ~0.5 s after start, so it is resent until
 *   a reply arrives (as jupyter_client does);
 * - the kernel labels printed lines and late `execute_result`s wrongly: the order is repaired
 *   by `tools/jupyter/repair.ts`, the same code the kernel relay for Jupyter uses (`tools/jupyter/relay.ts`).
 *   {@link Kernel.execute} returns when the repair says the cell is complete (after its
 *   end-of-cell marker cell); an output whose cell cannot be determined, or a marker that does
 *   not arrive in time, makes the cell "lost" instead of "ok";
 * - a kernel outlives its client if the client dies by SIGKILL: each kernel gets a watchdog
 *   (`sh` reading a pipe from this process) that kills it when the pipe closes.
 * Until 2026-12 this client used npm `zeromq`; its addon crashed the process now and then
 * (SIGSEGV in its poller, mostly at shutdown) and needed raised high-water marks to run more than
 * 500 to 1000 requests. The kit's TypeScript sockets have neither problem.
 *
 * @module
 */
import { ZSocket } from "./zmtp.ts";
import type { ErrorOutput, Output } from "../notebook/io.ts";
import {
  freePorts,
  type Header,
  hex,
  type Message,
  newHeader,
  sendQueue,
  Signer,
  withTimeout,
  writeConnectionFile,
} from "./wire.ts";
import { helperContent, OrderRepair, type RepairEvent, SETUP_CODE, syntaxError } from "./repair.ts";

/**
 * How a cell ended. "lost": the cell ran, but some of its output could not be placed (its
 * end-of-cell marker did not arrive in time, or an output came whose cell is unknown).
 */
export type ExecuteStatus = "ok" | "error" | "timeout" | "died" | "lost";

/** The error a cell raised (from the `execute_reply` or the `error` output). */
export interface ErrorInfo {
  ename: string;
  evalue: string;
  traceback: string[];
}

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
  exit?: { code: number; signal: string | null };
  /** Wall time of the cell in milliseconds. */
  elapsedMs: number;
}

/** Options of {@link Kernel.start}. */
export interface KernelStartOptions {
  /** Working directory of the kernel (the notebook's folder, as in JupyterLab). Default: cwd. */
  cwd?: string;
  /** How long to wait for the first `kernel_info_reply`. Default 30 000 ms. */
  timeoutMs?: number;
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

/** A `deno jupyter --kernel` process and the watchdog that kills it if its parent dies. */
export interface DenoKernelProcess {
  child: Deno.ChildProcess;
  /** Kills the watchdog (call before or after the kernel exited; idempotent). */
  disarm(): void;
}

/**
 * Spawns `deno jupyter --kernel --conn connFile` in `cwd`, with a watchdog: an `sh` whose stdin
 * is a pipe from this process and which SIGKILLs the kernel when the pipe closes, that is when
 * this process ends in any way, SIGKILL included. (The kernel itself does not notice.)
 */
export function spawnDenoKernel(connFile: string, cwd: string): DenoKernelProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["jupyter", "--kernel", "--conn", connFile],
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let watchdog: Deno.ChildProcess | null = null;
  if (Deno.build.os !== "windows") {
    try {
      watchdog = new Deno.Command("sh", {
        args: [
          "-c",
          'cat >/dev/null; kill -KILL "$1" 2>/dev/null',
          "kit-kernel-watchdog",
          String(child.pid),
        ],
        stdin: "piped",
        stdout: "null",
        stderr: "null",
      }).spawn();
      watchdog.unref();
      watchdog.status.catch(() => {});
    } catch {
      watchdog = null; // no sh: the kernel is still killed on every exit but SIGKILL
    }
  }
  let disarmed = false;
  const disarm = () => {
    if (disarmed || !watchdog) return;
    disarmed = true;
    try {
      watchdog.kill("SIGKILL");
    } catch { /* gone */ }
  };
  child.status.then(disarm, disarm);
  return { child, disarm };
}

const decoder = new TextDecoder();

/** Kernels alive in this process: killed on exit, Ctrl-C or SIGTERM. */
const live = new Set<Kernel>();
let handlersInstalled = false;

function killAllSync(): void {
  for (const k of live) k.killSync();
  live.clear();
}

function onSignal(sig: Deno.Signal): void {
  killAllSync();
  Deno.exit(sig === "SIGINT" ? 130 : 143);
}
const onSigint = () => onSignal("SIGINT");
const onSigterm = () => onSignal("SIGTERM");

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  globalThis.addEventListener("unload", killAllSync);
  // Uncaught errors end the process without "unload": kill the kernels first.
  globalThis.addEventListener("error", killAllSync);
  globalThis.addEventListener("unhandledrejection", killAllSync);
  if (Deno.build.os !== "windows") {
    Deno.addSignalListener("SIGINT", onSigint);
    Deno.addSignalListener("SIGTERM", onSigterm);
  }
}

function removeHandlers(): void {
  if (!handlersInstalled || live.size > 0) return;
  handlersInstalled = false;
  globalThis.removeEventListener("unload", killAllSync);
  globalThis.removeEventListener("error", killAllSync);
  globalThis.removeEventListener("unhandledrejection", killAllSync);
  if (Deno.build.os !== "windows") {
    Deno.removeSignalListener("SIGINT", onSigint);
    Deno.removeSignalListener("SIGTERM", onSigterm);
  }
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
  /** Process id of the kernel. */
  readonly pid: number;
  /** Milliseconds from spawn to the first `kernel_info_reply`. */
  startupMs = 0;
  /** `kernel_info_reply` content (language_info, implementation version, ...). */
  info: Record<string, unknown> = {};

  #proc: DenoKernelProcess;
  #child: Deno.ChildProcess;
  #connFile: string;
  #connDir: string;
  #signer: Signer;
  #session = crypto.randomUUID();
  #shell = new ZSocket("DEALER");
  #control = new ZSocket("DEALER");
  #iopub = new ZSocket("SUB");
  #shellOut = sendQueue(this.#shell);
  #controlOut = sendQueue(this.#control);
  #repair: OrderRepair<Pending>;
  /** Cells not complete yet; {@link Kernel.settle} waits for them. */
  #incomplete = new Set<Pending>();
  #settleWaiters = new Set<() => void>();
  /** Outputs that could not be attributed to a cell, as readable descriptions. */
  #orphans: string[] = [];
  #helperDone = new Map<string, () => void>();
  #displays = new Map<string, Output[]>();
  #exit: { code: number; signal: string | null } | null = null;
  #exitWaiters = new Set<() => void>();
  #closed = false;
  #stderrTail = "";
  #infoReplied = false;
  #drained: Promise<unknown> = Promise.resolve();
  #iopubSeen = false;

  private constructor(proc: DenoKernelProcess, connFile: string, connDir: string, key: string) {
    this.#proc = proc;
    this.#child = proc.child;
    this.pid = proc.child.pid;
    this.#connFile = connFile;
    this.#connDir = connDir;
    this.#signer = new Signer(key);
    this.#repair = new OrderRepair<Pending>((e) => this.#onRepair(e), this.#session);
  }

  /**
   * Starts `deno jupyter --kernel` on free loopback ports with a random key, waits until
   * it answers a `kernel_info_request` and IOPub delivers, and runs the kit's setup code
   * (error reporting for timers and rejections, see `tools/jupyter/repair.ts`). Throws with the
   * kernel's stderr if it exits or does not answer within `timeoutMs`.
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
    // freePorts() releases its probe sockets before the kernel binds them, so a kernel started
    // at the same moment can take one: retry on a fresh set of ports when that race is lost.
    for (let attempt = 1;; attempt++) {
      try {
        return await Kernel.#startOnce(opts);
      } catch (e) {
        if (attempt >= 3 || !/AddrInUse|Address already in use/.test((e as Error).message)) throw e;
      }
    }
  }

  static async #startOnce(opts: KernelStartOptions): Promise<Kernel> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const cwd = opts.cwd ?? Deno.cwd();
    const keyText = hex(crypto.getRandomValues(new Uint8Array(32)));
    const [shell, iopub, stdin, control, hb] = freePorts(5);
    const ip = "127.0.0.1";
    const { dir: connDir, file: connFile } = await writeConnectionFile(
      "kit-kernel-",
      [shell, iopub, stdin, control, hb],
      keyText,
    );
    const t0 = performance.now();
    let proc: DenoKernelProcess;
    try {
      proc = spawnDenoKernel(connFile, cwd);
    } catch (e) {
      await Deno.remove(connDir, { recursive: true }).catch(() => {});
      throw new Error(
        `Kernel.start: cannot spawn "${Deno.execPath()} jupyter --kernel" in ${cwd}: ${
          (e as Error).message
        }`,
      );
    }
    const k = new Kernel(proc, connFile, connDir, keyText);
    live.add(k);
    installHandlers();
    k.#watch();
    try {
      k.#shell.connect(ip, shell);
      k.#control.connect(ip, control);
      k.#iopub.connect(ip, iopub);
      k.#readShell(k.#shell);
      k.#readShell(k.#control);
      k.#readIopub();
      const deadline = t0 + timeoutMs;
      // Resend kernel_info_request until both the reply and an IOPub message arrive: the
      // kernel needs ~0.5 s to listen, and a subscriber only receives after it has joined.
      while (!(k.#infoReplied && k.#iopubSeen)) {
        if (k.#exit) {
          throw new Error(
            `Kernel.start: the kernel exited during start-up (code ${k.#exit.code}${
              k.#exit.signal ? `, signal ${k.#exit.signal}` : ""
            }) in ${cwd}.\nKernel stderr:\n${k.#stderrTail || "(empty)"}`,
          );
        }
        if (performance.now() > deadline) {
          throw new Error(
            `Kernel.start: no kernel_info_reply from "deno jupyter --kernel" within ${timeoutMs} ms` +
              ` (cwd ${cwd}). Is Deno's Jupyter kernel working? Try a larger start timeout.` +
              `\nKernel stderr:\n${k.#stderrTail || "(empty)"}`,
          );
        }
        await k.#send(k.#shell, newHeader("kernel_info_request", k.#session), {});
        await withTimeout(k.#exited(), 200, undefined);
      }
      if (!await k.#helper(SETUP_CODE, Math.max(1000, deadline - performance.now()))) {
        throw new Error(
          `Kernel.start: the kernel did not run the kit's setup code within ${timeoutMs} ms` +
            ` (cwd ${cwd}).\nKernel stderr:\n${k.#stderrTail || "(empty)"}`,
        );
      }
      k.startupMs = performance.now() - t0;
      return k;
    } catch (e) {
      await k.shutdown();
      throw e;
    }
  }

  /** True until the kernel process exits. */
  get alive(): boolean {
    return this.#exit === null;
  }

  /** Exit code and signal once the kernel process has exited, else null. */
  get exitStatus(): { code: number; signal: string | null } | null {
    return this.#exit;
  }

  /** Last few kilobytes the kernel wrote to stdout/stderr (for error messages). */
  get stderrTail(): string {
    return this.#stderrTail;
  }

  /**
   * Outputs so far that no cell could be determined for (each described in one line). The
   * runner fails a notebook that has any.
   */
  get orphans(): readonly string[] {
    return this.#orphans;
  }

  #watch(): void {
    const keep = (stream: ReadableStream<Uint8Array>) =>
      (async () => {
        try {
          for await (const chunk of stream) {
            this.#stderrTail = (this.#stderrTail + decoder.decode(chunk)).slice(-4000);
          }
        } catch { /* process gone */ }
      })();
    this.#drained = Promise.all([keep(this.#child.stdout), keep(this.#child.stderr)]);
    this.#child.status.then((s) => {
      this.#exit = { code: s.code, signal: s.signal };
      live.delete(this);
      for (const w of this.#exitWaiters) w();
      this.#exitWaiters.clear();
    });
  }

  #exited(): Promise<void> {
    if (this.#exit) return Promise.resolve();
    return new Promise((r) => this.#exitWaiters.add(r));
  }

  async #send(socket: ZSocket, header: Header, content: Record<string, unknown>): Promise<void> {
    const frames = await this.#signer.encode({ header, parent_header: {}, metadata: {}, content });
    await (socket === this.#shell ? this.#shellOut : this.#controlOut)(frames);
  }

  async #readShell(socket: ZSocket): Promise<void> {
    while (!this.#closed) {
      let frames: Uint8Array[];
      try {
        frames = await socket.receive();
      } catch {
        return; // socket closed
      }
      const msg = await this.#signer.decode(frames);
      if (!msg) continue; // not from our kernel
      if (msg.header.msg_type === "kernel_info_reply") {
        this.#infoReplied = true;
        this.info = msg.content;
        continue;
      }
      if (socket === this.#shell) this.#repair.onShell(msg);
    }
  }

  async #readIopub(): Promise<void> {
    while (!this.#closed) {
      let frames: Uint8Array[];
      try {
        frames = await this.#iopub.receive();
      } catch {
        return;
      }
      const msg = await this.#signer.decode(frames);
      if (!msg) continue;
      this.#iopubSeen = true;
      const parent = msg.parent_header?.msg_id ?? "";
      const helper = this.#helperDone.get(parent);
      if (helper && msg.header.msg_type === "status" && msg.content.execution_state === "idle") {
        this.#helperDone.delete(parent);
        helper();
      }
      this.#repair.onIopub(msg);
    }
  }

  /** Runs kit code silently (no history, outputs swallowed); false if not idle in time. */
  async #helper(code: string, timeoutMs: number): Promise<boolean> {
    const header = newHeader("execute_request", this.#session);
    const idle = new Promise<boolean>((r) => this.#helperDone.set(header.msg_id, () => r(true)));
    this.#repair.helper(header.msg_id);
    await this.#send(this.#shell, header, helperContent(code));
    return await withTimeout(
      Promise.race([idle, this.#exited().then(() => false)]),
      timeoutMs,
      false,
    );
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
        this.#send(this.#shell, e.header, e.content).catch(() => {});
        return;
      case "complete":
        e.cell.complete = true;
        e.cell.done?.();
        this.#incomplete.delete(e.cell);
        if (!this.#incomplete.size) {
          for (const w of this.#settleWaiters) w();
          this.#settleWaiters.clear();
        }
        return;
      case "foreign": {
        const t = e.msg.header.msg_type;
        if (["stream", "display_data", "execute_result", "error"].includes(t)) {
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
   * Runs one cell and waits until all of its output has arrived (see `tools/jupyter/repair.ts`).
   * Never throws for cell problems: the status says "ok", "error", "timeout" (interrupted,
   * then killed after `graceMs` if still busy), "died" (the kernel process exited) or "lost"
   * (its end-of-cell marker did not arrive within `markerTimeoutMs`, or an output of unknown
   * origin arrived while it ran). A syntax error gets its message and position.
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
    if (this.#exit || this.#closed) return this.#died(p, elapsed());
    const finished = new Promise<"done">((r) => (p.done = () => r("done")));
    const replied = new Promise<"replied">((r) => (p.replied = () => r("replied")));
    const orphansBefore = this.#orphans.length;
    const header = newHeader("execute_request", this.#session);
    // Register before sending: IOPub messages may beat the send promise.
    this.#repair.start(p, header);
    this.#incomplete.add(p);
    await this.#send(this.#shell, header, {
      code,
      silent: false,
      store_history: opts.storeHistory ?? true,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: true,
    });
    const exited = this.#exited().then(() => "died" as const);
    const how = await withTimeout(Promise.race([replied, finished, exited]), timeoutMs, "timeout");
    if (how === "died") return this.#died(p, elapsed());
    if (how === "timeout") {
      // Interrupt on the control channel (Deno's kernel stops a busy loop, not an await),
      // then kill: a notebook stops at a timed-out cell anyway.
      await this.#send(this.#control, newHeader("interrupt_request", this.#session), {})
        .catch(() => {});
      await withTimeout(Promise.race([finished, exited]), graceMs, undefined);
      if (!this.#exit) {
        this.killSync();
        await this.#exited();
      }
      this.#abandon(p);
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
        exit: this.#exit ?? undefined,
        elapsedMs: elapsed(),
      };
    }
    const end = await withTimeout(Promise.race([finished, exited]), markerTimeoutMs, "lost");
    if (end === "died") return this.#died(p, elapsed());
    if (end === "lost") {
      const missing = this.#repair.missing(header).join(", ");
      this.#abandon(p);
      return this.#lost(
        p,
        elapsed(),
        `the cell finished, but its output did not end within ${markerTimeoutMs} ms` +
          ` (missing: ${missing}); some of it may be lost`,
      );
    }
    const reply = p.reply ?? {};
    if (reply.status === "ok") {
      const errOut = p.outputs.find((o): o is ErrorOutput => o.output_type === "error");
      if (errOut) {
        // Reported by the kit's setup code: a throw in a timer, an unhandled rejection.
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
    const errOut = p.outputs.find((o): o is ErrorOutput => o.output_type === "error");
    let errorInfo: ErrorInfo = {
      ename: String(reply.ename ?? errOut?.ename ?? "Error"),
      evalue: String(
        reply.evalue ?? errOut?.evalue ?? `execute_reply status ${String(reply.status)}`,
      ),
      traceback: Array.isArray(reply.traceback)
        ? reply.traceback.map(String)
        : errOut?.traceback ?? [],
    };
    if (!errOut && errorInfo.evalue === "Execution failed" && !errorInfo.traceback.length) {
      // Deno's kernel gives no reason for a syntax error: find it; else say there was none.
      errorInfo = await syntaxError(code) ??
        { ...errorInfo, evalue: "Execution failed (Deno's kernel gave no reason)" };
      this.#push(p, { output_type: "error", ...errorInfo });
    }
    return {
      status: "error",
      executionCount: p.executionCount,
      outputs: p.outputs,
      errorInfo,
      elapsedMs: elapsed(),
    };
  }

  /** Stops waiting for a cell (timed out, lost): settle() no longer waits for it. */
  #abandon(p: Pending): void {
    p.complete = true;
    this.#incomplete.delete(p);
    if (!this.#incomplete.size) {
      for (const w of this.#settleWaiters) w();
      this.#settleWaiters.clear();
    }
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
    this.#abandon(p);
    const exit = this.#exit ?? { code: -1, signal: null };
    return {
      status: "died",
      executionCount: p.executionCount,
      outputs: p.outputs,
      errorInfo: {
        ename: "KernelDied",
        evalue: `the kernel process exited (code ${exit.code}${
          exit.signal ? `, signal ${exit.signal}` : ""
        }) while running the cell`,
        traceback: this.#stderrTail.split("\n")
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
    if (this.#exit || this.#closed) return;
    const drained = this.#incomplete.size
      ? new Promise<void>((r) => this.#settleWaiters.add(r))
      : Promise.resolve();
    const ok = await withTimeout(
      Promise.race([drained.then(() => true), this.#exited().then(() => true)]),
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
    if (!this.#exit) {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* already gone */ }
    }
    this.#proc.disarm();
    try {
      Deno.removeSync(this.#connDir, { recursive: true });
    } catch { /* already removed */ }
    this.#closeSockets();
  }

  /** Closes the ZeroMQ sockets (idempotent). */
  #closeSockets(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#shell.close();
    this.#control.close();
    this.#iopub.close();
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
    if (!this.#closed && !this.#exit) {
      await this.#send(this.#control, newHeader("shutdown_request", this.#session), {
        restart: false,
      }).catch(() => {});
      await withTimeout(this.#exited(), graceMs, undefined);
    }
    if (!this.#exit) {
      this.killSync();
    }
    await this.#child.status;
    this.#proc.disarm();
    await this.#drained;
    this.#closeSockets();
    await Deno.remove(this.#connDir, { recursive: true }).catch(() => {});
    live.delete(this);
    removeHandlers();
  }

  /** The connection file path (deleted on shutdown). */
  get connectionFile(): string {
    return this.#connFile;
  }
}
