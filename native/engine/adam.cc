// adam.cc — one Adam / AdamW step in place over a parameter and its two moment buffers. The
// per-step constants (bias corrections, decay) are formed in float64 as the JS backend does;
// the element loop runs in float so it vectorises (sqrt and divide 8–16 lanes at a time), which
// moves each result by at most a few float ulps from the JS backend's float64 evaluation.
#include <cmath>

#include "kernels.h"
#include "thread_pool.h"

namespace tbn {

namespace {

struct AdamConsts {
  float decay, l2, b1, b2, a1, a2, step, inv_c2, eps;
};

TBN_WIDE void adam_range(float *__restrict w, const float *__restrict gr, float *__restrict pm, float *__restrict pv,
                         int64_t n, const AdamConsts &k) {
  for (int64_t i = 0; i < n; i++) {
    const float gi = gr[i] + k.l2 * w[i];
    const float mi = k.b1 * pm[i] + k.a1 * gi;
    const float vi = k.b2 * pv[i] + k.a2 * gi * gi;
    pm[i] = mi;
    pv[i] = vi;
    w[i] = w[i] * k.decay - k.step * mi / (std::sqrt(vi * k.inv_c2) + k.eps);
  }
}

}  // namespace

void adam(const Buf &param, const Buf &grad, const Buf &m, const Buf &v, const AdamGeom &g) {
  float *w = param.f32("adam parameter");
  const float *gr = grad.f32("adam gradient");
  float *pm = m.f32("adam first moment");
  float *pv = v.f32("adam second moment");
  const int64_t n = param.size;
  need_size(grad, n, "adam", "gradient");
  need_size(m, n, "adam", "first moment");
  need_size(v, n, "adam", "second moment");
  const double c1 = 1 - std::pow(g.beta1, g.step);
  const double c2 = 1 - std::pow(g.beta2, g.step);
  const AdamConsts k{static_cast<float>(g.decoupled ? 1 - g.lr * g.weight_decay : 1),
                     static_cast<float>(g.decoupled ? 0 : g.weight_decay),
                     static_cast<float>(g.beta1),
                     static_cast<float>(g.beta2),
                     static_cast<float>(1 - g.beta1),
                     static_cast<float>(1 - g.beta2),
                     static_cast<float>(g.lr / c1),
                     static_cast<float>(1 / c2),
                     static_cast<float>(g.eps)};
  parallel_for(n, grain_for(n, 32768), [&](int64_t b, int64_t e) { adam_range(w + b, gr + b, pm + b, pv + b, e - b, k); });
}

}  // namespace tbn
