/**
 * The WebAssembly text (WAT) of the SIMD matrix-multiply kernel of `kernels.ts`, and its assembly
 * with npm `wabt`. `tools/gen_wasm.ts` writes the assembled bytes to the generated
 * `lib/_gemm_wasm.ts`, which `kernels.ts` loads; this module does not import either, so the
 * generator runs even when the generated file is missing or broken.
 *
 * @module
 */

/** Rows and columns of the SIMD kernel's register tile of C (f64x2 vectors along the columns). */
export const WMR = 2, WNR = 8;

/**
 * The WebAssembly text (WAT) of the SIMD kernels, the source of the embedded binary. All
 * addresses and strides are in bytes.
 *
 * `block(mcp, ncp, kc, pa, pb, pc, aRow, aStep, aPanel, bStep, bPanel, ldc, accumulate)` computes
 * the [mcp, ncp] block of C (row stride `ldc` at `pc`) = A[mcp, kc] · B[kc, ncp], or adds it to C
 * when `accumulate` is non-zero. Row pair t of A holds A(2t + r, p) at
 * `pa + t*aPanel + r*aRow + p*aStep`, column octet q of B holds B(p, 8q + c) at
 * `pb + q*bPanel + p*bStep + 8c`: packed panels (aRow 8, aStep 16, aPanel 16 kc; bStep 64,
 * bPanel 64 kc) and plain row-major copies are both such layouts. Each 2 x 8 tile of C lives in
 * 8 f64x2 registers; per step of k it loads 4 vectors of B and 2 broadcast values of A and does 8
 * vector multiply-adds.
 *
 * `pack(ncp, kc, src, ld, dst)` packs B for `block` from a copy whose columns are contiguous
 * (B(p, j) at `src + j*ld + 8p`): panels of 8 columns, B(p, 8q + c) at `dst + 64 (q kc + p) + 8c`.
 * Columns past the copy are read as they are (whatever follows it in memory): they only feed
 * columns of C that the caller drops.
 *
 * `reluGrad(px, pg, end)` sets g to 0 where x > 0 is false, in place, for the doubles from `pg`
 * to `end` (x at `px`), two at a time: the bitwise AND with the comparison mask has no branch to
 * mispredict on signs that vary at random.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert";
 * import { gemmWat } from "@kit/kernels.ts";
 * ok(gemmWat().includes("f64x2.mul"));
 * ```
 */
export function gemmWat(): string {
  const P = WNR / 2; // f64x2 column pairs per row of the tile
  const acc = (r: number, q: number) => `$c${r}_${q}`;
  const ind = (lines: string[], n: number) => lines.join("\n" + " ".repeat(n));
  // One block function: `strided` reads A and B through the stride parameters and may accumulate;
  // otherwise the layout is that of packed panels, with the strides as constants.
  const blockFunc = (strided: boolean) => {
    const locals: string[] = [], zero: string[] = [], step: string[] = [];
    const store: string[] = [], addStore: string[] = [];
    for (let r = 0; r < WMR; r++) {
      for (let q = 0; q < P; q++) {
        locals.push(`(local ${acc(r, q)} v128)`);
        zero.push(`(local.set ${acc(r, q)} (v128.const f64x2 0 0))`);
      }
    }
    for (let q = 0; q < P; q++) {
      locals.push(`(local $b${q} v128)`);
      step.push(`(local.set $b${q} (v128.load offset=${16 * q} (local.get $pb)))`);
    }
    for (let r = 0; r < WMR; r++) {
      const at = r === 0
        ? "(local.get $pa)"
        : strided
        ? `(i32.add (local.get $pa) (local.get $aRow))`
        : `offset=${8 * r} (local.get $pa)`;
      step.push(`(local.set $a (v128.load64_splat ${at}))`);
      for (let q = 0; q < P; q++) {
        step.push(
          `(local.set ${acc(r, q)} (f64x2.add (local.get ${acc(r, q)}) ` +
            `(f64x2.mul (local.get $a) (local.get $b${q}))))`,
        );
      }
      for (let q = 0; q < P; q++) {
        const o = `offset=${16 * q} (local.get $c)`;
        store.push(`(v128.store ${o} (local.get ${acc(r, q)}))`);
        addStore.push(`(v128.store ${o} (f64x2.add (v128.load ${o}) (local.get ${acc(r, q)})))`);
      }
      store.push(`(local.set $c (i32.add (local.get $c) (local.get $ldc)))`);
      addStore.push(`(local.set $c (i32.add (local.get $c) (local.get $ldc)))`);
    }
    const get = (name: string, packed: string) => (strided ? `(local.get $${name})` : packed);
    const kc = "(local.get $kc)";
    const aStep = get("aStep", `(i32.const ${8 * WMR})`);
    const aPanel = get("aPanel", `(i32.mul ${kc} (i32.const ${8 * WMR}))`);
    const bStep = get("bStep", `(i32.const ${8 * WNR})`);
    const bPanel = get("bPanel", `(i32.mul ${kc} (i32.const ${8 * WNR}))`);
    const params = strided
      ? `(param $aRow i32) (param $aStep i32) (param $aPanel i32) (param $bStep i32)
      (param $bPanel i32) (param $ldc i32) (param $accumulate i32)`
      : "";
    return `(func (export "${strided ? "blockStrided" : "block"}") (param $mcp i32) (param $ncp i32)
      (param $kc i32) (param $pa0 i32) (param $pb0 i32) (param $pc0 i32)
      ${params}
    (local $ir i32) (local $jr i32) (local $pa i32) (local $pb i32) (local $end i32)
    (local $c i32) (local $a v128) ${strided ? "" : "(local $ldc i32)"}
    ${ind(locals, 4)}
    ${strided ? "" : "(local.set $ldc (i32.shl (local.get $ncp) (i32.const 3)))"}
    (local.set $jr (i32.const 0))
    (block $jdone (loop $jloop
      (br_if $jdone (i32.ge_u (local.get $jr) (local.get $ncp)))
      (local.set $ir (i32.const 0))
      (block $idone (loop $iloop
        (br_if $idone (i32.ge_u (local.get $ir) (local.get $mcp)))
        (local.set $pa (i32.add (local.get $pa0)
          (i32.mul (i32.shr_u (local.get $ir) (i32.const 1)) ${aPanel})))
        (local.set $pb (i32.add (local.get $pb0)
          (i32.mul (i32.shr_u (local.get $jr) (i32.const 3)) ${bPanel})))
        (local.set $end (i32.add (local.get $pa) (i32.mul ${kc} ${aStep})))
        ${ind(zero, 8)}
        (block $kdone (loop $kloop
          (br_if $kdone (i32.ge_u (local.get $pa) (local.get $end)))
          ${ind(step, 10)}
          (local.set $pa (i32.add (local.get $pa) ${aStep}))
          (local.set $pb (i32.add (local.get $pb) ${bStep}))
          (br $kloop)))
        (local.set $c (i32.add (local.get $pc0) (i32.add
          (i32.mul (local.get $ir) (local.get $ldc)) (i32.shl (local.get $jr) (i32.const 3)))))
        ${
      strided
        ? `(if (local.get $accumulate)
          (then
            ${ind(addStore, 12)})
          (else
            ${ind(store, 12)}))`
        : ind(store, 8)
    }
        (local.set $ir (i32.add (local.get $ir) (i32.const ${WMR})))
        (br $iloop)))
      (local.set $jr (i32.add (local.get $jr) (i32.const ${WNR})))
      (br $jloop))))`;
  };
  const packStep: string[] = [];
  for (let c = 0; c < WNR; c++) {
    packStep.push(`(f64.store offset=${8 * c} (local.get $dst) (f64.load (local.get $q)))`);
    packStep.push(`(local.set $q (i32.add (local.get $q) (local.get $ld)))`);
  }
  return `(module
  (memory (export "memory") 1)
  ${blockFunc(false)}
  ${blockFunc(true)}
  (func (export "pack") (param $ncp i32) (param $kc i32) (param $src i32) (param $ld i32)
      (param $dst i32)
    (local $jr i32) (local $s i32) (local $end i32) (local $q i32)
    (local.set $jr (i32.const 0))
    (block $jdone (loop $jloop
      (br_if $jdone (i32.ge_u (local.get $jr) (local.get $ncp)))
      (local.set $s (i32.add (local.get $src) (i32.mul (local.get $jr) (local.get $ld))))
      (local.set $end (i32.add (local.get $s) (i32.shl (local.get $kc) (i32.const 3))))
      (block $pdone (loop $ploop
        (br_if $pdone (i32.ge_u (local.get $s) (local.get $end)))
        (local.set $q (local.get $s))
        ${ind(packStep, 8)}
        (local.set $dst (i32.add (local.get $dst) (i32.const ${8 * WNR})))
        (local.set $s (i32.add (local.get $s) (i32.const 8)))
        (br $ploop)))
      (local.set $jr (i32.add (local.get $jr) (i32.const ${WNR})))
      (br $jloop))))
  (func (export "reluGrad") (param $px i32) (param $pg i32) (param $end i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $pg) (local.get $end)))
      (v128.store (local.get $pg) (v128.and (v128.load (local.get $pg))
        (f64x2.gt (v128.load (local.get $px)) (v128.const f64x2 0 0))))
      (local.set $px (i32.add (local.get $px) (i32.const 16)))
      (local.set $pg (i32.add (local.get $pg) (i32.const 16)))
      (br $next)))))
`;
}

/**
 * Assembles {@link gemmWat} with the npm package `wabt` (the WebAssembly Binary Toolkit). The
 * kit embeds the result in the generated file `lib/_gemm_wasm.ts`; `deno task gen:wasm`
 * (`tools/gen_wasm.ts`) rewrites it after an edit of the WAT, and a test fails when it is stale.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert";
 * import { assembleGemmWasm } from "@kit/kernels.ts";
 * const bytes = await assembleGemmWasm();
 * ok(WebAssembly.validate(bytes));
 * ```
 */
export async function assembleGemmWasm(): Promise<Uint8Array<ArrayBuffer>> {
  const { default: init } = await import("wabt");
  const wabt = await init();
  const mod = wabt.parseWat("gemm.wat", gemmWat(), { simd: true });
  try {
    mod.validate();
    return Uint8Array.from(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
}
