/**
 * `deno task kernel:install` / `deno task kernel:uninstall`: registers (or removes) the kit's
 * Jupyter kernel, "Deno (course kit)" (kernel name {@link KERNEL_NAME}), which starts the kit's
 * kernel relay (`tools/jupyter/relay.ts`) in front of Deno's own kernel.
 *
 * Where: `$JUPYTER_DATA_DIR/kernels/deno-kit` when `JUPYTER_DATA_DIR` is set, otherwise
 * Jupyter's user data folder (Linux `$XDG_DATA_HOME/jupyter` or `~/.local/share/jupyter`, macOS
 * `~/Library/Jupyter`, Windows `%APPDATA%\jupyter`); `--prefix DIR` installs into
 * `DIR/share/jupyter` instead (as `jupyter kernelspec install --prefix` does). Installing again
 * replaces the spec (idempotent).
 *
 * Which Deno: the one running this command. When that binary lives in npm's npx cache
 * (`npx -y deno@2.9.6 task kernel:install`), it is copied into the kernelspec folder
 * (`kernels/deno-kit/bin/deno`), so the kernel keeps working after the cache is cleared and
 * without Deno on PATH; uninstalling removes it. `--copy-deno` forces the copy.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runMain } from "../cli.ts";
import { installPlotly } from "./plotly_asset.ts";

/** The kernel name the kit's notebooks use in `metadata.kernelspec.name`. */
export const KERNEL_NAME = "deno-kit";
/** Display name in Jupyter's kernel menus. */
export const DISPLAY_NAME = "Deno (course kit)";

/** Jupyter's data folder as `jupyter --data-dir` finds it (without Python). */
export function jupyterDataDir(env: (k: string) => string | undefined = Deno.env.get): string {
  const set = env("JUPYTER_DATA_DIR");
  if (set) return resolve(set);
  const home = env("HOME") ?? env("USERPROFILE") ?? ".";
  if (Deno.build.os === "darwin") return join(home, "Library", "Jupyter");
  if (Deno.build.os === "windows") return join(env("APPDATA") ?? home, "jupyter");
  return join(env("XDG_DATA_HOME") || join(home, ".local", "share"), "jupyter");
}

/** Options of {@link installKernel}. */
export interface InstallOptions {
  /** Jupyter data folder; default {@link jupyterDataDir}. */
  dataDir?: string;
  /** Deno binary the kernel runs; default `Deno.execPath()`. */
  deno?: string;
  /** Copy the Deno binary into the spec folder even when it is not in npx's cache. */
  copyDeno?: boolean;
  /** The kit's root folder (where deno.json is); default: this file's parent folder. */
  kitRoot?: string;
}

const kitRootDefault = () => dirname(dirname(dirname(fileURLToPath(import.meta.url))));

/** True when `path` is inside npm's npx cache (which `npm cache clean` may remove). */
export function inNpxCache(path: string): boolean {
  return /[\\/]_npx[\\/]/.test(path);
}

async function writeAtomic(path: string, data: string | Uint8Array, mode?: number) {
  const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    if (typeof data === "string") await Deno.writeTextFile(tmp, data, { mode });
    else await Deno.writeFile(tmp, data, { mode });
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/**
 * Writes the kit's kernelspec and returns its folder.
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { installKernel, uninstallKernel } from "./kernelspec.ts";
 * const dataDir = await Deno.makeTempDir();
 * const dir = await installKernel({ dataDir });
 * const spec = JSON.parse(await Deno.readTextFile(`${dir}/kernel.json`));
 * assert.equal(spec.interrupt_mode, "message");
 * assert.ok(spec.argv.at(-1) === "{connection_file}");
 * await installKernel({ dataDir }); // idempotent
 * assert.equal(await uninstallKernel({ dataDir }), true);
 * await Deno.remove(dataDir, { recursive: true });
 * ```
 */
export async function installKernel(opts: InstallOptions = {}): Promise<string> {
  const dataDir = opts.dataDir ?? jupyterDataDir();
  const root = resolve(opts.kitRoot ?? kitRootDefault());
  const specDir = join(dataDir, "kernels", KERNEL_NAME);
  await Deno.mkdir(specDir, { recursive: true });
  let deno = resolve(opts.deno ?? Deno.execPath());
  if (opts.copyDeno || inNpxCache(deno)) {
    const binDir = join(specDir, "bin");
    await Deno.mkdir(binDir, { recursive: true });
    const target = join(binDir, Deno.build.os === "windows" ? "deno.exe" : "deno");
    if (target !== deno) {
      const tmp = `${target}.${crypto.randomUUID().slice(0, 8)}.tmp`;
      try {
        await Deno.copyFile(deno, tmp);
        await Deno.chmod(tmp, 0o755).catch(() => {});
        await Deno.rename(tmp, target);
      } catch (e) {
        await Deno.remove(tmp).catch(() => {});
        throw e;
      }
    }
    deno = target;
  }
  const spec = {
    argv: [
      deno,
      "run",
      "-A",
      "--quiet",
      "--config",
      join(root, "deno.json"),
      join(root, "tools", "jupyter", "relay.ts"),
      "{connection_file}",
    ],
    display_name: DISPLAY_NAME,
    language: "typescript",
    // Deno's kernel dies of SIGINT; the relay handles an interrupt_request instead.
    interrupt_mode: "message",
    metadata: { kit: { relay: join(root, "tools", "jupyter", "relay.ts"), deno } },
  };
  await writeAtomic(join(specDir, "kernel.json"), JSON.stringify(spec, null, 2) + "\n");
  // plotly.js for the figures' HTML, served by Jupyter from this folder (plotly_asset.ts).
  await installPlotly(specDir);
  return specDir;
}

/** Removes the kit's kernelspec; false when it was not installed. */
export async function uninstallKernel(opts: { dataDir?: string } = {}): Promise<boolean> {
  const specDir = join(opts.dataDir ?? jupyterDataDir(), "kernels", KERNEL_NAME);
  try {
    await Deno.remove(specDir, { recursive: true });
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      prefix: { type: "string" },
      "copy-deno": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  const cmd = positionals[0];
  if (values.help || (cmd !== "install" && cmd !== "uninstall")) {
    console.log(
      "usage: deno task kernel:install [--prefix DIR] [--copy-deno]\n" +
        "       deno task kernel:uninstall [--prefix DIR]\n" +
        `Registers the Jupyter kernel "${DISPLAY_NAME}" (${KERNEL_NAME}) in $JUPYTER_DATA_DIR,\n` +
        "or Jupyter's user data folder, or DIR/share/jupyter with --prefix.",
    );
    return values.help ? 0 : 2;
  }
  const dataDir = values.prefix ? join(resolve(values.prefix), "share", "jupyter") : undefined;
  if (cmd === "install") {
    const dir = await installKernel({ dataDir, copyDeno: values["copy-deno"] });
    console.log(`Installed the Jupyter kernel "${DISPLAY_NAME}" (${KERNEL_NAME}) in ${dir}`);
    return 0;
  }
  const removed = await uninstallKernel({ dataDir });
  const where = join(dataDir ?? jupyterDataDir(), "kernels", KERNEL_NAME);
  console.log(removed ? `Removed ${where}` : `Nothing to remove: ${where} does not exist`);
  return 0;
}

if (import.meta.main) await runMain(main);
