/* N-API glue: checks argument types and buffer lengths (a short buffer must be a JS error, never a segfault),
 * then calls the kernels on raw pointers. */
#include <node_api.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <math.h>
#include "kernels.h"
#include "simd.h"
#include "threadpool.h"

#define MAX_ARGS 24

typedef struct {
  napi_env env;
  size_t argc;
  napi_value argv[MAX_ARGS];
  const char *fn;
  int failed;
} Args;

static int args_init(Args *a, napi_env env, napi_callback_info info, const char *fn, size_t want) {
  a->env = env; a->fn = fn; a->failed = 0; a->argc = MAX_ARGS;
  napi_get_cb_info(env, info, &a->argc, a->argv, NULL, NULL);
  if (a->argc > MAX_ARGS) a->argc = MAX_ARGS; /* argc is the call's count, which may exceed the slots filled */
  if (a->argc < want) {
    char msg[160];
    snprintf(msg, sizeof msg, "move37 native %s: expected %zu arguments, got %zu", fn, want, a->argc);
    napi_throw_type_error(env, NULL, msg);
    return 0;
  }
  return 1;
}

static void fail(Args *a, int range, const char *what, int i) {
  if (a->failed) return;
  a->failed = 1;
  char msg[256];
  snprintf(msg, sizeof msg, "move37 native %s: argument %d %s", a->fn, i, what);
  if (range) napi_throw_range_error(a->env, NULL, msg);
  else napi_throw_type_error(a->env, NULL, msg);
}

/* A typed array of the given type with at least `need` elements; NULL (and a pending JS error) otherwise.
 * With `nullable`, JS null/undefined gives NULL without an error. */
static void *typed(Args *a, int i, napi_typedarray_type want, const char *tname, size_t need, int nullable, size_t *length) {
  if (a->failed) return NULL;
  napi_valuetype vt;
  napi_typeof(a->env, a->argv[i], &vt);
  if (nullable && (vt == napi_null || vt == napi_undefined)) return NULL;
  bool is;
  napi_is_typedarray(a->env, a->argv[i], &is);
  napi_typedarray_type t;
  size_t len = 0;
  void *data = NULL;
  if (is) napi_get_typedarray_info(a->env, a->argv[i], &t, &len, &data, NULL, NULL);
  if (!is || t != want) {
    char what[96];
    snprintf(what, sizeof what, "must be a %s%s", tname, nullable ? " or null" : "");
    fail(a, 0, what, i);
    return NULL;
  }
  if (len < need) {
    char what[128];
    snprintf(what, sizeof what, "has %zu elements, the shape needs %zu", len, need);
    fail(a, 1, what, i);
    return NULL;
  }
  if (length) *length = len;
  /* a zero-length array may have no backing store; kernels never read it when need is 0 */
  return data ? data : (void *)a;
}

static float *f32(Args *a, int i, size_t need) { return typed(a, i, napi_float32_array, "Float32Array", need, 0, NULL); }
static float *f32_or_null(Args *a, int i, size_t need) { return typed(a, i, napi_float32_array, "Float32Array", need, 1, NULL); }
static int32_t *i32(Args *a, int i, size_t need) { return typed(a, i, napi_int32_array, "Int32Array", need, 0, NULL); }
static uint8_t *u8_or_null(Args *a, int i, size_t need) { return typed(a, i, napi_uint8_array, "Uint8Array", need, 1, NULL); }
static int32_t *i32_or_null(Args *a, int i, size_t need) { return typed(a, i, napi_int32_array, "Int32Array", need, 1, NULL); }

/* Every ids[r] (r < n) lies in [lo, hi): an out-of-range index must not read or write outside a buffer. */
static void check_indices(Args *a, int i, const int32_t *ids, long n, long lo, long hi, const char *what) {
  if (a->failed) return;
  for (long r = 0; r < n; r++) {
    if (ids[r] < lo || ids[r] >= hi) {
      char msg[160];
      snprintf(msg, sizeof msg, "has %s %d at index %ld, outside [%ld, %ld)", what, ids[r], r, lo, hi);
      fail(a, 1, msg, i);
      return;
    }
  }
}

static void require(Args *a, int ok, int i, const char *what) { if (!ok) fail(a, 1, what, i); }

static double num(Args *a, int i) {
  double v = 0;
  if (a->failed) return 0;
  if (napi_get_value_double(a->env, a->argv[i], &v) != napi_ok) fail(a, 0, "must be a number", i);
  return v;
}

/* A non-negative integer dimension. */
static long dim(Args *a, int i) {
  double v = num(a, i);
  if (a->failed) return 0;
  if (!(v >= 0) || v != (double)(long)v || v > 9.0e15) { fail(a, 1, "must be a non-negative integer", i); return 0; }
  return (long)v;
}

static int flag(Args *a, int i) {
  bool b = false;
  if (a->failed) return 0;
  if (napi_get_value_bool(a->env, a->argv[i], &b) != napi_ok) fail(a, 0, "must be a boolean", i);
  return b;
}

static napi_value undefined(napi_env env) { napi_value u; napi_get_undefined(env, &u); return u; }
static napi_value number(napi_env env, double v) { napi_value r; napi_create_double(env, v, &r); return r; }

/* matmul(C, A, B, M, N, K, transA, transB, accumulate) */
static napi_value js_matmul(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "matmul", 9)) return NULL;
  long M = dim(&a, 3), N = dim(&a, 4), K = dim(&a, 5);
  int ta = flag(&a, 6), tb = flag(&a, 7), acc = flag(&a, 8);
  float *C = f32(&a, 0, M * N), *A = f32(&a, 1, M * K), *B = f32(&a, 2, K * N);
  if (a.failed) return NULL;
  gemm(C, A, B, M, N, K, ta, tb, acc);
  return undefined(env);
}

static uint16_t *u16(Args *a, int i, size_t need) { return typed(a, i, napi_uint16_array, "Uint16Array", need, 0, NULL); }

/* matmulBf16(C, A, W, M, N, K, accumulate): W is a BF16 Linear weight [N,K] in a Uint16Array */
static napi_value js_matmul_bf16(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "matmulBf16", 7)) return NULL;
  long M = dim(&a, 3), N = dim(&a, 4), K = dim(&a, 5);
  int acc = flag(&a, 6);
  float *C = f32(&a, 0, M * N), *A = f32(&a, 1, M * K);
  uint16_t *W = u16(&a, 2, N * K);
  if (a.failed) return NULL;
  gemm_bf16(C, A, W, M, N, K, acc);
  return undefined(env);
}

/* matmulBf16NN(X, Y, W, M, N, K, accumulate): X[M,K] (+)= Y[M,N]·W[N,K], W a BF16 Linear weight [N,K] */
static napi_value js_matmul_bf16_nn(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "matmulBf16NN", 7)) return NULL;
  long M = dim(&a, 3), N = dim(&a, 4), K = dim(&a, 5);
  int acc = flag(&a, 6);
  float *X = f32(&a, 0, M * K), *Y = f32(&a, 1, M * N);
  uint16_t *W = u16(&a, 2, N * K);
  if (a.failed) return NULL;
  gemm_bf16_nn(X, Y, W, M, N, K, acc);
  return undefined(env);
}

/* bf16Path(want?): "widen" | "dpbf16" | "default" sets it; returns the path in use */
static napi_value js_bf16_path(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "bf16Path", 0)) return NULL;
  int want = -1;
  if (a.argc >= 1) {
    char s[16] = {0};
    size_t n = 0;
    if (napi_get_value_string_utf8(env, a.argv[0], s, sizeof s, &n) != napi_ok) { fail(&a, 0, "must be a string", 0); return NULL; }
    want = strcmp(s, "widen") == 0 ? 0 : strcmp(s, "dpbf16") == 0 ? 1 : strcmp(s, "default") == 0 ? -2 : -3;
    if (want == -3) { fail(&a, 1, "must be \"widen\", \"dpbf16\" or \"default\"", 0); return NULL; }
  }
  napi_value r;
  napi_create_string_utf8(env, gemm_bf16_path(want) ? "dpbf16" : "widen", NAPI_AUTO_LENGTH, &r);
  return r;
}

/* im2col3x3(cols, act, B, rows, width, C, sb, sc, sch) */
static napi_value js_im2col3x3(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "im2col3x3", 9)) return NULL;
  long B = dim(&a, 2), rows = dim(&a, 3), width = dim(&a, 4), C = dim(&a, 5), sb = dim(&a, 6), sc = dim(&a, 7), sch = dim(&a, 8);
  long last = B == 0 || rows == 0 || width == 0 || C == 0 ? 0 : (B - 1) * sb + (rows * width - 1) * sc + (C - 1) * sch + 1;
  float *cols = f32(&a, 0, B * rows * width * 9 * C), *act = f32(&a, 1, last);
  if (a.failed) return NULL;
  im2col3x3(cols, act, B, rows, width, C, sb, sc, sch);
  return undefined(env);
}

static napi_value js_add_bias(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "addBias", 4)) return NULL;
  long R = dim(&a, 2), N = dim(&a, 3);
  float *y = f32(&a, 0, R * N), *b = f32(&a, 1, N);
  if (a.failed) return NULL;
  add_bias(y, b, R, N);
  return undefined(env);
}

static napi_value js_bias_backward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "biasBackward", 4)) return NULL;
  long R = dim(&a, 2), N = dim(&a, 3);
  float *db = f32(&a, 0, N), *dy = f32(&a, 1, R * N);
  if (a.failed) return NULL;
  bias_backward(db, dy, R, N);
  return undefined(env);
}

static napi_value js_add(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "add", 4)) return NULL;
  long N = dim(&a, 3);
  float *y = f32(&a, 0, N), *x = f32(&a, 1, N), *b = f32(&a, 2, N);
  if (a.failed) return NULL;
  add(y, x, b, N);
  return undefined(env);
}

static napi_value js_scale(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "scale", 3)) return NULL;
  double alpha = num(&a, 1);
  long N = dim(&a, 2);
  float *x = f32(&a, 0, N);
  if (a.failed) return NULL;
  scale(x, (float)alpha, N);
  return undefined(env);
}

static napi_value js_sum_squares(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "sumSquares", 2)) return NULL;
  long N = dim(&a, 1);
  float *x = f32(&a, 0, N);
  if (a.failed) return NULL;
  return number(env, sum_squares(x, N));
}

/* rmsnorm(y, rstd, x, w, R, N, eps) */
static napi_value js_rmsnorm(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "rmsnorm", 7)) return NULL;
  long R = dim(&a, 4), N = dim(&a, 5);
  double eps = num(&a, 6);
  float *y = f32(&a, 0, R * N), *rstd = f32(&a, 1, R), *x = f32(&a, 2, R * N), *w = f32(&a, 3, N);
  if (a.failed) return NULL;
  rmsnorm(y, rstd, x, w, R, N, (float)eps);
  return undefined(env);
}

/* rmsnormBackward(dx, dw, dy, x, w, rstd, R, N) */
static napi_value js_rmsnorm_backward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "rmsnormBackward", 8)) return NULL;
  long R = dim(&a, 6), N = dim(&a, 7);
  float *dx = f32(&a, 0, R * N), *dw = f32(&a, 1, N), *dy = f32(&a, 2, R * N), *x = f32(&a, 3, R * N);
  float *w = f32(&a, 4, N), *rstd = f32(&a, 5, R);
  if (a.failed) return NULL;
  rmsnorm_backward(dx, dw, dy, x, w, rstd, R, N);
  return undefined(env);
}

/* layernorm(y, mean, rstd, x, w, b, R, N, eps) */
static napi_value js_layernorm(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "layernorm", 9)) return NULL;
  long R = dim(&a, 6), N = dim(&a, 7);
  double eps = num(&a, 8);
  float *y = f32(&a, 0, R * N), *mean = f32(&a, 1, R), *rstd = f32(&a, 2, R), *x = f32(&a, 3, R * N);
  float *w = f32(&a, 4, N), *b = f32(&a, 5, N);
  if (a.failed) return NULL;
  layernorm(y, mean, rstd, x, w, b, R, N, (float)eps);
  return undefined(env);
}

/* layernormBackward(dx, dw, db, dy, x, w, mean, rstd, R, N) */
static napi_value js_layernorm_backward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "layernormBackward", 10)) return NULL;
  long R = dim(&a, 8), N = dim(&a, 9);
  float *dx = f32(&a, 0, R * N), *dw = f32(&a, 1, N), *db = f32(&a, 2, N), *dy = f32(&a, 3, R * N);
  float *x = f32(&a, 4, R * N), *w = f32(&a, 5, N), *mean = f32(&a, 6, R), *rstd = f32(&a, 7, R);
  if (a.failed) return NULL;
  layernorm_backward(dx, dw, db, dy, x, w, mean, rstd, R, N);
  return undefined(env);
}

/* rope(x, pos, cos, sin, R, heads, hd, inverse) */
static napi_value js_rope(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "rope", 8)) return NULL;
  long R = dim(&a, 4), heads = dim(&a, 5), hd = dim(&a, 6);
  int inverse = flag(&a, 7);
  require(&a, hd % 2 == 0, 6, "(head dim) must be even");
  size_t nc = 0, ns = 0;
  float *x = f32(&a, 0, R * heads * hd);
  int32_t *pos = i32(&a, 1, R);
  float *cs = typed(&a, 2, napi_float32_array, "Float32Array", 0, 0, &nc);
  float *sn = typed(&a, 3, napi_float32_array, "Float32Array", 0, 0, &ns);
  long maxPos = hd ? (long)((nc < ns ? nc : ns) / (hd / 2)) : 0;
  if (hd) check_indices(&a, 1, pos, R, 0, maxPos, "position (cos/sin tables are too short)");
  if (a.failed) return NULL;
  if (hd) rope(x, pos, cs, sn, R, heads, hd, inverse);
  return undefined(env);
}

typedef struct { long B, T, S, Smax, nh, nkv, hd; } AttnDims;

/* dims start at argument i: B, T, S, Smax, nh, nkv, hd */
static AttnDims attn_dims(Args *a, int i) {
  AttnDims d = { dim(a, i), dim(a, i + 1), dim(a, i + 2), dim(a, i + 3), dim(a, i + 4), dim(a, i + 5), dim(a, i + 6) };
  require(a, d.T <= d.S, i + 1, "(T) must be <= S");
  require(a, d.S <= d.Smax, i + 2, "(S) must be <= Smax");
  require(a, d.nkv > 0 && d.nh % d.nkv == 0, i + 5, "(nkv) must be positive and divide nh");
  return d;
}

/* Optional trailing attention arguments at index i: window (0 = full causal), scale (default 1/√hd), soft-cap (0 = none). */
static void attn_opts(Args *a, int i, long hd, long *window, float *scale, float *cap) {
  napi_valuetype vt;
  *window = 0; *scale = 1.f / sqrtf((float)hd); *cap = 0.f;
  if ((size_t)i < a->argc) { napi_typeof(a->env, a->argv[i], &vt); if (vt != napi_undefined && vt != napi_null) *window = dim(a, i); }
  if ((size_t)i + 1 < a->argc) {
    napi_typeof(a->env, a->argv[i + 1], &vt);
    if (vt != napi_undefined && vt != napi_null) { double s = num(a, i + 1); require(a, s > 0 && s < 1e30, i + 1, "(scale) must be a positive number"); *scale = (float)s; }
  }
  if ((size_t)i + 2 < a->argc) {
    napi_typeof(a->env, a->argv[i + 2], &vt);
    if (vt != napi_undefined && vt != napi_null) { double c = num(a, i + 2); require(a, c >= 0 && c < 1e30, i + 2, "(softcap) must be 0 or a positive number"); *cap = (float)c; }
  }
}

/* The optional `causal` argument at i (absent, undefined or true: causal; false: bidirectional, only without a window). */
static int attn_causal(Args *a, int i, long window) {
  napi_valuetype vt;
  if (a->failed || (size_t)i >= a->argc) return 1;
  napi_typeof(a->env, a->argv[i], &vt);
  if (vt == napi_undefined || vt == napi_null) return 1;
  int causal = flag(a, i);
  require(a, causal || window == 0, i, "(causal = false) cannot take a sliding window");
  return causal;
}

/* attention(out, lse, q, k, v, keyMask, B, T, S, Smax, nh, nkv, hd[, segments[, window[, scale[, softcap[, causal]]]]]) */
static napi_value js_attention(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "attention", 13)) return NULL;
  AttnDims d = attn_dims(&a, 6);
  long nq = d.B * d.T * d.nh * d.hd, nk = d.B * d.Smax * d.nkv * d.hd;
  float *out = f32(&a, 0, nq), *lse = f32(&a, 1, d.B * d.nh * d.T), *q = f32(&a, 2, nq), *k = f32(&a, 3, nk), *v = f32(&a, 4, nk);
  uint8_t *mask = u8_or_null(&a, 5, d.B * d.Smax);
  int32_t *seg = i32_or_null(&a, 13, d.B * d.Smax); /* an absent argument reads as undefined */
  long window; float scale, cap;
  attn_opts(&a, 14, d.hd, &window, &scale, &cap);
  int causal = attn_causal(&a, 17, window);
  if (a.failed) return NULL;
  attention(out, lse, q, k, v, mask, seg, d.B, d.T, d.S, d.Smax, d.nh, d.nkv, d.hd, window, scale, cap, causal);
  return undefined(env);
}

/* attentionKvBf16(out, lse, q, k, v, keyMask, B, T, S, Smax, nh, nkv, hd[, segments[, window[, scale[, softcap]]]]): k, v BF16 */
static napi_value js_attention_kv_bf16(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "attentionKvBf16", 13)) return NULL;
  AttnDims d = attn_dims(&a, 6);
  long nq = d.B * d.T * d.nh * d.hd, nk = d.B * d.Smax * d.nkv * d.hd;
  float *out = f32(&a, 0, nq), *lse = f32(&a, 1, d.B * d.nh * d.T), *q = f32(&a, 2, nq);
  uint16_t *k = u16(&a, 3, nk), *v = u16(&a, 4, nk);
  uint8_t *mask = u8_or_null(&a, 5, d.B * d.Smax);
  int32_t *seg = i32_or_null(&a, 13, d.B * d.Smax);
  long window; float scale, cap;
  attn_opts(&a, 14, d.hd, &window, &scale, &cap);
  if (a.failed) return NULL;
  attention_kv_bf16(out, lse, q, k, v, mask, seg, d.B, d.T, d.S, d.Smax, d.nh, d.nkv, d.hd, window, scale, cap);
  return undefined(env);
}

/* attentionBackward(dq, dk, dv, dout, out, lse, q, k, v, keyMask, B, T, S, Smax, nh, nkv, hd[, segments[, window[, scale[, softcap[, causal]]]]]) */
static napi_value js_attention_backward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "attentionBackward", 17)) return NULL;
  AttnDims d = attn_dims(&a, 10);
  long nq = d.B * d.T * d.nh * d.hd, nk = d.B * d.Smax * d.nkv * d.hd;
  float *dq = f32(&a, 0, nq), *dk = f32(&a, 1, nk), *dv = f32(&a, 2, nk), *dout = f32(&a, 3, nq), *out = f32(&a, 4, nq);
  float *lse = f32(&a, 5, d.B * d.nh * d.T), *q = f32(&a, 6, nq), *k = f32(&a, 7, nk), *v = f32(&a, 8, nk);
  uint8_t *mask = u8_or_null(&a, 9, d.B * d.Smax);
  int32_t *seg = i32_or_null(&a, 17, d.B * d.Smax);
  long window; float scale, cap;
  attn_opts(&a, 18, d.hd, &window, &scale, &cap);
  int causal = attn_causal(&a, 21, window);
  if (a.failed) return NULL;
  attention_backward(dq, dk, dv, dout, out, lse, q, k, v, mask, seg, d.B, d.T, d.S, d.Smax, d.nh, d.nkv, d.hd, window, scale, cap, causal);
  return undefined(env);
}

/*
 * The elementwise activations: `nbuf` Float32Arrays of N floats, then N (the last argument). `run` calls the kernel
 * on the checked buffers, in argument order.
 */
typedef void (*Elementwise)(float **b, long N);
static napi_value elementwise(napi_env env, napi_callback_info info, const char *fn, int nbuf, Elementwise run) {
  Args a;
  if (!args_init(&a, env, info, fn, (size_t)nbuf + 1)) return NULL;
  long N = dim(&a, nbuf);
  float *b[5];
  for (int i = 0; i < nbuf; i++) b[i] = f32(&a, i, N);
  if (a.failed) return NULL;
  run(b, N);
  return undefined(env);
}

/* swiglu(h, gate, up, N); swigluBackward(dgate, dup, dh, gate, up, N); likewise relu(y, x, N), reluMask(dy, y, N), gelu(y, x, N), geluBackward(dx, dy, x, N), geglu, gegluBackward */
static void run_swiglu(float **b, long N) { swiglu(b[0], b[1], b[2], N); }
static void run_swiglu_backward(float **b, long N) { swiglu_backward(b[0], b[1], b[2], b[3], b[4], N); }
static void run_relu(float **b, long N) { relu(b[0], b[1], N); }
static void run_relu_mask(float **b, long N) { relu_mask(b[0], b[1], N); }
static void run_gelu(float **b, long N) { gelu(b[0], b[1], N); }
static void run_gelu_backward(float **b, long N) { gelu_backward(b[0], b[1], b[2], N); }
static void run_geglu(float **b, long N) { geglu(b[0], b[1], b[2], N); }
static void run_geglu_backward(float **b, long N) { geglu_backward(b[0], b[1], b[2], b[3], b[4], N); }
static napi_value js_swiglu(napi_env env, napi_callback_info info) { return elementwise(env, info, "swiglu", 3, run_swiglu); }
static napi_value js_swiglu_backward(napi_env env, napi_callback_info info) { return elementwise(env, info, "swigluBackward", 5, run_swiglu_backward); }
static napi_value js_relu(napi_env env, napi_callback_info info) { return elementwise(env, info, "relu", 2, run_relu); }
static napi_value js_relu_mask(napi_env env, napi_callback_info info) { return elementwise(env, info, "reluMask", 2, run_relu_mask); }
static napi_value js_gelu(napi_env env, napi_callback_info info) { return elementwise(env, info, "gelu", 2, run_gelu); }
static napi_value js_gelu_backward(napi_env env, napi_callback_info info) { return elementwise(env, info, "geluBackward", 3, run_gelu_backward); }
static napi_value js_geglu(napi_env env, napi_callback_info info) { return elementwise(env, info, "geglu", 3, run_geglu); }
static napi_value js_geglu_backward(napi_env env, napi_callback_info info) { return elementwise(env, info, "gegluBackward", 5, run_geglu_backward); }

/* embedding(out, table, ids, R, H) */
static napi_value js_embedding(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "embedding", 5)) return NULL;
  long R = dim(&a, 3), H = dim(&a, 4);
  size_t nt = 0;
  float *out = f32(&a, 0, R * H), *table = typed(&a, 1, napi_float32_array, "Float32Array", 0, 0, &nt);
  int32_t *ids = i32(&a, 2, R);
  if (H) check_indices(&a, 2, ids, R, 0, (long)nt / H, "token id (table rows)");
  if (a.failed) return NULL;
  embedding(out, table, ids, R, H);
  return undefined(env);
}

/* embeddingBackward(dtable, dout, ids, R, H) */
static napi_value js_embedding_backward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "embeddingBackward", 5)) return NULL;
  long R = dim(&a, 3), H = dim(&a, 4);
  size_t nt = 0;
  float *dtable = typed(&a, 0, napi_float32_array, "Float32Array", 0, 0, &nt), *dout = f32(&a, 1, R * H);
  int32_t *ids = i32(&a, 2, R);
  if (H) check_indices(&a, 2, ids, R, 0, (long)nt / H, "token id (table rows)");
  if (a.failed) return NULL;
  embedding_backward(dtable, dout, ids, R, H);
  return undefined(env);
}

/* logSoftmaxGather(logp, entropy, lse, logits, targets, R, V, temperature) */
static napi_value js_lsm(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "logSoftmaxGather", 8)) return NULL;
  long R = dim(&a, 5), V = dim(&a, 6);
  double temp = num(&a, 7);
  require(&a, temp > 0, 7, "(temperature) must be > 0");
  float *logp = f32(&a, 0, R), *ent = f32(&a, 1, R), *lse = f32(&a, 2, R), *logits = f32(&a, 3, R * V);
  int32_t *tg = i32(&a, 4, R);
  check_indices(&a, 4, tg, R, INT32_MIN, V, "target");
  if (a.failed) return NULL;
  log_softmax_gather(logp, ent, lse, logits, tg, R, V, (float)temp);
  return undefined(env);
}

/* sampleRows(tokens, logprobs, logits, temps, u, R, V, Vs, topK, topP, minP) — the last three may be null */
static napi_value js_sample_rows(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "sampleRows", 11)) return NULL;
  long R = dim(&a, 5), V = dim(&a, 6), Vs = dim(&a, 7);
  require(&a, Vs >= 1 && Vs <= V, 7, "(Vs, the sampleable ids) must be in [1, V]");
  int32_t *tokens = i32(&a, 0, R);
  float *logprobs = f32(&a, 1, R), *logits = f32(&a, 2, R * V), *temps = f32(&a, 3, R);
  double *u = typed(&a, 4, napi_float64_array, "Float64Array", R, 0, NULL);
  int32_t *topk = i32_or_null(&a, 8, R);
  float *topp = f32_or_null(&a, 9, R), *minp = f32_or_null(&a, 10, R);
  if (a.failed) return NULL;
  sample_rows_pass(tokens, logprobs, logits, temps, u, topk, topp, minp, R, V, Vs);
  return undefined(env);
}

/* logSoftmaxGatherBackward(logits, lse, targets, dlogp, dentropy, R, V, temperature) */
static napi_value js_lsm_backward(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "logSoftmaxGatherBackward", 8)) return NULL;
  long R = dim(&a, 5), V = dim(&a, 6);
  double temp = num(&a, 7);
  require(&a, temp > 0, 7, "(temperature) must be > 0");
  float *logits = f32(&a, 0, R * V), *lse = f32(&a, 1, R);
  int32_t *tg = i32(&a, 2, R);
  float *dlogp = f32_or_null(&a, 3, R), *dent = f32_or_null(&a, 4, R);
  check_indices(&a, 2, tg, R, INT32_MIN, V, "target");
  if (a.failed) return NULL;
  log_softmax_gather_backward(logits, lse, tg, dlogp, dent, R, V, (float)temp);
  return undefined(env);
}

/* adamw(p, g, m, v, N, lr, beta1, beta2, eps, weightDecay, t) */
static napi_value js_adamw(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "adamw", 11)) return NULL;
  long N = dim(&a, 4);
  double lr = num(&a, 5), b1 = num(&a, 6), b2 = num(&a, 7), eps = num(&a, 8), wd = num(&a, 9), t = num(&a, 10);
  require(&a, t >= 1, 10, "(step t) must be >= 1");
  float *p = f32(&a, 0, N), *g = f32(&a, 1, N), *m = f32(&a, 2, N), *v = f32(&a, 3, N);
  if (a.failed) return NULL;
  adamw(p, g, m, v, N, lr, b1, b2, eps, wd, t);
  return undefined(env);
}

static napi_value js_peak(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "peakGflops", 1)) return NULL;
  double s = num(&a, 0);
  if (a.failed) return NULL;
  return number(env, peak_gflops(s));
}

static napi_value js_threads(napi_env env, napi_callback_info info) {
  (void)info;
  return number(env, pool_threads());
}

static napi_value js_set_threads(napi_env env, napi_callback_info info) {
  Args a;
  if (!args_init(&a, env, info, "setThreads", 1)) return NULL;
  double n = num(&a, 0);
  if (a.failed) return NULL;
  pool_set_threads((int)n);
  return number(env, pool_threads());
}

static napi_value js_simd(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value s;
  napi_create_string_utf8(env, SIMD_NAME, NAPI_AUTO_LENGTH, &s);
  return s;
}

static napi_value init(napi_env env, napi_value exports) {
  static const struct { const char *name; napi_callback fn; } fns[] = {
    { "matmul", js_matmul },
    { "im2col3x3", js_im2col3x3 },
    { "addBias", js_add_bias },
    { "biasBackward", js_bias_backward },
    { "add", js_add },
    { "scale", js_scale },
    { "sumSquares", js_sum_squares },
    { "rmsnorm", js_rmsnorm },
    { "rmsnormBackward", js_rmsnorm_backward },
    { "layernorm", js_layernorm },
    { "layernormBackward", js_layernorm_backward },
    { "rope", js_rope },
    { "attention", js_attention },
    { "attentionKvBf16", js_attention_kv_bf16 },
    { "attentionBackward", js_attention_backward },
    { "relu", js_relu },
    { "reluMask", js_relu_mask },
    { "swiglu", js_swiglu },
    { "swigluBackward", js_swiglu_backward },
    { "gelu", js_gelu },
    { "geluBackward", js_gelu_backward },
    { "geglu", js_geglu },
    { "gegluBackward", js_geglu_backward },
    { "embedding", js_embedding },
    { "embeddingBackward", js_embedding_backward },
    { "logSoftmaxGather", js_lsm },
    { "logSoftmaxGatherBackward", js_lsm_backward },
    { "sampleRows", js_sample_rows },
    { "adamw", js_adamw },
    { "peakGflops", js_peak },
    { "threads", js_threads },
    { "setThreads", js_set_threads },
    { "simd", js_simd },
    { "matmulBf16", js_matmul_bf16 },
    { "matmulBf16NN", js_matmul_bf16_nn },
    { "bf16Path", js_bf16_path },
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
  /* attention takes segment ids: lets the TypeScript side refuse segments on an older build, which would ignore them */
  napi_value yes;
  napi_get_boolean(env, true, &yes);
  napi_set_named_property(env, exports, "segmentAttention", yes);
  /* attention takes a sliding window, a score scale and a soft-cap (Gemma): an older build would ignore them */
  napi_set_named_property(env, exports, "windowAttention", yes);
  napi_set_named_property(env, exports, "bidirectionalAttention", yes); /* attention's `causal` argument */
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
