/**
 * The kit's public API: the engine (tensors, autograd, layers, losses), training (optimizers,
 * schedules, regularizers, fit), data, linear algebra and checks, re-exported flat; `init` and
 * `plot` as namespaces because their names (`init.zeros`, `plot.line`) would clash.
 *
 * @module
 */
export * from "./tensor.ts";
export * from "./check.ts";
export * from "./claim.ts";
export * from "./random.ts";
export * from "./nn.ts";
export * from "./losses.ts";
export * from "./data.ts";
export * from "./linalg.ts";
export * from "./optim.ts";
export * from "./schedules.ts";
export * from "./regularizers.ts";
export * from "./train.ts";
export * from "./parallel.ts";
export { language, setLanguage } from "./lang.ts";
export * as init from "./init.ts";
export * as plot from "./plot.ts";
