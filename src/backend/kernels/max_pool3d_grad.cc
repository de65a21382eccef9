// Max-pool 3-D backward for MindSpore's CPU backend (ops.Custom, func_type "aot"); see src/backend/max_pool.py.
// Each output's gradient goes to the FIRST element of its window (t, h, w order) equal to the output:
// the element oneDNN's argmax picks. Padding cells (outside the input) are skipped (TF SAME pads -inf).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
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
  if (nparam != 5 || ndims[0] != 5 || ndims[1] != 5 || ndims[2] != 5 || ndims[3] != 1 || ndims[4] != 5 ||
      shapes[3][0] != 7)
    return 1;
  for (int i = 0; i < 5; ++i)  // dx like x, dout like out, same N and C: else the loops below run off a buffer
    if (shapes[4][i] != shapes[0][i] || shapes[2][i] != shapes[1][i] || (i < 2 && shapes[1][i] != shapes[0][i]))
      return 1;
  for (int i = 0; i < 5; ++i)
    if (std::string(dtypes[i]) != (i == 3 ? "int64" : "float32")) return 1;
  const float *x = static_cast<const float *>(params[0]);
  const float *out = static_cast<const float *>(params[1]);
  const float *dout = static_cast<const float *>(params[2]);
  const int64_t *p = static_cast<const int64_t *>(params[3]);
  float *dx = static_cast<float *>(params[4]);
  for (int i = 0; i < 6; ++i)
    if (p[i] < 1) return 1;
  const int64_t n_planes = shapes[0][0] * shapes[0][1];
  const int64_t workers = std::max<int64_t>(1, std::min<int64_t>(p[6], n_planes));
  std::vector<std::thread> pool;
  for (int64_t i = 0; i < workers; ++i)
    pool.emplace_back(planes, x, out, dout, dx, p, n_planes * i / workers, n_planes * (i + 1) / workers, shapes[0],
                      shapes[1]);
  for (auto &t : pool) t.join();
  return 0;
}

// 0 if MaxPool3dGrad sends each gradient to the first maximum of its window on a small case with ties,
// uneven SAME padding and 2 threads (src/backend/cpu_kernels.py runs this before MindSpore loads the library).
extern "C" int I3dSelfCheck(char *message, int size) {
  // x: 1 x 2 planes x (2, 3, 3); kernel (2, 2, 2), stride (2, 2, 2) -> out (1, 2, 1, 2, 2), pad 0/1 in h, w
  int64_t xs[5] = {1, 2, 2, 3, 3}, os[5] = {1, 2, 1, 2, 2}, ps[1] = {7};
  float x[36], out[8], dout[8], dx[36];
  for (int i = 0; i < 36; ++i) x[i] = static_cast<float>((i * 7) % 5);  // values 0-4, many ties
  for (int i = 0; i < 8; ++i) dout[i] = 1.0f + i;
  std::vector<float> want(36, 0.0f);
  for (int plane = 0; plane < 2; ++plane)
    for (int oh = 0; oh < 2; ++oh)
      for (int ow = 0; ow < 2; ++ow) {
        int best = -1;
        for (int t = 0; t < 2; ++t)
          for (int h = 2 * oh; h < std::min(2 * oh + 2, 3); ++h)
            for (int w = 2 * ow; w < std::min(2 * ow + 2, 3); ++w) {
              const int i = plane * 18 + (t * 3 + h) * 3 + w;
              if (best < 0 || x[i] > x[best]) best = i;
            }
        const int o = plane * 4 + oh * 2 + ow;
        out[o] = x[best];
        want[best] += dout[o];
      }
  int64_t p[7] = {2, 2, 2, 2, 2, 2, 2};
  void *params[5] = {x, out, dout, p, dx};
  int ndims[5] = {5, 5, 5, 1, 5};
  int64_t *shapes[5] = {xs, os, os, ps, xs};
  const char *dtypes[5] = {"float32", "float32", "float32", "int64", "float32"};
  if (MaxPool3dGrad(5, params, ndims, shapes, dtypes, nullptr, nullptr) != 0) {
    std::snprintf(message, size, "MaxPool3dGrad refused a valid call");
    return 1;
  }
  for (int i = 0; i < 36; ++i)
    if (dx[i] != want[i]) {
      std::snprintf(message, size, "gradient %d is %g, expected %g", i, dx[i], want[i]);
      return 2;
    }
  std::snprintf(message, size, "max-pool gradient matches plain loops");
  return 0;
}
