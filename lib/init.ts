/**
 * Weight initialisation, after `torch.nn.init`. Every function fills the tensor's `data` in place
 * (like PyTorch's trailing-underscore functions `xavier_uniform_` and friends) and returns the same
 * tensor. Bounds and standard deviations are PyTorch's, including the fan computation
 * (`fan_in = size(1) * receptive field`, `fan_out = size(0) * receptive field`, where the receptive
 * field is the product of the dimensions after the second).
 *
 * Exported from `mod.ts` as the namespace `init` (`init.zeros` would clash with the tensor
 * constructor `zeros`).
 *
 * Random draws go through the explicit generator `rng`, in row-major order of the tensor:
 * uniforms as `rng.uniform(low, high)`, normals as `rng.normal(mean, std)`.
 *
 * @module
 */
import type { Tensor } from "./tensor.ts";
import type { Rng } from "./random.ts";

/** Non-linearities understood by {@link calculateGain} (PyTorch's names). */
export type Nonlinearity =
  | "linear"
  | "conv1d"
  | "conv2d"
  | "conv3d"
  | "conv_transpose1d"
  | "conv_transpose2d"
  | "conv_transpose3d"
  | "sigmoid"
  | "tanh"
  | "relu"
  | "leaky_relu"
  | "selu";

/**
 * The recommended gain for a non-linearity, as `torch.nn.init.calculate_gain`:
 * linear / conv / sigmoid 1, tanh 5/3, relu sqrt(2), leaky_relu sqrt(2 / (1 + slope^2)) with
 * `param` the negative slope (default 0.01), selu 3/4.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert";
 * import { calculateGain } from "@kit/init.ts";
 * strictEqual(calculateGain("relu"), Math.SQRT2);
 * strictEqual(calculateGain("leaky_relu", 0.2), Math.sqrt(2 / (1 + 0.2 ** 2)));
 * ```
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case "linear":
    case "conv1d":
    case "conv2d":
    case "conv3d":
    case "conv_transpose1d":
    case "conv_transpose2d":
    case "conv_transpose3d":
    case "sigmoid":
      return 1;
    case "tanh":
      return 5 / 3;
    case "relu":
      return Math.SQRT2;
    case "leaky_relu": {
      const slope = param ?? 0.01;
      if (!Number.isFinite(slope)) {
        throw new TypeError(
          `calculateGain("leaky_relu", ${param}): the negative slope must be a number`,
        );
      }
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case "selu":
      return 3 / 4;
    default:
      throw new RangeError(
        `calculateGain: unsupported nonlinearity "${nonlinearity}"; use one of linear, conv1d, ` +
          `sigmoid, tanh, relu, leaky_relu, selu`,
      );
  }
}

/**
 * `[fanIn, fanOut]` of a weight tensor as PyTorch computes them: for shape `[out, in, ...k]`,
 * `fanIn = in * prod(k)` and `fanOut = out * prod(k)`. A Linear weight `[out, in]` has
 * `fanIn = in`.
 *
 * @example
 * ```ts
 * import { deepStrictEqual } from "node:assert";
 * import { zeros } from "@kit/tensor.ts";
 * import { calculateFanInAndFanOut } from "@kit/init.ts";
 * deepStrictEqual(calculateFanInAndFanOut(zeros([10, 64])), [64, 10]);
 * ```
 */
export function calculateFanInAndFanOut(t: Tensor): [number, number] {
  const shape = t.shape;
  if (shape.length < 2) {
    throw new RangeError(
      `init: fan in and fan out can not be computed for a tensor with fewer than 2 dimensions ` +
        `(shape [${shape.join(", ")}]); fans need a weight shaped [out, in, ...]`,
    );
  }
  let receptive = 1;
  for (let i = 2; i < shape.length; i++) receptive *= shape[i];
  return [shape[1] * receptive, shape[0] * receptive];
}

function fillUniform(t: Tensor, low: number, high: number, rng: Rng, name: string): Tensor {
  requireRng(rng, name);
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] = rng.uniform(low, high);
  return t;
}

function fillNormal(t: Tensor, mean: number, std: number, rng: Rng, name: string): Tensor {
  requireRng(rng, name);
  const d = t.data;
  for (let i = 0; i < d.length; i++) d[i] = rng.normal(mean, std);
  return t;
}

function requireRng(rng: Rng | undefined, name: string): void {
  if (!rng || typeof rng.uniform !== "function") {
    throw new TypeError(
      `init.${name}: pass a seeded generator, e.g. init.${name}(w, { rng: rng(0) }) ` +
        `with rng from "@kit/random.ts"`,
    );
  }
}

/**
 * Fill with U(a, b) (default U(0, 1)), as `torch.nn.init.uniform_`.
 *
 * @example
 * ```ts
 * import { zeros } from "@kit/tensor.ts";
 * import { rng } from "@kit/random.ts";
 * import { uniform } from "@kit/init.ts";
 * import assert from "node:assert";
 * const w = uniform(zeros([3, 2]), { a: -0.1, b: 0.1, rng: rng(0) });
 * assert.ok(w.data.every((v) => v >= -0.1 && v < 0.1));
 * ```
 */
export function uniform(
  t: Tensor,
  { a = 0, b = 1, rng }: { a?: number; b?: number; rng: Rng },
): Tensor {
  return fillUniform(t, a, b, rng, "uniform");
}

/**
 * Fill with N(mean, std^2) (default N(0, 1)), as `torch.nn.init.normal_`.
 *
 * @example
 * ```ts
 * import { zeros } from "@kit/tensor.ts";
 * import { rng } from "@kit/random.ts";
 * import { normal } from "@kit/init.ts";
 * import assert from "node:assert";
 * const w = normal(zeros([3, 2]), { std: 0.01, rng: rng(0) });
 * assert.ok(w.data.every((v) => Math.abs(v) < 0.06)); // within 6 standard deviations
 * ```
 */
export function normal(
  t: Tensor,
  { mean = 0, std = 1, rng }: { mean?: number; std?: number; rng: Rng },
): Tensor {
  return fillNormal(t, mean, std, rng, "normal");
}

/**
 * Fill with a constant, as `torch.nn.init.constant_`.
 *
 * @example
 * ```ts
 * import { zeros } from "@kit/tensor.ts";
 * import { constant } from "@kit/init.ts";
 * import { deepStrictEqual } from "node:assert";
 * const b = constant(zeros([4]), 0.1);
 * deepStrictEqual(b.toArray(), [0.1, 0.1, 0.1, 0.1]);
 * ```
 */
export function constant(t: Tensor, value: number): Tensor {
  t.data.fill(value);
  return t;
}

/**
 * Fill with zeros, as `torch.nn.init.zeros_`.
 *
 * @example
 * ```ts
 * import { ones } from "@kit/tensor.ts";
 * import { zeros } from "@kit/init.ts";
 * import { deepStrictEqual } from "node:assert";
 * const b = zeros(ones([4]));
 * deepStrictEqual(b.toArray(), [0, 0, 0, 0]);
 * ```
 */
export function zeros(t: Tensor): Tensor {
  return constant(t, 0);
}

/**
 * Fill with ones, as `torch.nn.init.ones_`.
 *
 * @example
 * ```ts
 * import { zeros } from "@kit/tensor.ts";
 * import { ones } from "@kit/init.ts";
 * import { deepStrictEqual } from "node:assert";
 * const g = ones(zeros([4]));
 * deepStrictEqual(g.toArray(), [1, 1, 1, 1]);
 * ```
 */
export function ones(t: Tensor): Tensor {
  return constant(t, 1);
}

/**
 * Glorot / Xavier uniform (Glorot and Bengio 2010), as `torch.nn.init.xavier_uniform_`:
 * U(-a, a) with `a = gain * sqrt(6 / (fanIn + fanOut))`, so that the variance is
 * `gain^2 * 2 / (fanIn + fanOut)`.
 *
 * @example
 * ```ts
 * import { zeros } from "@kit/tensor.ts";
 * import { rng } from "@kit/random.ts";
 * import { xavierUniform } from "@kit/init.ts";
 * import assert from "node:assert";
 * const w = xavierUniform(zeros([32, 64]), { rng: rng(0) });
 * assert.ok(w.data.every((v) => Math.abs(v) <= Math.sqrt(6 / (32 + 64))));
 * ```
 */
export function xavierUniform(
  t: Tensor,
  { gain = 1, rng }: { gain?: number; rng: Rng },
): Tensor {
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  const std = gain * Math.sqrt(2 / (fanIn + fanOut));
  const a = Math.sqrt(3) * std;
  return fillUniform(t, -a, a, rng, "xavierUniform");
}

/**
 * Glorot / Xavier normal, as `torch.nn.init.xavier_normal_`: N(0, std^2) with
 * `std = gain * sqrt(2 / (fanIn + fanOut))`.
 *
 * @example
 * ```ts
 * import { zeros } from "@kit/tensor.ts";
 * import { rng } from "@kit/random.ts";
 * import { xavierNormal } from "@kit/init.ts";
 * import { assertClose } from "@kit/check.ts";
 * const w = xavierNormal(zeros([32, 64]), { rng: rng(0) });
 * const std = Math.sqrt(w.data.reduce((s, v) => s + v * v, 0) / w.size);
 * assertClose(std, Math.sqrt(2 / (32 + 64)), { rtol: 0.05 }); // 2048 draws: about 1.6 % noise
 * ```
 */
export function xavierNormal(
  t: Tensor,
  { gain = 1, rng }: { gain?: number; rng: Rng },
): Tensor {
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  const std = gain * Math.sqrt(2 / (fanIn + fanOut));
  return fillNormal(t, 0, std, rng, "xavierNormal");
}

/** Options of {@link kaimingUniform} and {@link kaimingNormal} (PyTorch's names and defaults). */
export interface KaimingOptions {
  /** Negative slope of the leaky ReLU that follows (only used with "leaky_relu"); default 0. */
  a?: number;
  /** "fan_in" (default) keeps the forward variance, "fan_out" the backward one. */
  mode?: "fan_in" | "fan_out";
  /** Default "leaky_relu" with a = 0, which gives the ReLU gain sqrt(2). */
  nonlinearity?: Nonlinearity;
  /** The seeded generator. */
  rng: Rng;
}

function kaimingStd(t: Tensor, a: number, mode: string, nonlinearity: Nonlinearity): number {
  const [fanIn, fanOut] = calculateFanInAndFanOut(t);
  let fan: number;
  if (mode === "fan_in") fan = fanIn;
  else if (mode === "fan_out") fan = fanOut;
  else throw new RangeError(`init.kaiming: mode must be "fan_in" or "fan_out", got "${mode}"`);
  return calculateGain(nonlinearity, a) / Math.sqrt(fan);
}

/**
 * He / Kaiming uniform (He et al. 2015), as `torch.nn.init.kaiming_uniform_`:
 * U(-bound, bound) with `bound = sqrt(3) * gain / sqrt(fan)`; with the defaults (ReLU gain sqrt(2),
 * fan_in) `bound = sqrt(6 / fanIn)`. `Linear` uses it with `a = sqrt(5)`, which gives
 * `bound = 1 / sqrt(fanIn)`.
 *
 * @example
 * ```ts
 * import { zeros } from "@kit/tensor.ts";
 * import { rng } from "@kit/random.ts";
 * import { kaimingUniform } from "@kit/init.ts";
 * import assert from "node:assert";
 * const w = kaimingUniform(zeros([32, 64]), { rng: rng(0) }); // fan_in 64, gain sqrt(2)
 * assert.ok(w.data.every((v) => Math.abs(v) <= Math.sqrt(6 / 64)));
 * ```
 */
export function kaimingUniform(
  t: Tensor,
  { a = 0, mode = "fan_in", nonlinearity = "leaky_relu", rng }: KaimingOptions,
): Tensor {
  if (t.data.length === 0) return t; // PyTorch warns and does nothing for a zero-element tensor
  const bound = Math.sqrt(3) * kaimingStd(t, a, mode, nonlinearity);
  return fillUniform(t, -bound, bound, rng, "kaimingUniform");
}

/**
 * He / Kaiming normal, as `torch.nn.init.kaiming_normal_`: N(0, std^2) with
 * `std = gain / sqrt(fan)`; with the defaults `std = sqrt(2 / fanIn)`.
 *
 * @example
 * ```ts
 * import { zeros } from "@kit/tensor.ts";
 * import { rng } from "@kit/random.ts";
 * import { kaimingNormal } from "@kit/init.ts";
 * import { assertClose } from "@kit/check.ts";
 * const w = kaimingNormal(zeros([32, 64]), { nonlinearity: "relu", rng: rng(0) });
 * const std = Math.sqrt(w.data.reduce((s, v) => s + v * v, 0) / w.size);
 * assertClose(std, Math.sqrt(2 / 64), { rtol: 0.05 }); // 2048 draws: about 1.6 % noise
 * ```
 */
export function kaimingNormal(
  t: Tensor,
  { a = 0, mode = "fan_in", nonlinearity = "leaky_relu", rng }: KaimingOptions,
): Tensor {
  if (t.data.length === 0) return t;
  return fillNormal(t, 0, kaimingStd(t, a, mode, nonlinearity), rng, "kaimingNormal");
}

/**
 * LeCun normal (LeCun et al. 1998, "Efficient BackProp"): N(0, 1 / fanIn), the variance that
 * keeps a linear unit's second moment and the one SELU's self-normalisation needs (Klambauer et
 * al. 2017). PyTorch has no function of this name: it is
 * `torch.nn.init.kaiming_normal_(w, nonlinearity="linear")`, which PyTorch's documentation
 * recommends for SELU (its `calculate_gain("selu")` of 3/4 deliberately gives a smaller
 * variance). Keras's `lecun_normal` has the same variance but draws from a normal truncated at
 * two standard deviations.
 *
 * @example
 * ```ts
 * import { zeros } from "@kit/tensor.ts";
 * import { rng } from "@kit/random.ts";
 * import { lecunNormal } from "@kit/init.ts";
 * import { assertClose } from "@kit/check.ts";
 * const w = lecunNormal(zeros([32, 64]), { rng: rng(0) });
 * const std = Math.sqrt(w.data.reduce((s, v) => s + v * v, 0) / w.size);
 * assertClose(std, Math.sqrt(1 / 64), { rtol: 0.05 }); // 2048 draws: about 1.6 % noise
 * ```
 */
export function lecunNormal(t: Tensor, { rng }: { rng: Rng }): Tensor {
  if (t.data.length === 0) return t;
  const [fanIn] = calculateFanInAndFanOut(t);
  return fillNormal(t, 0, 1 / Math.sqrt(fanIn), rng, "lecunNormal");
}

/**
 * LeCun uniform: U(-a, a) with `a = sqrt(3 / fanIn)`, variance `1 / fanIn`; in PyTorch
 * `torch.nn.init.kaiming_uniform_(w, nonlinearity="linear")`, in Keras `lecun_uniform`.
 *
 * @example
 * ```ts
 * import { zeros } from "@kit/tensor.ts";
 * import { rng } from "@kit/random.ts";
 * import { lecunUniform } from "@kit/init.ts";
 * import assert from "node:assert";
 * const w = lecunUniform(zeros([32, 64]), { rng: rng(0) });
 * assert.ok(w.data.every((v) => Math.abs(v) <= Math.sqrt(3 / 64)));
 * ```
 */
export function lecunUniform(t: Tensor, { rng }: { rng: Rng }): Tensor {
  if (t.data.length === 0) return t;
  const [fanIn] = calculateFanInAndFanOut(t);
  const a = Math.sqrt(3 / fanIn);
  return fillUniform(t, -a, a, rng, "lecunUniform");
}
