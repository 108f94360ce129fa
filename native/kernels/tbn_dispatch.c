/* tbn_dispatch.c — which kernel path runs: what was compiled in (TBN_HAVE_AVX2/AVX512, set by
 * the build for x86-64) and what this CPU (and its OS, which must save the wider registers)
 * supports. The AVX-512 path needs F, BW, DQ and VL; the AVX2 path needs AVX2 and FMA. */
#include <string.h>

#include "tbn_internal.h"

int tbn_isa_available(tbn_isa isa) {
  switch (isa) {
    case TBN_ISA_PORTABLE: return 1;
    case TBN_ISA_AVX2:
#if defined(TBN_HAVE_AVX2) && (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
      return 0;
#endif
    case TBN_ISA_AVX512:
#if defined(TBN_HAVE_AVX512) && (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("fma");
#else
      return 0;
#endif
  }
  return 0;
}

tbn_isa tbn_isa_best(void) {
  if (tbn_isa_available(TBN_ISA_AVX512)) return TBN_ISA_AVX512;
  if (tbn_isa_available(TBN_ISA_AVX2)) return TBN_ISA_AVX2;
  return TBN_ISA_PORTABLE;
}

const char *tbn_isa_name(tbn_isa isa) {
  switch (isa) {
    case TBN_ISA_PORTABLE: return "portable";
    case TBN_ISA_AVX2: return "avx2";
    case TBN_ISA_AVX512: return "avx512";
  }
  return "unknown";
}

tbn_status tbn_isa_parse(const char *name, tbn_isa *out) {
  static const tbn_isa all[] = {TBN_ISA_PORTABLE, TBN_ISA_AVX2, TBN_ISA_AVX512};
  size_t i;
  if (!name || !out) return TBN_ERR_ARG;
  for (i = 0; i < sizeof all / sizeof all[0]; i++) {
    if (strcmp(name, tbn_isa_name(all[i])) == 0) {
      *out = all[i];
      return TBN_OK;
    }
  }
  return TBN_ERR_ARG;
}

const tbn_micro *tbn_micro_get(tbn_isa isa) {
  if (!tbn_isa_available(isa)) return 0;
  switch (isa) {
    case TBN_ISA_PORTABLE: return &tbn_micro_portable;
#if defined(TBN_HAVE_AVX2)
    case TBN_ISA_AVX2: return &tbn_micro_avx2;
#endif
#if defined(TBN_HAVE_AVX512)
    case TBN_ISA_AVX512: return &tbn_micro_avx512;
#endif
    default: return 0;
  }
}
