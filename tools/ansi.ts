/**
 * Removing ANSI escape sequences (colours, cursor moves) from text that Deno or a kernel wrote
 * for a terminal, before it goes into a report, a test assertion or a CSV.
 *
 * @module
 */

/**
 * `text` without its ANSI CSI escape sequences (`ESC [ ... letter`: colours, cursor moves).
 *
 * @example
 * ```ts
 * import assert from "node:assert";
 * import { stripAnsi } from "./ansi.ts";
 * assert.equal(stripAnsi("\x1b[31mError\x1b[39m: \x1b[1;4mboom\x1b[0m\x1b[2K"), "Error: boom");
 * ```
 */
export function stripAnsi(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, "");
}
