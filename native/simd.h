/* Which SIMD level this build was compiled for (-march=native decides). */
#ifndef MOVE37_SIMD_H
#define MOVE37_SIMD_H
#if defined(__AVX512F__)
#include <immintrin.h>
#define SIMD_NAME "avx512"
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define SIMD_NAME "avx2"
#else
#define SIMD_NAME "scalar"
#endif
#endif
