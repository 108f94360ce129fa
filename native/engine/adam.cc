// adam.cc — one Adam / AdamW step in place over a parameter and its two moment buffers, each
// element computed in float64 as the JS backend does (so both backends take the same steps).
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
  const double decay = g.decoupled ? 1 - g.lr * g.weight_decay : 1;
  const double l2 = g.decoupled ? 0 : g.weight_decay;
  parallel_for(n, grain_for(n, 16384), [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; i++) {
      const double gi = gr[i] + l2 * w[i];
      const double mi = g.beta1 * pm[i] + (1 - g.beta1) * gi;
      const double vi = g.beta2 * pv[i] + (1 - g.beta2) * gi * gi;
      pm[i] = static_cast<float>(mi);
      pv[i] = static_cast<float>(vi);
      w[i] = static_cast<float>(w[i] * decay - (g.lr * (mi / c1)) / (std::sqrt(vi / c2) + g.eps));
    }
  });
}

}  // namespace tbn
