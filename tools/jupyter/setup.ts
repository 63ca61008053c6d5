// The kit's setup cell: run once, silently, in every Deno kernel the kit starts, before any
// notebook cell. `inner.ts` sends this file's text as a cell (`setupCode`): everything above the
// `kit:body` line is replaced by the header of the run, the body is sent as it is, inside a
// block, so that none of its names reach the notebook. It is a module of its own so that
// `deno task check` type-checks and lints it like the rest of the kit.
//
// What it does:
// - saves the console.log of this moment under a per-run symbol: the end-of-cell marker cells
//   (`repair.ts`) print with it, so a notebook that replaces console.log does not make every
//   later cell wait for a marker that never comes;
// - reports a throw inside a timer callback, and an unhandled promise rejection, as an `error`
//   output under the cell running at that moment (Deno's kernel kept them silent, and after a
//   throw in a timer the next cell awaiting a timer hung).

// kit:header (replaced when sent: the values of this run)
const LOG_KEY: string = "kit.log";
// kit:body

const kitGlobal = globalThis as unknown as Record<string | symbol, unknown>;
kitGlobal[Symbol.for(LOG_KEY)] = console.log.bind(console);

const kitReport = (what: string, e: unknown): void => {
  const err = e instanceof Error ? e : null;
  const ename = err ? err.name : "Error";
  const evalue = err ? err.message : String(e);
  const stack = err?.stack ?? `${ename}: ${evalue}`;
  // broadcast() may return a promise or not; a throw here would hang the kernel (see above).
  try {
    Promise.resolve(Deno.jupyter.broadcast("error", {
      ename: `${ename} (${what})`,
      evalue,
      traceback: [`${what}: ${stack}`],
    })).catch(() => {});
  } catch { /* nothing left to report with */ }
};

globalThis.addEventListener("unhandledrejection", (ev) => {
  ev.preventDefault();
  kitReport("unhandled promise rejection", ev.reason);
});

for (const name of ["setTimeout", "setInterval"] as const) {
  const original = kitGlobal[name] as (callback: unknown, ...rest: unknown[]) => unknown;
  kitGlobal[name] = function (callback: unknown, ...rest: unknown[]): unknown {
    if (typeof callback !== "function") return original(callback, ...rest);
    return original(function (this: unknown, ...args: unknown[]) {
      try {
        return callback.apply(this, args);
      } catch (e) {
        kitReport(`uncaught error in a ${name} callback`, e);
      }
    }, ...rest);
  };
}
