/**
 * The kit's kernel relay: what Jupyter (JupyterLab, VS Code, the classic Notebook, nbconvert)
 * starts for the "Deno (course kit)" kernel (`deno task kernel:install`, see
 * `tools/jupyter/kernelspec.ts`).
 *
 * `deno run -A tools/jupyter/relay.ts CONNECTION_FILE` binds the five channels of the connection file,
 * starts Deno's own kernel (`deno jupyter --kernel`) on private loopback ports with the same key,
 * and relays every channel. On the way it repairs the Deno kernel's message order with the code
 * the notebook runner uses (`tools/jupyter/repair.ts`): a cell's `status: idle` and `execute_reply` are
 * held back until all of its output has been forwarded, printed lines go to the cell that was
 * running when they were printed, the kit's helper cells never show, a syntax error gets its
 * message and position, and throws in timers and unhandled rejections become error outputs.
 * Messages it rewrites are signed again with the connection key.
 *
 * Cells are sent to Deno's kernel one at a time (a frontend may queue several; the relay keeps
 * the queue, and as ipykernel does, an error in a cell with `stop_on_error` aborts the cells
 * queued behind it). Everything else passes through: comms, `complete_request`,
 * `inspect_request`, `is_complete_request`, `kernel_info`, `history`, stdin (`prompt()`).
 *
 * Interrupt (`interrupt_mode: "message"`): the interrupt is passed on, which stops a busy loop; a cell still running 2 s later (awaiting a timer or a
 * promise, which Deno's kernel cannot interrupt) ends with the error "interrupted: the kernel
 * restarted, variables are lost", Deno's kernel is restarted behind the same connection, and
 * the frontend stays usable. A kernel that dies (`Deno.exit()` in a cell) is restarted the
 * same way. Shutdown (restart included) stops Deno's kernel and the relay. If the relay dies,
 * even by SIGKILL, a watchdog kills Deno's kernel; if the process that started the relay dies,
 * the relay shuts down.
 *
 * `KIT_RELAY_DEBUG=1` in the environment logs the traffic to stderr (Jupyter's log).
 *
 * @module
 */
import { ZSocket } from "./zmtp.ts";
import { spawnDenoKernel } from "./kernel.ts";
import type { DenoKernelProcess } from "./kernel.ts";
import { helperContent, OrderRepair, type RepairEvent, SETUP_CODE, syntaxError } from "./repair.ts";
import {
  freePorts,
  type Header,
  type Message,
  newHeader,
  sendQueue,
  Signer,
  sleep,
  withTimeout,
  writeConnectionFile,
} from "./wire.ts";

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
  /** Syntax-error diagnosis in progress. */
  fixing?: Promise<void>;
  released: boolean;
  /** An interrupt was requested while the cell ran. */
  interrupted?: boolean;
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
}

/** What a student sees when the relay had to restart Deno's kernel. */
export const INTERRUPTED = "interrupted: the kernel restarted, variables are lost";
/** What a student sees under a cell whose output did not end in time. */
export const MARKER_LATE =
  "this cell's output did not end in time; some of it may be missing or appear under the next cell";
/** What a student sees when an interrupt stopped the cell (a busy loop). */
export const INTERRUPTED_KEPT = "the cell was stopped; the kernel and its variables are kept";

type Out = (frames: (string | Uint8Array)[]) => Promise<void>;
const DEBUG = Boolean(Deno.env.get("KIT_RELAY_DEBUG"));

/** One inner `deno jupyter --kernel` and the sockets the relay talks to it with. */
class Inner {
  proc: DenoKernelProcess;
  shell: ZSocket;
  control: ZSocket;
  stdin: ZSocket;
  iopub = new ZSocket("SUB");
  shellOut: (frames: (string | Uint8Array)[]) => Promise<void>;
  controlOut: (frames: (string | Uint8Array)[]) => Promise<void>;
  stdinOut: (frames: (string | Uint8Array)[]) => Promise<void>;
  connDir: string;
  exited = false;
  exitCode: number | null = null;
  stderrTail = "";
  /** Start-up finished: from now on its death restarts it (before, start-up retries or fails). */
  started = false;

  constructor(proc: DenoKernelProcess, connDir: string, ports: number[]) {
    this.proc = proc;
    this.connDir = connDir;
    // The kernel addresses stdin requests to the shell socket's identity: share it.
    const routingId = `kit-relay-${crypto.randomUUID()}`;
    this.shell = new ZSocket("DEALER", { identity: routingId });
    this.stdin = new ZSocket("DEALER", { identity: routingId });
    this.control = new ZSocket("DEALER");
    this.shellOut = sendQueue(this.shell);
    this.stdinOut = sendQueue(this.stdin);
    this.controlOut = sendQueue(this.control);
    const [shell, iopub, stdin, control] = ports;
    this.shell.connect("127.0.0.1", shell);
    this.control.connect("127.0.0.1", control);
    this.stdin.connect("127.0.0.1", stdin);
    this.iopub.connect("127.0.0.1", iopub);
  }

  close(): void {
    for (const s of [this.shell, this.control, this.stdin, this.iopub]) {
      try {
        s.close();
      } catch { /* closed */ }
    }
    // Synchronously: the relay exits right after its last close, before a promise would settle.
    try {
      Deno.removeSync(this.connDir, { recursive: true });
    } catch { /* gone */ }
  }
}

/**
 * A running relay (see the module notes).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { Relay } from "./relay.ts";
 * import { freePorts, newHeader, Signer } from "./wire.ts";
 * import { ZSocket } from "./zmtp.ts";
 * const [shell_port, iopub_port, stdin_port, control_port, hb_port] = freePorts(5);
 * const relay = await Relay.start({
 *   ip: "127.0.0.1", transport: "tcp", key: "secret",
 *   shell_port, iopub_port, stdin_port, control_port, hb_port,
 * }, { log: () => {} });
 * const signer = new Signer("secret");
 * const shell = new ZSocket("DEALER");
 * shell.connect("127.0.0.1", shell_port);
 * const header = newHeader("kernel_info_request", "doc");
 * await shell.send(signer.encode({ header, parent_header: {}, metadata: {}, content: {} }));
 * const reply = signer.decode(await shell.receive());
 * assert.equal(reply?.header.msg_type, "kernel_info_reply");
 * assert.equal(reply?.parent_header.msg_id, header.msg_id);
 * shell.close();
 * await relay.shutdown();
 * ```
 */
export class Relay {
  #conn: Connection;
  #signer: Signer;
  #session = crypto.randomUUID();
  #log: (line: string) => void;
  #cwd: string;
  #graceMs: number;
  #markerTimeoutMs: number;
  #shell = new ZSocket("ROUTER");
  #control = new ZSocket("ROUTER");
  #stdin = new ZSocket("ROUTER");
  #iopub = new ZSocket("PUB");
  #hb = new ZSocket("REP");
  #shellOut = sendQueue(this.#shell);
  #controlOut = sendQueue(this.#control);
  #stdinOut = sendQueue(this.#stdin);
  #iopubOut = sendQueue(this.#iopub);
  #hbOut = sendQueue(this.#hb);
  #inner: Inner | null = null;
  #ready: Promise<void> = Promise.resolve();
  #repair: OrderRepair<Cell>;
  #queue: Cell[] = [];
  #running: Cell | null = null;
  /** Frontend identities of pass-through requests, by msg_id, to route replies back. */
  #routes = new Map<string, Uint8Array[]>();
  /** The relay's own requests (start-up kernel_info): their traffic is dropped. */
  #own = new Set<string>();
  #closing = false;
  #done!: () => void;
  /** Resolves when the relay has shut down. */
  readonly finished: Promise<void>;
  /** Serializes IOPub publishing: re-signing is async, the order must hold. */
  #pubChain: Promise<void> = Promise.resolve();

  private constructor(conn: Connection, opts: RelayOptions) {
    this.#conn = conn;
    this.#signer = new Signer(conn.key);
    this.#log = opts.log ?? ((l) => console.error(`[kit relay] ${l}`));
    this.#cwd = opts.cwd ?? Deno.cwd();
    this.#graceMs = opts.interruptGraceMs ?? 2_000;
    this.#markerTimeoutMs = opts.markerTimeoutMs ?? 10_000;
    this.#repair = new OrderRepair<Cell>((e) => this.#onRepair(e), this.#session);
    this.finished = new Promise((r) => (this.#done = r));
  }

  /** Binds the frontend's channels, starts Deno's kernel behind them and starts relaying. */
  static async start(conn: Connection, opts: RelayOptions = {}): Promise<Relay> {
    if (conn.signature_scheme && conn.signature_scheme !== "hmac-sha256") {
      throw new Error(
        `kit relay: signature_scheme ${conn.signature_scheme} is not supported; use hmac-sha256`,
      );
    }
    const r = new Relay(conn, opts);
    if (conn.transport !== "tcp") {
      throw new Error(`kit relay: transport ${conn.transport} is not supported; use tcp`);
    }
    r.#shell.bind(conn.ip, conn.shell_port);
    r.#control.bind(conn.ip, conn.control_port);
    r.#stdin.bind(conn.ip, conn.stdin_port);
    r.#iopub.bind(conn.ip, conn.iopub_port);
    r.#hb.bind(conn.ip, conn.hb_port);
    r.#ready = r.#startInner();
    r.#serve();

    await r.#ready;
    return r;
  }

  // ---- the inner kernel ------------------------------------------------------------------

  async #startInner(): Promise<void> {
    // freePorts() releases its probe sockets before Deno's kernel binds them, so a kernel started
    // at the same moment elsewhere can take one: retry on fresh ports, as Kernel.start does.
    for (let attempt = 1;; attempt++) {
      try {
        return await this.#startInnerOnce();
      } catch (e) {
        const lost = this.#inner;
        if (attempt >= 3 || !lost?.exited || !/AddrInUse|Address already in use/.test(String(e))) {
          throw e;
        }
        this.#log(`Deno's kernel lost a port to another process; retrying (${attempt}/3)`);
        lost.proc.disarm();
        lost.close();
      }
    }
  }

  async #startInnerOnce(): Promise<void> {
    const ports = freePorts(5);
    const { dir: connDir, file: connFile } = await writeConnectionFile(
      "kit-relay-",
      ports,
      this.#conn.key,
    );
    const inner = new Inner(spawnDenoKernel(connFile, this.#cwd), connDir, ports);
    this.#inner = inner;
    const keep = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      try {
        for await (const chunk of stream) {
          inner.stderrTail = (inner.stderrTail + decoder.decode(chunk, { stream: true }))
            .slice(-2000);
        }
      } catch { /* gone */ }
    };
    keep(inner.proc.child.stdout);
    keep(inner.proc.child.stderr);
    inner.proc.child.status.then((s) => {
      inner.exited = true;
      inner.exitCode = s.code;
      if (this.#inner === inner && inner.started && !this.#closing) this.#onInnerDied(inner);
    });
    this.#readInnerShell(inner);
    this.#readInnerIopub(inner);
    this.#readInnerStdin(inner);
    this.#readInnerControl(inner);
    // Deno's kernel listens ~0.5 s after start: resend kernel_info until both channels work.
    let replied = false;
    let published = false;
    const onInfo = (m: Message) => {
      if (this.#own.has(m.parent_header?.msg_id ?? "")) replied = true;
    };
    this.#infoWaiter = onInfo;
    this.#iopubWaiter = () => (published = true);
    const deadline = performance.now() + 30_000;
    while (!(replied && published)) {
      if (inner.exited) {
        throw new Error(`Deno's kernel exited during start-up:\n${inner.stderrTail}`);
      }
      if (performance.now() > deadline) {
        throw new Error(`Deno's kernel did not answer within 30 s:\n${inner.stderrTail}`);
      }
      const h = newHeader("kernel_info_request", this.#session);
      this.#own.add(h.msg_id);
      await inner.shellOut(
        await this.#signer.encode({
          header: h,
          parent_header: {},
          metadata: {},
          content: {},
        }),
      );
      await sleep(200);
    }
    this.#infoWaiter = null;
    this.#iopubWaiter = null;
    if (DEBUG) this.#log(`Deno's kernel answers (pid ${inner.proc.child.pid})`);
    const h = newHeader("execute_request", this.#session);
    this.#own.add(h.msg_id);
    this.#repair.helper(h.msg_id);
    const setupDone = new Promise<void>((r) => (this.#setupWaiter = { id: h.msg_id, done: r }));
    await inner.shellOut(
      await this.#signer.encode({
        header: h,
        parent_header: {},
        metadata: {},
        content: helperContent(SETUP_CODE),
      }),
    );
    if (DEBUG) this.#log("setup code sent");
    if (await withTimeout(setupDone, 10_000, "late") === "late") {
      this.#log("Deno's kernel did not run the kit's setup code within 10 s; going on without it");
    }
    inner.started = true;
    if (inner.exited && !this.#closing) this.#onInnerDied(inner); // died just now
  }

  #infoWaiter: ((m: Message) => void) | null = null;
  #iopubWaiter: (() => void) | null = null;
  #setupWaiter: { id: string; done: () => void } | null = null;

  /** Deno's kernel died by itself (`Deno.exit()`, a signal): fail the cell and start anew. */
  #onInnerDied(inner: Inner): void {
    const why = `Deno's kernel exited (code ${inner.exitCode})`;
    this.#log(why);
    // A SIGINT sent to the process group (a frontend that ignores interrupt_mode) kills it.
    const interrupted = performance.now() - this.#sigintAt < 3_000;
    this.#restartInner(interrupted ? INTERRUPTED : `${why}; it was restarted, variables are lost`);
  }

  #sigintAt = -Infinity;

  /** The relay received SIGINT (Deno's kernel, in the same process group, dies of it). */
  noteSigint(): void {
    this.#sigintAt = performance.now();
  }

  #restarting = false;

  async #restartInner(message: string): Promise<void> {
    if (this.#restarting || this.#closing) return;
    this.#restarting = true;
    const old = this.#inner;
    this.#inner = null;
    if (old) {
      old.proc.child.kill("SIGKILL");
      await old.proc.child.status.catch(() => {});
      old.proc.disarm();
      await sleep(20);
      old.close();
    }
    this.#repair.reset();
    const running = this.#running;
    const queued = this.#queue.splice(0);
    this.#publish(this.#status("restarting", undefined));
    this.#ready = this.#startInner();
    try {
      await this.#ready;
    } catch (e) {
      this.#log(`could not restart Deno's kernel: ${(e as Error).message}`);
    }
    this.#restarting = false;
    if (running && !running.released) {
      await this.#failCell(running, "KernelRestarted", message);
    }
    for (const c of queued) await this.#abort(c);
    this.#running = null;
    this.#next();
  }

  // ---- frontend -> kernel -----------------------------------------------------------------

  #serve(): void {
    this.#loop(this.#shell, (m) => this.#fromShell(m));
    this.#loop(this.#control, (m) => this.#fromControl(m));
    this.#loop(this.#stdin, (m) => this.#fromStdin(m));
    (async () => {
      for await (const frames of this.#hb) {
        // Echo only while Deno's kernel is there: a frontend then notices a dead kernel.
        if (this.#inner && !this.#inner.exited) await this.#hbOut(frames);
        else await this.#hbOut(frames); // REP must answer; a restart follows a death anyway
      }
    })().catch(() => {});
  }

  #loop(socket: ZSocket, handle: (m: Message) => Promise<void>): void {
    (async () => {
      for await (const frames of socket) {
        const msg = await this.#signer.decode(frames);
        if (!msg) {
          this.#log("dropped a frontend message with a bad signature");
          continue;
        }
        if (DEBUG) this.#log(`frontend ${msg.header.msg_type} ${msg.header.msg_id}`);
        try {
          await handle(msg);
        } catch (e) {
          this.#log(`error handling ${msg.header.msg_type}: ${(e as Error).stack}`);
        }
      }
    })().catch((e) => this.#log(`a frontend channel stopped: ${(e as Error).stack}`));
  }

  async #fromShell(msg: Message): Promise<void> {
    await this.#ready;
    if (msg.header.msg_type === "execute_request") {
      this.#queue.push({ msg, sawError: false, released: false });
      this.#next();
      return;
    }
    this.#routes.set(msg.header.msg_id, msg.identities);
    await this.#inner?.shellOut(await this.#signer.encode({ ...msg, identities: [] }));
  }

  async #fromControl(msg: Message): Promise<void> {
    const type = msg.header.msg_type;
    if (type === "interrupt_request") {
      await this.#interrupt();
      await this.#reply(this.#controlOut, msg, "interrupt_reply", { status: "ok" });
      return;
    }
    if (type === "shutdown_request") {
      const restart = Boolean(msg.content.restart);
      await this.#reply(this.#controlOut, msg, "shutdown_reply", { status: "ok", restart });
      await this.shutdown();
      return;
    }
    await this.#ready;
    this.#routes.set(msg.header.msg_id, msg.identities);
    await this.#inner?.controlOut(await this.#signer.encode({ ...msg, identities: [] }));
  }

  async #fromStdin(msg: Message): Promise<void> {
    await this.#inner?.stdinOut(await this.#signer.encode({ ...msg, identities: [] }));
  }

  /** Sends the next queued cell to Deno's kernel when none is running. */
  #next(): void {
    if (this.#running || this.#restarting || !this.#inner) return;
    const cell = this.#queue.shift();
    if (!cell) return;
    this.#running = cell;
    this.#repair.start(cell, cell.msg.header);
    const inner = this.#inner;
    inner.shellOut(this.#signer.encode({ ...cell.msg, identities: [] }))
      .catch((e) => this.#log(`could not send a cell: ${(e as Error).message}`));
  }

  /** Interrupts the running cell; restarts Deno's kernel if the cell does not stop. */
  async #interrupt(): Promise<void> {
    const cell = this.#running;
    const inner = this.#inner;
    if (!cell || !inner) return;
    cell.interrupted = true;
    const h = newHeader("interrupt_request", this.#session);
    this.#own.add(h.msg_id);
    await inner.controlOut(
      await this.#signer.encode({ header: h, parent_header: {}, metadata: {}, content: {} }),
    );
    const deadline = performance.now() + this.#graceMs;
    while (performance.now() < deadline && !cell.reply && this.#running === cell) await sleep(25);
    if (cell.reply || this.#running !== cell) return; // it stopped (a busy loop does)
    this.#log("the interrupted cell did not stop: restarting Deno's kernel");
    await this.#restartInner(INTERRUPTED);
  }

  // ---- kernel -> frontend -----------------------------------------------------------------

  #readInnerShell(inner: Inner): void {
    (async () => {
      for await (const frames of inner.shell) {
        const msg = await this.#signer.decode(frames);
        if (!msg || this.#inner !== inner) continue;
        if (this.#own.has(msg.parent_header?.msg_id ?? "")) {
          this.#infoWaiter?.(msg);
          continue;
        }
        this.#repair.onShell(msg);
      }
    })().catch(() => {});
  }

  #readInnerControl(inner: Inner): void {
    (async () => {
      for await (const frames of inner.control) {
        const msg = await this.#signer.decode(frames);
        if (!msg || this.#inner !== inner) continue;
        if (this.#own.has(msg.parent_header?.msg_id ?? "")) continue;
        await this.#route(this.#controlOut, msg);
      }
    })().catch(() => {});
  }

  #readInnerStdin(inner: Inner): void {
    (async () => {
      for await (const frames of inner.stdin) {
        const msg = await this.#signer.decode(frames);
        if (DEBUG) this.#log(`kernel stdin ${msg?.header.msg_type}`);
        if (!msg || this.#inner !== inner) continue;
        const ids = this.#running?.msg.identities ?? [];
        await this.#stdinOut(await this.#signer.encode({ ...msg, identities: ids }));
      }
    })().catch(() => {});
  }

  #readInnerIopub(inner: Inner): void {
    (async () => {
      for await (const frames of inner.iopub) {
        const msg = await this.#signer.decode(frames);
        if (!msg || this.#inner !== inner) continue;
        this.#iopubWaiter?.();
        const parent = msg.parent_header?.msg_id ?? "";
        if (
          this.#setupWaiter?.id === parent && msg.header.msg_type === "status" &&
          msg.content.execution_state === "idle"
        ) {
          this.#setupWaiter.done();
          this.#setupWaiter = null;
        }
        if (this.#own.has(parent)) continue;
        this.#repair.onIopub(msg);
      }
    })().catch(() => {});
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
        this.#publish(e.msg);
        return;
      case "reply": {
        const cell = e.cell;
        cell.reply = e.msg;
        const c = e.msg.content;
        const bare = c.status === "error" && c.evalue === "Execution failed" &&
          !(Array.isArray(c.traceback) && c.traceback.length);
        if (bare && !cell.sawError) {
          cell.fixing = (async () => {
            // Deno's kernel says only "Execution failed" for a syntax error and for an
            // interrupted cell: say which, under the cell.
            const info = cell.interrupted
              ? {
                ename: "Interrupted",
                evalue: INTERRUPTED_KEPT,
                traceback: [`Interrupted: ${INTERRUPTED_KEPT}`],
              }
              : await syntaxError(String(cell.msg.content.code ?? "")) ?? {
                ename: "Error",
                evalue: "Execution failed (Deno's kernel gave no reason)",
                traceback: [],
              };
            cell.reply = { ...e.msg, content: { ...c, ...info } };
            cell.sawError = true;
            this.#publish(this.#iopubMsg("error", cell.msg.header, info));
          })();
        }
        return;
      }
      case "marker": {
        const inner = this.#inner;
        if (!inner) return;
        inner.shellOut(this.#signer.encode({
          header: e.header,
          parent_header: {},
          metadata: {},
          content: e.content,
        }))
          .catch(() => {});
        // Never hold a cell forever: if its end-of-cell marker does not come (a cell that
        // silenced console output, a stuck kernel), release it with a warning under it.
        const cell = e.cell;
        setTimeout(() => {
          if (cell.released || this.#running !== cell) return;
          this.#log("an end-of-cell marker did not arrive in time; releasing the cell");
          this.#publish(this.#iopubMsg("stream", cell.msg.header, {
            name: "stderr",
            text: `[kit] ${MARKER_LATE}\n`,
          }));
          this.#repair.forget(cell.msg.header);
          this.#release(cell).catch(() => {});
        }, this.#markerTimeoutMs);
        return;
      }
      case "complete":
        this.#release(e.cell).catch((err) => this.#log(`release: ${(err as Error).message}`));
        return;
      case "foreign":
        this.#foreign(e.msg).catch(() => {});
        return;
    }
  }

  async #foreign(msg: Message): Promise<void> {
    const parent = msg.parent_header?.msg_id ?? "";
    if (this.#own.has(parent)) return;
    if (this.#routes.has(parent)) {
      // A shell reply to a pass-through request.
      const ids = this.#routes.get(parent)!;
      if (msg.header.msg_type.endsWith("_reply")) this.#routes.delete(parent);
      if (!isIopubType(msg.header.msg_type)) {
        await this.#shellOut(await this.#signer.encode({ ...msg, identities: ids }));
        return;
      }
    }
    if (isIopubType(msg.header.msg_type)) this.#publish(msg);
    else this.#log(`dropped a ${msg.header.msg_type} for an unknown request`);
  }

  async #route(out: Out, msg: Message): Promise<void> {
    const parent = msg.parent_header?.msg_id ?? "";
    const ids = this.#routes.get(parent);
    if (!ids) return;
    this.#routes.delete(parent);
    await out(await this.#signer.encode({ ...msg, identities: ids }));
  }

  /** The cell is complete: its reply, then its idle, go to the frontend; the next cell starts. */
  async #release(cell: Cell): Promise<void> {
    if (cell.released) return;
    await cell.fixing;
    cell.released = true;
    const reply = cell.reply ?? this.#replyMsg(cell.msg, "execute_reply", {
      status: "error",
      ename: "KernelError",
      evalue: "no reply from Deno's kernel",
      traceback: [],
    });
    await this.#shellOut(
      await this.#signer.encode({ ...reply, identities: cell.msg.identities }),
    );
    this.#publish(this.#status("idle", cell.msg.header));
    const failed = reply.content.status === "error" && cell.msg.content.stop_on_error !== false;
    if (this.#running === cell) this.#running = null;
    if (failed) { for (const c of this.#queue.splice(0)) await this.#abort(c); }
    this.#next();
  }

  /** Ends a cell that Deno's kernel cannot finish, with an error output a student sees. */
  async #failCell(cell: Cell, ename: string, evalue: string): Promise<void> {
    cell.released = true;
    this.#publish(this.#iopubMsg("error", cell.msg.header, {
      ename,
      evalue,
      traceback: [`${ename}: ${evalue}`],
    }));
    const reply = this.#replyMsg(cell.msg, "execute_reply", {
      status: "error",
      execution_count: 0,
      ename,
      evalue,
      traceback: [`${ename}: ${evalue}`],
    });
    await this.#shellOut(
      await this.#signer.encode({ ...reply, identities: cell.msg.identities }),
    );
    this.#publish(this.#status("idle", cell.msg.header));
  }

  /** Answers a queued cell that will not run, as ipykernel does after an error. */
  async #abort(cell: Cell): Promise<void> {
    cell.released = true;
    this.#publish(this.#status("busy", cell.msg.header));
    const reply = this.#replyMsg(cell.msg, "execute_reply", { status: "aborted" });
    await this.#shellOut(
      await this.#signer.encode({ ...reply, identities: cell.msg.identities }),
    );
    this.#publish(this.#status("idle", cell.msg.header));
  }

  async #reply(
    out: Out,
    req: Message,
    type: string,
    content: Record<string, unknown>,
  ): Promise<void> {
    const msg = this.#replyMsg(req, type, content);
    await out(await this.#signer.encode({ ...msg, identities: req.identities }));
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
      identities: [new TextEncoder().encode(`kernel.kit-relay.${type}`)],
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

  /** Publishes on IOPub in call order (signing is async). */
  #publish(msg: Message): void {
    this.#pubChain = this.#pubChain.then(async () => {
      const ids = msg.identities.length
        ? msg.identities
        : [new TextEncoder().encode(`kernel.kit-relay.${msg.header.msg_type}`)];
      await this.#iopubOut(await this.#signer.encode({ ...msg, identities: ids }));
    }).catch((e) => this.#log(`publish: ${(e as Error).message}`));
  }

  /** Stops Deno's kernel and closes every socket. Idempotent. */
  async shutdown(): Promise<void> {
    if (this.#closing) return this.finished;
    this.#closing = true;
    if (DEBUG) this.#log("shutting down");
    const inner = this.#inner;
    if (inner && !inner.exited) {
      const h = newHeader("shutdown_request", this.#session);
      this.#own.add(h.msg_id);
      await inner.controlOut(
        await this.#signer.encode({
          header: h,
          parent_header: {},
          metadata: {},
          content: { restart: false },
        }),
      ).catch(() => {});
      if (await withTimeout(inner.proc.child.status, 1_000, "late") === "late") {
        inner.proc.child.kill("SIGKILL");
      }
    }
    if (inner) {
      await inner.proc.child.status.catch(() => {});
      inner.proc.disarm();
    }
    await this.#pubChain;
    await sleep(20); // let zeromq deliver queued replies (see Kernel.shutdown)
    inner?.close();
    for (
      const s of [this.#shell, this.#control, this.#stdin, this.#iopub, this.#hb]
    ) {
      try {
        s.close();
      } catch { /* closed */ }
    }
    this.#done();
  }
}

function isIopubType(type: string): boolean {
  return [
    "status",
    "stream",
    "display_data",
    "update_display_data",
    "execute_input",
    "execute_result",
    "error",
    "clear_output",
    "comm_open",
    "comm_msg",
    "comm_close",
    "debug_event",
  ].includes(type);
}

/** True while the process `pid` exists. */
function processAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return Deno.build.os !== "linux"; // no /proc: cannot tell, assume alive
  }
}

async function main(args: string[]): Promise<number> {
  // Read first: the parent may die while Deno's kernel starts.
  const parent = Number(Deno.env.get("JPY_PARENT_PID") || Deno.ppid);
  const file = args[0];
  if (!file || file === "--help" || file === "-h") {
    console.error(
      "usage: deno run -A tools/jupyter/relay.ts CONNECTION_FILE\n" +
        "The kit's kernel relay; Jupyter starts it (install with `deno task kernel:install`).",
    );
    return file ? 0 : 2;
  }
  let conn: Connection;
  try {
    conn = JSON.parse(await Deno.readTextFile(file));
  } catch (e) {
    console.error(`kit relay: cannot read the connection file ${file}: ${(e as Error).message}`);
    return 2;
  }
  // KIT_RELAY_MARKER_TIMEOUT_MS: for tests, which cannot wait 10 s.
  const markerTimeoutMs = Number(Deno.env.get("KIT_RELAY_MARKER_TIMEOUT_MS")) || undefined;
  const relay = await Relay.start(conn, { markerTimeoutMs });
  const stop = () => relay.shutdown();
  if (Deno.build.os !== "windows") {
    Deno.addSignalListener("SIGTERM", stop);
    // interrupt_mode "signal" (an older kernelspec, a frontend that ignores the mode): the
    // signal reaches the whole process group, Deno's kernel included, which dies of it; the
    // relay then restarts it and reports the interrupt under the cell.
    Deno.addSignalListener("SIGINT", () => relay.noteSigint());
  }
  // Exit when whoever started the relay is gone (Jupyter killed by SIGKILL, a closed terminal).
  const watch = setInterval(() => {
    if (parent > 1 && !processAlive(parent)) {
      if (DEBUG) console.error(`[kit relay] parent ${parent} is gone: shutting down`);
      relay.shutdown();
    }
  }, 1_000);
  await relay.finished;
  clearInterval(watch);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
