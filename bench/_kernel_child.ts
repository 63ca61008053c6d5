/**
 * The kernel-backed benches (kernel_bench.ts, notebooks_bench.ts) do their work in a child
 * `deno run` process: {@link KernelChild} sends it one JSON request per line on stdin, and it
 * answers one line `{ "ms": ... }` (its own timing of the work) or `{ "error": ... }`.
 *
 * Why: shutting a kernel down crashes the process now and then (Deno 2.9.6): SIGSEGV in the
 * zeromq addon's poll callback (`zmq::Poller<...>::Callback`) behind tools/jupyter/kernel.ts, mostly when
 * the shutdown comes right after start-up (15 start + shutdown cycles: 2 runs in 10 crashed; with
 * one cell run in between: none in 10), and also with two kernels alive at once. Inside
 * `deno bench` that would take every other bench file down with it; here it fails one bench.
 * For the same reason "start" runs one (untimed) cell between start-up and shutdown.
 * `Kernel.shutdown` has since learnt to let pending socket events drain before closing, which
 * removed the crash in 20 runs of 15 cycles; the child stays as a guard.
 *
 * @module
 */
import type { Kernel } from "../tools/jupyter/kernel.ts";

/** A request to the child. */
export type Request =
  | { cmd: "start" } // start a kernel and shut it down (a cell in between, not timed)
  | { cmd: "execute"; code: string } // one cell on a kernel kept for these requests
  | { cmd: "notebook"; path: string } // tools/run.ts on one notebook, nothing written
  | { cmd: "handouts"; paths: string[]; images?: boolean }; // the handouts build into a temporary folder (figure images only with images: true)

/**
 * The child process, spawned on first use and again after it died. A request whose child crashed
 * with SIGSEGV (above) is retried once in a fresh child, with a warning on stderr.
 */
export class KernelChild {
  #proc?: Deno.ChildProcess;
  #writer?: WritableStreamDefaultWriter<Uint8Array>;
  #reader?: ReadableStreamDefaultReader<Uint8Array>;
  #buf = "";
  #decoder = new TextDecoder();

  /** Runs `req` in the child; resolves to the child's time for it in ms. */
  async run(req: Request, retry = true): Promise<number> {
    const reply = await this.#request(req);
    if ("signal" in reply && reply.signal === "SIGSEGV" && retry) {
      console.error(`kernel child crashed (SIGSEGV) during ${JSON.stringify(req)}; retrying once`);
      return this.run(req, false);
    }
    if ("ms" in reply) return reply.ms;
    throw new Error(
      "error" in reply
        ? reply.error
        : `kernel child died during ${JSON.stringify(req)}: ${reply.signal ?? reply.code}`,
    );
  }

  async #request(
    req: Request,
  ): Promise<{ ms: number } | { error: string } | { signal: string | null; code: number }> {
    if (!this.#proc) {
      this.#proc = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL(import.meta.url).pathname],
        cwd: new URL("..", import.meta.url).pathname,
        stdin: "piped",
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      this.#writer = this.#proc.stdin.getWriter();
      this.#reader = this.#proc.stdout.getReader();
      this.#buf = "";
    }
    try {
      await this.#writer!.write(new TextEncoder().encode(JSON.stringify(req) + "\n"));
      for (;;) {
        while (!this.#buf.includes("\n")) {
          const { value, done } = await this.#reader!.read();
          if (done) throw new Error("the child closed its stdout");
          this.#buf += this.#decoder.decode(value, { stream: true });
        }
        const i = this.#buf.indexOf("\n"), line = this.#buf.slice(0, i);
        this.#buf = this.#buf.slice(i + 1);
        if (line.startsWith('{"')) return JSON.parse(line); // else: stray output of the child
      }
    } catch (e) {
      const proc = this.#proc;
      this.#proc = undefined;
      this.#writer!.releaseLock();
      this.#reader!.releaseLock();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<null>((r) => (timer = setTimeout(() => r(null), 5_000)));
      const status = await Promise.race([proc.status, timeout]);
      clearTimeout(timer);
      if (status === null) { // alive but broken: end it
        proc.kill("SIGKILL");
        throw e;
      }
      return { signal: status.signal, code: status.code };
    }
  }

  /** Ends the child (it shuts its kernel down on SIGTERM). Synchronous, for `unload`. */
  kill(): void {
    try {
      this.#proc?.kill("SIGTERM");
    } catch { /* already gone */ }
  }
}

if (import.meta.main) {
  const { Kernel } = await import("../tools/jupyter/kernel.ts");
  const { formatFailure, runNotebooks } = await import("../tools/run.ts");
  const { buildHandouts } = await import("../tools/handouts.ts");
  let kernel: Kernel | undefined;
  Deno.addSignalListener("SIGTERM", () => {
    kernel?.killSync();
    Deno.exit(0);
  });

  const handle = async (r: Request): Promise<number> => {
    if (r.cmd === "start") {
      const t0 = performance.now(), k = await Kernel.start(), t1 = performance.now();
      await k.execute("0");
      const t2 = performance.now();
      await k.shutdown();
      return t1 - t0 + performance.now() - t2;
    }
    if (r.cmd === "execute") kernel ??= await Kernel.start();
    const t0 = performance.now();
    if (r.cmd === "execute") {
      const res = await kernel!.execute(r.code);
      if (res.status !== "ok") throw new Error(`cell ${r.code} failed: ${res.status}`);
    } else if (r.cmd === "notebook") {
      const s = await runNotebooks([r.path], { outDir: null, concurrency: 1 });
      if (!s.ok) throw new Error(formatFailure(s.runs[0]));
    } else {
      const dir = await Deno.makeTempDir({ prefix: "bench_handouts_" });
      try {
        const s = await buildHandouts(r.paths, {
          notebooksDir: `${dir}/notebooks`,
          handoutsDir: `${dir}/handouts`,
          images: r.images ?? false,
        });
        if (!s.ok) throw new Error(s.run.runs.map(formatFailure).join("\n"));
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }
    return performance.now() - t0;
  };

  const out = Deno.stdout.writable.getWriter(), encoder = new TextEncoder();
  let buf = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    buf += chunk;
    for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
      const req: Request = JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
      const reply = await handle(req).then(
        (ms) => ({ ms }),
        (e) => ({ error: (e as Error).message }),
      );
      await out.write(encoder.encode(JSON.stringify(reply) + "\n"));
    }
  }
  await kernel?.shutdown();
}
