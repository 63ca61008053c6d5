/**
 * Is an executed notebook up to date? `deno task handouts --pdf` runs only the notebooks whose
 * executed copy in `dist/notebooks/` is not: each executed notebook records, in
 * `metadata.kit.inputs`, a SHA-256 of everything its outputs depend on: the notebook file, the
 * kit's `lib/` and `data/` folders, `deno.json`, `deno.lock` and the Deno version.
 *
 * @module
 */
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { readNotebook } from "../notebook/io.ts";

const KIT = fileURLToPath(new URL("../../", import.meta.url));

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory) out.push(...await filesUnder(p));
      else if (e.isFile) out.push(p);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out;
}

async function sha256(parts: Uint8Array[]): Promise<string> {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const all = new Uint8Array(len);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  const digest = await crypto.subtle.digest("SHA-256", all);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Computes the input keys of notebooks; the kit's shared files are read once. */
export class InputKeys {
  #shared: Promise<string> | null = null;
  constructor(readonly kitRoot: string = KIT) {}

  /** The SHA-256 of lib/, data/, deno.json, deno.lock (names and bytes) and the Deno version. */
  shared(): Promise<string> {
    this.#shared ??= (async () => {
      const enc = new TextEncoder();
      const files = [
        ...await filesUnder(join(this.kitRoot, "lib")),
        ...await filesUnder(join(this.kitRoot, "data")),
        join(this.kitRoot, "deno.json"),
        join(this.kitRoot, "deno.lock"),
      ].sort();
      const parts: Uint8Array[] = [enc.encode(`deno ${Deno.version.deno}\n`)];
      for (const f of files) {
        let bytes: Uint8Array;
        try {
          bytes = await Deno.readFile(f);
        } catch {
          bytes = enc.encode("(missing)");
        }
        parts.push(enc.encode(`\n${relative(this.kitRoot, f)} ${bytes.length}\n`), bytes);
      }
      return await sha256(parts);
    })();
    return this.#shared;
  }

  /**
   * The key of one notebook: its bytes and the shared key.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { InputKeys } from "./fresh.ts";
   * const dir = await Deno.makeTempDir();
   * await Deno.writeTextFile(`${dir}/a.ipynb`, "{}");
   * const keys = new InputKeys();
   * const a = await keys.of(`${dir}/a.ipynb`);
   * assert.equal(a, await keys.of(`${dir}/a.ipynb`), "same inputs, same key");
   * await Deno.writeTextFile(`${dir}/a.ipynb`, "{ }");
   * assert.notEqual(a, await keys.of(`${dir}/a.ipynb`), "an edited notebook is stale");
   * await Deno.remove(dir, { recursive: true });
   * ```
   */
  async of(notebookPath: string): Promise<string> {
    return await sha256([
      new TextEncoder().encode(await this.shared()),
      await Deno.readFile(notebookPath),
    ]);
  }
}

/**
 * True when `executedPath` ran to the end (`metadata.kit.status` "ok") from inputs with this
 * `key`; false when it is missing, unreadable, failed or from other inputs.
 */
export async function upToDate(executedPath: string, key: string): Promise<boolean> {
  try {
    const kit = (await readNotebook(executedPath)).metadata?.kit as
      | { status?: unknown; inputs?: unknown }
      | undefined;
    return kit?.status === "ok" && kit.inputs === key;
  } catch {
    return false;
  }
}
