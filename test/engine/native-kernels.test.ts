/** Native elementwise, ReLU, norm, rope, embedding, im2col, log-softmax and AdamW kernels against the reference backend. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { assertClose, nat, rand32, ref, rng, skip, withThreads } from "./native-helpers.js";

const sizes = [1, 7, 33, 257];

test("addBias, biasBackward (accumulates), add (aliased output), scale", { skip }, () => {
  const rand = rng(21);
  for (const R of [1, 7, 300]) for (const N of sizes) {
    const y = rand32(R * N, rand), b = rand32(N, rand);
    const got = y.slice(), want = y.slice();
    nat.addBias(got, b, R, N); ref.addBias(want, b, R, N);
    assertClose(got, want, `addBias ${R}x${N}`);
    const db0 = rand32(N, rand), dbn = db0.slice(), dbr = db0.slice();
    nat.biasBackward(dbn, y, R, N); ref.biasBackward(dbr, y, R, N);
    assertClose(dbn, dbr, `biasBackward ${R}x${N}`, 1e-5, 1e-5 * Math.sqrt(R));
  }
  for (const N of [...sizes, 100_003]) {
    const a = rand32(N, rand), b = rand32(N, rand);
    const y = new Float32Array(N), want = new Float32Array(N);
    nat.add(y, a, b, N); ref.add(want, a, b, N);
    assertClose(y, want, `add ${N}`, 0, 0);
    const alias = a.slice();
    nat.add(alias, alias, b, N);
    assertClose(alias, want, `add aliased ${N}`, 0, 0);
    const s = a.slice(), sr = a.slice();
    nat.scale(s, -0.37, N); ref.scale(sr, -0.37, N);
    assertClose(s, sr, `scale ${N}`, 3e-7, 0); // alpha is rounded to float32 first
  }
});

test("sumSquares accumulates in float64 and does not depend on the thread count", { skip }, () => {
  const rand = rng(22);
  for (const N of [...sizes, 4096, 4097, 1_000_003]) {
    const x = rand32(N, rand, 3);
    const want = ref.sumSquares(x, N);
    const one = withThreads(1, () => nat.sumSquares(x, N)), two = withThreads(2, () => nat.sumSquares(x, N));
    assert.equal(two, one);
    assert.ok(Math.abs(one - want) <= 1e-6 * want, `sumSquares ${N}: ${one} vs ${want}`);
  }
});

test("rmsnorm and layernorm forward and backward (grads accumulate into prefilled buffers)", { skip }, () => {
  const rand = rng(23);
  for (const R of [1, 7, 33]) for (const N of sizes) {
    const x = rand32(R * N, rand, 2), w = rand32(N, rand), b = rand32(N, rand), dy = rand32(R * N, rand);
    const yn = new Float32Array(R * N), yr = new Float32Array(R * N), rn = new Float32Array(R), rr = new Float32Array(R);
    nat.rmsnorm(yn, rn, x, w, R, N, 1e-6); ref.rmsnorm(yr, rr, x, w, R, N, 1e-6);
    assertClose(yn, yr, `rmsnorm y ${R}x${N}`, 1e-5, 1e-5);
    assertClose(rn, rr, `rmsnorm rstd ${R}x${N}`, 1e-5, 0);
    const dx0 = rand32(R * N, rand), dw0 = rand32(N, rand), db0 = rand32(N, rand);
    const dxn = dx0.slice(), dxr = dx0.slice(), dwn = dw0.slice(), dwr = dw0.slice();
    nat.rmsnormBackward(dxn, dwn, dy, x, w, rr, R, N); ref.rmsnormBackward(dxr, dwr, dy, x, w, rr, R, N);
    assertClose(dxn, dxr, `rmsnorm dx ${R}x${N}`, 1e-4, 1e-5);
    assertClose(dwn, dwr, `rmsnorm dw ${R}x${N}`, 1e-4, 1e-5);

    const mn = new Float32Array(R), mr = new Float32Array(R);
    nat.layernorm(yn, mn, rn, x, w, b, R, N, 1e-5); ref.layernorm(yr, mr, rr, x, w, b, R, N, 1e-5);
    assertClose(yn, yr, `layernorm y ${R}x${N}`, 1e-4, 1e-5);
    assertClose(mn, mr, `layernorm mean ${R}x${N}`, 1e-5, 1e-6);
    assertClose(rn, rr, `layernorm rstd ${R}x${N}`, 1e-4, 0);
    const dxn2 = dx0.slice(), dxr2 = dx0.slice(), dwn2 = dw0.slice(), dwr2 = dw0.slice(), dbn = db0.slice(), dbr = db0.slice();
    nat.layernormBackward(dxn2, dwn2, dbn, dy, x, w, mr, rr, R, N); ref.layernormBackward(dxr2, dwr2, dbr, dy, x, w, mr, rr, R, N);
    assertClose(dxn2, dxr2, `layernorm dx ${R}x${N}`, 1e-4, 1e-4);
    assertClose(dwn2, dwr2, `layernorm dw ${R}x${N}`, 1e-4, 1e-5);
    assertClose(dbn, dbr, `layernorm db ${R}x${N}`, 1e-5, 1e-5);
  }
});

test("rope forward and inverse match the reference; inverse undoes forward", { skip }, () => {
  const rand = rng(24);
  const maxPos = 50;
  for (const hd of [2, 8, 34, 64]) for (const heads of [1, 3]) {
    const R = 7, half = hd / 2;
    const cos = new Float32Array(maxPos * half), sin = new Float32Array(maxPos * half);
    for (let p = 0; p < maxPos; p++) for (let i = 0; i < half; i++) {
      const th = p * Math.pow(10000, -i / half);
      cos[p * half + i] = Math.cos(th); sin[p * half + i] = Math.sin(th);
    }
    const pos = Int32Array.from({ length: R }, () => Math.floor(rand() * maxPos));
    const x = rand32(R * heads * hd, rand);
    for (const inverse of [false, true]) {
      const got = x.slice(), want = x.slice();
      nat.rope(got, pos, cos, sin, R, heads, hd, inverse); ref.rope(want, pos, cos, sin, R, heads, hd, inverse);
      assertClose(got, want, `rope hd=${hd} heads=${heads} inverse=${inverse}`, 1e-6, 1e-6);
    }
    const round = x.slice();
    nat.rope(round, pos, cos, sin, R, heads, hd, false);
    nat.rope(round, pos, cos, sin, R, heads, hd, true);
    assertClose(round, x, `rope round trip hd=${hd}`, 1e-5, 1e-6);
    assert.throws(() => nat.rope(x.slice(), Int32Array.of(0, 0, 0, 0, 0, 0, maxPos), cos, sin, R, heads, hd, false), /outside \[0, 50\)/);
  }
});

test("swiglu and gelu forward and backward, including large |x| where exp saturates", { skip }, () => {
  const rand = rng(25);
  for (const N of [...sizes, 10_007]) for (const scale of [1, 30]) {
    const g = rand32(N, rand, scale), u = rand32(N, rand), dh = rand32(N, rand);
    const hn = new Float32Array(N), hr = new Float32Array(N);
    nat.swiglu(hn, g, u, N); ref.swiglu(hr, g, u, N);
    assertClose(hn, hr, `swiglu ${N} scale ${scale}`, 2e-6, 1e-6);
    const dg0 = rand32(N, rand), du0 = rand32(N, rand);
    const dgn = dg0.slice(), dgr = dg0.slice(), dun = du0.slice(), dur = du0.slice();
    nat.swigluBackward(dgn, dun, dh, g, u, N); ref.swigluBackward(dgr, dur, dh, g, u, N);
    assertClose(dgn, dgr, `swiglu dgate ${N}`, 2e-6, 1e-6);
    assertClose(dun, dur, `swiglu dup ${N}`, 2e-6, 1e-6);

    nat.gelu(hn, g, N); ref.gelu(hr, g, N);
    assertClose(hn, hr, `gelu ${N} scale ${scale}`, 2e-6, 1e-6);
    const dxn = dg0.slice(), dxr = dg0.slice();
    nat.geluBackward(dxn, dh, g, N); ref.geluBackward(dxr, dh, g, N);
    assertClose(dxn, dxr, `gelu dx ${N}`, 2e-6, 2e-6);
  }
});

test("embedding gather and scatter-add with repeated ids; out-of-range ids are rejected", { skip }, () => {
  const rand = rng(26);
  for (const H of sizes) {
    const V = 11, R = 40;
    const table = rand32(V * H, rand), ids = Int32Array.from({ length: R }, () => Math.floor(rand() * 4)); // many repeats
    const on = new Float32Array(R * H), or = new Float32Array(R * H);
    nat.embedding(on, table, ids, R, H); ref.embedding(or, table, ids, R, H);
    assertClose(on, or, `embedding H=${H}`, 0, 0);
    const dout = rand32(R * H, rand), d0 = rand32(V * H, rand), dn = d0.slice(), dr = d0.slice();
    nat.embeddingBackward(dn, dout, ids, R, H); ref.embeddingBackward(dr, dout, ids, R, H);
    assertClose(dn, dr, `embeddingBackward H=${H}`, 1e-6, 1e-6);
    assert.throws(() => nat.embedding(on, table, Int32Array.of(V), 1, H), RangeError);
  }
});

test("logSoftmaxGather forward and backward over vocab sizes, temperatures, ignored targets and null grads", { skip }, () => {
  const rand = rng(27);
  const R = 7;
  for (const V of [1, 7, 33, 257, 5003]) for (const temperature of [1, 0.7, 1.6]) {
    const logits = rand32(R * V, rand, 8);
    const targets = Int32Array.from({ length: R }, (_, r) => r === 2 ? -100 : Math.floor(rand() * V));
    const out = () => [new Float32Array(R), new Float32Array(R), new Float32Array(R)];
    const [ln, en, sn] = out(), [lr, er, sr] = out();
    nat.logSoftmaxGather(ln, en, sn, logits, targets, R, V, temperature);
    ref.logSoftmaxGather(lr, er, sr, logits, targets, R, V, temperature);
    assertClose(ln, lr, `logp V=${V} T=${temperature}`, 1e-5, 2e-5);
    assertClose(en, er, `entropy V=${V} T=${temperature}`, 1e-5, 2e-5);
    assertClose(sn, sr, `lse V=${V} T=${temperature}`, 1e-6, 1e-5);
    const dlogp = rand32(R, rand), dent = rand32(R, rand);
    for (const [gl, ge] of [[dlogp, dent], [dlogp, null], [null, dent]] as const) {
      const gn = logits.slice(), gr = logits.slice();
      nat.logSoftmaxGatherBackward(gn, sr, targets, gl, ge, R, V, temperature);
      ref.logSoftmaxGatherBackward(gr, sr, targets, gl, ge, R, V, temperature);
      assertClose(gn, gr, `dlogits V=${V} T=${temperature} dlogp=${!!gl} dentropy=${!!ge}`, 1e-4, 2e-6);
    }
  }
  assert.throws(() => nat.logSoftmaxGather(new Float32Array(1), new Float32Array(1), new Float32Array(1), new Float32Array(4), Int32Array.of(4), 1, 4, 1), /target 4/);
});

test("logSoftmaxGather gives finite entropy and zero gradient for −inf (banned) logits", { skip }, () => {
  const V = 40, logits = rand32(V, rng(28), 3);
  for (let j = 0; j < V; j += 3) logits[j] = -Infinity;
  const [lp, ent, lse] = [new Float32Array(1), new Float32Array(1), new Float32Array(1)];
  nat.logSoftmaxGather(lp, ent, lse, logits, Int32Array.of(1), 1, V, 1);
  // the same distribution with the banned tokens removed
  const kept = Float32Array.from(logits.filter(v => v !== -Infinity));
  const [lp2, ent2, lse2] = [new Float32Array(1), new Float32Array(1), new Float32Array(1)];
  ref.logSoftmaxGather(lp2, ent2, lse2, kept, Int32Array.of(0), 1, kept.length, 1);
  assertClose(ent, ent2, "entropy with -inf logits", 1e-5, 1e-6);
  assertClose(lse, lse2, "lse with -inf logits", 1e-6, 1e-6);
  const g = logits.slice();
  nat.logSoftmaxGatherBackward(g, lse, Int32Array.of(1), Float32Array.of(1), Float32Array.of(1), 1, V, 1);
  for (let j = 0; j < V; j += 3) assert.equal(g[j], 0);
  assert.ok(g.every(Number.isFinite));
});

test("adamw matches the reference over several steps with weight decay", { skip }, () => {
  const rand = rng(29);
  for (const N of [...sizes, 10_001]) {
    const p0 = rand32(N, rand), pn = p0.slice(), pr = p0.slice();
    const mn = new Float32Array(N), mr = new Float32Array(N), vn = new Float32Array(N), vr = new Float32Array(N);
    for (let t = 1; t <= 5; t++) {
      const g = rand32(N, rand, 0.1);
      nat.adamw(pn, g, mn, vn, N, 1e-3, 0.9, 0.95, 1e-8, 0.1, t);
      ref.adamw(pr, g, mr, vr, N, 1e-3, 0.9, 0.95, 1e-8, 0.1, t);
    }
    assertClose(pn, pr, `adamw p ${N}`, 1e-6, 1e-6);
    assertClose(mn, mr, `adamw m ${N}`, 1e-5, 1e-8);
    assertClose(vn, vr, `adamw v ${N}`, 1e-5, 1e-10);
  }
});

test("im2col3x3: native equals reference for channels-last and channel-plane layouts, on 1 and 2 threads; zeros off the board", { skip }, () => {
  const rand = rng(31);
  for (const [B, rows, width, C] of [[1, 1, 1, 1], [3, 6, 7, 5], [17, 6, 7, 32], [2, 3, 4, 2]]) {
    const HW = rows * width;
    for (const planes of [false, true]) {
      const sb = HW * C, sc = planes ? 1 : C, sch = planes ? HW : 1;
      const act = rand32(B * HW * C, rand), want = new Float32Array(B * HW * 9 * C).fill(NaN);
      ref.im2col3x3(want, act, B, rows, width, C, sb, sc, sch);
      for (const threads of [1, 2]) {
        const got = new Float32Array(want.length).fill(NaN);
        withThreads(threads, () => nat.im2col3x3(got, act, B, rows, width, C, sb, sc, sch));
        assertClose(got, want, `im2col3x3 ${B}x${rows}x${width}x${C} ${planes ? "planes" : "channels-last"} ${threads} threads`, 0, 0);
      }
      // by hand: the last position's last cell (bottom-right corner): taps off the board are 0, the centre is the cell
      const at = ((B - 1) * HW + HW - 1) * 9 * C, ch = C - 1, src = (cell: number) => act[(B - 1) * sb + cell * sc + ch * sch];
      assert.equal(want[at + 4 * C + ch], src(HW - 1));
      if (rows > 1 && width > 1) assert.equal(want[at + 0 * C + ch], src(HW - width - 2));
      for (const tap of [2, 5, 6, 7, 8]) assert.equal(want[at + tap * C + ch], 0);
    }
  }
  assert.throws(() => nat.im2col3x3(new Float32Array(10), new Float32Array(42 * 4), 1, 6, 7, 4, 168, 4, 1), /argument 0/);
});

test("relu (aliased in place) and reluMask equal the reference exactly, NaN and infinities included", { skip }, () => {
  const rand = rng(32);
  for (const N of [...sizes, 100_003]) {
    const x = rand32(N, rand, 3);
    if (N > 3) { x[0] = NaN; x[1] = -Infinity; x[2] = Infinity; x[3] = -0; }
    const got = new Float32Array(N), want = new Float32Array(N);
    nat.relu(got, x, N); ref.relu(want, x, N);
    assert.deepEqual(got, want, `relu ${N}`);
    const alias = x.slice();
    nat.relu(alias, alias, N);
    assert.deepEqual(alias, want, `relu in place ${N}`);
    const dy = rand32(N, rand), gotD = dy.slice(), wantD = dy.slice();
    if (N > 3) gotD[1] = wantD[1] = Infinity;   // where y = 0: ∞ · 0 is NaN on both
    nat.reluMask(gotD, want, N); ref.reluMask(wantD, want, N);
    assert.deepEqual(gotD, wantD, `reluMask ${N}`);
    for (let i = 0; i < N; i++) if (!(want[i] > 0) && !Number.isNaN(wantD[i])) assert.ok(wantD[i] === 0, `reluMask ${N} [${i}]`); // ±0
  }
});
