/**
 * The checker realm's worker (see `checker.ts`): imports the notebook's modules afresh, compiles
 * the hidden checks (TypeScript types stripped by `node:module`, nothing written to disk), and
 * runs one when asked. A name a check neither declares nor imports is resolved through a Proxy
 * placed in the global object's prototype chain: the worker asks the student's realm for it and
 * gets a function stub (each call crosses to the sandbox and back) or a copy of the value.
 *
 * @module
 */
import { stripTypeScriptTypes } from "node:module";
import { receiveMessageOnPort } from "node:worker_threads";
import { types } from "node:util";
import { captureIntrinsics, type KitClasses, makeCodec } from "./codec.ts";
import { FLAG_WAITING, type HiddenCheck, withoutImports } from "./checker.ts";
import * as kitModule from "../../lib/mod.ts";

interface Init {
  specs: string[];
  bindings: [string, number, string][];
  checks: HiddenCheck[];
  exerciseNames: string[] | null;
  sab: SharedArrayBuffer;
  port: MessagePort;
}

const OUTPUT_CAP = 20_000;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
const kit: KitClasses = {
  Tensor: kitModule.Tensor as unknown as KitClasses["Tensor"],
  Parameter: kitModule.Parameter as unknown as KitClasses["Parameter"],
  Rng: kitModule.Rng,
  rng: kitModule.rng,
  modules: {
    Linear: kitModule.Linear,
    ReLU: kitModule.ReLU,
    Tanh: kitModule.Tanh,
    Sigmoid: kitModule.Sigmoid,
    Identity: kitModule.Identity,
    LeakyReLU: kitModule.LeakyReLU,
    Flatten: kitModule.Flatten,
    Dropout: kitModule.Dropout,
    BatchNorm1d: kitModule.BatchNorm1d,
    LayerNorm: kitModule.LayerNorm,
    Sequential: kitModule.Sequential,
  },
};
const codec = makeCodec(captureIntrinsics(types.isProxy), kit);

/** An error thrown by the submission's function, rebuilt here from its name and message. */
class SubmissionError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

let port: MessagePort;
let flag: Int32Array;
let exerciseNames: Set<string> | null = null;
const compiled = new Map<number, { id: string; fn?: () => Promise<void>; error?: string }>();
/** Names resolved during the running check (a fresh lookup per check). */
let scope: Map<string, { kind: "function" | "value" | "absent"; value?: unknown }> | null = null;
let output = "";

/** One request to the student's realm, answered synchronously. */
function request(text: string): Record<string, unknown> {
  Atomics.store(flag, 0, FLAG_WAITING);
  self.postMessage({ req: text });
  let got: { message: unknown } | undefined;
  for (;;) {
    Atomics.wait(flag, 0, FLAG_WAITING, 1000);
    got = receiveMessageOnPort(port as unknown as Parameters<typeof receiveMessageOnPort>[0]);
    if (got !== undefined) break;
  }
  const answer = JSON.parse(String(got.message));
  if (typeof answer.dead === "string") throw new Error(answer.dead);
  if (answer.r === undefined) throw new TypeError("the submission's process answered nonsense");
  return answer.r;
}

function callRemote(name: string, args: unknown[]): unknown {
  const encoded: string[] = [];
  for (let i = 0; i < args.length; i++) {
    try {
      encoded.push(codec.encode(args[i], `argument ${i + 1} of ${name}`));
    } catch (e) {
      throw new TypeError(`${(e as Error).message}: a check passes only data to the submission`);
    }
  }
  const r = request(`{"op":"call","name":${JSON.stringify(name)},"args":[${encoded.join(",")}]}`);
  if (r.ok === true) {
    const back = Array.isArray(r.args) ? r.args : [];
    for (let i = 0; i < args.length; i++) {
      if (typeof args[i] === "object" && args[i] !== null && back[i] != null) {
        codec.writeBack(args[i], back[i]);
      }
    }
    return codec.decode(r.result);
  }
  if (typeof r.clone === "string") {
    throw new TypeError(
      `${r.clone}: it cannot be graded; return numbers, arrays, typed arrays, plain objects ` +
        `or the kit's tensors`,
    );
  }
  throw new SubmissionError(String(r.name ?? "Error"), String(r.message ?? ""));
}

function resolve(name: string) {
  let got = scope!.get(name);
  if (got !== undefined) return got;
  const r = request(`{"op":"lookup","name":${JSON.stringify(name)}}`);
  if (r.kind === "function") {
    const stub = (...args: unknown[]) => callRemote(name, args);
    Object.defineProperty(stub, "name", { value: name });
    got = { kind: "function", value: stub };
  } else if (r.kind === "value") {
    got = { kind: "value", value: codec.decode(r.value) };
  } else if (r.kind === "error") {
    throw new TypeError(`${String(r.why)}: it cannot be graded`);
  } else {
    got = { kind: "absent" };
  }
  scope!.set(name, got);
  return got;
}

const remoteName = (k: PropertyKey): k is string =>
  scope !== null && typeof k === "string" && IDENTIFIER.test(k) &&
  (exerciseNames === null || exerciseNames.has(k));

function installScope(): void {
  const proto = Object.getPrototypeOf(globalThis);
  Object.setPrototypeOf(
    globalThis,
    new Proxy(proto, {
      has(t, k) {
        if (Reflect.has(t, k)) return true;
        return remoteName(k) && resolve(k).kind !== "absent";
      },
      get(t, k, receiver) {
        if (Reflect.has(t, k) || !remoteName(k)) return Reflect.get(t, k, receiver);
        const r = resolve(k);
        if (r.kind === "absent") throw new ReferenceError(`${k} is not defined in the submission`);
        return r.value;
      },
    }),
  );
}

function captureConsole(): void {
  const out = (...a: unknown[]) => {
    if (output.length >= OUTPUT_CAP) return;
    output += a.map((x) => typeof x === "string" ? x : Deno.inspect(x)).join(" ") + "\n";
  };
  for (const k of ["log", "info", "warn", "error", "debug", "table", "dir"] as const) {
    (console as unknown as Record<string, unknown>)[k] = out;
  }
}

function messageOf(e: unknown): string {
  let m: string;
  if (e instanceof Error) m = `${e.name}: ${e.message}`;
  else m = `thrown: ${String(e)}`;
  if (e instanceof ReferenceError && exerciseNames !== null && /is not defined$/.test(e.message)) {
    m += " (a hidden check may use only the notebook's imports and the names the exercise " +
      "cells declare: see docs/exercises.md)";
  }
  return m.slice(0, 4000);
}

async function init(o: Init): Promise<void> {
  port = o.port;
  flag = new Int32Array(o.sab);
  exerciseNames = o.exerciseNames === null ? null : new Set(o.exerciseNames);
  const modules = await Promise.all(o.specs.map((s) => import(s)));
  const locals: string[] = [], values: unknown[] = [];
  for (const [local, index, name] of o.bindings) {
    if (locals.includes(local)) continue;
    locals.push(local);
    values.push(name === "*" ? modules[index] : modules[index][name]);
  }
  for (const c of o.checks) {
    try {
      const js = stripTypeScriptTypes(withoutImports(c.source));
      const factory = new Function(
        ...locals,
        `"use strict";\nreturn async function () {\n${js}\n};`,
      );
      compiled.set(c.cell, { id: c.id, fn: factory(...values) });
    } catch (e) {
      compiled.set(c.cell, { id: c.id, error: messageOf(e) });
    }
  }
  captureConsole();
  installScope();
}

async function run(cell: number): Promise<void> {
  const c = compiled.get(cell);
  let passed = false, message = "";
  output = "";
  if (!c) message = "no such hidden check";
  else if (c.error !== undefined) message = `the check could not be compiled: ${c.error}`;
  else {
    scope = new Map();
    try {
      await c.fn!();
      passed = true;
    } catch (e) {
      message = messageOf(e);
    } finally {
      scope = null;
    }
  }
  self.postMessage({ done: cell, passed, message, output });
}

self.onmessage = (e: MessageEvent) => {
  const m = e.data as { init?: Init; run?: number };
  if (m.init) {
    init(m.init).then(
      () => self.postMessage({ ready: true }),
      (err) => self.postMessage({ initError: messageOf(err) }),
    );
  } else if (typeof m.run === "number") run(m.run);
};
