/**
 * The kit's kernel relay: what Jupyter (JupyterLab, VS Code, the classic Notebook, nbconvert)
 * starts for the "Deno (course kit)" kernel (`deno task kernel:install`, see `kernelspec.ts`).
 *
 * `deno run -A tools/jupyter/relay.ts CONNECTION_FILE` binds the five channels of the connection
 * file, starts Deno's own kernel behind them (`inner.ts`: private loopback ports, its own key,
 * the kit's setup cell) and relays every channel. On the way it repairs the Deno kernel's
 * message order with the code the notebook runner uses (`repair.ts`): a cell's `status: idle`
 * and `execute_reply` are held back until all of its output has been forwarded, printed lines go
 * to the cell that was running when they were printed, the kit's helper cells never show, a bare
 * "Execution failed" becomes the syntax error or the interrupt it was, and throws in timers and
 * unhandled rejections become error outputs. Every message to the frontend is signed with the
 * connection key.
 *
 * Cells are sent to Deno's kernel one at a time (a frontend may queue several; the relay keeps
 * the queue, and as ipykernel does, an error in a cell with `stop_on_error` aborts the cells
 * queued behind it). Everything else passes through: comms, `complete_request`,
 * `inspect_request`, `is_complete_request`, `kernel_info`, `history`, stdin (`prompt()`).
 *
 * Interrupt (`interrupt_mode: "message"`): the interrupt is passed on, which stops a busy loop; a
 * cell still running 2 s later (awaiting a timer or a promise, which Deno's kernel cannot
 * interrupt) ends with the error "interrupted: the kernel restarted, variables are lost", Deno's
 * kernel is restarted behind the same connection, and the frontend stays usable. A kernel that
 * dies (`Deno.exit()` in a cell, a signal, a crash) is restarted the same way; the running cell
 * ends with a `KernelDied` error naming the exit code or signal ({@link kernelDied}). Shutdown
 * (restart included) stops Deno's kernel and the relay.
 *
 * Output: each cell may send at most 10 MB (`KIT_RELAY_OUTPUT_LIMIT_MB`, see `output_cap.ts`);
 * past that its output is dropped and one notice under the cell says how much. Printed text of a
 * cell is gathered into one message per 0.1 s or 1 M characters.
 *
 * If the relay dies, even by SIGKILL, a watchdog kills Deno's kernel; if the process that
 * started the relay dies, the relay shuts down.
 *
 * `KIT_RELAY_DEBUG=1` in the environment logs the traffic to stderr (Jupyter's log).
 *
 * @module
 */
import { Channel } from "./channel.ts";
import { OrderRepair, type RepairEvent } from "./repair.ts";
import {
  type ChannelName,
  describeExit,
  diagnoseFailure,
  InnerKernel,
  INTERRUPTED_KEPT,
  isBareFailure,
} from "./inner.ts";
import { type Header, IOPUB_TYPES, type Message, newHeader, withTimeout } from "./wire.ts";
import { ZSocket } from "./zmtp.ts";
import { processAlive } from "../proc.ts";
import { OutputCap, outputLimitFrom } from "./output_cap.ts";
import type { ExitStatus } from "./inner.ts";

export { INTERRUPTED_KEPT };

/** A Jupyter connection file. */
export interface Connection {
  ip: string;
  transport: string;
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  key: string;
  signature_scheme?: string;
}

/** A frontend's execute_request, while queued or running. */
interface Cell {
  msg: Message;
  reply?: Message;
  /** Error output already published for this cell. */
  sawError: boolean;
  /** Diagnosis of a bare "Execution failed" in progress. */
  fixing?: Promise<void>;
  released: boolean;
  /** An interrupt was requested while the cell ran. */
  interrupted?: boolean;
  /** Resolves when the kernel has answered the cell or the relay has released it. */
  ended: Promise<void>;
  end: () => void;
  markerTimer?: ReturnType<typeof setTimeout>;
  /** When the cell's last output arrived (the marker timeout counts from there). */
  lastOutputAt: number;
  /** What the cell may still send to the frontend. */
  cap: OutputCap;
}

/** Options of {@link Relay.start}. */
export interface RelayOptions {
  /** Working directory of Deno's kernel. Default: cwd (Jupyter starts kernels in the notebook's folder). */
  cwd?: string;
  /** How long an interrupted cell may take to stop before Deno's kernel is restarted. Default 2 000 ms. */
  interruptGraceMs?: number;
  /** How long a finished cell's end-of-cell marker may take before the cell is released with a warning. Default 10 000 ms. */
  markerTimeoutMs?: number;
  /** Log line sink (default: stderr, which Jupyter shows in its own log). */
  log?: (line: string) => void;
  /** Bytes of output one cell may send to the frontend (see `output_cap.ts`). Default 10 MB. */
  outputLimit?: number;
}

/** What a student sees when the relay had to restart Deno's kernel. */
export const INTERRUPTED = "interrupted: the kernel restarted, variables are lost";
/**
 * What a student sees under a cell whose kernel died (`Deno.exit()`, a signal, a crash):
 * "Deno's kernel died (exit code 3) and a new one was started: ..." or "(signal SIGKILL)";
 * `broken`: why the kit ended the kernel itself (`InnerKernel.brokenReason`).
 */
export function kernelDied(exit: ExitStatus, broken = ""): string {
  const how = exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
  const what = broken ? `${broken}, so the kit ended it` : `Deno's kernel died (${how})`;
  return `${what} and a new one was started: variables, functions and imports are gone; run ` +
    "the cells this one needs again";
}
/** What a student sees under a cell whose output did not end in time. */
export const MARKER_LATE =
  "this cell's output did not end in time; some of it may be missing or appear under the next cell";

const DEBUG = (() => {
  try {
    return Boolean(Deno.env.get("KIT_RELAY_DEBUG"));
  } catch {
    return false;
  }
})();
const encoder = new TextEncoder();
/** Printed text of one cell is sent on at least this often (ipykernel flushes every 0.2 s). */
const STREAM_FLUSH_MS = 100;
/** ... or when this much has gathered. */
const STREAM_FLUSH_CHARS = 1 << 20;

/** Consecutive printed text of one cell and stream, gathered into one message. */
interface PendingStream {
  cell: Cell;
  msg: Message;
  parts: string[];
  chars: number;
}

/**
 * A running relay (see the module notes).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { Relay } from "./relay.ts";
 * import { Channel } from "./channel.ts";
 * import { freePorts, newHeader } from "./wire.ts";
 * import { ZSocket } from "./zmtp.ts";
 * const [shell_port, iopub_port, stdin_port, control_port, hb_port] = freePorts(5);
 * const relay = await Relay.start({
 *   ip: "127.0.0.1", transport: "tcp", key: "secret",
 *   shell_port, iopub_port, stdin_port, control_port, hb_port,
 * }, { log: () => {} });
 * const shell = new Channel(new ZSocket("DEALER"), "secret");
 * shell.socket.connect("127.0.0.1", shell_port);
 * const header = newHeader("kernel_info_request", "doc");
 * shell.send({ header, content: {} });
 * const reply = await shell.receive();
 * assert.equal(reply.header.msg_type, "kernel_info_reply");
 * assert.equal(reply.parent_header.msg_id, header.msg_id);
 * await shell.close();
 * await relay.shutdown();
 * ```
 */
export class Relay {
  #log: (line: string) => void;
  #cwd: string;
  #graceMs: number;
  #markerTimeoutMs: number;
  #outputLimit: number;
  #pending: PendingStream | null = null;
  #pendingTimer?: ReturnType<typeof setTimeout>;
  #session = crypto.randomUUID();
  #shell: Channel;
  #control: Channel;
  #stdin: Channel;
  #iopub: Channel;
  #hb = new ZSocket("REP");
  #inner: InnerKernel | null = null;
  /** Bumped at each (re)start: messages of an older Deno kernel are ignored. */
  #generation = 0;
  #ready: Promise<void> = Promise.resolve();
  #repair: OrderRepair<Cell>;
  #queue: Cell[] = [];
  #running: Cell | null = null;
  /** Frontend identities of pass-through requests, by msg_id, to route replies back. */
  #routes = new Map<string, Uint8Array[]>();
  #closing = false;
  #restarting = false;
  #sigintAt = -Infinity;
  #loops: Promise<void>[] = [];
  #done!: () => void;
  /** Resolves when the relay has shut down. */
  readonly finished: Promise<void>;

  private constructor(conn: Connection, opts: RelayOptions) {
    this.#log = opts.log ?? ((l) => console.error(`[kit relay] ${l}`));
    this.#cwd = opts.cwd ?? Deno.cwd();
    this.#graceMs = opts.interruptGraceMs ?? 2_000;
    this.#markerTimeoutMs = opts.markerTimeoutMs ?? 10_000;
    this.#outputLimit = opts.outputLimit ?? outputLimitFrom(undefined);
    this.#repair = new OrderRepair<Cell>((e) => this.#onRepair(e), this.#session);
    this.finished = new Promise((r) => (this.#done = r));
    const rejected = () => this.#log("dropped a frontend message with a bad signature");
    const channel = (type: "ROUTER" | "PUB") => new Channel(new ZSocket(type), conn.key, rejected);
    this.#shell = channel("ROUTER");
    this.#control = channel("ROUTER");
    this.#stdin = channel("ROUTER");
    this.#iopub = channel("PUB");
  }

  /** Binds the frontend's channels, starts Deno's kernel behind them and starts relaying. */
  static async start(conn: Connection, opts: RelayOptions = {}): Promise<Relay> {
    if (conn.signature_scheme && conn.signature_scheme !== "hmac-sha256") {
      throw new Error(
        `kit relay: signature_scheme ${conn.signature_scheme} is not supported; use hmac-sha256`,
      );
    }
    if (conn.transport !== "tcp") {
      throw new Error(`kit relay: transport ${conn.transport} is not supported; use tcp`);
    }
    const r = new Relay(conn, opts);
    r.#shell.socket.bind(conn.ip, conn.shell_port);
    r.#control.socket.bind(conn.ip, conn.control_port);
    r.#stdin.socket.bind(conn.ip, conn.stdin_port);
    r.#iopub.socket.bind(conn.ip, conn.iopub_port);
    r.#hb.bind(conn.ip, conn.hb_port);
    r.#ready = r.#startInner();
    r.#serve();
    try {
      await r.#ready;
    } catch (e) {
      await r.shutdown();
      throw e;
    }
    return r;
  }

  // ---- Deno's kernel ----------------------------------------------------------------------

  async #startInner(): Promise<void> {
    const generation = ++this.#generation;
    const inner = await InnerKernel.start({
      cwd: this.#cwd,
      prefix: "kit-relay-",
      logKey: this.#repair.logKey,
      log: this.#log,
      onMessage: (channel, msg) => {
        if (generation === this.#generation) this.#fromInner(channel, msg);
      },
    });
    if (this.#closing || generation !== this.#generation) {
      await inner.shutdown(0);
      return;
    }
    this.#inner = inner;
    if (DEBUG) this.#log(`Deno's kernel is ready (pid ${inner.pid})`);
    inner.exited.then((exit) => {
      if (this.#inner !== inner || this.#closing) return;
      this.#log(
        `Deno's kernel exited (${describeExit(exit)}${
          inner.brokenReason ? `; ${inner.brokenReason}` : ""
        }): starting a new one`,
      );
      // A SIGINT sent to the process group (a frontend that ignores interrupt_mode) kills it.
      const interrupted = performance.now() - this.#sigintAt < 3_000;
      this.#restartInner(
        interrupted ? INTERRUPTED : kernelDied(exit, inner.brokenReason),
        interrupted ? "KernelRestarted" : "KernelDied",
      );
    });
  }

  /** The relay received SIGINT (Deno's kernel, in the same process group, dies of it). */
  noteSigint(): void {
    this.#sigintAt = performance.now();
  }

  /**
   * Ends the running cell with the error `ename: message`, aborts the queued ones and starts a
   * new Deno kernel. When that fails, the cell says so, and the next cell tries again.
   */
  async #restartInner(message: string, ename = "KernelRestarted"): Promise<void> {
    if (this.#restarting || this.#closing) return;
    this.#restarting = true;
    const old = this.#inner;
    this.#inner = null;
    this.#generation++; // the old kernel's last messages are ignored from now on
    await old?.shutdown(0);
    this.#repair.reset();
    const running = this.#running;
    const queued = this.#queue.splice(0);
    this.#publish(this.#status("restarting", undefined));
    this.#ready = this.#startInner();
    try {
      await this.#ready;
    } catch (e) {
      const why = (e as Error).message;
      this.#log(`could not restart Deno's kernel: ${why}`);
      message += `; but a new kernel could not be started (${why.split("\n")[0]}): run the ` +
        "cell again to retry, or restart the kernel from the menu";
    }
    this.#restarting = false;
    if (running && !running.released) this.#failCell(running, ename, message);
    for (const c of queued) this.#abort(c);
    this.#running = null;
    this.#next();
  }

  // ---- frontend -> kernel -----------------------------------------------------------------

  #serve(): void {
    this.#loops.push(
      this.#loop(this.#shell, (m) => this.#fromShell(m)),
      this.#loop(this.#control, (m) => this.#fromControl(m)),
      this.#loop(this.#stdin, (m) => this.#fromStdin(m)),
      (async () => {
        // Heartbeat: echo. A dead Deno kernel is restarted, so the relay always answers.
        for await (const frames of this.#hb) this.#hb.send(frames);
      })(),
    );
  }

  async #loop(channel: Channel, handle: (m: Message) => Promise<void>): Promise<void> {
    for await (const msg of channel) {
      if (DEBUG) this.#log(`frontend ${msg.header.msg_type} ${msg.header.msg_id}`);
      try {
        await handle(msg);
      } catch (e) {
        this.#log(`error handling ${msg.header.msg_type}: ${(e as Error).stack}`);
      }
    }
  }

  /** Sends a frontend's message on to Deno's kernel, its reply to be routed back. */
  async #passOn(channel: Exclude<ChannelName, "iopub">, msg: Message): Promise<void> {
    await this.#ready.catch(() => {});
    this.#routes.set(msg.header.msg_id, msg.identities);
    this.#inner?.send(channel, { ...msg, identities: [] });
  }

  async #fromShell(msg: Message): Promise<void> {
    if (msg.header.msg_type !== "execute_request") return this.#passOn("shell", msg);
    await this.#ready.catch(() => {});
    let end = () => {};
    const ended = new Promise<void>((r) => (end = r));
    const cap = new OutputCap(this.#outputLimit);
    this.#queue.push({ msg, sawError: false, released: false, ended, end, cap, lastOutputAt: 0 });
    // A kernel that could not be restarted: try again for this cell.
    if (!this.#inner && !this.#restarting && !this.#closing) {
      this.#restartInner("Deno's kernel was not running");
      return;
    }
    this.#next();
  }

  async #fromControl(msg: Message): Promise<void> {
    const type = msg.header.msg_type;
    if (type === "interrupt_request") {
      await this.#interrupt();
      this.#reply(this.#control, msg, "interrupt_reply", { status: "ok" });
      return;
    }
    if (type === "shutdown_request") {
      const restart = Boolean(msg.content.restart);
      this.#reply(this.#control, msg, "shutdown_reply", { status: "ok", restart });
      this.shutdown(); // not awaited: shutting down waits for this channel's loop to end
      return;
    }
    await this.#passOn("control", msg);
  }

  #fromStdin(msg: Message): Promise<void> {
    this.#inner?.send("stdin", { ...msg, identities: [] });
    return Promise.resolve();
  }

  /** Sends the next queued cell to Deno's kernel when none is running. */
  #next(): void {
    if (this.#running || this.#restarting || !this.#inner) return;
    const cell = this.#queue.shift();
    if (!cell) return;
    this.#running = cell;
    this.#repair.start(cell, cell.msg.header);
    this.#inner.send("shell", { ...cell.msg, identities: [] });
  }

  /** Interrupts the running cell; restarts Deno's kernel if the cell does not stop. */
  async #interrupt(): Promise<void> {
    const cell = this.#running;
    const inner = this.#inner;
    if (!cell || !inner) return;
    cell.interrupted = true;
    inner.interrupt();
    if (await withTimeout(cell.ended.then(() => true), this.#graceMs, false)) return;
    this.#log("the interrupted cell did not stop: restarting Deno's kernel");
    await this.#restartInner(INTERRUPTED);
  }

  // ---- kernel -> frontend -----------------------------------------------------------------

  #fromInner(channel: ChannelName, msg: Message): void {
    if (DEBUG) this.#log(`kernel ${channel} ${msg.header.msg_type} ${msg.parent_header?.msg_id}`);
    switch (channel) {
      case "shell":
        return this.#repair.onShell(msg);
      case "iopub":
        return this.#repair.onIopub(msg);
      case "control":
        return this.#route(this.#control, msg);
      case "stdin": {
        const ids = this.#running?.msg.identities ?? [];
        this.#stdin.send({ ...msg, identities: ids });
        return;
      }
    }
  }

  #onRepair(e: RepairEvent<Cell>): void {
    if (DEBUG) {
      const m = "msg" in e ? ` ${e.msg.header.msg_type} ${e.msg.parent_header?.msg_id}` : "";
      this.#log(`repair ${e.type}${m}`);
    }
    switch (e.type) {
      case "output":
        if (e.msg.header.msg_type === "error") e.cell.sawError = true;
        if (e.late) this.#log(`an output arrived after its cell ended: ${e.msg.header.msg_type}`);
        e.cell.lastOutputAt = performance.now();
        this.#output(e.cell, e.msg);
        return;
      case "reply": {
        const cell = e.cell;
        cell.reply = e.msg;
        cell.end();
        if (isBareFailure(e.msg.content) && !cell.sawError) {
          cell.fixing = (async () => {
            const code = String(cell.msg.content.code ?? "");
            const info = await diagnoseFailure(code, { interrupted: cell.interrupted });
            cell.reply = { ...e.msg, content: { ...e.msg.content, ...info } };
            cell.sawError = true;
            this.#publish(this.#iopubMsg("error", cell.msg.header, { ...info }));
          })();
        }
        return;
      }
      case "marker": {
        this.#inner?.send("shell", { header: e.header, content: e.content });
        // Never hold a cell forever: if its end-of-cell marker does not come (a cell that
        // broke the saved console.log, a stuck kernel), release it with a warning under it.
        const cell = e.cell;
        cell.lastOutputAt = performance.now();
        const late = () => {
          if (cell.released || this.#running !== cell) return;
          // Output still flowing (a cell that printed a lot, a large frame still arriving): the
          // marker is behind it.
          const last = Math.max(cell.lastOutputAt, this.#inner?.lastIopubAt ?? 0);
          const quiet = performance.now() - last;
          if (quiet < this.#markerTimeoutMs) {
            cell.markerTimer = setTimeout(late, this.#markerTimeoutMs - quiet);
            return;
          }
          this.#log("an end-of-cell marker did not arrive in time; releasing the cell");
          this.#publish(this.#iopubMsg("stream", cell.msg.header, {
            name: "stderr",
            text: `[kit] ${MARKER_LATE}\n`,
          }));
          this.#repair.forget(cell.msg.header);
          this.#release(cell).catch(() => {});
        };
        cell.markerTimer = setTimeout(late, this.#markerTimeoutMs);
        return;
      }
      case "complete":
        this.#release(e.cell).catch((err) => this.#log(`release: ${(err as Error).message}`));
        return;
      case "foreign":
        return this.#foreign(e.msg);
    }
  }

  #foreign(msg: Message): void {
    const parent = msg.parent_header?.msg_id ?? "";
    const type = msg.header.msg_type;
    if (this.#routes.has(parent) && !IOPUB_TYPES.has(type)) {
      // A shell reply to a pass-through request.
      const ids = this.#routes.get(parent)!;
      if (type.endsWith("_reply")) this.#routes.delete(parent);
      this.#shell.send({ ...msg, identities: ids });
      return;
    }
    if (IOPUB_TYPES.has(type)) this.#publish(msg);
    else this.#log(`dropped a ${type} for an unknown request`);
  }

  #route(channel: Channel, msg: Message): void {
    const parent = msg.parent_header?.msg_id ?? "";
    const ids = this.#routes.get(parent);
    if (!ids) return;
    this.#routes.delete(parent);
    channel.send({ ...msg, identities: ids });
  }

  /** The cell is complete: its reply, then its idle, go to the frontend; the next cell starts. */
  async #release(cell: Cell): Promise<void> {
    if (cell.released) return;
    await cell.fixing;
    cell.released = true;
    clearTimeout(cell.markerTimer);
    cell.end();
    this.#flush();
    this.#noticeCut(cell);
    const reply = cell.reply ?? this.#replyMsg(cell.msg, "execute_reply", {
      status: "error",
      ename: "KernelError",
      evalue: "no reply from Deno's kernel",
      traceback: [],
    });
    this.#shell.send({ ...reply, identities: cell.msg.identities });
    this.#publish(this.#status("idle", cell.msg.header));
    const failed = reply.content.status === "error" && cell.msg.content.stop_on_error !== false;
    if (this.#running === cell) this.#running = null;
    if (failed) { for (const c of this.#queue.splice(0)) this.#abort(c); }
    this.#next();
  }

  /** Ends a cell that Deno's kernel cannot finish, with an error output a student sees. */
  #failCell(cell: Cell, ename: string, evalue: string): void {
    cell.released = true;
    clearTimeout(cell.markerTimer);
    cell.end();
    this.#flush();
    this.#noticeCut(cell);
    const error = { ename, evalue, traceback: [`${ename}: ${evalue}`] };
    this.#publish(this.#iopubMsg("error", cell.msg.header, error));
    const reply = this.#replyMsg(cell.msg, "execute_reply", {
      status: "error",
      execution_count: 0,
      ...error,
    });
    this.#shell.send({ ...reply, identities: cell.msg.identities });
    this.#publish(this.#status("idle", cell.msg.header));
  }

  /** Answers a queued cell that will not run, as ipykernel does after an error. */
  #abort(cell: Cell): void {
    cell.released = true;
    cell.end();
    this.#publish(this.#status("busy", cell.msg.header));
    const reply = this.#replyMsg(cell.msg, "execute_reply", { status: "aborted" });
    this.#shell.send({ ...reply, identities: cell.msg.identities });
    this.#publish(this.#status("idle", cell.msg.header));
  }

  #reply(channel: Channel, req: Message, type: string, content: Record<string, unknown>): void {
    channel.send({ ...this.#replyMsg(req, type, content), identities: req.identities });
  }

  #replyMsg(req: Message, type: string, content: Record<string, unknown>): Message {
    return {
      identities: [],
      header: newHeader(type, this.#session),
      parent_header: req.header,
      metadata: {},
      content,
      buffers: [],
    };
  }

  #iopubMsg(type: string, parent: Header, content: Record<string, unknown>): Message {
    return {
      identities: [],
      header: newHeader(type, this.#session),
      parent_header: parent,
      metadata: {},
      content,
      buffers: [],
    };
  }

  #status(state: string, parent: Header | undefined): Message {
    return this.#iopubMsg("status", parent ?? ({} as Header), { execution_state: state });
  }

  /**
   * A cell's output on its way to the frontend: within the cell's limit (`output_cap.ts`), and
   * printed text gathered: a cell printing 500 000 lines costs the frontend a few messages, not
   * 500 000 (Deno's kernel sends one per `console.log`).
   */
  #output(cell: Cell, msg: Message): void {
    const m = cell.cap.admit(msg);
    if (!m) return;
    if (m.header.msg_type !== "stream") return this.#publish(m);
    const text = String(m.content.text ?? "");
    const p = this.#pending;
    if (p && p.cell === cell && p.msg.content.name === m.content.name) {
      p.parts.push(text);
      p.chars += text.length;
      if (p.chars >= STREAM_FLUSH_CHARS) this.#flush();
      return;
    }
    this.#flush();
    this.#pending = { cell, msg: m, parts: [text], chars: text.length };
    this.#pendingTimer = setTimeout(() => this.#flush(), STREAM_FLUSH_MS);
  }

  /** Sends the gathered printed text. */
  #flush(): void {
    const p = this.#pending;
    if (!p) return;
    this.#pending = null;
    clearTimeout(this.#pendingTimer);
    const text = p.parts.length === 1 ? p.parts[0] : p.parts.join("");
    this.#send({ ...p.msg, content: { ...p.msg.content, text } });
  }

  /** The notice under a cell whose output was cut. */
  #noticeCut(cell: Cell): void {
    const notice = cell.cap.notice();
    if (!notice) return;
    this.#log(`a cell's ${notice}`);
    this.#publish(this.#iopubMsg("stream", cell.msg.header, {
      name: "stderr",
      text: `\n[kit] ${notice} (KIT_RELAY_OUTPUT_LIMIT_MB sets the limit)\n`,
    }));
  }

  /** Publishes on IOPub, after any gathered printed text (order kept). */
  #publish(msg: Message): void {
    this.#flush();
    this.#send(msg);
  }

  /** Sends on IOPub (in call order), under the topic `kernel.kit-relay.<type>`. */
  #send(msg: Message): void {
    const topic = [encoder.encode(`kernel.kit-relay.${msg.header.msg_type}`)];
    this.#iopub.send({ ...msg, identities: msg.identities.length ? msg.identities : topic });
  }

  /** Stops Deno's kernel and closes every socket once queued replies are written. Idempotent. */
  async shutdown(): Promise<void> {
    if (this.#closing) return this.finished;
    this.#closing = true;
    if (DEBUG) this.#log("shutting down");
    this.#generation++;
    await this.#ready.catch(() => {});
    await this.#inner?.shutdown(1_000);
    this.#flush();
    for (const cell of [this.#running, ...this.#queue]) if (cell) clearTimeout(cell.markerTimer);
    const frontend = [this.#shell, this.#control, this.#stdin, this.#iopub];
    await Promise.all([...frontend.map((c) => c.flush()), this.#hb.flush()]);
    await Promise.all([...frontend.map((c) => c.close()), this.#hb.close()]);
    await Promise.all(this.#loops);
    this.#done();
  }
}

/**
 * Resolves when whoever started the relay is gone (Jupyter killed by SIGKILL, a closed
 * terminal): the parent we were started by, or `JPY_PARENT_PID` when Jupyter names another.
 * A parent that dies re-parents this process, which `Deno.ppid` shows on every POSIX system;
 * `JPY_PARENT_PID` is watched through `tools/proc.ts` (which works without /proc too).
 */
function parentGone(parent: number, jupyter: number): { gone: Promise<string>; stop(): void } {
  let stop = () => {};
  const gone = new Promise<string>((resolve) => {
    const timer = setInterval(() => {
      if (Deno.build.os !== "windows" && Deno.ppid !== parent) resolve(`parent ${parent}`);
      else if (jupyter > 1 && !processAlive(jupyter)) resolve(`JPY_PARENT_PID ${jupyter}`);
      else if (Deno.build.os === "windows" && !processAlive(parent)) resolve(`parent ${parent}`);
    }, 1_000);
    stop = () => clearInterval(timer);
  });
  return { gone, stop: () => stop() };
}

async function main(args: string[]): Promise<number> {
  // Read first: the parent may die while Deno's kernel starts.
  const parent = Deno.ppid;
  const jupyter = Number(Deno.env.get("JPY_PARENT_PID") || 0);
  const file = args[0];
  if (!file || file === "--help" || file === "-h") {
    const usage = "usage: deno run -A tools/jupyter/relay.ts CONNECTION_FILE\n" +
      "The kit's kernel relay; Jupyter starts it (install with `deno task kernel:install`).";
    if (file) console.log(usage);
    else console.error(usage);
    return file ? 0 : 2;
  }
  let conn: Connection;
  try {
    conn = JSON.parse(await Deno.readTextFile(file));
  } catch (e) {
    console.error(`kit relay: cannot read the connection file ${file}: ${(e as Error).message}`);
    return 2;
  }
  // KIT_RELAY_MARKER_TIMEOUT_MS: for tests, which cannot wait 10 s. KIT_RELAY_INTERRUPT_GRACE_MS:
  // for tests on a loaded machine, where a busy loop can take more than 2 s to stop.
  const markerTimeoutMs = Number(Deno.env.get("KIT_RELAY_MARKER_TIMEOUT_MS")) || undefined;
  const interruptGraceMs = Number(Deno.env.get("KIT_RELAY_INTERRUPT_GRACE_MS")) || undefined;
  let outputLimit: number;
  try {
    outputLimit = outputLimitFrom(Deno.env.get("KIT_RELAY_OUTPUT_LIMIT_MB"));
  } catch (e) {
    console.error(`kit relay: ${(e as Error).message}`);
    return 2;
  }
  const relay = await Relay.start(conn, { markerTimeoutMs, interruptGraceMs, outputLimit });
  if (Deno.build.os !== "windows") {
    Deno.addSignalListener("SIGTERM", () => relay.shutdown());
    // interrupt_mode "signal" (an older kernelspec, a frontend that ignores the mode): the
    // signal reaches the whole process group, Deno's kernel included, which dies of it; the
    // relay then restarts it and reports the interrupt under the cell.
    Deno.addSignalListener("SIGINT", () => relay.noteSigint());
  }
  const watch = parentGone(parent, jupyter);
  watch.gone.then((who) => {
    if (DEBUG) console.error(`[kit relay] ${who} is gone: shutting down`);
    relay.shutdown();
  });
  await relay.finished;
  watch.stop();
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
