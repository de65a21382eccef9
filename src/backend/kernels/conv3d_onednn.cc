// TF-SAME 3-D convolution for MindSpore's CPU backend (ops.Custom, func_type "aot"); see src/backend/conv3d.py.
// MindSpore's own Conv3D hands oneDNN plain NCDHW tensors, so oneDNN can only pick its im2col+gemm
// implementation; here the same oneDNN library (MindSpore's libdnnl.so.3) chooses the layouts itself
// ("any"), which gives its direct jit kernels on blocked layouts, with reorders from and to NCDHW around
// them. Three entry points: forward, backward data, backward weights. Each caches its primitives per
// shape; buffers and scratchpads are per call, so concurrent calls from MindSpore's actors are safe.
#include <oneapi/dnnl/dnnl.hpp>
#include <oneapi/dnnl/dnnl_threadpool.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

using dnnl::memory;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

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

dnnl::engine &cpu() {
  static auto *engine = new dnnl::engine(dnnl::engine::kind::cpu, 0);  // never destroyed, like the streams
  return *engine;
}

// One stream (and pool) per thread count. Never destroyed: at exit the idle workers simply end with the
// process, instead of being joined while another thread might still be inside a convolution.
dnnl::stream &stream_for(int threads) {
  static std::mutex mutex;
  static auto *streams = new std::map<int, std::pair<ThreadPool *, dnnl::stream>>();
  std::lock_guard<std::mutex> lock(mutex);
  auto found = streams->find(threads);
  if (found == streams->end()) {
    auto *pool = new ThreadPool(threads);
    dnnl::stream s = dnnl::threadpool_interop::make_stream(cpu(), pool);
    found = streams->emplace(threads, std::make_pair(pool, s)).first;
  }
  return found->second.second;
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
    {{kX, kW}, {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS}, kY, DNNL_ARG_DST},
    {{kY, kW}, {DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS}, kX, DNNL_ARG_DIFF_SRC},
    {{kX, kY}, {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST}, kW, DNNL_ARG_DIFF_WEIGHTS},
};

// Everything one (kind, shapes, strides) needs; built once, executed many times.
struct Plan {
  memory::desc plain[3];                 // x, w, y as MindSpore holds them: NCDHW / OIDHW
  memory::desc conv[3];                  // x, w, y in the layouts the convolution wants
  memory::desc scratch;
  dnnl::primitive primitive;
  memory::dims x_offset;                 // set: conv[kX] is x zero-padded, x sits at this offset in it
};

// Not im2col+gemm ("gemm:jit", "x64:gemm:jit") and not the reference loops ("ref:any"): a direct or
// brgemm kernel on blocked layouts.
bool direct(const char *impl) {
  const std::string name = std::string(":") + impl + ":";
  return name.find(":gemm:") == std::string::npos && name.rfind(":ref:", 0) == std::string::npos;
}

// make(x, y) builds a primitive_desc for these activation layouts. With both left to oneDNN ("any") it
// takes im2col+gemm for some shapes even where a direct kernel exists that wants the forward's blocked
// layouts (the stem's backward weights); then ask again with those layouts fixed.
template <typename PD, typename Make>
PD choose(Make make, const memory::desc &any_x, const memory::desc &any_y,
          const dnnl::convolution_forward::primitive_desc &fwd) {
  PD pd = make(any_x, any_y);
  if (direct(pd.impl_info_str())) return pd;
  try {
    PD fixed = make(fwd.src_desc(), fwd.dst_desc());
    do {
      if (direct(fixed.impl_info_str())) return fixed;
    } while (fixed.next_impl());
  } catch (const dnnl::error &) {
  }
  return pd;
}

memory::dims dims_of(const int64_t *shape) { return memory::dims(shape, shape + 5); }

std::shared_ptr<Plan> plan_for(Kind kind, const int64_t *xs, const int64_t *ws, const int64_t *ys,
                               const int64_t *stride) {
  using Key = std::array<int64_t, 19>;
  Key key{kind};
  std::copy(xs, xs + 5, key.begin() + 1);
  std::copy(ws, ws + 5, key.begin() + 6);
  std::copy(ys, ys + 5, key.begin() + 11);
  std::copy(stride, stride + 3, key.begin() + 16);
  static std::mutex mutex;
  static auto *plans = new std::map<Key, std::shared_ptr<Plan>>();  // never destroyed, like the streams
  std::lock_guard<std::mutex> lock(mutex);
  auto found = plans->find(key);
  if (found != plans->end()) return found->second;

  memory::dims strides(stride, stride + 3), pad_l(3), pad_r(3);
  for (int d = 0; d < 3; ++d) {  // TF SAME: total pad (out-1)*stride + kernel - in, the smaller half in front
    const int64_t total = std::max<int64_t>((ys[2 + d] - 1) * stride[d] + ws[2 + d] - xs[2 + d], 0);
    pad_l[d] = total / 2;
    pad_r[d] = total - total / 2;
  }
  auto plan = std::make_shared<Plan>();
  plan->plain[kX] = memory::desc(dims_of(xs), dt::f32, tag::ncdhw);
  plan->plain[kW] = memory::desc(dims_of(ws), dt::f32, tag::oidhw);
  plan->plain[kY] = memory::desc(dims_of(ys), dt::f32, tag::ncdhw);
  const memory::desc ax(dims_of(xs), dt::f32, tag::any), aw(dims_of(ws), dt::f32, tag::any),
      ay(dims_of(ys), dt::f32, tag::any);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  const auto alg = dnnl::algorithm::convolution_direct;
  dnnl::convolution_forward::primitive_desc fwd(cpu(), dnnl::prop_kind::forward_training, alg, ax, aw, ay,
                                                strides, pad_l, pad_r, attr);
  if (kind == kForward) {
    plan->conv[kX] = fwd.src_desc();
    plan->conv[kW] = fwd.weights_desc();
    plan->conv[kY] = fwd.dst_desc();
    plan->scratch = fwd.scratchpad_desc();
    plan->primitive = dnnl::convolution_forward(fwd);
  } else if (kind == kBackwardData) {
    using PD = dnnl::convolution_backward_data::primitive_desc;
    PD bwd = choose<PD>([&](const memory::desc &x, const memory::desc &y) {
      return PD(cpu(), alg, x, aw, y, strides, pad_l, pad_r, fwd, attr);
    }, ax, ay, fwd);
    plan->conv[kX] = bwd.diff_src_desc();
    plan->conv[kW] = bwd.weights_desc();
    plan->conv[kY] = bwd.diff_dst_desc();
    plan->scratch = bwd.scratchpad_desc();
    plan->primitive = dnnl::convolution_backward_data(bwd);
  } else {
    using PD = dnnl::convolution_backward_weights::primitive_desc;
    PD bwd = choose<PD>([&](const memory::desc &x, const memory::desc &y) {
      return PD(cpu(), alg, x, aw, y, strides, pad_l, pad_r, fwd, attr);
    }, ax, ay, fwd);
    if (!direct(bwd.impl_info_str())) {
      // The direct backward-weights kernel refuses some paddings (the stem's 2/3): pad x ourselves.
      memory::dims padded = dims_of(xs), none(3, 0);
      for (int d = 0; d < 3; ++d) padded[2 + d] += pad_l[d] + pad_r[d];
      const memory::desc apx(padded, dt::f32, tag::any);
      try {
        dnnl::convolution_forward::primitive_desc fwd_p(cpu(), dnnl::prop_kind::forward_training, alg, apx, aw, ay,
                                                        strides, none, none, attr);
        PD bwd_p = choose<PD>([&](const memory::desc &x, const memory::desc &y) {
          return PD(cpu(), alg, x, aw, y, strides, none, none, fwd_p, attr);
        }, apx, ay, fwd_p);
        if (direct(bwd_p.impl_info_str())) {
          bwd = bwd_p;
          plan->x_offset = {0, 0, pad_l[0], pad_l[1], pad_l[2]};
        }
      } catch (const dnnl::error &) {
      }
    }
    plan->conv[kX] = bwd.src_desc();
    plan->conv[kW] = bwd.diff_weights_desc();
    plan->conv[kY] = bwd.diff_dst_desc();
    plan->scratch = bwd.scratchpad_desc();
    plan->primitive = dnnl::convolution_backward_weights(bwd);
  }
  plans->emplace(key, plan);
  return plan;
}

struct Buffer {  // 64-byte aligned scratch owned by one call
  explicit Buffer(size_t bytes) : ptr(bytes ? std::aligned_alloc(64, (bytes + 63) / 64 * 64) : nullptr) {}
  ~Buffer() { std::free(ptr); }
  void *ptr;
};

// The plain tensor `user` as the layout `want`: itself, or a reordered copy kept alive by `keep`.
memory as_layout(const memory::desc &plain, void *user, const memory::desc &want, dnnl::stream &s,
                 std::vector<std::unique_ptr<Buffer>> &keep) {
  memory m(plain, cpu(), user);
  if (want == plain) return m;
  keep.push_back(std::make_unique<Buffer>(want.get_size()));
  memory converted(want, cpu(), keep.back()->ptr);
  dnnl::reorder(m, converted).execute(s, m, converted);
  return converted;
}

// x zero-padded in the layout plan.conv[kX] (an explicit SAME padding), in a buffer kept alive by `keep`.
memory padded(const Plan &plan, void *user, dnnl::stream &s, std::vector<std::unique_ptr<Buffer>> &keep) {
  const memory::desc &want = plan.conv[kX];
  keep.push_back(std::make_unique<Buffer>(want.get_size()));
  std::memset(keep.back()->ptr, 0, want.get_size());
  memory whole(want, cpu(), keep.back()->ptr);
  memory inner(want.submemory_desc(plan.plain[kX].get_dims(), plan.x_offset), cpu(), keep.back()->ptr);
  memory x(plan.plain[kX], cpu(), user);
  dnnl::reorder(x, inner).execute(s, x, inner);
  return whole;
}

// An output in layout `want`, written (reordered if needed) into the plain tensor `user` by finish().
struct Output {
  Output(const memory::desc &plain_, void *user_, const memory::desc &want, std::vector<std::unique_ptr<Buffer>> &keep)
      : plain(plain_, cpu(), user_) {
    if (want == plain_) {
      mem = plain;
    } else {
      keep.push_back(std::make_unique<Buffer>(want.get_size()));
      mem = memory(want, cpu(), keep.back()->ptr);
    }
  }
  void finish(dnnl::stream &s) {
    if (mem.get_data_handle() != plain.get_data_handle()) dnnl::reorder(mem, plain).execute(s, mem, plain);
  }
  memory plain, mem;
};

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
  void *out = params[want - 1];
  try {
    auto plan = plan_for(kind, xs, ws, ys, cfg);
    dnnl::stream &s = stream_for(static_cast<int>(cfg[3]));
    std::vector<std::unique_ptr<Buffer>> keep;
    Buffer scratch(plan->scratch.get_size());
    memory pad(plan->scratch, cpu(), scratch.ptr);
    const Roles &r = kRoles[kind];
    std::unordered_map<int, memory> args{{DNNL_ARG_SCRATCHPAD, pad}};
    for (int i = 0; i < 2; ++i) {
      const Tensor t = r.in[i];  // also the index of its parameter
      args[r.in_arg[i]] = t == kX && !plan->x_offset.empty() ? padded(*plan, params[t], s, keep)
                                                             : as_layout(plan->plain[t], params[t], plan->conv[t], s, keep);
    }
    Output result(plan->plain[r.out], out, plan->conv[r.out], keep);
    args[r.out_arg] = result.mem;
    plan->primitive.execute(s, args);
    result.finish(s);
    s.wait();
  } catch (const dnnl::error &) {
    return 2;
  } catch (const std::exception &) {  // e.g. out of memory: never let an exception cross the C boundary
    return 3;
  }
  return 0;
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
