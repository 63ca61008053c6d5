/**
 * The public API of the plot folder, re-exported by `lib/plot.ts`.
 *
 * @module
 */
export * from "./types.ts";
export * from "./figure.ts";
export * from "./basic.ts";
export * from "./history.ts";
export * from "./surfaces.ts";
export * from "./compose.ts";
