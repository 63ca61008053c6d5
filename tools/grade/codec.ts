/**
 * The data that crosses between the student's realm (the sandbox process) and the checker realm
 * (the grader's worker that runs hidden checks): structured-clone data only. A value is encoded
 * into JSON text and decoded into fresh objects of the receiving realm: numbers (NaN, ±Infinity
 * and -0 included), strings, booleans, null, undefined, bigints, arrays, plain objects, typed
 * arrays, and the kit's own values (tensors, parameters, random generators, `nn` layers), which
 * are rebuilt from their data by the receiving realm's own kit. Anything else (a function, a
 * Proxy, a getter, a symbol, an object of another class) is refused with a message naming where
 * it sits in the value.
 *
 * The same code runs on both sides. In the student's realm it runs after student code may have
 * patched every built-in, so {@link makeCodec} uses only the functions captured by
 * {@link captureIntrinsics} before any student code ran, reads properties only through their
 * descriptors (never through a getter or a prototype), and writes JSON text by string
 * concatenation. This file is also sent as text inside the sandbox prelude: it imports nothing.
 *
 * @module
 */

/** The built-ins the codec uses, captured before any student code runs. */
export interface Intrinsics {
  apply: typeof Reflect.apply;
  construct: typeof Reflect.construct;
  ownKeys: typeof Reflect.ownKeys;
  getPrototypeOf: typeof Object.getPrototypeOf;
  getOwnPropertyDescriptor: typeof Object.getOwnPropertyDescriptor;
  defineProperty: typeof Object.defineProperty;
  hasOwn: (o: object, k: PropertyKey) => boolean;
  isArray: typeof Array.isArray;
  objectProto: object;
  arrayProto: object;
  stringify: typeof JSON.stringify;
  parse: typeof JSON.parse;
  fromCharCode: typeof String.fromCharCode;
  charCodeAt: (this: string, i: number) => number;
  btoa: typeof btoa;
  atob: typeof atob;
  bigInt: typeof BigInt;
  /** `%TypedArray%.prototype`'s getters: the element type's name, buffer, offset, byte length. */
  taTag: (this: unknown) => string | undefined;
  taBuffer: (this: unknown) => ArrayBufferLike;
  taByteOffset: (this: unknown) => number;
  taByteLength: (this: unknown) => number;
  subarray: (this: Uint8Array, a: number, b: number) => Uint8Array;
  typedArrays: Record<string, new (b: ArrayBuffer | number) => ArrayLike<number | bigint>>;
  isProxy: (v: unknown) => boolean;
}

/** Captures the built-ins of the current realm. Call it before any untrusted code runs. */
export function captureIntrinsics(isProxy: (v: unknown) => boolean): Intrinsics {
  const ta = Object.getPrototypeOf(Uint8Array.prototype);
  const getter = (k: PropertyKey) => Object.getOwnPropertyDescriptor(ta, k)!.get!;
  const typedArrays = Object.create(null);
  for (
    const C of [
      Float64Array,
      Float32Array,
      Int8Array,
      Uint8Array,
      Uint8ClampedArray,
      Int16Array,
      Uint16Array,
      Int32Array,
      Uint32Array,
      BigInt64Array,
      BigUint64Array,
    ]
  ) {
    typedArrays[C.name] = C;
  }
  return Object.freeze({
    apply: Reflect.apply,
    construct: Reflect.construct,
    ownKeys: Reflect.ownKeys,
    getPrototypeOf: Object.getPrototypeOf,
    getOwnPropertyDescriptor: Object.getOwnPropertyDescriptor,
    defineProperty: Object.defineProperty,
    hasOwn: Object.hasOwn,
    isArray: Array.isArray,
    objectProto: Object.prototype,
    arrayProto: Array.prototype,
    stringify: JSON.stringify,
    parse: JSON.parse,
    fromCharCode: String.fromCharCode,
    charCodeAt: String.prototype.charCodeAt,
    btoa,
    atob,
    bigInt: BigInt,
    taTag: getter(Symbol.toStringTag) as (this: unknown) => string | undefined,
    taBuffer: getter("buffer") as (this: unknown) => ArrayBufferLike,
    taByteOffset: getter("byteOffset") as (this: unknown) => number,
    taByteLength: getter("byteLength") as (this: unknown) => number,
    subarray: Uint8Array.prototype.subarray,
    typedArrays: Object.freeze(typedArrays),
    isProxy,
  });
}

/** The kit's classes the codec rebuilds values with (the receiving realm's own copies). */
export interface KitClasses {
  Tensor: new (data: Float64Array, shape: number[], opts?: { requiresGrad?: boolean }) => object;
  Parameter: new (data: Float64Array, shape: number[], opts?: { requiresGrad?: boolean }) => object;
  Rng: { prototype: object };
  rng: (seed: number) => object;
  /** `nn` layers by class name (only these cross; a subclass of them does not). */
  modules: Record<string, { prototype: object }>;
}

/** A value that cannot cross; `path` says where it sits ("result[2].w"). */
export class CloneError extends Error {
  constructor(readonly path: string, readonly what: string) {
    super(`${path} is ${what}`);
    this.name = "CloneError";
  }
}

/** Encoder, decoder and write-back of one realm. */
export interface Codec {
  /** JSON text of `v`; throws {@link CloneError} for what cannot cross. */
  encode(v: unknown, path: string): string;
  /** A fresh value of this realm from a parsed encoding; throws TypeError on malformed input. */
  decode(tree: unknown): unknown;
  /**
   * Copies what the other realm did to an argument back into the original (`orig`): arrays,
   * plain objects, typed arrays, tensors' data, layers' fields and generators' states, in place,
   * so that a check sees an input its function modified, as it would in one realm.
   */
  writeBack(orig: unknown, tree: unknown): void;
}

const MAX_DEPTH = 200;
/** Keys a write-back never sets: they would change what an object is, not what it holds. */
const UNSAFE_KEYS = new Set(["__proto__", "constructor", "prototype"]);
const MAX_LENGTH = 50_000_000;

/** Arguments of each layer's constructor, from its decoded fields. */
type Fields = Record<string, unknown>;
const MODULE_ARGS: Record<string, (f: Fields, kit: KitClasses) => unknown[]> = {
  Linear: (f, kit) => [f.inFeatures, f.outFeatures, { bias: f.bias !== null, rng: kit.rng(0) }],
  ReLU: () => [],
  Tanh: () => [],
  Sigmoid: () => [],
  Identity: () => [],
  LeakyReLU: (f) => [f.negativeSlope],
  Flatten: (f) => [f.startDim, f.endDim],
  Dropout: (f) => [f.p, { mode: f.mode, rng: f.rng }],
  BatchNorm1d: (f) => [f.numFeatures, {
    eps: f.eps,
    momentum: f.momentum,
    affine: f.affine,
    trackRunningStats: f.trackRunningStats,
  }],
  LayerNorm: (f) => [f.normalizedShape, {
    eps: f.eps,
    elementwiseAffine: f.weight !== null,
    bias: f.bias !== null,
  }],
  Sequential: (f) => {
    const out: unknown[] = [];
    for (let i = 0; Object.hasOwn(f, String(i)); i++) out.push(f[String(i)]);
    return out;
  },
};

/** The codec of one realm, built from its captured intrinsics and its kit (null: no kit). */
export function makeCodec(k: Intrinsics, kit: KitClasses | null): Codec {
  const { apply, hasOwn, getOwnPropertyDescriptor: gopd } = k;
  const moduleNames = kit ? k.ownKeys(kit.modules) as string[] : [];
  const moduleProtos: object[] = [];
  for (let i = 0; i < moduleNames.length; i++) {
    moduleProtos[i] = kit!.modules[moduleNames[i]].prototype;
  }
  const rngGetState = kit
    ? (gopd(kit.Rng.prototype, "getState")!.value as (this: object) => unknown)
    : null;
  const rngSetState = kit
    ? (gopd(kit.Rng.prototype, "setState")!.value as (this: object, s: unknown) => void)
    : null;
  const tensorProto = kit ? kit.Tensor.prototype : null;
  const paramProto = kit ? kit.Parameter.prototype : null;

  const quote = (s: string) => k.apply(k.stringify, null, [s]) as string;
  const num = (n: number): string => {
    if (n !== n) return '{"$":"n","v":"NaN"}';
    if (n === Infinity) return '{"$":"n","v":"Infinity"}';
    if (n === -Infinity) return '{"$":"n","v":"-Infinity"}';
    if (n === 0 && 1 / n < 0) return '{"$":"n","v":"-0"}';
    return "" + n;
  };
  /** An own data property's value, or a CloneError for a getter. */
  const own = (o: object, key: string, path: string): unknown => {
    const d = gopd(o, key);
    if (d === undefined) return undefined;
    if (!hasOwn(d, "value")) throw new CloneError(path, `a getter (property "${key}")`);
    return d.value;
  };
  /** The typed-array kind of `v`, or undefined when it is none. */
  const taKind = (v: object): string | undefined => {
    try {
      return apply(k.taTag, v, []);
    } catch {
      return undefined;
    }
  };
  const bytesOf = (v: object): Uint8Array => {
    const U8 = k.typedArrays.Uint8Array as unknown as new (
      b: ArrayBufferLike,
      o: number,
      n: number,
    ) => Uint8Array;
    return k.construct(U8, [
      apply(k.taBuffer, v, []),
      apply(k.taByteOffset, v, []),
      apply(k.taByteLength, v, []),
    ]);
  };
  const base64 = (bytes: Uint8Array): string => {
    let s = "";
    const n = bytes.length;
    for (let i = 0; i < n; i += 8192) {
      const chunk = apply(k.subarray, bytes, [i, i + 8192 < n ? i + 8192 : n]);
      s += apply(k.fromCharCode, null, chunk as unknown as number[]);
    }
    return k.btoa(s);
  };
  const protoIs = (v: object, proto: object | null): boolean => {
    if (proto === null) return false;
    for (let p = k.getPrototypeOf(v), i = 0; p !== null && i < 64; p = k.getPrototypeOf(p), i++) {
      if (p === proto) return true;
    }
    return false;
  };
  const moduleName = (v: object): string | undefined => {
    const p = k.getPrototypeOf(v);
    for (let i = 0; i < moduleProtos.length; i++) if (moduleProtos[i] === p) return moduleNames[i];
    return undefined;
  };
  /** `[["key", enc], ...]` of an object's own enumerable data properties. */
  const entries = (o: object, path: string, depth: number): string => {
    const keys = k.ownKeys(o);
    let out = "[";
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      if (typeof key !== "string") {
        const d = gopd(o, key);
        if (d !== undefined && d.enumerable) throw new CloneError(path, "keyed by a symbol");
        continue;
      }
      const d = gopd(o, key);
      if (d === undefined || !d.enumerable) continue;
      if (!hasOwn(d, "value")) throw new CloneError(path, `a getter (property "${key}")`);
      out += (out.length > 1 ? "," : "") + "[" + quote(key) + "," +
        enc(d.value, path + "." + key, depth + 1) + "]";
    }
    return out + "]";
  };
  const tensor = (v: object, path: string, depth: number): string => {
    const data = own(v, "data", path);
    const shape = own(v, "shape", path);
    if (typeof data !== "object" || data === null || taKind(data) !== "Float64Array") {
      throw new CloneError(path, "a Tensor whose data is not a Float64Array");
    }
    if (typeof shape !== "object" || shape === null || !k.isArray(shape)) {
      throw new CloneError(path, "a Tensor without a shape array");
    }
    const grad = own(v, "grad", path);
    return '{"$":"t","p":' + (protoIs(v, paramProto) ? "1" : "0") + ',"s":' +
      enc(shape, path + ".shape", depth + 1) + ',"d":' + enc(data, path + ".data", depth + 1) +
      ',"rg":' + (own(v, "requiresGrad", path) === true ? "true" : "false") + ',"g":' +
      (grad === null || grad === undefined ? "null" : enc(grad, path + ".grad", depth + 1)) + "}";
  };
  const enc = (v: unknown, path: string, depth: number): string => {
    if (depth > MAX_DEPTH) throw new CloneError(path, "nested too deeply");
    switch (typeof v) {
      case "number":
        return num(v);
      case "string":
        return quote(v);
      case "boolean":
        return v ? "true" : "false";
      case "undefined":
        return '{"$":"u"}';
      case "bigint":
        return '{"$":"big","v":"' + v + '"}';
      case "symbol":
        throw new CloneError(path, "a symbol");
      case "function":
        throw new CloneError(path, k.isProxy(v) ? "a Proxy" : "a function");
    }
    if (v === null) return "null";
    const o = v as object;
    if (k.isProxy(o)) throw new CloneError(path, "a Proxy");
    const kind = taKind(o);
    if (kind !== undefined) {
      return '{"$":"ta","k":"' + kind + '","b":"' + base64(bytesOf(o)) + '"}';
    }
    if (k.isArray(o)) {
      const n = own(o, "length", path) as number;
      if (!(n >= 0 && n <= MAX_LENGTH)) throw new CloneError(path, "an array too long to grade");
      let out = '{"$":"a","v":[';
      for (let i = 0; i < n; i++) {
        out += (i ? "," : "") +
          enc(own(o, "" + i, path + "[" + i + "]"), path + "[" + i + "]", depth + 1);
      }
      return out + "]}";
    }
    const proto = k.getPrototypeOf(o);
    if (proto === k.objectProto || proto === null) {
      return '{"$":"o","v":' + entries(o, path, depth) + "}";
    }
    if (kit !== null) {
      if (protoIs(o, tensorProto)) return tensor(o, path, depth);
      if (proto === kit.Rng.prototype) {
        const s = apply(rngGetState!, o, []) as { mt: number[]; gauss: number | null };
        return '{"$":"rng","s":' + enc(s, path, depth + 1) + "}";
      }
      const name = moduleName(o);
      if (name !== undefined) {
        return '{"$":"m","c":"' + name + '","f":' + entries(o, path, depth) + "}";
      }
    }
    throw new CloneError(
      path,
      "an object of a class that cannot be graded (return numbers, arrays, typed arrays, " +
        "plain objects or the kit's tensors and layers)",
    );
  };

  const bad = (why: string): never => {
    throw new TypeError(`malformed value from the other realm: ${why}`);
  };
  const bytesFrom = (b64: string): Uint8Array => {
    const s = k.atob(b64);
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = apply(k.charCodeAt, s, [i]);
    return out;
  };
  const dec = (t: unknown, depth: number): unknown => {
    if (depth > MAX_DEPTH) bad("nested too deeply");
    if (t === null || typeof t === "number" || typeof t === "string" || typeof t === "boolean") {
      return t;
    }
    if (typeof t !== "object" || k.isArray(t)) return bad("unexpected JSON");
    const n = t as Record<string, unknown>;
    switch (n.$) {
      case "u":
        return undefined;
      case "n":
        return n.v === "NaN"
          ? NaN
          : n.v === "Infinity"
          ? Infinity
          : n.v === "-Infinity"
          ? -Infinity
          : n.v === "-0"
          ? -0
          : bad("number");
      case "big":
        return typeof n.v === "string" && /^-?\d+$/.test(n.v) ? k.bigInt(n.v) : bad("bigint");
      case "a": {
        if (!k.isArray(n.v)) return bad("array");
        const src = n.v as unknown[];
        const out: unknown[] = [];
        for (let i = 0; i < src.length; i++) {
          k.defineProperty(out, i, {
            value: dec(src[i], depth + 1),
            writable: true,
            enumerable: true,
            configurable: true,
          });
        }
        return out;
      }
      case "o": {
        if (!k.isArray(n.v)) return bad("object");
        const out: Record<string, unknown> = {};
        const src = n.v as unknown[];
        for (let i = 0; i < src.length; i++) {
          const kv = src[i] as unknown[];
          if (!k.isArray(kv) || kv.length !== 2 || typeof kv[0] !== "string") bad("entry");
          k.defineProperty(out, kv[0] as string, {
            value: dec(kv[1], depth + 1),
            writable: true,
            enumerable: true,
            configurable: true,
          });
        }
        return out;
      }
      case "ta": {
        const C = typeof n.k === "string" && hasOwn(k.typedArrays, n.k)
          ? k.typedArrays[n.k]
          : bad("typed array kind");
        if (typeof n.b !== "string") bad("typed array bytes");
        const bytes = bytesFrom(n.b as string);
        const size = (C as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
        if (bytes.length % size !== 0) bad("typed array length");
        return k.construct(C, [bytes.buffer]);
      }
      case "t": {
        if (kit === null) return bad("no kit to rebuild a Tensor with");
        const shape = dec(n.s, depth + 1);
        const data = dec(n.d, depth + 1);
        if (!(data instanceof Float64Array)) return bad("Tensor data");
        if (
          !k.isArray(shape) ||
          !(shape as unknown[]).every((d) => Number.isInteger(d) && (d as number) >= 0)
        ) return bad("Tensor shape");
        const C = n.p === 1 ? kit.Parameter : kit.Tensor;
        const out = new C(data, shape as number[], { requiresGrad: n.rg === true }) as {
          grad: unknown;
        };
        if (n.g !== null && n.g !== undefined) out.grad = dec(n.g, depth + 1);
        return out;
      }
      case "rng": {
        if (kit === null) return bad("no kit to rebuild a generator with");
        const g = kit.rng(0);
        rngSetState!.call(g, dec(n.s, depth + 1));
        return g;
      }
      case "m": {
        if (kit === null || typeof n.c !== "string" || !hasOwn(kit.modules, n.c)) {
          return bad("layer class");
        }
        const fields = dec({ $: "o", v: n.f }, depth + 1) as Fields;
        const args = hasOwn(MODULE_ARGS, n.c) ? MODULE_ARGS[n.c](fields, kit) : bad("layer class");
        const m = new (kit.modules[n.c] as unknown as new (...a: unknown[]) => Fields)(...args);
        for (const key of Object.keys(fields)) if (!UNSAFE_KEYS.has(key)) m[key] = fields[key];
        return m;
      }
    }
    return bad(`unknown kind ${String(n.$)}`);
  };

  const writeBack = (orig: unknown, t: unknown, depth = 0): void => {
    if (depth > MAX_DEPTH || typeof orig !== "object" || orig === null) return;
    if (typeof t !== "object" || t === null || k.isArray(t)) return;
    const n = t as Record<string, unknown>;
    const o = orig as Record<string, unknown>;
    if (n.$ === "a" && Array.isArray(orig) && k.isArray(n.v)) {
      const src = n.v as unknown[];
      orig.length = src.length;
      for (let i = 0; i < src.length; i++) assign(o, String(i), src[i], depth);
    } else if (n.$ === "o" && k.isArray(n.v) && Object.getPrototypeOf(orig) === Object.prototype) {
      const seen = new Set<string>();
      for (const kv of n.v as [string, unknown][]) {
        seen.add(kv[0]);
        assign(o, kv[0], kv[1], depth);
      }
      for (const key of Object.keys(o)) if (!seen.has(key)) delete o[key];
    } else if (n.$ === "ta" && ArrayBuffer.isView(orig) && !(orig instanceof DataView)) {
      const fresh = dec(n, depth) as ArrayLike<number> & { constructor: unknown };
      const ta = orig as unknown as { length: number; set(a: ArrayLike<number>): void };
      if (fresh.constructor === orig.constructor && fresh.length === ta.length) ta.set(fresh);
    } else if (n.$ === "t" && kit !== null && orig instanceof kit.Tensor) {
      writeBack(o.data, n.d, depth + 1);
      if (typeof n.rg === "boolean") o.requiresGrad = n.rg;
    } else if (n.$ === "rng" && kit !== null && protoIs(orig, kit.Rng.prototype)) {
      rngSetState!.call(orig, dec(n.s, depth + 1));
    } else if (n.$ === "m" && k.isArray(n.f) && moduleName(orig) === n.c) {
      for (const kv of n.f as [string, unknown][]) assign(o, kv[0], kv[1], depth);
    }
  };
  /** Updates `o[key]` in place when it holds an object of the same kind, else replaces it. */
  const assign = (o: Record<string, unknown>, key: string, t: unknown, depth: number) => {
    if (UNSAFE_KEYS.has(key)) return;
    const cur = o[key];
    if (typeof cur === "function") return;
    const kind = typeof t === "object" && t !== null ? (t as { $?: unknown }).$ : undefined;
    const same = typeof cur === "object" && cur !== null && (
      (kind === "a" && Array.isArray(cur)) ||
      (kind === "o" && Object.getPrototypeOf(cur) === Object.prototype) ||
      (kind === "ta" && ArrayBuffer.isView(cur)) ||
      (kind === "t" && kit !== null && cur instanceof kit.Tensor) ||
      (kind === "rng" && kit !== null && protoIs(cur, kit.Rng.prototype)) ||
      (kind === "m" && moduleName(cur) === (t as { c?: unknown }).c)
    );
    if (same) writeBack(cur, t, depth + 1);
    else o[key] = dec(t, depth + 1);
  };

  return {
    encode: (v, path) => enc(v, path, 0),
    decode: (tree) => dec(tree, 0),
    writeBack: (orig, tree) => writeBack(orig, tree, 0),
  };
}
