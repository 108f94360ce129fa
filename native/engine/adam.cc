// adam.cc — one Adam / AdamW step in place over a parameter and its two moment buffers. The
// per-step constants (bias corrections, decay) are formed in float64 as the JS backend does;
// the element loop runs in float so it vectorises (sqrt and divide 8–16 lanes at a time), which
// moves each result by at most a few float ulps from the JS backend's float64 evaluation.
#include <cmath>

#include "kernels.h"
#include "thread_pool.h"

namespace tbn {

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
  const float decay = static_cast<float>(g.decoupled ? 1 - g.lr * g.weight_decay : 1);
  const float l2 = static_cast<float>(g.decoupled ? 0 : g.weight_decay);
  const float b1 = static_cast<float>(g.beta1), b2 = static_cast<float>(g.beta2);
  const float a1 = static_cast<float>(1 - g.beta1), a2 = static_cast<float>(1 - g.beta2);
  const float step = static_cast<float>(g.lr / c1), inv_c2 = static_cast<float>(1 / c2), eps = static_cast<float>(g.eps);
  parallel_for(n, grain_for(n, 32768), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      const float gi = gr[i] + l2 * w[i];
      const float mi = b1 * pm[i] + a1 * gi;
      const float vi = b2 * pv[i] + a2 * gi * gi;
      pm[i] = mi;
      pv[i] = vi;
      w[i] = w[i] * decay - step * mi / (std::sqrt(vi * inv_c2) + eps);
    }
  });
}

}  // namespace tbn
