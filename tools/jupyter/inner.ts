/**
 * Deno's own Jupyter kernel (`deno jupyter --kernel`) as the kit runs it behind both of its
 * frontends, the notebook runner's client (`kernel.ts`) and the relay Jupyter starts
 * (`relay.ts`). One {@link InnerKernel} is one kernel process and its four channels:
 *
 * - the process: spawned in the notebook's folder on free loopback ports, with a connection file
 *   in a private temporary folder and a random key; a port lost to another process between
 *   probing and the kernel's bind is retried on fresh ports. A watchdog kills the kernel when
 *   this process ends in any way, SIGKILL included (POSIX; on Windows the kernel is killed on
 *   every exit but SIGKILL), and every kernel still running is killed when this process
 *   unloads or dies of an uncaught error. The kernel's stdout and stderr are kept as a tail for
 *   error messages. {@link InnerKernel.exited} resolves when the process ends;
 * - the channels: shell, control and stdin (DEALER; shell and stdin share a routing identity,
 *   which the kernel addresses stdin requests to) and iopub (SUB), as `Channel`s: `send` signs
 *   and queues in call order; the owner receives every message through its `onMessage`;
 * - the handshake: `kernel_info_request` is resent until a reply and an IOPub message have
 *   arrived (the kernel listens ~0.5 s after start; a subscriber receives only once joined),
 *   then the kit's setup cell (`setup.ts`) runs silently. The traffic of the kit's own
 *   requests (handshake, setup, interrupt, shutdown) never reaches the owner;
 * - the diagnosis of the bare "Execution failed" Deno's kernel reports for a syntax error or an
 *   interrupted cell ({@link diagnoseFailure}).
 *
 * @module
 */
import { Channel, type Outgoing } from "./channel.ts";
import {
  freePorts,
  type Header,
  helperContent,
  hex,
  type Message,
  newHeader,
  withTimeout,
  writeConnectionFile,
} from "./wire.ts";
import { ZSocket } from "./zmtp.ts";
import { stripAnsi } from "../ansi.ts";

/** The kernel's channels; iopub only receives. */
export type ChannelName = "shell" | "control" | "stdin" | "iopub";

/** How the kernel process ended. */
export interface ExitStatus {
  code: number;
  signal: string | null;
}

/** A cell's error as Jupyter reports it. */
export interface ErrorInfo {
  ename: string;
  evalue: string;
  traceback: string[];
}

/** Options of {@link InnerKernel.start}. */
export interface InnerStartOptions {
  /** Working directory of the kernel (the notebook's folder, as in JupyterLab). Default: cwd. */
  cwd?: string;
  /** How long the whole start may take: the first `kernel_info_reply` and the setup cell. Default 30 000 ms. */
  timeoutMs?: number;
  /** Every message from the kernel except the traffic of the kit's own requests. */
  onMessage?: (channel: ChannelName, msg: Message) => void;
  /** Key under which the setup cell saves console.log (`Symbol.for(logKey)`); see `setup.ts`. */
  logKey?: string;
  /** Prefix of the temporary folder of the connection file. Default "kit-kernel-". */
  prefix?: string;
  /** Log line sink for what the caller may want to know (a retried start). Default: none. */
  log?: (line: string) => void;
  /**
   * The command that runs the kernel, given the connection file and folder (e.g. a sandbox,
   * `untrusted.ts`). Default: `deno jupyter --kernel --conn FILE`.
   */
  command?: (connFile: string, cwd: string) => { command: string; args: string[] };
}

/** The start of a kernel failed; the message names the folder and quotes the kernel's output. */
export class KernelStartError extends Error {
  constructor(message: string, readonly stderrTail: string, readonly exit: ExitStatus | null) {
    super(message);
    this.name = "KernelStartError";
  }
}

/** What a student sees when an interrupt stopped the cell (a busy loop). */
export const INTERRUPTED_KEPT = "the cell was stopped; the kernel and its variables are kept";

/** How many characters of the kernel's stdout and stderr are kept for error messages. */
const TAIL_CHARS = 4000;

// ---- the setup cell ---------------------------------------------------------------------------

let setupBody: string | undefined;

/**
 * The setup cell for a kernel: `setup.ts`'s body, inside a block, under a header that sets this
 * run's values (see `setup.ts`).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { setupCode } from "./inner.ts";
 * const code = setupCode("kit.log.test");
 * assert.ok(code.startsWith('{\nconst LOG_KEY: string = "kit.log.test";\n'));
 * assert.ok(code.includes('addEventListener("unhandledrejection"'));
 * assert.ok(!code.includes("kit:header"));
 * ```
 */
export function setupCode(logKey: string): string {
  if (setupBody === undefined) {
    const text = Deno.readTextFileSync(new URL("./setup.ts", import.meta.url));
    const at = text.indexOf("\n// kit:body\n");
    if (at < 0) throw new Error("tools/jupyter/setup.ts: the line `// kit:body` is missing");
    setupBody = text.slice(at + "\n// kit:body\n".length);
  }
  return `{\nconst LOG_KEY: string = ${JSON.stringify(logKey)};\n${setupBody}}\nundefined;`;
}

// ---- processes --------------------------------------------------------------------------------

/** Kernels alive in this process: killed when it unloads or dies of an uncaught error. */
const live = new Set<InnerKernel>();

/** Kills every kernel this process started, synchronously (for exit paths). */
export function killAllKernels(): void {
  for (const k of [...live]) k.killSync();
}

let exitHandlers = false;
function watchExit(add: boolean): void {
  if (add === exitHandlers) return;
  exitHandlers = add;
  const f = add ? globalThis.addEventListener : globalThis.removeEventListener;
  // Uncaught errors end the process without "unload": kill the kernels first.
  for (const type of ["unload", "error", "unhandledrejection"]) f(type, killAllKernels);
}

/**
 * Spawns `deno jupyter --kernel --conn connFile` in `cwd`, with a watchdog: an `sh` whose stdin
 * is a pipe from this process and which SIGKILLs the kernel when the pipe closes, that is when
 * this process ends in any way, SIGKILL included. (The kernel itself does not notice.) No `sh`
 * (Windows): no watchdog.
 */
function spawnKernel(
  connFile: string,
  cwd: string,
  wrap?: InnerStartOptions["command"],
): { child: Deno.ChildProcess; disarm(): void } {
  const { command, args } = wrap?.(connFile, cwd) ??
    { command: Deno.execPath(), args: ["jupyter", "--kernel", "--conn", connFile] };
  const child = new Deno.Command(command, {
    args,
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
    } catch {
      watchdog = null; // no sh: the kernel is still killed on every exit but SIGKILL
    }
  }
  let disarmed = false;
  return {
    child,
    disarm() {
      if (disarmed || !watchdog) return;
      disarmed = true;
      try {
        watchdog.kill("SIGKILL");
      } catch { /* gone */ }
    },
  };
}

// ---- the kernel -------------------------------------------------------------------------------

/**
 * One running `deno jupyter --kernel` (see the module notes).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { InnerKernel } from "./inner.ts";
 * let request = "", idle: () => void = () => {};
 * const seen: string[] = [];
 * const k = await InnerKernel.start({
 *   onMessage: (channel, m) => {
 *     if (channel !== "iopub" || m.parent_header.msg_id !== request) return;
 *     seen.push(m.header.msg_type);
 *     if (m.content.execution_state === "idle") idle();
 *   },
 * });
 * assert.equal(k.info.implementation, "Deno kernel");
 * const done = new Promise<void>((r) => (idle = r));
 * request = k.request("shell", "execute_request", { code: "1 + 1", silent: false }).msg_id;
 * await done;
 * assert.deepEqual(seen.slice(0, 2), ["status", "execute_input"]);
 * await k.shutdown();
 * assert.equal(k.alive, false);
 * ```
 */
export class InnerKernel {
  /** Process id of the kernel. */
  readonly pid: number;
  /** The session id of the kit's requests. */
  readonly session = crypto.randomUUID();
  /** Resolves when the kernel process has ended (by itself, or killed). */
  readonly exited: Promise<ExitStatus>;
  /** Milliseconds from spawn to the end of the setup cell. */
  startupMs = 0;
  /** The `kernel_info_reply` content (language_info, implementation, ...). */
  info: Record<string, unknown> = {};
  /** Set when the kit ended the kernel because its channels broke (garbled data): why. */
  brokenReason = "";

  readonly #cwd: string;
  readonly #connDir: string;
  readonly #connFile: string;
  readonly #proc: { child: Deno.ChildProcess; disarm(): void };
  readonly #channels: Record<ChannelName, Channel>;
  readonly #onMessage: (channel: ChannelName, msg: Message) => void;
  readonly #own = new Set<string>();
  #exit: ExitStatus | null = null;
  #tail = "";
  #drained: Promise<unknown>;
  #readers: Promise<unknown>;
  #closed = false;
  /** Handshake state: the first kernel_info_reply, the first IOPub message, the setup's idle. */
  #replied = false;
  #published = false;
  #setupId = "";
  #setupDone: () => void = () => {};

  private constructor(
    connDir: string,
    connFile: string,
    ports: readonly number[],
    key: string,
    opts: InnerStartOptions,
  ) {
    this.#cwd = opts.cwd ?? Deno.cwd();
    this.#connDir = connDir;
    this.#connFile = connFile;
    this.#onMessage = opts.onMessage ?? (() => {});
    this.#proc = spawnKernel(connFile, this.#cwd, opts.command); // throws when it cannot start
    this.pid = this.#proc.child.pid;
    live.add(this);
    watchExit(true);
    const keep = async (stream: ReadableStream<Uint8Array>) => {
      const decoder = new TextDecoder();
      try {
        for await (const chunk of stream) {
          this.#tail = (this.#tail + decoder.decode(chunk, { stream: true })).slice(-TAIL_CHARS);
        }
      } catch { /* process gone */ }
    };
    this.#drained = Promise.all([keep(this.#proc.child.stdout), keep(this.#proc.child.stderr)]);
    this.exited = this.#proc.child.status.then((s) => {
      this.#exit = { code: s.code, signal: s.signal };
      this.#proc.disarm();
      live.delete(this);
      if (!live.size) watchExit(false);
      return this.#exit;
    });
    // The kernel addresses stdin requests to the shell socket's identity: share it.
    const routingId = `kit-${crypto.randomUUID()}`;
    // Garbled bytes from the kernel (seen with Deno 2.9.6 after a cell printed 50 MB while the
    // next request ran): the channel is closed, and a new connection to the same kernel did not
    // bring its messages back, so the kernel is ended and its owner restarts it as after any
    // death.
    const onProtocolError = (name: ChannelName) => (why: string) => {
      if (this.#closed || this.#exit) return;
      const what = `Deno's kernel sent garbled data on ${name} (${why})`;
      this.brokenReason ||= what;
      opts.log?.(`${what}: ending it`);
      try {
        this.#proc.child.kill("SIGKILL");
      } catch { /* already gone */ }
    };
    const channel = (name: ChannelName, type: "DEALER" | "SUB", identity?: string) =>
      new Channel(new ZSocket(type, { identity, onProtocolError: onProtocolError(name) }), key);
    this.#channels = {
      shell: channel("shell", "DEALER", routingId),
      control: channel("control", "DEALER"),
      stdin: channel("stdin", "DEALER", routingId),
      iopub: channel("iopub", "SUB"),
    };
    // The order of writeConnectionFile: shell, iopub, stdin, control (hb unused).
    const [shell, iopub, stdin, control] = ports;
    const portOf = { shell, iopub, stdin, control };
    for (const name of ["shell", "control", "stdin", "iopub"] as const) {
      this.#channels[name].socket.connect("127.0.0.1", portOf[name]);
    }
    this.#readers = Promise.all(
      (Object.keys(this.#channels) as ChannelName[]).map((name) => this.#read(name)),
    );
  }

  /**
   * Starts a kernel and waits until it is ready for cells (see the module notes). Throws a
   * {@link KernelStartError} naming the folder and quoting the kernel's output when it cannot
   * spawn, exits during start-up, or does not answer or run the setup cell within `timeoutMs`.
   */
  static async start(opts: InnerStartOptions = {}): Promise<InnerKernel> {
    // freePorts() releases its probe sockets before the kernel binds them, so a process started
    // at the same moment can take one: retry on a fresh set of ports when that race is lost.
    for (let attempt = 1;; attempt++) {
      try {
        return await InnerKernel.#startOnce(opts);
      } catch (e) {
        const lostPort = e instanceof KernelStartError && e.exit !== null &&
          /AddrInUse|Address already in use/.test(e.stderrTail);
        if (attempt >= 3 || !lostPort) throw e;
        opts.log?.(`Deno's kernel lost a port to another process; retrying (${attempt}/3)`);
      }
    }
  }

  static async #startOnce(opts: InnerStartOptions): Promise<InnerKernel> {
    const t0 = performance.now();
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const deadline = t0 + timeoutMs;
    const cwd = opts.cwd ?? Deno.cwd();
    const key = hex(crypto.getRandomValues(new Uint8Array(32)));
    const ports = freePorts(5);
    const { dir, file } = await writeConnectionFile(opts.prefix ?? "kit-kernel-", ports, key);
    let k: InnerKernel;
    try {
      k = new InnerKernel(dir, file, ports, key, opts);
    } catch (e) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw new KernelStartError(
        `cannot spawn "${Deno.execPath()} jupyter --kernel" in ${cwd}: ${(e as Error).message}`,
        "",
        null,
      );
    }
    const fail = (why: string) =>
      new KernelStartError(
        `${why} (folder ${cwd}).\nKernel output:\n${k.#tail.trim() || "(empty)"}`,
        k.#tail,
        k.#exit,
      );
    try {
      while (!(k.#replied && k.#published)) {
        if (k.#exit) {
          throw fail(`Deno's kernel exited during start-up (${describeExit(k.#exit)})`);
        }
        if (performance.now() > deadline) {
          throw fail(
            `Deno's kernel did not answer a kernel_info_request within ${timeoutMs} ms; ` +
              "is `deno jupyter` working? A busy machine may need a larger start timeout",
          );
        }
        k.request("shell", "kernel_info_request", {}, { own: true });
        await withTimeout(k.exited, 200, undefined);
      }
      const setupDone = new Promise<void>((r) => (k.#setupDone = r));
      const logKey = opts.logKey ?? "kit.log";
      k.#setupId = k.request("shell", "execute_request", helperContent(setupCode(logKey)), {
        own: true,
      }).msg_id;
      const how = await withTimeout(
        Promise.race([setupDone.then(() => "ok"), k.exited.then(() => "exited")]),
        Math.max(1_000, deadline - performance.now()),
        "late",
      );
      if (how === "exited") {
        throw fail(
          `Deno's kernel exited while running the kit's setup cell (${describeExit(k.#exit!)})`,
        );
      }
      if (how === "late") {
        throw fail(`Deno's kernel did not run the kit's setup cell within ${timeoutMs} ms`);
      }
      k.startupMs = performance.now() - t0;
      return k;
    } catch (e) {
      await k.shutdown(0);
      throw e;
    }
  }

  /** True until the kernel process has ended. */
  get alive(): boolean {
    return this.#exit === null;
  }

  /** How the process ended, or null while it runs. */
  get exit(): ExitStatus | null {
    return this.#exit;
  }

  /** `performance.now()` when bytes last arrived on IOPub (a large output still arriving). */
  get lastIopubAt(): number {
    return this.#channels.iopub.socket.lastReceiveAt;
  }

  /** The last few thousand characters the kernel wrote to stdout and stderr. */
  get stderrTail(): string {
    return this.#tail;
  }

  /** The connection file (deleted on shutdown). */
  get connectionFile(): string {
    return this.#connFile;
  }

  async #read(name: ChannelName): Promise<void> {
    for await (const msg of this.#channels[name]) {
      if (this.#closed) return;
      const parent = msg.parent_header?.msg_id ?? "";
      if (name === "iopub") this.#published = true;
      if (this.#own.has(parent)) {
        if (msg.header.msg_type === "kernel_info_reply") {
          this.#replied = true;
          this.info = msg.content;
        }
        if (
          parent === this.#setupId && msg.header.msg_type === "status" &&
          msg.content.execution_state === "idle"
        ) this.#setupDone();
        continue; // the kit's own traffic
      }
      try {
        this.#onMessage(name, msg);
      } catch (e) {
        console.error(`kit: a kernel message handler failed: ${(e as Error).stack}`);
      }
    }
  }

  /**
   * Signs and sends `msg` on a channel, queued behind earlier sends (order kept whether or not
   * the caller awaits). A kernel that has been shut down drops it.
   */
  send(channel: Exclude<ChannelName, "iopub">, msg: Outgoing): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return this.#channels[channel].send(msg);
  }

  /**
   * Sends a new request of `msgType` in this kernel's session and returns its header. `own`:
   * a kit request whose replies and IOPub traffic the owner never sees.
   */
  request(
    channel: Exclude<ChannelName, "iopub">,
    msgType: string,
    content: Record<string, unknown>,
    opts: { own?: boolean } = {},
  ): Header {
    const header = newHeader(msgType, this.session);
    if (opts.own) this.#own.add(header.msg_id);
    this.send(channel, { header, content });
    return header;
  }

  /** Sends an `interrupt_request` on the control channel (Deno stops a busy loop, not an await). */
  interrupt(): void {
    this.request("control", "interrupt_request", {}, { own: true });
  }

  /** Kills the kernel at once (SIGKILL) and closes the channels, synchronously. Idempotent. */
  killSync(): void {
    if (!this.#exit) {
      try {
        this.#proc.child.kill("SIGKILL");
      } catch { /* already gone */ }
    }
    this.#proc.disarm();
    try {
      Deno.removeSync(this.#connDir, { recursive: true });
    } catch { /* already removed */ }
    this.#closeChannels();
  }

  #closeChannels(): Promise<void> {
    this.#closed = true;
    return Promise.all(Object.values(this.#channels).map((c) => c.close())).then(() => {});
  }

  /**
   * Asks the kernel to shut down, kills it if it has not exited within `graceMs`, closes the
   * channels and deletes the connection file. Resolves once the process and every socket and
   * stream are gone. Idempotent.
   */
  async shutdown(graceMs = 1_000): Promise<void> {
    if (!this.#exit && !this.#closed && graceMs > 0) {
      this.request("control", "shutdown_request", { restart: false }, { own: true });
      await withTimeout(this.exited, graceMs, undefined);
    }
    if (!this.#exit) {
      try {
        this.#proc.child.kill("SIGKILL");
      } catch { /* already gone */ }
    }
    await this.exited;
    await this.#drained;
    await this.#closeChannels();
    await this.#readers;
    await Deno.remove(this.#connDir, { recursive: true }).catch(() => {});
  }
}

/** "code 3" or "code 1, signal SIGKILL". */
export function describeExit(exit: ExitStatus): string {
  return `code ${exit.code}${exit.signal ? `, signal ${exit.signal}` : ""}`;
}

// ---- diagnosis ----------------------------------------------------------------------------------

/**
 * True for the reply Deno's kernel gives a syntax error or an interrupted cell: status "error",
 * evalue "Execution failed", no traceback (and no reason anywhere else).
 */
export function isBareFailure(content: Record<string, unknown>): boolean {
  return content.status === "error" && content.evalue === "Execution failed" &&
    !(Array.isArray(content.traceback) && content.traceback.length);
}

/**
 * What a student should read instead of a bare "Execution failed" (see {@link isBareFailure}):
 * the interrupt when the cell was interrupted, else its syntax error with line and column, else
 * that Deno's kernel gave no reason.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { diagnoseFailure } from "./inner.ts";
 * const e = await diagnoseFailure("const a = 1;\nlet x = ;");
 * assert.equal(e.ename, "SyntaxError");
 * assert.equal(e.evalue, "Expression expected (line 2, column 9)");
 * assert.equal((await diagnoseFailure("1 + 1")).evalue, "Execution failed (Deno's kernel gave no reason)");
 * assert.equal((await diagnoseFailure("while (true) {}", { interrupted: true })).ename, "Interrupted");
 * ```
 */
export async function diagnoseFailure(
  code: string,
  opts: { interrupted?: boolean } = {},
): Promise<ErrorInfo> {
  if (opts.interrupted) {
    return {
      ename: "Interrupted",
      evalue: INTERRUPTED_KEPT,
      traceback: [`Interrupted: ${INTERRUPTED_KEPT}`],
    };
  }
  return await syntaxError(code) ?? {
    ename: "Error",
    evalue: "Execution failed (Deno's kernel gave no reason)",
    traceback: [],
  };
}

/**
 * Finds a syntax error in a cell with Deno's own TypeScript parser (`deno fmt`). Returns null
 * when the code parses.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { syntaxError } from "./inner.ts";
 * const e = await syntaxError("const a = 1;\nlet x = ;");
 * assert.equal(e?.ename, "SyntaxError");
 * assert.match(e!.evalue, /Expression expected \(line 2, column 9\)/);
 * assert.equal(await syntaxError("const ok = 1;"), null);
 * ```
 */
export async function syntaxError(code: string): Promise<ErrorInfo | null> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--no-config", "--ext", "ts", "-"],
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(code)).catch(() => {});
  await writer.close().catch(() => {});
  const { code: status, stderr } = await child.output();
  if (status === 0) return null;
  const text = stripAnsi(new TextDecoder().decode(stderr));
  const m = /error: (\w*Error): (.*)\n([\s\S]*?)\n\s*at [^\n]*:(\d+):(\d+)/.exec(text);
  if (!m) return null;
  const [, ename, message, snippet, line, column] = m;
  const evalue = `${message} (line ${line}, column ${column})`;
  return {
    ename,
    evalue,
    traceback: [`${ename}: ${evalue}`, ...snippet.split("\n").filter((l) => l.trim())],
  };
}
