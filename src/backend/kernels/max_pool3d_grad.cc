// Max-pool 3-D backward for MindSpore's CPU backend (ops.Custom, func_type "aot"); see src/backend/max_pool.py.
// Each output's gradient goes to the FIRST element of its window (t, h, w order) equal to the output:
// the element oneDNN's argmax picks. Padding cells (outside the input) are skipped (TF SAME pads -inf).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

static void planes(const float *x, const float *out, const float *dout, float *dx, const int64_t *p,
                   int64_t first, int64_t last, const int64_t *in, const int64_t *os) {
  const int64_t T = in[2], H = in[3], W = in[4], OT = os[2], OH = os[3], OW = os[4];
  const int64_t kt = p[0], kh = p[1], kw = p[2], st = p[3], sh = p[4], sw = p[5];
  // TF SAME: total pad (out - 1) * stride + kernel - in, the smaller half in front
  const int64_t pt = std::max<int64_t>((OT - 1) * st + kt - T, 0) / 2;
  const int64_t ph = std::max<int64_t>((OH - 1) * sh + kh - H, 0) / 2;
  const int64_t pw = std::max<int64_t>((OW - 1) * sw + kw - W, 0) / 2;
  for (int64_t plane = first; plane < last; ++plane) {
    const float *xp = x + plane * T * H * W;
    float *dxp = dx + plane * T * H * W;
    const float *op = out + plane * OT * OH * OW;
    const float *gp = dout + plane * OT * OH * OW;
    std::memset(dxp, 0, sizeof(float) * T * H * W);
    for (int64_t ot = 0; ot < OT; ++ot) {
      const int64_t t0 = std::max<int64_t>(ot * st - pt, 0), t1 = std::min<int64_t>(ot * st - pt + kt, T);
      for (int64_t oh = 0; oh < OH; ++oh) {
        const int64_t h0 = std::max<int64_t>(oh * sh - ph, 0), h1 = std::min<int64_t>(oh * sh - ph + kh, H);
        for (int64_t ow = 0; ow < OW; ++ow) {
          const int64_t w0 = std::max<int64_t>(ow * sw - pw, 0), w1 = std::min<int64_t>(ow * sw - pw + kw, W);
          const int64_t o = (ot * OH + oh) * OW + ow;
          const float v = op[o];
          for (int64_t t = t0; t < t1; ++t)
            for (int64_t h = h0; h < h1; ++h) {
              const float *row = xp + (t * H + h) * W;
              for (int64_t w = w0; w < w1; ++w)
                if (row[w] == v) {
                  dxp[(t * H + h) * W + w] += gp[o];
                  goto next;
                }
            }
        next:;
        }
      }
    }
  }
}

// inputs: x (N,C,T,H,W) f32, out and dout (N,C,T',H',W') f32, params (7) int64: kernel t,h,w, stride t,h,w,
// threads; output: dx like x.
extern "C" int MaxPool3dGrad(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes,
                             void *stream, void *extra) {
  if (nparam != 5 || ndims[0] != 5 || ndims[1] != 5 || ndims[3] != 1 || shapes[3][0] != 7) return 1;
  const float *x = static_cast<const float *>(params[0]);
  const float *out = static_cast<const float *>(params[1]);
  const float *dout = static_cast<const float *>(params[2]);
  const int64_t *p = static_cast<const int64_t *>(params[3]);
  float *dx = static_cast<float *>(params[4]);
  const int64_t n_planes = shapes[0][0] * shapes[0][1];
  const int64_t workers = std::max<int64_t>(1, std::min<int64_t>(p[6], n_planes));
  std::vector<std::thread> pool;
  for (int64_t i = 0; i < workers; ++i)
    pool.emplace_back(planes, x, out, dout, dx, p, n_planes * i / workers, n_planes * (i + 1) / workers, shapes[0],
                      shapes[1]);
  for (auto &t : pool) t.join();
  return 0;
}
