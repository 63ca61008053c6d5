/**
 * The WebAssembly text (WAT) of the SIMD kernels of `kernels.ts`, and its assembly with npm
 * `wabt`. `tools/gen_wasm.ts` writes the assembled bytes to the generated `lib/_gemm_wasm.ts`,
 * which `kernels.ts` loads; this module does not import either, so the generator runs even when
 * the generated file is missing or broken.
 *
 * Two modules share one memory (imported as `kit.memory`): the SIMD module (`gemmWat(false)`),
 * whose product kernel multiplies and adds in two roundings, and the relaxed-SIMD module
 * (`gemmWat(true)`), whose product kernel uses `f64x2.relaxed_madd`. Relaxed SIMD lets the engine
 * compute that multiply-add fused (one rounding) or not; `kernels.ts` uses the second module only
 * after a numeric probe showed it fused.
 *
 * @module
 */

/** Rows and columns of the product kernel's register tile of C (f64x2 vectors along the columns). */
export const WMR = 6, WNR = 4;

/** Epilogue flags of `block`: add C's previous value (after the bias, if any). */
export const ACC = 1;
/** Epilogue flag of `block`: add the bias vector (one value per column of C). */
export const BIAS = 2;
/** Epilogue flag of `block`: apply max(x, 0) last (ReLU; NaN stays NaN, -0 becomes 0). */
export const RELU = 4;

/**
 * The WebAssembly text (WAT) of the kernels, the source of the embedded binaries. All addresses
 * and strides are in bytes.
 *
 * `block(mcp, n, kc, pa, pb, pc, aRow, aStep, aPanel, bStep, bPanel, ldc, flags, pbias)`
 * computes the [mcp, n] block C = A[mcp, kc] · B[kc, n] (mcp a multiple of 6). A(6t + r, p) is
 * read at `pa + t*aPanel + r*aRow + p*aStep`, B(p, 4q + c) at `pb + q*bPanel + p*bStep + 8c`,
 * C(i, j) is written at `pc + i*ldc + 8j`: a plain row-major or transposed copy and packed panels
 * are all such layouts. Each 6 x 4 tile of C lives in 12 f64x2 registers; per step of k it loads
 * 2 vectors of B and 6 broadcast values of A and does 12 vector multiply-adds (16 vector registers
 * on x64: 12 + 2 + 1). Per element the sum runs over p in order, from 0. Then the epilogue, per
 * tile: `BIAS` adds `pbias[j]`, `ACC` adds C's previous value, `RELU` takes max(x, 0); columns
 * past `n` of the last tile are not stored (rows past the block's are: the caller leaves room).
 * With `fma` the multiply-add is `f64x2.relaxed_madd`, else `f64x2.add(acc, f64x2.mul(a, b))`.
 *
 * Only in the SIMD module (`fma` false):
 * - `pack(ncp, kc, src, ps, js, dst)` copies B(p, j) = `src + p*ps + j*js` into panels of 4
 *   columns, B(p, 4q + c) at `dst + 32 (q kc + p) + 8c`. Columns past the copy are read as they
 *   are (whatever follows it in memory): they only feed columns of C that `block` does not store.
 * - `reluGrad(px, pg, end)` sets g to 0 where x > 0 is false, in place, for the doubles from `pg`
 *   to `end` (x at `px`), two at a time: the bitwise AND with the comparison mask has no branch to
 *   mispredict on signs that vary at random.
 * - `relu(px, py, end)`: y = max(x, 0) (f64x2.max: NaN stays NaN, max(-0, 0) is 0).
 * - `colSum(pg, rows, ld, pairs, pout)`: out[j] += g[r, j] for r = 0, 1, ... in order (row stride
 *   `ld`), two columns at a time, for `pairs` pairs of columns.
 * - `adam(pw, pg, pm, pv, end, w1, b2, s, c, eps, decay, wd)`: Adam's update of `Adam.update` in
 *   lib/optim.ts, two parameters at a time from `pw` to `end` (gradient at `pg`, moments at `pm`,
 *   `pv`): w *= decay (when decay != 1), d = g + wd w (when wd != 0), m += w1 (d - m),
 *   v = v b2 + ((1 - b2) d) d, w -= s (m / (sqrt(v) / c + eps)): the same operations in the same
 *   order as the TypeScript loop (no fused multiply-add), so the same bits.
 *
 * Both: `probe(a, b, c)` = a·b + c through the module's multiply-add, lane 0.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert";
 * import { gemmWat } from "@kit/kernels.ts";
 * ok(gemmWat(false).includes("f64x2.mul"));
 * ok(gemmWat(true).includes("f64x2.relaxed_madd"));
 * ```
 */
export function gemmWat(fma: boolean): string {
  const P = WNR / 2; // f64x2 column pairs per row of the tile
  const acc = (r: number, q: number) => `$c${r}_${q}`;
  const ind = (lines: string[], n: number) => lines.join("\n" + " ".repeat(n));
  const madd = (a: string, b: string, c: string) =>
    fma ? `(f64x2.relaxed_madd ${a} ${b} ${c})` : `(f64x2.add ${c} (f64x2.mul ${a} ${b}))`;
  const all = (f: (r: number, q: number) => string) => {
    const out: string[] = [];
    for (let r = 0; r < WMR; r++) for (let q = 0; q < P; q++) out.push(f(r, q));
    return out;
  };
  const get = (r: number, q: number) => `(local.get ${acc(r, q)})`;
  const locals = all((r, q) => `(local ${acc(r, q)} v128)`);
  const zero = all((r, q) => `(local.set ${acc(r, q)} (v128.const f64x2 0 0))`);
  const step: string[] = [];
  for (let q = 0; q < P; q++) {
    step.push(`(local.set $b${q} (v128.load offset=${16 * q} (local.get $pb)))`);
  }
  for (let r = 0; r < WMR; r++) {
    const at = r === 0 ? "(local.get $pa)" : `(i32.add (local.get $pa) (local.get $ar${r}))`;
    step.push(`(local.set $a (v128.load64_splat ${at}))`);
    for (let q = 0; q < P; q++) {
      step.push(
        `(local.set ${acc(r, q)} ${madd("(local.get $a)", `(local.get $b${q})`, get(r, q))})`,
      );
    }
  }
  const bias = [
    ...Array.from(
      { length: P },
      (_, q) =>
        `(local.set $b${q} (v128.load offset=${16 * q} (i32.add (local.get $pbias) ` +
        `(i32.shl (local.get $jr) (i32.const 3)))))`,
    ),
    ...all((r, q) => `(local.set ${acc(r, q)} (f64x2.add ${get(r, q)} (local.get $b${q})))`),
  ];
  // C's rows are addressed from $c, which steps by ldc; $ar1..$ar5 are r * aRow
  const rowsOf = (perRow: (r: number) => string[]) => {
    const out = ["(local.set $c (local.get $c0))"];
    for (let r = 0; r < WMR; r++) {
      out.push(...perRow(r));
      if (r + 1 < WMR) out.push("(local.set $c (i32.add (local.get $c) (local.get $ldc)))");
    }
    return out;
  };
  const accumulate = rowsOf((r) =>
    Array.from(
      { length: P },
      (_, q) =>
        `(local.set ${acc(r, q)} (f64x2.add (v128.load offset=${16 * q} (local.get $c)) ${
          get(r, q)
        }))`,
    )
  );
  const relu = all((r, q) =>
    `(local.set ${acc(r, q)} (f64x2.max ${get(r, q)} (v128.const f64x2 0 0)))`
  );
  const storeFull = rowsOf((r) =>
    Array.from(
      { length: P },
      (_, q) => `(v128.store offset=${16 * q} (local.get $c) ${get(r, q)})`,
    )
  );
  // the last tile of a row of C may be 1 to 3 columns wide: store only those ($w)
  const storePart = rowsOf((r) => [
    `(if (i32.ge_u (local.get $w) (i32.const 2))
            (then (v128.store (local.get $c) ${get(r, 0)}))
            (else (f64.store (local.get $c) (f64x2.extract_lane 0 ${get(r, 0)}))))`,
    `(if (i32.eq (local.get $w) (i32.const 3))
            (then (f64.store offset=16 (local.get $c) (f64x2.extract_lane 0 ${get(r, 1)}))))`,
  ]);
  const arLocals = Array.from({ length: WMR - 1 }, (_, i) => `(local $ar${i + 1} i32)`);
  const arSet = Array.from(
    { length: WMR - 1 },
    (_, i) => `(local.set $ar${i + 1} (i32.mul (local.get $aRow) (i32.const ${i + 1})))`,
  );
  const bLocals = Array.from({ length: P }, (_, q) => `(local $b${q} v128)`);
  const block = `(func (export "block") (param $mcp i32) (param $n i32) (param $kc i32)
      (param $pa0 i32) (param $pb0 i32) (param $pc0 i32) (param $aRow i32) (param $aStep i32)
      (param $aPanel i32) (param $bStep i32) (param $bPanel i32) (param $ldc i32)
      (param $flags i32) (param $pbias i32)
    (local $ir i32) (local $jr i32) (local $pa i32) (local $pb i32) (local $pat i32) (local $pbt i32)
    (local $end i32) (local $kb i32) (local $c0 i32) (local $c i32) (local $w i32) (local $a v128)
    ${ind(arLocals, 4)}
    ${ind(bLocals, 4)}
    ${ind(locals, 4)}
    ${ind(arSet, 4)}
    (local.set $kb (i32.mul (local.get $kc) (local.get $aStep)))
    (local.set $jr (i32.const 0))
    (local.set $pbt (local.get $pb0))
    (block $jdone (loop $jloop
      (br_if $jdone (i32.ge_u (local.get $jr) (local.get $n)))
      (local.set $w (i32.sub (local.get $n) (local.get $jr)))
      (local.set $ir (i32.const 0))
      (local.set $pat (local.get $pa0))
      (block $idone (loop $iloop
        (br_if $idone (i32.ge_u (local.get $ir) (local.get $mcp)))
        (local.set $pa (local.get $pat))
        (local.set $pb (local.get $pbt))
        (local.set $end (i32.add (local.get $pa) (local.get $kb)))
        ${ind(zero, 8)}
        (loop $kloop
          ${ind(step, 10)}
          (local.set $pa (i32.add (local.get $pa) (local.get $aStep)))
          (local.set $pb (i32.add (local.get $pb) (local.get $bStep)))
          (br_if $kloop (i32.lt_u (local.get $pa) (local.get $end))))
        (local.set $c0 (i32.add (local.get $pc0) (i32.add
          (i32.mul (local.get $ir) (local.get $ldc)) (i32.shl (local.get $jr) (i32.const 3)))))
        (if (i32.and (local.get $flags) (i32.const ${BIAS}))
          (then
            ${ind(bias, 12)}))
        (if (i32.and (local.get $flags) (i32.const ${ACC}))
          (then
            ${ind(accumulate, 12)}))
        (if (i32.and (local.get $flags) (i32.const ${RELU}))
          (then
            ${ind(relu, 12)}))
        (if (i32.ge_u (local.get $w) (i32.const ${WNR}))
          (then
            ${ind(storeFull, 12)})
          (else
            ${ind(storePart, 12)}))
        (local.set $pat (i32.add (local.get $pat) (local.get $aPanel)))
        (local.set $ir (i32.add (local.get $ir) (i32.const ${WMR})))
        (br $iloop)))
      (local.set $pbt (i32.add (local.get $pbt) (local.get $bPanel)))
      (local.set $jr (i32.add (local.get $jr) (i32.const ${WNR})))
      (br $jloop))))`;
  const probe = `(func (export "probe") (param $a f64) (param $b f64) (param $c f64) (result f64)
    (f64x2.extract_lane 0 ${
    madd(
      "(f64x2.splat (local.get $a))",
      "(f64x2.splat (local.get $b))",
      "(f64x2.splat (local.get $c))",
    )
  }))`;
  if (fma) {
    return `(module
  (import "kit" "memory" (memory 1))
  ${block}
  ${probe})
`;
  }
  const packStep: string[] = [];
  for (let c = 0; c < WNR; c++) {
    packStep.push(`(f64.store offset=${8 * c} (local.get $dst) (f64.load (local.get $q)))`);
    packStep.push(`(local.set $q (i32.add (local.get $q) (local.get $js)))`);
  }
  return `(module
  (import "kit" "memory" (memory 1))
  ${block}
  ${probe}
  (func (export "pack") (param $ncp i32) (param $kc i32) (param $src i32) (param $ps i32)
      (param $js i32) (param $dst i32)
    (local $jr i32) (local $s i32) (local $end i32) (local $q i32)
    (local.set $jr (i32.const 0))
    (block $jdone (loop $jloop
      (br_if $jdone (i32.ge_u (local.get $jr) (local.get $ncp)))
      (local.set $s (i32.add (local.get $src) (i32.mul (local.get $jr) (local.get $js))))
      (local.set $end (i32.add (local.get $s) (i32.mul (local.get $kc) (local.get $ps))))
      (block $pdone (loop $ploop
        (br_if $pdone (i32.ge_u (local.get $s) (local.get $end)))
        (local.set $q (local.get $s))
        ${ind(packStep, 8)}
        (local.set $dst (i32.add (local.get $dst) (i32.const ${8 * WNR})))
        (local.set $s (i32.add (local.get $s) (local.get $ps)))
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
      (br $next))))
  (func (export "relu") (param $px i32) (param $py i32) (param $end i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $py) (local.get $end)))
      (v128.store (local.get $py)
        (f64x2.max (v128.load (local.get $px)) (v128.const f64x2 0 0)))
      (local.set $px (i32.add (local.get $px) (i32.const 16)))
      (local.set $py (i32.add (local.get $py) (i32.const 16)))
      (br $next))))
  (func (export "adam") (param $pw i32) (param $pg i32) (param $pm i32) (param $pv i32)
      (param $end i32) (param $w1 f64) (param $b2 f64) (param $s f64) (param $c f64)
      (param $eps f64) (param $decay f64) (param $wd f64)
    (local $w v128) (local $d v128) (local $m v128) (local $v v128) (local $W1 v128)
    (local $B2 v128) (local $W2 v128) (local $S v128) (local $C v128) (local $E v128)
    (local $DECAY v128) (local $WD v128) (local $scale i32) (local $l2 i32)
    (local.set $W1 (f64x2.splat (local.get $w1)))
    (local.set $B2 (f64x2.splat (local.get $b2)))
    (local.set $W2 (f64x2.splat (f64.sub (f64.const 1) (local.get $b2))))
    (local.set $S (f64x2.splat (local.get $s)))
    (local.set $C (f64x2.splat (local.get $c)))
    (local.set $E (f64x2.splat (local.get $eps)))
    (local.set $DECAY (f64x2.splat (local.get $decay)))
    (local.set $WD (f64x2.splat (local.get $wd)))
    (local.set $scale (f64.ne (local.get $decay) (f64.const 1)))
    (local.set $l2 (f64.ne (local.get $wd) (f64.const 0)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $pw) (local.get $end)))
      (local.set $w (v128.load (local.get $pw)))
      (if (local.get $scale) (then (local.set $w (f64x2.mul (local.get $w) (local.get $DECAY)))))
      (local.set $d (v128.load (local.get $pg)))
      (if (local.get $l2)
        (then (local.set $d (f64x2.add (local.get $d) (f64x2.mul (local.get $WD) (local.get $w))))))
      (local.set $m (v128.load (local.get $pm)))
      (local.set $m (f64x2.add (local.get $m)
        (f64x2.mul (local.get $W1) (f64x2.sub (local.get $d) (local.get $m)))))
      (local.set $v (f64x2.add (f64x2.mul (v128.load (local.get $pv)) (local.get $B2))
        (f64x2.mul (f64x2.mul (local.get $W2) (local.get $d)) (local.get $d))))
      (v128.store (local.get $pm) (local.get $m))
      (v128.store (local.get $pv) (local.get $v))
      (v128.store (local.get $pw) (f64x2.sub (local.get $w) (f64x2.mul (local.get $S)
        (f64x2.div (local.get $m) (f64x2.add
          (f64x2.div (f64x2.sqrt (local.get $v)) (local.get $C)) (local.get $E))))))
      (local.set $pw (i32.add (local.get $pw) (i32.const 16)))
      (local.set $pg (i32.add (local.get $pg) (i32.const 16)))
      (local.set $pm (i32.add (local.get $pm) (i32.const 16)))
      (local.set $pv (i32.add (local.get $pv) (i32.const 16)))
      (br $next))))
  (func (export "colSum") (param $pg i32) (param $rows i32) (param $ld i32) (param $pairs i32)
      (param $pout i32)
    (local $s v128) (local $p i32) (local $end i32)
    (local.set $end (i32.add (local.get $pout) (i32.shl (local.get $pairs) (i32.const 4))))
    (block $cdone (loop $cloop
      (br_if $cdone (i32.ge_u (local.get $pout) (local.get $end)))
      (local.set $s (v128.load (local.get $pout)))
      (local.set $p (local.get $pg))
      (block $rdone (loop $rloop
        (br_if $rdone (i32.ge_u (local.get $p)
          (i32.add (local.get $pg) (i32.mul (local.get $rows) (local.get $ld)))))
        (local.set $s (f64x2.add (local.get $s) (v128.load (local.get $p))))
        (local.set $p (i32.add (local.get $p) (local.get $ld)))
        (br $rloop)))
      (v128.store (local.get $pout) (local.get $s))
      (local.set $pg (i32.add (local.get $pg) (i32.const 16)))
      (local.set $pout (i32.add (local.get $pout) (i32.const 16)))
      (br $cloop)))))
`;
}

/**
 * Assembles {@link gemmWat} with the npm package `wabt` (the WebAssembly Binary Toolkit): the
 * SIMD module, or with `fma` the relaxed-SIMD one. The kit embeds both in the generated file
 * `lib/_gemm_wasm.ts`; `deno task gen:wasm` (`tools/gen_wasm.ts`) rewrites it after an edit of
 * the WAT, and a test fails when it is stale.
 *
 * @example
 * ```ts
 * import { ok } from "node:assert";
 * import { assembleGemmWasm } from "@kit/kernels.ts";
 * ok(WebAssembly.validate(await assembleGemmWasm(false)));
 * ok(WebAssembly.validate(await assembleGemmWasm(true)));
 * ```
 */
export async function assembleGemmWasm(fma: boolean): Promise<Uint8Array<ArrayBuffer>> {
  const { default: init } = await import("wabt");
  const wabt = await init();
  const features = fma ? { simd: true, relaxed_simd: true } : { simd: true };
  const mod = wabt.parseWat(fma ? "gemm_fma.wat" : "gemm.wat", gemmWat(fma), features);
  try {
    mod.validate();
    return Uint8Array.from(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
}
