/**
 * A Jupyter client for the Deno kernel (`deno jupyter --kernel`), speaking the Jupyter
 * messaging protocol 5.3 over ZeroMQ (npm `zeromq`).
 *
 * Facts this client is built around (observed with Deno 2.9.6):
 * - the kernel answers `kernel_info_request` only ~0.5 s after start, so it is resent until
 *   a reply arrives (as jupyter_client does);
 * - a cell's `execute_result` sometimes arrives on IOPub after that cell's `status: idle`.
 *   Every IOPub message is therefore routed to its cell by `parent_header.msg_id`, the
 *   outputs array of a finished cell stays live, and {@link Kernel.execute} returns only after
 *   the marker cell that follows each cell (below) is idle, by when such late messages have
 *   landed; {@link Kernel.settle} also waits for the last markers;
 * - `console.log` and `console.error` output travels through a queue inside the kernel and is
 *   stamped with the request being executed when it leaves the queue, not when it was printed:
 *   under load the last lines of a cell arrive labelled as the next cell's. So streams are not
 *   routed by their label. After each cell, {@link Kernel.execute} runs a marker cell that
 *   prints a unique line (about 3 ms); stdout and stderr share that one first-in, first-out
 *   queue (their lines never swap order), so everything delivered before a cell's marker was
 *   printed by that cell (or earlier), and everything after it by a later cell. (Printing the
 *   marker to both streams would cost 40 ms a cell: a cell that writes to both is that slow.)
 * The shell socket's high-water marks are raised (see its declaration): with zeromq's defaults the
 * client stalled after 500 to 1000 requests.
 *
 * @module
 */
import { Dealer, Subscriber } from "zeromq";
import type { ErrorOutput, Output } from "./notebook.ts";

/** How a cell ended. */
export type ExecuteStatus = "ok" | "error" | "timeout" | "died";

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
   * nbformat v4 outputs of the cell. The array stays live after `execute` returns: an
   * `execute_result` that arrives late is still appended; call {@link Kernel.settle} first.
   */
  outputs: Output[];
  /** Set when status is "error", "timeout" or "died". */
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
  /** Jupyter `store_history`: false runs the cell without taking an execution count. */
  storeHistory?: boolean;
}

interface Header {
  msg_id: string;
  session: string;
  username: string;
  date: string;
  msg_type: string;
  version: string;
}

interface Message {
  header: Header;
  parent_header: Partial<Header>;
  metadata: Record<string, unknown>;
  content: Record<string, unknown>;
}

/** Per-request bookkeeping: outputs and the two completion signals (reply + idle). */
interface Pending {
  outputs: Output[];
  executionCount: number | null;
  reply?: Record<string, unknown>;
  idle: boolean;
  clearOnNext: boolean;
  done?: () => void;
  /** The marker line that ends this cell's stream output. */
  marker?: string;
}

const DELIM = "<IDS|MSG>";
const encoder = new TextEncoder();
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

/** Free loopback TCP ports: bind port 0, read the port, close (all held until all are read). */
function freePorts(n: number): number[] {
  const listeners = Array.from(
    { length: n },
    () => Deno.listen({ hostname: "127.0.0.1", port: 0 }),
  );
  const ports = listeners.map((l) => (l.addr as Deno.NetAddr).port);
  for (const l of listeners) l.close();
  return ports;
}

function hex(bytes: ArrayBuffer | Uint8Array): string {
  return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * A running Deno Jupyter kernel.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { Kernel } from "../tools/kernel.ts";
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

  #child: Deno.ChildProcess;
  #connFile: string;
  #connDir: string;
  #key: CryptoKey;
  #session = crypto.randomUUID();
  // High-water marks far above zeromq's default of 1000 on the request sockets: with the default
  // the shell socket stopped passing requests after 500 to 1000 of them (replies had all been
  // read), and the client waited forever; `jupyter nbconvert` ran 600 cells on the same kernel.
  // With these, 800 cells with their marker cells (1600 requests) ran, twice.
  #shell = new Dealer({ linger: 0, sendHighWaterMark: 1e6, receiveHighWaterMark: 1e6 });
  #control = new Dealer({ linger: 0, sendHighWaterMark: 1e6, receiveHighWaterMark: 1e6 });
  #iopub = new Subscriber({ linger: 0 });
  #pending = new Map<string, Pending>();
  /** Cells, in order, whose stream output may still be arriving (see {@link Kernel.#stream}). */
  #open: Pending[] = [];
  /** Waiters of {@link Kernel.settle} for `#open` to empty (several settles may overlap). */
  #streamsDone = new Set<() => void>();
  /** The last marker cell sent; {@link Kernel.settle} waits for its idle. */
  #lastMarker?: Promise<void>;
  #displays = new Map<string, Output[]>();
  #exit: { code: number; signal: string | null } | null = null;
  #exitWaiters = new Set<() => void>();
  #closed = false;
  #stderrTail = "";
  #infoReplied = false;
  #drained: Promise<unknown> = Promise.resolve();
  #iopubSeen = false;

  private constructor(
    child: Deno.ChildProcess,
    connFile: string,
    connDir: string,
    key: CryptoKey,
  ) {
    this.#child = child;
    this.pid = child.pid;
    this.#connFile = connFile;
    this.#connDir = connDir;
    this.#key = key;
  }

  /**
   * Starts `deno jupyter --kernel` on free loopback ports with a random key and waits until
   * it answers a `kernel_info_request` and IOPub delivers. Throws with the kernel's stderr if
   * it exits or does not answer within `timeoutMs`.
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { Kernel } from "../tools/kernel.ts";
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
    const key = await crypto.subtle.importKey(
      "raw",
      encoder.encode(keyText),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign", "verify"],
    );
    const [shell, iopub, stdin, control, hb] = freePorts(5);
    const connDir = await Deno.makeTempDir({ prefix: "kit-kernel-" });
    const connFile = `${connDir}/connection.json`;
    const ip = "127.0.0.1";
    await Deno.writeTextFile(
      connFile,
      JSON.stringify({
        ip,
        transport: "tcp",
        shell_port: shell,
        iopub_port: iopub,
        stdin_port: stdin,
        control_port: control,
        hb_port: hb,
        signature_scheme: "hmac-sha256",
        key: keyText,
        kernel_name: "deno",
      }),
    );
    const t0 = performance.now();
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(Deno.execPath(), {
        args: ["jupyter", "--kernel", "--conn", connFile],
        cwd,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (e) {
      await Deno.remove(connDir, { recursive: true }).catch(() => {});
      throw new Error(
        `Kernel.start: cannot spawn "${Deno.execPath()} jupyter --kernel" in ${cwd}: ${
          (e as Error).message
        }`,
      );
    }
    const k = new Kernel(child, connFile, connDir, key);
    live.add(k);
    installHandlers();
    k.#watch();
    try {
      k.#shell.connect(`tcp://${ip}:${shell}`);
      k.#control.connect(`tcp://${ip}:${control}`);
      k.#iopub.connect(`tcp://${ip}:${iopub}`);
      k.#iopub.subscribe();
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
        await k.#send(k.#shell, "kernel_info_request", {});
        await Promise.race([sleep(200), k.#exited()]);
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

  async #sign(parts: string[]): Promise<string> {
    const data = encoder.encode(parts.join(""));
    return hex(await crypto.subtle.sign("HMAC", this.#key, data));
  }

  async #send(
    socket: Dealer,
    msgType: string,
    content: Record<string, unknown>,
  ): Promise<string> {
    const header: Header = {
      msg_id: crypto.randomUUID(),
      session: this.#session,
      username: "kit",
      date: new Date().toISOString(),
      msg_type: msgType,
      version: "5.3",
    };
    const parts = [JSON.stringify(header), "{}", "{}", JSON.stringify(content)];
    const sig = await this.#sign(parts);
    await socket.send([DELIM, sig, ...parts]);
    return header.msg_id;
  }

  async #decode(frames: Uint8Array[]): Promise<Message | null> {
    const strs = frames.map((f) => decoder.decode(f));
    const i = strs.indexOf(DELIM);
    if (i < 0 || strs.length < i + 6) return null;
    const [sig, h, p, m, c] = strs.slice(i + 1, i + 6);
    if (sig !== await this.#sign([h, p, m, c])) return null; // not from our kernel
    return {
      header: JSON.parse(h),
      parent_header: JSON.parse(p),
      metadata: JSON.parse(m),
      content: JSON.parse(c),
    };
  }

  async #readShell(socket: Dealer): Promise<void> {
    while (!this.#closed) {
      let frames: Uint8Array[];
      try {
        frames = await socket.receive();
      } catch {
        return; // socket closed
      }
      const msg = await this.#decode(frames);
      if (!msg) continue;
      if (msg.header.msg_type === "kernel_info_reply") {
        this.#infoReplied = true;
        this.info = msg.content;
        continue;
      }
      const p = this.#pending.get(msg.parent_header.msg_id ?? "");
      if (p && msg.header.msg_type === "execute_reply") {
        p.reply = msg.content;
        if (typeof msg.content.execution_count === "number") {
          p.executionCount = msg.content.execution_count;
        }
        if (p.idle) p.done?.();
      }
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
      const msg = await this.#decode(frames);
      if (!msg) continue;
      this.#iopubSeen = true;
      const p = this.#pending.get(msg.parent_header.msg_id ?? "");
      if (p) this.#route(p, msg);
    }
  }

  #push(p: Pending, out: Output): void {
    if (p.clearOnNext) {
      p.outputs.length = 0;
      p.clearOnNext = false;
    }
    p.outputs.push(out);
  }

  /**
   * Gives stream text to the oldest cell whose marker has not arrived yet (see the module
   * notes); text after all markers (a timer firing later) goes by its label `p`.
   */
  #stream(p: Pending, name: "stdout" | "stderr", text: string): void {
    while (text) {
      const owner = this.#open[0];
      if (!owner) return this.#appendStream(p, name, text);
      const line = `${owner.marker}\n`;
      const at = name === "stdout" ? text.indexOf(line) : -1;
      if (at < 0) return this.#appendStream(owner, name, text);
      if (at > 0) this.#appendStream(owner, name, text.slice(0, at));
      this.#open.shift();
      if (!this.#open.length) {
        for (const done of this.#streamsDone) done();
        this.#streamsDone.clear();
      }
      text = text.slice(at + line.length);
    }
  }

  #appendStream(p: Pending, name: "stdout" | "stderr", text: string): void {
    const last = p.outputs.at(-1);
    if (!p.clearOnNext && last?.output_type === "stream" && last.name === name) {
      last.text = String(last.text) + text;
    } else this.#push(p, { output_type: "stream", name, text });
  }

  #route(p: Pending, msg: Message): void {
    const c = msg.content;
    switch (msg.header.msg_type) {
      case "status":
        if (c.execution_state === "idle") {
          p.idle = true;
          if (p.reply) p.done?.();
        }
        break;
      case "execute_input":
        if (typeof c.execution_count === "number") p.executionCount = c.execution_count;
        break;
      case "stream":
        this.#stream(p, c.name === "stderr" ? "stderr" : "stdout", String(c.text ?? ""));
        break;
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
   * Runs one cell and waits for its `execute_reply` and its `status: idle`.
   * Never throws for cell problems: the status says "ok", "error", "timeout" (interrupted,
   * then killed after `graceMs` if still busy) or "died" (the kernel process exited).
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { Kernel } from "../tools/kernel.ts";
   * const k = await Kernel.start();
   * try {
   *   const r = await k.execute("throw new RangeError('no')", { timeoutMs: 10_000 });
   *   assert.ok(r.status === "error" && r.errorInfo?.ename === "RangeError");
   * } finally {
   *   await k.shutdown();
   * }
   * ```
   */
  async execute(code: string, opts: ExecuteOptions = {}): Promise<ExecuteResult> {
    const timeoutMs = opts.timeoutMs ?? 120_000;
    const graceMs = opts.graceMs ?? 2_000;
    const t0 = performance.now();
    const p: Pending = { outputs: [], executionCount: null, idle: false, clearOnNext: false };
    const elapsed = () => performance.now() - t0;
    if (this.#exit || this.#closed) {
      return this.#died(p, elapsed());
    }
    const finished = new Promise<"done">((r) => (p.done = () => r("done")));
    // Register before sending: IOPub messages may beat the send promise.
    const msgId = crypto.randomUUID();
    this.#pending.set(msgId, p);
    await this.#sendWithId(msgId, "execute_request", {
      code,
      silent: false,
      store_history: opts.storeHistory ?? true,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: true,
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<"timeout">((
      r,
    ) => (timer = setTimeout(() => r("timeout"), timeoutMs)));
    const exited = this.#exited().then(() => "died" as const);
    const how = await Promise.race([finished, timedOut, exited]);
    clearTimeout(timer);
    if (how === "died") return this.#died(p, elapsed());
    if (how === "timeout") {
      // Interrupt on the control channel (Deno's kernel may or may not stop a busy loop),
      // then kill: a notebook stops at a timed-out cell anyway.
      await this.#send(this.#control, "interrupt_request", {}).catch(() => {});
      let graceTimer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        finished,
        exited,
        new Promise((r) => (graceTimer = setTimeout(r, graceMs))),
      ]);
      clearTimeout(graceTimer);
      if (!this.#exit) {
        this.killSync();
        await this.#exited();
      }
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
    await this.#sendMarker(p, Math.min(timeoutMs, 10_000));
    const reply = p.reply ?? {};
    if (reply.status === "ok") {
      return {
        status: "ok",
        executionCount: p.executionCount,
        outputs: p.outputs,
        elapsedMs: elapsed(),
      };
    }
    const errOut = p.outputs.find((o): o is ErrorOutput => o.output_type === "error");
    const errorInfo: ErrorInfo = {
      ename: String(reply.ename ?? errOut?.ename ?? "Error"),
      evalue: String(
        reply.evalue ?? errOut?.evalue ?? `execute_reply status ${String(reply.status)}`,
      ),
      traceback: Array.isArray(reply.traceback)
        ? reply.traceback.map(String)
        : errOut?.traceback ?? [],
    };
    return {
      status: "error",
      executionCount: p.executionCount,
      outputs: p.outputs,
      errorInfo,
      elapsedMs: elapsed(),
    };
  }

  #died(p: Pending, elapsedMs: number): ExecuteResult {
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

  async #sendWithId(msgId: string, msgType: string, content: Record<string, unknown>) {
    const header: Header = {
      msg_id: msgId,
      session: this.#session,
      username: "kit",
      date: new Date().toISOString(),
      msg_type: msgType,
      version: "5.3",
    };
    const parts = [JSON.stringify(header), "{}", "{}", JSON.stringify(content)];
    await this.#shell.send([DELIM, await this.#sign(parts), ...parts]);
  }

  /**
   * Runs the marker cell that closes `cell`'s stream output and waits for its idle, not for
   * the markers. (Waiting matters: a request that reaches the kernel while it is busy waits
   * about 40 ms more before it starts.)
   */
  async #sendMarker(cell: Pending, timeoutMs: number): Promise<void> {
    cell.marker = `kit-end-of-cell-${crypto.randomUUID()}`;
    this.#open.push(cell);
    const p: Pending = { outputs: [], executionCount: null, idle: false, clearOnNext: false };
    const done = new Promise<void>((r) => (p.done = r));
    this.#lastMarker = done;
    const msgId = crypto.randomUUID();
    this.#pending.set(msgId, p);
    const m = JSON.stringify(cell.marker);
    await this.#sendWithId(msgId, "execute_request", {
      code: `console.log(${m});`,
      silent: false,
      store_history: false,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: false,
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      done,
      this.#exited(),
      new Promise((r) => (timer = setTimeout(r, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  /**
   * Waits until every output of the cells run so far has arrived: the streams up to each
   * cell's marker, and an `execute_result` that comes after its cell's idle. Call it before
   * reading the outputs of the last cell. Throws if that takes longer than `timeoutMs`.
   *
   * @example
   * ```ts
   * import assert from "node:assert";
   * import { Kernel } from "../tools/kernel.ts";
   * const k = await Kernel.start();
   * const r = await k.execute("console.log(1); 2 + 2");
   * await k.settle();
   * assert.deepEqual(r.outputs.map((o) => o.output_type), ["stream", "execute_result"]);
   * await k.shutdown();
   * ```
   */
  async settle(timeoutMs = 10_000): Promise<void> {
    if (this.#exit || this.#closed) return;
    const drained = this.#open.length
      ? new Promise<void>((r) => this.#streamsDone.add(r))
      : Promise.resolve();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ok = await Promise.race([
      Promise.all([drained, this.#lastMarker]).then(() => true),
      new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs))),
      this.#exited().then(() => true),
    ]);
    clearTimeout(timer);
    if (!ok) throw new Error(`Kernel.settle: the cells' output did not end within ${timeoutMs} ms`);
  }

  /** Kills the kernel process at once (SIGKILL) and closes the sockets, synchronously. Idempotent. */
  killSync(): void {
    if (!this.#exit) {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* already gone */ }
    }
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
   * import { Kernel } from "../tools/kernel.ts";
   * const k = await Kernel.start();
   * await k.shutdown();
   * assert.ok(!k.alive);
   * ```
   */
  async shutdown(graceMs = 1_000): Promise<void> {
    if (!this.#closed && !this.#exit) {
      await this.#send(this.#control, "shutdown_request", { restart: false }).catch(() => {});
      let t: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([this.#exited(), new Promise((r) => (t = setTimeout(r, graceMs)))]);
      clearTimeout(t);
    }
    if (!this.#exit) {
      this.killSync();
    }
    await this.#child.status;
    await this.#drained;
    // Let the socket poller deliver what is still queued before closing: closing with a poll
    // callback pending crashed the zeromq addon (SIGSEGV in zmq::Poller::Callback) in about 1
    // of 6 runs of 15 start/shutdown cycles; with the pause, 0 of 20.
    await sleep(20);
    this.#closeSockets();
    await Deno.remove(this.#connDir, { recursive: true }).catch(() => {});
    live.delete(this);
    removeHandlers();
    this.#pending.clear();
  }

  /** The connection file path (deleted on shutdown). */
  get connectionFile(): string {
    return this.#connFile;
  }
}
