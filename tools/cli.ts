/**
 * What the command-line entry points of tools/ share.
 *
 * @module
 */
import { processAlive, processInfo } from "./proc.ts";

/**
 * Runs `main(Deno.args)` and exits with its code; an exception is printed as one line (its
 * message, which names the problem and what to do) and exits with 2.
 */
export async function runMain(main: (args: string[]) => Promise<number>): Promise<never> {
  watchLaunchers();
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    console.error((e as Error).message);
    Deno.exit(2);
  }
}

/** A `--name` option that must be a positive number; `undefined` when it was not given. */
export function positiveOption(
  tool: string,
  name: string,
  v: string | undefined,
): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(n > 0)) throw new Error(`${tool}: --${name} must be a positive number, got "${v}"`);
  return n;
}

/**
 * The processes that launched this one (`npx` -> `sh -c` -> `deno task`), nearest first, up to
 * the first one that is not a launcher (the user's shell). [] where processes cannot be listed.
 */
export function launcherChain(): number[] {
  const chain: number[] = [];
  let pid = Deno.ppid;
  for (let i = 0; i < 8 && pid > 1; i++) {
    const info = processInfo(pid);
    if (!info) break; // ended while we looked, or unknown: keep what we have
    const name = info.name.replace(/\.exe$/i, "");
    if (!/^(deno|sh|dash|node|npm|npx)( |$)/.test(name) && !name.startsWith("npm ")) break;
    chain.push(pid);
    pid = info.ppid;
  }
  return chain;
}

/**
 * Ends this process (exit 143, as on SIGTERM; "unload" handlers kill its kernels) when one of
 * its launchers is gone. Why: SIGTERM to `npx ... task nb:run` reaches npm's `sh -c`, which
 * dies without passing it on, and `deno task` and the runner went on alone (measured).
 */
function watchLaunchers(): void {
  const chain = launcherChain();
  if (!chain.length) return;
  const timer = setInterval(() => {
    for (const pid of chain) {
      if (processAlive(pid)) continue;
      console.error(`the process that started this command (pid ${pid}) has ended; stopping`);
      Deno.exit(143);
    }
  }, 1_000);
  Deno.unrefTimer(timer);
}
