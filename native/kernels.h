/* Every kernel the N-API glue exposes: pure arithmetic on raw pointers. Semantics (write vs accumulate,
 * shapes, masks) follow src/engine/backend.ts exactly; shapes are in the comments there. */
#ifndef MOVE37_KERNELS_H
#define MOVE37_KERNELS_H
#include <stddef.h>
#include <stdint.h>

void gemm(float *C, const float *A, const float *B, long M, long N, long K, int transA, int transB, int accumulate);
/* Single-threaded GEMM on strided views, for use inside other kernels' tasks: element (i, k) of op(A) is
 * A[i*a_rs + k*a_cs] (one of the two strides must be 1; likewise for B), C rows are ldc apart. */
void gemm_serial(float *C, long ldc, const float *A, long a_rs, long a_cs, const float *B, long b_rs, long b_cs,
                 long M, long N, long K, int accumulate);

/* BF16 weights (native/gemm_bf16.c): C[M,N] = (accumulate ? C : 0) + A[M,K]·W[N,K]ᵀ, W stored BF16, F32 sums. */
void gemm_bf16(float *C, const float *A, const uint16_t *W, long M, long N, long K, int accumulate);
/* Which path gemm_bf16 takes: want 0 = widen, 1 = dpbf16 (if the CPU has it), -1 = query, -2 = back to the default
 * (dpbf16 when the CPU has it unless MOVE37_BF16_PATH=widen). Returns the path now in use (0 or 1). */
int gemm_bf16_path(int want);
/* The activation gradient through a BF16 weight: X[M,K] = (accumulate ? X : 0) + Y[M,N]·W[N,K], W stored BF16 [N,K]
 * (the NN product), F32 sums; same paths as gemm_bf16. */
void gemm_bf16_nn(float *X, const float *Y, const uint16_t *W, long M, long N, long K, int accumulate);

void add_bias(float *y, const float *b, long R, long N);
void bias_backward(float *db, const float *dy, long R, long N);
void add(float *y, const float *a, const float *b, long N);
void scale(float *x, float alpha, long N);
double sum_squares(const float *x, long N);

void rmsnorm(float *y, float *rstd, const float *x, const float *w, long R, long N, float eps);
void rmsnorm_backward(float *dx, float *dw, const float *dy, const float *x, const float *w, const float *rstd, long R, long N);
void layernorm(float *y, float *mean, float *rstd, const float *x, const float *w, const float *b, long R, long N, float eps);
void layernorm_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                        const float *mean, const float *rstd, long R, long N);

void rope(float *x, const int32_t *pos, const float *cos, const float *sin, long R, long heads, long hd, int inverse);

void attention(float *out, float *lse, const float *q, const float *k, const float *v, const uint8_t *mask, const int32_t *seg,
               long B, long T, long S, long Smax, long nh, long nkv, long hd, long window, float scale, float cap, int causal);
/* attention with the keys and values stored BF16 [B,Smax,nkv,hd] (a BF16 KV cache), widened exactly as read. */
void attention_kv_bf16(float *out, float *lse, const float *q, const uint16_t *k, const uint16_t *v, const uint8_t *mask, const int32_t *seg,
                       long B, long T, long S, long Smax, long nh, long nkv, long hd, long window, float scale, float cap);
void attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *out, const float *lse,
                        const float *q, const float *k, const float *v, const uint8_t *mask, const int32_t *seg,
                        long B, long T, long S, long Smax, long nh, long nkv, long hd, long window, float scale, float cap, int causal);

void swiglu(float *h, const float *gate, const float *up, long N);
void swiglu_backward(float *dgate, float *dup, const float *dh, const float *gate, const float *up, long N);
void relu(float *y, const float *x, long N);
void relu_mask(float *dy, const float *y, long N);
void gelu(float *y, const float *x, long N);
void gelu_backward(float *dx, const float *dy, const float *x, long N);
void geglu(float *h, const float *gate, const float *up, long N);
void geglu_backward(float *dgate, float *dup, const float *dh, const float *gate, const float *up, long N);

void embedding(float *out, const float *table, const int32_t *ids, long R, long H);
void embedding_backward(float *dtable, const float *dout, const int32_t *ids, long R, long H);
/* im2col.c: cols[B·rows·width, 9·C] from act (element b, cell, ch at b·sb + cell·sc + ch·sch), zeros off the board */
void im2col3x3(float *cols, const float *act, long B, long rows, long width, long C, long sb, long sc, long sch);

void log_softmax_gather(float *logp, float *entropy, float *lse, const float *logits, const int32_t *targets,
                        long R, long V, float temperature);
void log_softmax_gather_backward(float *logits, const float *lse, const int32_t *targets, const float *dlogp,
                                 const float *dentropy, long R, long V, float temperature);
/* sample.c: one token per row of logits[R,V] — temps[r] 0 greedy, > 0 a draw at u[r] (top-k rows: with top-p, min-p), NaN skipped (token −1) */
void sample_rows_pass(int32_t *tokens, float *logprobs, const float *logits, const float *temps, const double *u,
                      const int32_t *topk, const float *topp, const float *minp, long R, long V, long Vs);

void adamw(float *p, const float *g, float *m, float *v, long N, double lr, double beta1, double beta2, double eps,
           double weight_decay, double t);

/* Sustained FP32 GFLOP/s of a register-only FMA loop on every pool thread for about `seconds`. */
double peak_gflops(double seconds);

#endif
