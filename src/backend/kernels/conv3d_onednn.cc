// TF-SAME 3-D convolution for MindSpore's CPU backend (ops.Custom, func_type "aot"); see src/backend/conv3d.py.
// MindSpore's own Conv3D hands oneDNN plain NCDHW tensors, so oneDNN can only pick its im2col+gemm
// implementation; here the same oneDNN library (MindSpore's libdnnl.so.3) chooses the layouts itself
// ("any"), which gives its direct jit kernels on blocked layouts, with reorders from and to NCDHW around
// them. Three entry points: forward, backward data, backward weights; and I3dSelfCheck, which
// src/backend/cpu_kernels.py runs (in a child process) before MindSpore ever loads the library.
// oneDNN is called through its C API, declared in onednn_subset.h (why: that header's comment).
// Each pass caches its primitives (convolution and reorders) per shape; buffers, scratchpads and the
// stream are per call, so concurrent calls from MindSpore's actors share nothing mutable.
#include "onednn_subset.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#if I3D_DNNL_MAJOR != 3
#error "conv3d_onednn.cc is written for oneDNN's v3 C API"
#endif

namespace {

namespace d = i3d_dnnl;

struct DnnlError : std::exception {
  explicit DnnlError(dnnl_status_t s) : status(s) {}
  const char *what() const noexcept override { return "oneDNN call failed"; }
  dnnl_status_t status;
};
void check(dnnl_status_t status) {
  if (status != d::kSuccess) throw DnnlError(status);
}

// Owning handles for the C API's objects.
struct DestroyMd { void operator()(dnnl_memory_desc *h) const { dnnl_memory_desc_destroy(h); } };
struct DestroyPd { void operator()(dnnl_primitive_desc *h) const { dnnl_primitive_desc_destroy(h); } };
struct DestroyPrimitive { void operator()(dnnl_primitive *h) const { dnnl_primitive_destroy(h); } };
struct DestroyMemory { void operator()(dnnl_memory *h) const { dnnl_memory_destroy(h); } };
struct DestroyAttr { void operator()(dnnl_primitive_attr *h) const { dnnl_primitive_attr_destroy(h); } };
struct DestroyStream { void operator()(dnnl_stream *h) const { dnnl_stream_destroy(h); } };
using Md = std::unique_ptr<dnnl_memory_desc, DestroyMd>;
using Pd = std::unique_ptr<dnnl_primitive_desc, DestroyPd>;
using Primitive = std::unique_ptr<dnnl_primitive, DestroyPrimitive>;
using Memory = std::unique_ptr<dnnl_memory, DestroyMemory>;
using Attr = std::unique_ptr<dnnl_primitive_attr, DestroyAttr>;
using Stream = std::unique_ptr<dnnl_stream, DestroyStream>;

// oneDNN built with the threadpool runtime runs single-threaded unless the stream carries a pool.
class ThreadPool : public dnnl::threadpool_interop::threadpool_iface {
 public:
  explicit ThreadPool(int threads) : threads_(std::max(threads, 1)) {
    for (int i = 1; i < threads_; ++i) workers_.emplace_back([this] { serve(); });
  }
  ~ThreadPool() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    for (auto &w : workers_) w.join();
  }
  int get_num_threads() const override { return threads_; }
  bool get_in_parallel() const override { return in_parallel_; }
  uint64_t get_flags() const override { return 0; }  // synchronous: parallel_for returns when all ran
  void wait() override {}
  void parallel_for(int n, const std::function<void(int, int)> &fn) override {
    if (n <= 0) return;
    if (n == 1 || threads_ == 1 || in_parallel_) {
      run_inline(n, fn);
      return;
    }
    auto job = std::make_shared<Job>(n, fn);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      queue_.push_back(job);
    }
    wake_.notify_all();
    work_on(*job);
    std::unique_lock<std::mutex> lock(mutex_);
    finished_.wait(lock, [&] { return job->done == job->n; });
  }

 private:
  struct Job {
    Job(int n_, const std::function<void(int, int)> &fn_) : n(n_), fn(fn_) {}
    const int n;
    const std::function<void(int, int)> &fn;
    std::atomic<int> next{0};
    int done = 0;  // guarded by mutex_
  };
  static thread_local bool in_parallel_;

  static void run_inline(int n, const std::function<void(int, int)> &fn) {
    const bool outer = in_parallel_;
    in_parallel_ = true;
    for (int i = 0; i < n; ++i) fn(i, n);
    in_parallel_ = outer;
  }
  void work_on(Job &job) {
    int ran = 0;
    in_parallel_ = true;
    for (int i = job.next++; i < job.n; i = job.next++) {
      job.fn(i, job.n);
      ++ran;
    }
    in_parallel_ = false;
    if (ran) {
      std::lock_guard<std::mutex> lock(mutex_);
      job.done += ran;
      if (job.done == job.n) finished_.notify_all();
    }
  }
  void serve() {
    for (;;) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] {
          while (!queue_.empty() && queue_.front()->next >= queue_.front()->n) queue_.pop_front();
          return stop_ || !queue_.empty();
        });
        if (stop_) return;
        job = queue_.front();
      }
      work_on(*job);
    }
  }
  const int threads_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, finished_;
  std::deque<std::shared_ptr<Job>> queue_;
  bool stop_ = false;
};
thread_local bool ThreadPool::in_parallel_ = false;

dnnl_engine_t cpu() {
  static dnnl_engine_t engine = [] {  // never destroyed, like the pools and plans
    dnnl_engine_t e = nullptr;
    check(dnnl_engine_create(&e, d::kCpu, 0));
    return e;
  }();
  return engine;
}

// One pool per thread count. Never destroyed: at exit the idle workers simply end with the process,
// instead of being joined while another thread might still be inside a convolution.
ThreadPool *pool_for(int threads) {
  static std::mutex mutex;
  static auto *pools = new std::map<int, ThreadPool *>();
  std::lock_guard<std::mutex> lock(mutex);
  auto found = pools->find(threads);
  if (found == pools->end()) found = pools->emplace(threads, new ThreadPool(threads)).first;
  return found->second;
}

// A stream per call: MindSpore may run independent convolutions (an Inception block's branches) at once,
// and oneDNN's documentation nowhere promises that one stream may be used by several threads at once.
Stream stream_on(ThreadPool *pool) {
  dnnl_stream_t s = nullptr;
  check(dnnl_threadpool_interop_stream_create(&s, cpu(),
                                              static_cast<dnnl::threadpool_interop::threadpool_iface *>(pool)));
  return Stream(s);
}

Md plain_md(const int64_t *shape, int tag) {
  dnnl_dims_t dims = {};
  std::copy(shape, shape + 5, dims);
  dnnl_memory_desc_t md = nullptr;
  check(dnnl_memory_desc_create_with_tag(&md, 5, dims, d::kF32, tag));
  return Md(md);
}

Md clone(const_dnnl_memory_desc_t md) {
  if (md == nullptr) throw DnnlError(-1);
  dnnl_memory_desc_t copy = nullptr;
  check(dnnl_memory_desc_clone(&copy, md));
  return Md(copy);
}

Md query(const Pd &pd, int what) { return clone(dnnl_primitive_desc_query_md(pd.get(), what, 0)); }

size_t size_of(const Md &md) { return dnnl_memory_desc_get_size(md.get()); }

bool same(const Md &a, const Md &b) { return dnnl_memory_desc_equal(a.get(), b.get()) != 0; }

std::string impl_of(const Pd &pd) {
  const char *name = nullptr;
  check(dnnl_primitive_desc_query(pd.get(), d::kQueryImplInfoStr, 0, &name));
  return name ? name : "";
}

// Not im2col+gemm ("gemm:jit", "x64:gemm:jit") and not the reference loops ("ref:any"): a direct or
// brgemm kernel on blocked layouts.
bool direct(const Pd &pd) {
  const std::string name = ":" + impl_of(pd) + ":";
  return name.find(":gemm:") == std::string::npos && name.rfind(":ref:", 0) == std::string::npos;
}

Primitive primitive_of(const Pd &pd) {
  dnnl_primitive_t p = nullptr;
  check(dnnl_primitive_create(&p, pd.get()));
  return Primitive(p);
}

// A reorder primitive from -> to, or null where the layouts are equal (nothing to do).
Primitive reorder(const Md &from, const Md &to) {
  if (same(from, to)) return nullptr;
  dnnl_primitive_desc_t pd = nullptr;
  check(dnnl_reorder_primitive_desc_create(&pd, from.get(), cpu(), to.get(), cpu(), nullptr));
  return primitive_of(Pd(pd));
}

enum Kind { kForward = 0, kBackwardData = 1, kBackwardWeights = 2 };
enum Tensor { kX = 0, kW = 1, kY = 2 };  // input, weights, output (or their gradients)

// Which tensors each kind reads (and as which oneDNN argument) and which it writes.
struct Roles {
  Tensor in[2];
  int in_arg[2];
  Tensor out;
  int out_arg;
};
const Roles kRoles[3] = {
    {{kX, kW}, {d::kArgSrc, d::kArgWeights}, kY, d::kArgDst},
    {{kY, kW}, {d::kArgDiffDst, d::kArgWeights}, kX, d::kArgDiffSrc},
    {{kX, kY}, {d::kArgSrc, d::kArgDiffDst}, kW, d::kArgDiffWeights},
};

// Everything one (kind, shapes, strides) needs; built once, executed many times.
struct Plan {
  Md plain[3];            // x, w, y as MindSpore holds them: NCDHW / OIDHW
  Md conv[3];             // x, w, y in the layouts the convolution wants
  Md scratch;
  Md x_inner;             // set: conv[kX] is x zero-padded, and x_inner is where x sits in it
  Primitive primitive;
  Primitive to_conv[3];   // plain -> conv[t] for the inputs (to x_inner for a padded x); null: same layout
  Primitive to_plain;     // conv -> plain for the output; null: same layout
};

struct Geometry {
  dnnl_dims_t strides = {}, dilates = {}, pad_l = {}, pad_r = {};
};

Pd forward_pd(const Md &x, const Md &w, const Md &y, const Geometry &g, const Attr &attr) {
  dnnl_primitive_desc_t pd = nullptr;
  check(dnnl_convolution_forward_primitive_desc_create(&pd, cpu(), d::kForwardTraining, d::kConvolutionDirect, x.get(),
                                                       w.get(), nullptr, y.get(), g.strides, g.dilates, g.pad_l,
                                                       g.pad_r, attr.get()));
  return Pd(pd);
}

Pd backward_pd(Kind kind, const Md &x, const Md &w, const Md &y, const Geometry &g, const Pd &fwd, const Attr &attr) {
  dnnl_primitive_desc_t pd = nullptr;
  if (kind == kBackwardData)
    check(dnnl_convolution_backward_data_primitive_desc_create(&pd, cpu(), d::kConvolutionDirect, x.get(), w.get(),
                                                               y.get(), g.strides, g.dilates, g.pad_l, g.pad_r,
                                                               fwd.get(), attr.get()));
  else
    check(dnnl_convolution_backward_weights_primitive_desc_create(&pd, cpu(), d::kConvolutionDirect, x.get(), w.get(),
                                                                  nullptr, y.get(), g.strides, g.dilates, g.pad_l,
                                                                  g.pad_r, fwd.get(), attr.get()));
  return Pd(pd);
}

// The backward primitive_desc for these activation layouts. With both left to oneDNN ("any") it takes
// im2col+gemm for some shapes even where a direct kernel exists that wants the forward's blocked layouts
// (the stem's backward weights); then ask again with those layouts fixed.
Pd choose(Kind kind, const Md &any_x, const Md &any_w, const Md &any_y, const Geometry &g, const Pd &fwd,
          const Attr &attr) {
  Pd pd = backward_pd(kind, any_x, any_w, any_y, g, fwd, attr);
  if (direct(pd)) return pd;
  try {
    Pd fixed = backward_pd(kind, query(fwd, d::kQuerySrcMd), any_w, query(fwd, d::kQueryDstMd), g, fwd, attr);
    do {
      if (direct(fixed)) return fixed;
    } while (dnnl_primitive_desc_next_impl(fixed.get()) == d::kSuccess);
  } catch (const DnnlError &) {
  }
  return pd;
}

std::shared_ptr<Plan> make_plan(Kind kind, const int64_t *xs, const int64_t *ws, const int64_t *ys,
                                const int64_t *stride) {
  Geometry g;
  for (int i = 0; i < 3; ++i) {  // TF SAME: total pad (out-1)*stride + kernel - in, the smaller half in front
    const int64_t total = std::max<int64_t>((ys[2 + i] - 1) * stride[i] + ws[2 + i] - xs[2 + i], 0);
    g.strides[i] = stride[i];
    g.pad_l[i] = total / 2;
    g.pad_r[i] = total - total / 2;
  }
  auto plan = std::make_shared<Plan>();
  plan->plain[kX] = plain_md(xs, d::kNcdhw);
  plan->plain[kW] = plain_md(ws, d::kOidhw);
  plan->plain[kY] = plain_md(ys, d::kNcdhw);
  const Md ax = plain_md(xs, d::kAny), aw = plain_md(ws, d::kAny), ay = plain_md(ys, d::kAny);
  dnnl_primitive_attr_t raw_attr = nullptr;
  check(dnnl_primitive_attr_create(&raw_attr));
  const Attr attr(raw_attr);
  check(dnnl_primitive_attr_set_scratchpad_mode(attr.get(), d::kScratchpadUser));
  const Pd fwd = forward_pd(ax, aw, ay, g, attr);
  Pd pd;  // the backward passes' primitive_desc (the forward's is fwd)
  if (kind != kForward) {
    pd = choose(kind, ax, aw, ay, g, fwd, attr);
    if (kind == kBackwardWeights && !direct(pd)) {
      // The direct backward-weights kernel refuses some paddings (the stem's 2/3): pad x ourselves.
      int64_t padded[5] = {xs[0], xs[1], 0, 0, 0};
      for (int i = 0; i < 3; ++i) padded[2 + i] = xs[2 + i] + g.pad_l[i] + g.pad_r[i];
      Geometry none;
      std::copy(g.strides, g.strides + 3, none.strides);
      try {
        const Md apx = plain_md(padded, d::kAny);
        const Pd fwd_p = forward_pd(apx, aw, ay, none, attr);
        Pd pd_p = choose(kind, apx, aw, ay, none, fwd_p, attr);
        if (direct(pd_p)) {
          pd = std::move(pd_p);
          const Md conv_x = query(pd, d::kQuerySrcMd);
          dnnl_dims_t dims = {}, offsets = {};
          std::copy(xs, xs + 5, dims);
          std::copy(g.pad_l, g.pad_l + 3, offsets + 2);
          dnnl_memory_desc_t inner = nullptr;
          check(dnnl_memory_desc_create_submemory(&inner, conv_x.get(), dims, offsets));
          plan->x_inner = Md(inner);
        }
      } catch (const DnnlError &) {
      }
    }
  }
  static const int kQueries[3][3] = {  // per kind: the conv's query for x, w, y
      {d::kQuerySrcMd, d::kQueryWeightsMd, d::kQueryDstMd},
      {d::kQueryDiffSrcMd, d::kQueryWeightsMd, d::kQueryDiffDstMd},
      {d::kQuerySrcMd, d::kQueryDiffWeightsMd, d::kQueryDiffDstMd},
  };
  const Pd &chosen = kind == kForward ? fwd : pd;
  for (int t = 0; t < 3; ++t) plan->conv[t] = query(chosen, kQueries[kind][t]);
  plan->scratch = query(chosen, d::kQueryScratchpadMd);
  plan->primitive = primitive_of(chosen);
  const Roles &r = kRoles[kind];
  for (Tensor t : r.in)
    plan->to_conv[t] = t == kX && plan->x_inner ? reorder(plan->plain[kX], plan->x_inner)
                                                : reorder(plan->plain[t], plan->conv[t]);
  plan->to_plain = reorder(plan->conv[r.out], plan->plain[r.out]);
  return plan;
}

std::shared_ptr<Plan> plan_for(Kind kind, const int64_t *xs, const int64_t *ws, const int64_t *ys,
                               const int64_t *stride) {
  using Key = std::array<int64_t, 19>;
  Key key{kind};
  std::copy(xs, xs + 5, key.begin() + 1);
  std::copy(ws, ws + 5, key.begin() + 6);
  std::copy(ys, ys + 5, key.begin() + 11);
  std::copy(stride, stride + 3, key.begin() + 16);
  static std::mutex mutex;
  static auto *plans = new std::map<Key, std::shared_ptr<Plan>>();  // never destroyed, like the pools
  std::lock_guard<std::mutex> lock(mutex);
  auto found = plans->find(key);
  if (found != plans->end()) return found->second;
  auto plan = make_plan(kind, xs, ws, ys, stride);
  plans->emplace(key, plan);
  return plan;
}

struct Buffer {  // 64-byte aligned scratch owned by one call
  explicit Buffer(size_t bytes) : ptr(bytes ? std::aligned_alloc(64, (bytes + 63) / 64 * 64) : nullptr) {
    if (bytes && !ptr) throw std::bad_alloc();
  }
  ~Buffer() { std::free(ptr); }
  Buffer(const Buffer &) = delete;
  Buffer &operator=(const Buffer &) = delete;
  void *ptr;
};

Memory memory_at(const Md &md, void *data) {
  dnnl_memory_t m = nullptr;
  check(dnnl_memory_create(&m, md.get(), cpu(), data));
  return Memory(m);
}

void execute(const Primitive &p, const Stream &s, std::initializer_list<dnnl_exec_arg_t> args) {
  check(dnnl_primitive_execute(p.get(), s.get(), static_cast<int>(args.size()), args.begin()));
}

// One pass on plain tensors: inputs reordered (or zero-padded) into the plan's layouts, the convolution,
// the output reordered back. Every buffer and memory object lives until the stream has finished.
void execute_plan(const Plan &plan, Kind kind, void **params, void *out, int threads) {
  Stream s = stream_on(pool_for(threads));
  const Roles &r = kRoles[kind];
  std::vector<std::unique_ptr<Buffer>> keep;
  std::vector<Memory> mems;  // every memory object of this call
  auto at = [&](const Md &md, void *data) {
    mems.push_back(memory_at(md, data));
    return mems.back().get();
  };
  std::vector<dnnl_exec_arg_t> args;
  for (int i = 0; i < 2; ++i) {
    const Tensor t = r.in[i];  // also the index of its parameter
    dnnl_memory_t user = at(plan.plain[t], params[t]);
    if (!plan.to_conv[t]) {
      args.push_back({r.in_arg[i], user});
      continue;
    }
    const size_t bytes = size_of(plan.conv[t]);
    keep.push_back(std::make_unique<Buffer>(bytes));
    const bool pad = t == kX && plan.x_inner;
    if (pad) std::memset(keep.back()->ptr, 0, bytes);
    dnnl_memory_t into = at(pad ? plan.x_inner : plan.conv[t], keep.back()->ptr);
    execute(plan.to_conv[t], s, {{d::kArgSrc, user}, {d::kArgDst, into}});
    args.push_back({r.in_arg[i], at(plan.conv[t], keep.back()->ptr)});
  }
  dnnl_memory_t user_out = at(plan.plain[r.out], out), result = user_out;
  if (plan.to_plain) {
    keep.push_back(std::make_unique<Buffer>(size_of(plan.conv[r.out])));
    result = at(plan.conv[r.out], keep.back()->ptr);
  }
  keep.push_back(std::make_unique<Buffer>(size_of(plan.scratch)));
  args.push_back({r.out_arg, result});
  args.push_back({d::kArgScratchpad, at(plan.scratch, keep.back()->ptr)});
  check(dnnl_primitive_execute(plan.primitive.get(), s.get(), static_cast<int>(args.size()), args.data()));
  if (plan.to_plain) execute(plan.to_plain, s, {{d::kArgSrc, result}, {d::kArgDst, user_out}});
  check(dnnl_stream_wait(s.get()));
}

// Inputs, then the output (all f32 NCDHW / OIDHW) and an int64 cfg (4): stride t,h,w and threads.
//   forward:          x, w, cfg        -> y
//   backward data:    x, w, dy, cfg    -> dx   (x only gives the shape)
//   backward weights: x, w, dy, cfg    -> dw   (w only gives the shape)
int run(Kind kind, int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes) {
  const int want = kind == kForward ? 4 : 5;
  if (nparam != want || ndims[want - 2] != 1 || shapes[want - 2][0] != 4) return 1;
  for (int i = 0; i < want; ++i)
    if (i != want - 2 && (ndims[i] != 5 || std::string(dtypes[i]) != "float32")) return 1;
  const int64_t *cfg = static_cast<const int64_t *>(params[want - 2]);
  const int64_t *xs = shapes[0], *ws = shapes[1], *ys = kind == kForward ? shapes[3] : shapes[2];
  if (cfg[3] < 1 || cfg[3] > 4096) return 1;
  for (int i = 0; i < 3; ++i)
    if (cfg[i] < 1) return 1;
  try {
    auto plan = plan_for(kind, xs, ws, ys, cfg);
    // the parameters in Tensor order x, w, y (y: dy for the backward passes; unused by the forward)
    void *tensors[3] = {params[0], params[1], kind == kForward ? nullptr : params[2]};
    execute_plan(*plan, kind, tensors, params[want - 1], static_cast<int>(cfg[3]));
  } catch (const DnnlError &) {
    return 2;
  } catch (const std::exception &) {  // e.g. out of memory: never let an exception cross the C boundary
    return 3;
  }
  return 0;
}

// Plain loops for the self-check: TF-SAME y = conv(x, w), dx = conv_T(dy, w), dw = corr(x, dy).
void reference(const int64_t *xs, const int64_t *ws, const int64_t *ys, const int64_t *stride, const float *x,
               const float *w, const float *dy, float *y, float *dx, float *dw) {
  int64_t pad[3];
  for (int i = 0; i < 3; ++i) pad[i] = std::max<int64_t>((ys[2 + i] - 1) * stride[i] + ws[2 + i] - xs[2 + i], 0) / 2;
  const int64_t C = xs[1], O = ws[0];
  for (int64_t o = 0; o < O; ++o)
    for (int64_t ot = 0; ot < ys[2]; ++ot)
      for (int64_t oh = 0; oh < ys[3]; ++oh)
        for (int64_t ow = 0; ow < ys[4]; ++ow) {
          const int64_t yi = ((o * ys[2] + ot) * ys[3] + oh) * ys[4] + ow;
          double sum = 0;
          for (int64_t c = 0; c < C; ++c)
            for (int64_t kt = 0; kt < ws[2]; ++kt)
              for (int64_t kh = 0; kh < ws[3]; ++kh)
                for (int64_t kw = 0; kw < ws[4]; ++kw) {
                  const int64_t t = ot * stride[0] - pad[0] + kt, h = oh * stride[1] - pad[1] + kh,
                                v = ow * stride[2] - pad[2] + kw;
                  if (t < 0 || t >= xs[2] || h < 0 || h >= xs[3] || v < 0 || v >= xs[4]) continue;
                  const int64_t xi = ((c * xs[2] + t) * xs[3] + h) * xs[4] + v;
                  const int64_t wi = (((o * C + c) * ws[2] + kt) * ws[3] + kh) * ws[4] + kw;
                  sum += x[xi] * w[wi];
                  dx[xi] += dy[yi] * w[wi];
                  dw[wi] += dy[yi] * x[xi];
                }
          y[yi] = static_cast<float>(sum);
        }
}

bool close(const std::vector<float> &got, const std::vector<float> &want) {
  float scale = 0;
  for (float v : want) scale = std::max(scale, std::fabs(v));
  for (size_t i = 0; i < got.size(); ++i)
    if (!(std::fabs(got[i] - want[i]) <= 1e-4f * scale)) return false;
  return scale > 0;
}

}  // namespace

extern "C" int Conv3dForward(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes,
                             void *, void *) {
  return run(kForward, nparam, params, ndims, shapes, dtypes);
}
extern "C" int Conv3dBackwardData(int nparam, void **params, int *ndims, int64_t **shapes, const char **dtypes,
                                  void *, void *) {
  return run(kBackwardData, nparam, params, ndims, shapes, dtypes);
}
extern "C" int Conv3dBackwardWeights(int nparam, void **params, int *ndims, int64_t **shapes,
                                     const char **dtypes, void *, void *) {
  return run(kBackwardWeights, nparam, params, ndims, shapes, dtypes);
}

// 0 and "oneDNN <version> <runtime> ..." in `message` if the library loaded next to this kernel is a
// release the declarations were checked against, with the THREADPOOL runtime, and the three passes agree
// with plain loops on a small case with uneven SAME padding (1 and 3 threads); else nonzero and why.
extern "C" int I3dSelfCheck(char *message, int size) {
  const dnnl_version_t *v = dnnl_version();
  const char *runtime = v->cpu_runtime == d::kRuntimeThreadpool ? "THREADPOOL" : "not THREADPOOL";
  std::snprintf(message, size, "oneDNN %d.%d.%d, cpu runtime %s (0x%x); declarations checked for %d.%d-%d.%d",
                v->major, v->minor, v->patch, runtime, v->cpu_runtime, I3D_DNNL_MAJOR, I3D_DNNL_MIN_MINOR,
                I3D_DNNL_MAJOR, I3D_DNNL_MAX_MINOR);
  if (v->major != I3D_DNNL_MAJOR || v->minor < I3D_DNNL_MIN_MINOR || v->minor > I3D_DNNL_MAX_MINOR) return 1;
  if (v->cpu_runtime != d::kRuntimeThreadpool) return 2;
  int64_t xs[5] = {1, 3, 4, 7, 6}, ws[5] = {5, 3, 3, 3, 2}, ys[5] = {1, 5, 2, 4, 3};
  const int64_t stride[3] = {2, 2, 2};
  auto count = [](const int64_t *s) { return static_cast<size_t>(s[0] * s[1] * s[2] * s[3] * s[4]); };
  std::vector<float> x(count(xs)), w(count(ws)), dy(count(ys)), y(count(ys)), dx(count(xs)), dw(count(ws));
  uint32_t seed = 12345;
  auto next = [&] { return static_cast<float>((seed = seed * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f; };
  for (auto *vec : {&x, &w, &dy}) for (float &f : *vec) f = next();
  reference(xs, ws, ys, stride, x.data(), w.data(), dy.data(), y.data(), dx.data(), dw.data());
  const char *f32[5] = {"float32", "float32", "float32", "float32", "float32"};
  for (int64_t threads : {1, 3}) {
    const int64_t cfg[4] = {stride[0], stride[1], stride[2], threads};
    int64_t cfg_shape[1] = {4};
    std::vector<float> got_y(y.size()), got_dx(dx.size()), got_dw(dw.size());
    int nd_f[4] = {5, 5, 1, 5}, nd_b[5] = {5, 5, 5, 1, 5};
    int64_t *sh_f[4] = {xs, ws, cfg_shape, ys}, *sh_b[5] = {xs, ws, ys, cfg_shape, nullptr};
    void *pf[4] = {x.data(), w.data(), const_cast<int64_t *>(cfg), got_y.data()};
    void *pd[5] = {x.data(), w.data(), dy.data(), const_cast<int64_t *>(cfg), got_dx.data()};
    void *pw[5] = {x.data(), w.data(), dy.data(), const_cast<int64_t *>(cfg), got_dw.data()};
    sh_b[4] = xs;
    int rc = Conv3dForward(4, pf, nd_f, sh_f, f32, nullptr, nullptr);
    rc = rc ? rc : Conv3dBackwardData(5, pd, nd_b, sh_b, f32, nullptr, nullptr);
    sh_b[4] = ws;
    rc = rc ? rc : Conv3dBackwardWeights(5, pw, nd_b, sh_b, f32, nullptr, nullptr);
    if (rc) {
      std::snprintf(message + std::strlen(message), size - std::strlen(message), "; a pass failed (code %d)", rc);
      return 3;
    }
    if (!close(got_y, y) || !close(got_dx, dx) || !close(got_dw, dw)) {
      std::snprintf(message + std::strlen(message), size - std::strlen(message),
                    "; results differ from plain loops (%d threads)", static_cast<int>(threads));
      return 4;
    }
  }
  return 0;
}
