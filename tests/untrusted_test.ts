// The runner's untrusted mode (tools/jupyter/untrusted.ts) against a hostile notebook
// (tests/fixtures/hostile_code.ipynb) run through `nb:run`'s command line: under --untrusted
// every attack fails and leaves no trace; under --allow-all the same notebook reads $HOME, the
// environment and the network, which proves the test can tell the two modes apart.
import assert from "node:assert/strict";
import { join } from "node:path";
import { stripAnsi } from "../tools/ansi.ts";
import { readNotebook } from "../tools/notebook/io.ts";
import { denoDir, sandboxAvailable } from "../tools/jupyter/untrusted.ts";
import { runNotebooks } from "../tools/runner.ts";

const root = new URL("../", import.meta.url).pathname;
const sandbox = sandboxAvailable();
if (!sandbox.ok && Deno.env.get("CI") === "true") {
  throw new Error(`tests/untrusted_test.ts: CI must run the sandbox, but ${sandbox.reason}`);
}
if (!sandbox.ok) console.warn(`SKIPPED the untrusted-mode tests: ${sandbox.reason}`);

interface Scene {
  /** `ATTACK <name> ok|blocked <detail>` lines, by name. */
  attacks: Map<string, { ok: boolean; detail: string }>;
  /** Requests the test's server received from the notebook. */
  requests: number;
  code: number;
  stderr: string;
  outsideWrite: string;
  /** Whether the kit's deno.lock changed during the run. */
  lockChanged: boolean;
  projectWrite: string;
  secret: string;
}

/** Runs the hostile notebook with `flag` in fresh temporary folders; returns what it did. */
async function attack(flag: "--untrusted" | "--allow-all"): Promise<Scene> {
  const base = await Deno.makeTempDir({ prefix: "kit-untrusted-" });
  try {
    const [home, outside, nbDir, out] = ["home", "outside", "nb", "out"].map((d) => join(base, d));
    for (const d of [home, outside, nbDir, out]) await Deno.mkdir(d);
    const secret = `secret-${crypto.randomUUID()}`;
    await Deno.writeTextFile(join(home, ".secret"), secret);
    await Deno.writeTextFile(join(outside, "secret.txt"), secret);
    // Build output inside the kit (grades live in dist/): hidden from the cells too.
    await Deno.mkdir(join(root, "dist"), { recursive: true });
    const distSecret = join(root, `dist/.kit-untrusted-test-${crypto.randomUUID()}.txt`);
    await Deno.writeTextFile(distSecret, secret);
    await Deno.copyFile(
      join(root, "tests/fixtures/hostile_code.ipynb"),
      join(nbDir, "hostile_code.ipynb"),
    );
    let requests = 0;
    const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => {
      requests++;
      return new Response(secret);
    });
    const port = server.addr.port;
    await Deno.writeTextFile(
      join(nbDir, "targets.json"),
      JSON.stringify({
        kitFile: join(root, "lib/random.ts"),
        home,
        homeSecret: join(home, ".secret"),
        outsideSecret: join(outside, "secret.txt"),
        distSecret,
        outsideWrite: join(outside, "pwned.txt"),
        url: `http://127.0.0.1:${port}/`,
        port,
        secret,
        // A real install would change the kit's deno.lock and node_modules: only when sandboxed.
        npmPackage: flag === "--untrusted" ? "left-pad@1.3.0" : null,
      }),
    );
    const lockBefore = await Deno.readTextFile(join(root, "deno.lock"));
    try {
      const proc = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "tools/run.ts",
          flag,
          "--jobs",
          "1",
          "--out",
          out,
          nbDir + "/hostile_code.ipynb",
        ],
        cwd: root,
        // The kernel's $HOME is this folder: the sandbox must hide it. DENO_DIR stays the
        // real cache (it would move with HOME).
        env: { HOME: home, DENO_DIR: denoDir(), KIT_TEST_SECRET: secret, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(proc.stderr) + new TextDecoder().decode(proc.stdout);
      const attacks = new Map<string, { ok: boolean; detail: string }>();
      const nb = await readNotebook(join(out, "hostile_code.ipynb")).catch(() => null);
      for (const cell of nb?.cells ?? []) {
        if (cell.cell_type !== "code") continue;
        for (const o of cell.outputs) {
          if (o.output_type !== "stream") continue;
          const text = stripAnsi(Array.isArray(o.text) ? o.text.join("") : o.text);
          for (const m of text.matchAll(/^ATTACK (\S+) (ok|blocked) ?(.*)$/gm)) {
            attacks.set(m[1], { ok: m[2] === "ok", detail: m[3] });
          }
        }
      }
      const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
      return {
        attacks,
        requests,
        code: proc.code,
        stderr,
        outsideWrite: (await exists(join(outside, "pwned.txt"))) ? "written" : "absent",
        lockChanged: (await Deno.readTextFile(join(root, "deno.lock"))) !== lockBefore,
        projectWrite: (await exists(join(nbDir, "pwned.txt"))) ? "written" : "absent",
        secret,
      };
    } finally {
      await server.shutdown();
      await Deno.remove(distSecret);
    }
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

const ATTACKS = [
  "read-kit",
  "read-home",
  "list-home",
  "read-outside",
  "read-dist",
  "read-passwd",
  "write-outside",
  "write-project",
  "net-fetch",
  "net-connect",
  "net-listen",
  "npm-import",
  "run",
  "run-node",
  "env",
  "environ",
  "request-env",
];

Deno.test({
  name: "untrusted: a hostile notebook reads only the kit; every other attack fails",
  ignore: !sandbox.ok,
  async fn() {
    const s = await attack("--untrusted");
    assert.equal(s.code, 0, `nb:run --untrusted failed:\n${s.stderr}`);
    assert.deepEqual([...s.attacks.keys()].sort(), [...ATTACKS].sort(), s.stderr);
    // The kit stays readable: the notebooks need lib/ and data/.
    assert.equal(s.attacks.get("read-kit")?.ok, true, JSON.stringify(s.attacks.get("read-kit")));
    for (const name of ATTACKS.filter((n) => n !== "read-kit")) {
      const a = s.attacks.get(name)!;
      assert.equal(a.ok, false, `attack ${name} worked under --untrusted: ${a.detail}`);
      assert.ok(!a.detail.includes(s.secret), `attack ${name} leaked the secret`);
    }
    assert.equal(s.requests, 0, "the notebook reached the test's server");
    assert.equal(s.outsideWrite, "absent", "a file was written outside the staging folder");
    assert.equal(s.projectWrite, "absent", "a file was written into the notebook's folder");
    assert.equal(s.lockChanged, false, "the npm import changed the kit's deno.lock");
    assert.ok(
      !(await Deno.stat(join(root, "node_modules/left-pad")).then(() => true, () => false)),
      "the npm import installed a package into the kit",
    );
  },
});

Deno.test({
  name: "untrusted: the same notebook under --allow-all reads $HOME, the environment, the network",
  ignore: !sandbox.ok,
  async fn() {
    const s = await attack("--allow-all");
    assert.equal(s.code, 0, `nb:run --allow-all failed:\n${s.stderr}`);
    for (
      const name of [
        "read-kit",
        "read-home",
        "read-outside",
        "read-dist",
        "env",
        "net-fetch",
        "run",
      ]
    ) {
      assert.equal(
        s.attacks.get(name)?.ok,
        true,
        `${name}: ${JSON.stringify(s.attacks.get(name))}`,
      );
    }
    assert.equal(s.attacks.get("read-home")?.detail, s.secret);
    assert.equal(s.attacks.get("env")?.detail, s.secret);
    assert.ok(s.requests >= 1);
    assert.equal(s.outsideWrite, "written");
  },
});

Deno.test({
  name:
    "untrusted: a notebook that imports the kit and reads data gives the same outputs both ways",
  ignore: !sandbox.ok,
  async fn() {
    const cells: Record<string, string[]> = {};
    for (const trust of ["untrusted", "all"] as const) {
      const s = await runNotebooks([join(root, "tests/fixtures/pass.ipynb")], {
        outDir: null,
        trust,
        concurrency: 1,
      });
      assert.equal(s.runs[0].status, "ok", s.runs[0].message);
      cells[trust] = s.runs[0].notebook!.cells.map((c) =>
        c.cell_type === "code" ? JSON.stringify([c.execution_count, c.outputs]) : ""
      );
    }
    assert.ok(cells.all.some((c) => c.includes("hello")), "the fixture printed nothing");
    assert.deepEqual(cells.untrusted, cells.all);
  },
});

Deno.test("untrusted: nb:run refuses --untrusted with --allow-all, exit 2", async () => {
  const p = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tools/run.ts", "--untrusted", "--allow-all", "tests/fixtures/pass.ipynb"],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(p.code, 2);
  assert.match(
    new TextDecoder().decode(p.stderr),
    /--untrusted and --allow-all exclude each other/,
  );
});
