/**
 * What the command-line entry points of tools/ share.
 *
 * @module
 */

/**
 * Runs `main(Deno.args)` and exits with its code; an exception is printed as one line (its
 * message, which names the problem and what to do) and exits with 2.
 */
export async function runMain(main: (args: string[]) => Promise<number>): Promise<never> {
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
