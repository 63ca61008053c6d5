// tools/proc.ts with and without /proc: the `ps` fallback (macOS, the BSDs, containers without
// /proc) must give the same answers as /proc, zombies included.
import assert from "node:assert/strict";
import {
  childrenOf,
  commandLine,
  processAlive,
  processInfo,
  type ProcOptions,
  residentMb,
} from "../tools/proc.ts";

const linux = Deno.build.os === "linux";
const withProc: ProcOptions = { procDir: "/proc" };
const noProc: ProcOptions = { procDir: "/nonexistent/proc" };

/**
 * A shell whose child `sleep` exits at once and is never reaped: `exec sleep 30` replaces the
 * shell by a program that does not wait for children, so the first sleep stays a zombie.
 */
async function withZombie(fn: (parent: number, zombie: number) => Promise<void>): Promise<void> {
  for (let attempt = 1;; attempt++) {
    const parent = new Deno.Command("sh", {
      args: ["-c", "sleep 0 & echo $!; exec sleep 30"],
      stdout: "piped",
    }).spawn();
    const reader = parent.stdout.pipeThrough(new TextDecoderStream()).getReader();
    try {
      let text = "";
      while (!text.includes("\n")) text += (await reader.read()).value ?? "";
      const zombie = Number(text.trim());
      // Wait for the events, not a time: the child has exited once its state reads "Z", and the
      // shell has become `sleep` (until its exec, a shell may still reap the child: then the
      // child is gone and the fixture starts again).
      let info = processInfo(zombie, withProc);
      while (info && (info.state !== "Z" || processInfo(parent.pid, withProc)?.name !== "sleep")) {
        await new Promise((r) => setTimeout(r, 10));
        info = processInfo(zombie, withProc);
      }
      if (info) return await fn(parent.pid, zombie);
      assert.ok(attempt < 5, "the shell reaped its child before exec five times");
    } finally {
      parent.kill("SIGKILL");
      await parent.status;
      reader.releaseLock();
      await parent.stdout.cancel().catch(() => {});
    }
  }
}

Deno.test({
  name: "proc: the ps fallback agrees with /proc on this process, a child, a zombie, a gone pid",
  ignore: !linux,
  async fn() {
    for (const opts of [withProc, noProc]) {
      const label = opts.procDir;
      const me = processInfo(Deno.pid, opts);
      assert.ok(me, label);
      assert.equal(me.ppid, Deno.ppid, label);
      assert.equal(me.name, "deno", label);
      assert.equal(processAlive(Deno.pid, opts), true, label);
      assert.match(commandLine(Deno.pid, opts) ?? "", /deno.*test/, label);
      const mb = await residentMb(Deno.pid, opts);
      assert.ok(mb !== null && mb > 5 && mb < 50_000, `${label}: ${mb} MB`);
    }
    // Both sources measure the same process within a few MB of each other.
    const [a, b] = [await residentMb(Deno.pid, withProc), await residentMb(Deno.pid, noProc)];
    assert.ok(Math.abs(a! - b!) < 50, `/proc ${a} MB, ps ${b} MB`);

    await withZombie(async (parent, zombie) => {
      for (const opts of [withProc, noProc]) {
        const label = opts.procDir;
        assert.equal(processInfo(zombie, opts)?.state, "Z", label);
        assert.equal(processAlive(zombie, opts), false, `${label}: a zombie is not alive`);
        assert.equal(processAlive(parent, opts), true, label);
        assert.deepEqual(childrenOf(parent, opts), [zombie], label);
        assert.ok(childrenOf(Deno.pid, opts).includes(parent), label);
        assert.equal(await residentMb(zombie, opts), null, `${label}: a zombie has no memory`);
      }
    });

    const gone = new Deno.Command(Deno.execPath(), { args: ["eval", ""] }).spawn();
    await gone.status;
    for (const opts of [withProc, noProc]) {
      assert.equal(processInfo(gone.pid, opts), null, opts.procDir);
      assert.equal(processAlive(gone.pid, opts), false, opts.procDir);
      assert.equal(commandLine(gone.pid, opts), null, opts.procDir);
      assert.deepEqual(childrenOf(gone.pid, opts), [], opts.procDir);
    }
  },
});

Deno.test({
  name: "proc: with neither /proc nor ps, a process counts as running and details are unknown",
  ignore: !linux,
  async fn() {
    const env = { KIT_PROC_DIR: "/nonexistent/proc", PATH: "/nonexistent/bin" };
    const code = `
      import { processAlive, processInfo, childrenOf } from "${
      new URL("../tools/proc.ts", import.meta.url).href
    }";
      console.log(JSON.stringify([processAlive(999999999), processInfo(Deno.pid), childrenOf(1)]));
    `;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    // undefined (unknown) is not JSON: it prints as null inside an array.
    assert.deepEqual(JSON.parse(new TextDecoder().decode(out.stdout)), [true, null, []]);
  },
});
