/**
 * The untrusted mode of the notebook runner (`tools/runner.ts`, `deno task nb:run` and
 * `deno task handouts`): a notebook's cells run with only what the kit's notebooks need. Two
 * layers, because `deno jupyter` 2.9.6 takes no permission flags: it grants every permission
 * (`PermissionsContainer::allow_all` in Deno's `cli/tools/jupyter/mod.rs`) and ignores a
 * `permissions` set in the `deno.json` of its folder (measured: such a kernel read /etc/hostname
 * and $HOME, wrote to /tmp and spawned a process):
 *
 * - an OS sandbox, bubblewrap (`bwrap`, Linux): the kernel sees only the kit and the notebook's
 *   project (the nearest folder with a `deno.json`) without their `dist/` (grades) and
 *   `scratch/`, the notebook's folder, all read-only; the Deno binary and the system libraries;
 *   Deno's cache (`DENO_DIR`, read-only, without the REPL's history and other programs'
 *   localStorage: the runner has installed the npm packages before); its connection file; a
 *   private empty `/tmp` and `$HOME`; its own processes (`--unshare-pid`). Not `$HOME`, `/etc`,
 *   other users' files or the environment: it starts with a cleared environment
 *   ({@link sandboxEnv});
 * - Deno's permissions, revoked by a silent first cell ({@link REVOKE_CELL}) after the kit's
 *   setup cell: no write, network, import from the network, subprocess, environment, system
 *   information or FFI for any later cell (a revoked permission cannot be requested again: the
 *   kernel has no terminal to prompt on). The network namespace is shared, because the runner
 *   reaches the kernel over loopback TCP (ZeroMQ); the revoked `net` and `import` stop a cell's
 *   sockets and remote imports.
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";

/** How much a notebook's code is trusted: "untrusted" (sandboxed) or "all" (every permission). */
export type Trust = "untrusted" | "all";

/**
 * The first cell of an untrusted kernel: revokes every permission but read. Silent (it takes no
 * execution count) and ends in `undefined` so it shows nothing.
 */
export const REVOKE_CELL = 'for (const name of ["write", "net", "import", "run", "env", "sys", ' +
  '"ffi"] as const) Deno.permissions.revokeSync({ name });\nundefined;';

/** The npm registry inside the sandbox: a loopback port nothing listens on (the discard port). */
export const NO_REGISTRY = "http://127.0.0.1:9/";

/** Environment variables passed into the sandbox (the rest is cleared): what changes output. */
const PASSED_ENV = /^(NO_COLOR|FORCE_COLOR|TZ|LANG|LANGUAGE|LC_[A-Z]+|DENO_NO_UPDATE_CHECK)$/;

/** The kit's own folder (the one with `lib/` and `tools/`): always readable in the sandbox. */
export const KIT_ROOT: string = resolve(new URL("../..", import.meta.url).pathname);

/** Folders of the kit and the project hidden from the cells (build output, scratch files). */
const HIDDEN = ["dist", "scratch"];

function isDir(p: string): boolean {
  try {
    return Deno.statSync(p).isDirectory;
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return Deno.statSync(p).isFile;
  } catch {
    return false;
  }
}

/** Where bubblewrap is looked for. */
export const BWRAP = "/usr/bin/bwrap";

let available: boolean | undefined;
let unavailableReason = "";

/**
 * Whether the sandbox can run here: Linux, `bwrap` installed, and allowed to create its
 * namespaces (a container may forbid user namespaces). Probed once per process.
 */
export function sandboxAvailable(): { ok: boolean; reason: string } {
  if (available === undefined) {
    if (Deno.build.os !== "linux") {
      available = false;
      unavailableReason = `the sandbox needs Linux (this is ${Deno.build.os})`;
    } else {
      try {
        const out = new Deno.Command(BWRAP, {
          args: [...namespaceArgs(), "--ro-bind", "/", "/", "--proc", "/proc", "--", "true"],
          stdout: "null",
          stderr: "piped",
        }).outputSync();
        available = out.success;
        unavailableReason = out.success
          ? ""
          : `${BWRAP} cannot create its sandbox here: ${
            new TextDecoder().decode(out.stderr).trim()
          } (user namespaces may be disabled)`;
      } catch (e) {
        available = false;
        unavailableReason = e instanceof Deno.errors.NotFound
          ? `${BWRAP} is not installed (apt-get install -y bubblewrap)`
          : `${BWRAP} cannot run: ${(e as Error).message}`;
      }
    }
  }
  return { ok: available, reason: unavailableReason };
}

function namespaceArgs(): string[] {
  return [
    "--unshare-user-try",
    "--unshare-ipc",
    "--unshare-pid",
    "--unshare-uts",
    "--unshare-cgroup-try",
    "--die-with-parent",
  ];
}

/** Deno's cache folder as Deno computes it on Linux. */
export function denoDir(env: (name: string) => string | undefined = Deno.env.get): string {
  const own = env("DENO_DIR");
  if (own) return resolve(own);
  const cache = env("XDG_CACHE_HOME") || join(env("HOME") ?? "/", ".cache");
  return join(cache, "deno");
}

/** The nearest folder at or above `dir` that has a `deno.json`, or `dir` itself. */
export function projectRoot(dir: string): string {
  let d = resolve(dir);
  for (;;) {
    try {
      if (Deno.statSync(join(d, "deno.json")).isFile) return d;
    } catch { /* not here */ }
    const up = dirname(d);
    if (up === d) return resolve(dir);
    d = up;
  }
}

/**
 * The environment of the sandboxed kernel: HOME, PATH, DENO_DIR, an npm registry that does not
 * answer ({@link NO_REGISTRY}) and {@link PASSED_ENV}.
 */
export function sandboxEnv(
  home: string,
  cache: string,
  env: Record<string, string> = Deno.env.toObject(),
): Record<string, string> {
  const out: Record<string, string> = {
    HOME: home,
    PATH: "/usr/local/bin:/usr/bin:/bin",
    DENO_DIR: cache,
    // Deno's npm installer is not bound by the revoked permissions: a cell's `npm:` import would
    // reach the registry (measured). The packages are installed already; this address fails
    // on this machine, so nothing leaves it.
    NPM_CONFIG_REGISTRY: NO_REGISTRY,
  };
  for (const [k, v] of Object.entries(env)) if (PASSED_ENV.test(k)) out[k] = v;
  return out;
}

/**
 * The `bwrap` command line that runs `deno jupyter --kernel --conn connFile` in `cwd` inside the
 * sandbox (see the module notes).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { sandboxCommand } from "./untrusted.ts";
 * const { command, args } = sandboxCommand("/tmp/kit-kernel-x/conn.json", "/srv/course/notebooks");
 * assert.equal(command, "/usr/bin/bwrap");
 * const ro = args.indexOf("/tmp/kit-kernel-x");
 * assert.equal(args[ro - 1], "--ro-bind");
 * // The root is never bound, and the environment starts empty.
 * assert.ok(!args.some((a, i) => a === "/" && args[i - 1]?.endsWith("bind")));
 * assert.ok(args.includes("--clearenv"));
 * assert.deepEqual(args.slice(-4), ["jupyter", "--kernel", "--conn", "/tmp/kit-kernel-x/conn.json"]);
 * ```
 */
export function sandboxCommand(
  connFile: string,
  cwd: string,
): { command: string; args: string[] } {
  const dir = resolve(cwd);
  const root = projectRoot(dir);
  const cache = denoDir();
  const home = "/tmp/kit-home";
  const exe = Deno.execPath();
  const args = [...namespaceArgs(), "--clearenv"];
  for (const [k, v] of Object.entries(sandboxEnv(home, cache))) args.push("--setenv", k, v);
  // System libraries and the few files of /etc that name resolution and time zones read.
  for (const p of ["/usr", "/lib", "/lib64", "/lib32", "/bin"]) args.push("--ro-bind-try", p, p);
  for (const p of ["/etc/localtime", "/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf"]) {
    args.push("--ro-bind-try", p, p);
  }
  args.push("--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", home);
  args.push("--ro-bind", exe, exe);
  // The kit and the notebook's project, each once (a folder inside one bound already is
  // visible through it), without their build output: `dist/` holds grades (`deno task grade`)
  // that a notebook could print into its page.
  const shown: string[] = [];
  for (const d of [KIT_ROOT, root]) {
    if (shown.some((s) => d === s || d.startsWith(s + "/"))) continue;
    shown.push(d);
    args.push("--ro-bind", d, d);
  }
  for (const d of shown) {
    for (const sub of HIDDEN) if (isDir(join(d, sub))) args.push("--tmpfs", join(d, sub));
  }
  // The notebook's folder, last: it may be inside a hidden one (`dist/.i18n-es-…`).
  args.push("--ro-bind", dir, dir);
  // Deno's cache, read-only like the projects' `node_modules/`: the runner (`deno run` with the
  // same config) has installed the npm packages before any kernel starts, so a cell cannot
  // install a package of its choosing or change what a trusted run later loads.
  try {
    Deno.mkdirSync(cache, { recursive: true });
  } catch { /* bwrap names it if it is missing */ }
  args.push("--ro-bind", cache, cache);
  // What other Deno programs left in the cache: the REPL's history, their localStorage.
  if (isFile(join(cache, "deno_history.txt"))) {
    args.push("--ro-bind", "/dev/null", join(cache, "deno_history.txt"));
  }
  if (isDir(join(cache, "location_data"))) args.push("--tmpfs", join(cache, "location_data"));
  const conn = dirname(resolve(connFile));
  args.push("--ro-bind", conn, conn);
  args.push("--chdir", dir, "--", exe, "jupyter", "--kernel", "--conn", resolve(connFile));
  return { command: BWRAP, args };
}

/**
 * The trust a command runs notebooks with, from its `--untrusted` and `--allow-all` flags
 * ({@link TRUST_HELP}). Without either: "untrusted" where the sandbox can run, else "all", and
 * `warn` gets a line saying so (an explicit `--untrusted` never falls back: the runner then
 * refuses to run). Both flags at once is an error naming the command.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { sandboxAvailable, trustOption } from "./untrusted.ts";
 * assert.equal(trustOption("nb:run", true, false), "untrusted");
 * assert.equal(trustOption("nb:run", false, true), "all");
 * const warnings: string[] = [];
 * const auto = trustOption("nb:run", undefined, undefined, (l) => warnings.push(l));
 * assert.equal(auto, sandboxAvailable().ok ? "untrusted" : "all");
 * assert.equal(warnings.length, auto === "all" ? 1 : 0);
 * assert.throws(() => trustOption("nb:run", true, true), /nb:run: --untrusted and --allow-all/);
 * ```
 */
export function trustOption(
  tool: string,
  untrusted: boolean | undefined,
  allowAll: boolean | undefined,
  warn: (line: string) => void = console.error,
): Trust {
  if (untrusted && allowAll) {
    throw new Error(`${tool}: --untrusted and --allow-all exclude each other; give one`);
  }
  if (untrusted) return "untrusted";
  if (allowAll) return "all";
  const sandbox = sandboxAvailable();
  if (sandbox.ok) return "untrusted";
  warn(
    `${tool}: WARNING: the notebooks' cells run with every permission, because ${sandbox.reason}. ` +
      "Build only notebooks you trust here; --untrusted refuses to run without the sandbox.",
  );
  return "all";
}

/** The `--help` lines of `--untrusted` and `--allow-all`. */
export const TRUST_HELP =
  "--untrusted runs the cells in a sandbox (Linux, bubblewrap): they read only the kit, the\n" +
  "notebook's project and Deno's cache, and cannot write files, use the network, start\n" +
  "processes or read the environment. It is the default where the sandbox can run; elsewhere\n" +
  "the default is --allow-all, with a warning, and --untrusted refuses to run. --allow-all\n" +
  "gives the cells every permission (what `deno jupyter` grants): only for notebooks you trust.";
