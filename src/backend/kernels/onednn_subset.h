// The part of oneDNN's v3 C API that conv3d_onednn.cc calls, declared here instead of taken from a
// oneDNN release's headers (see docs/cpu_kernels.md, "Which oneDNN headers").
//
// Why: the kernel runs on MindSpore's own libdnnl.so.3 (3.10.1, THREADPOOL runtime), whose headers
// MindSpore does not ship, and no registry package has 3.10 headers (PyPI onednn-devel jumps from 3.9.1
// to 3.11.2; Debian bookworm's libdnnl-dev is 2.6). Headers of another release describe another library:
// e.g. 3.12's threadpool_iface has a virtual wait() that 3.9's lacks. So the kernel declares only what it
// uses (27 C functions, their opaque handle types, 27 constants, 2 structs, the threadpool interface) and
// src/cpu_kernels.py checks it both ways:
//   - at build time, where some oneDNN headers are installed (torch's), tests/test_conv3d.py compiles
//     onednn_subset_check.cc: every declaration here must agree with the real header (a C function
//     redeclared with other types does not compile) and every constant equals the real enumerator;
//   - at load time, I3dKernelInfo/I3dSelfCheck (conv3d_onednn.cc) compare dnnl_version() of the library
//     actually loaded with I3D_DNNL_MIN/MAX_MINOR and the THREADPOOL runtime, then run a convolution
//     against plain loops; any mismatch and the network uses MindSpore's Conv3D.
// Verified identical in oneDNN 3.9.1 (onednn-devel 2025.3.0) and 3.12.0 (torch 2.13) headers.
#ifndef I3D_ONEDNN_SUBSET_H
#define I3D_ONEDNN_SUBSET_H

#include <cstddef>
#include <cstdint>
#include <functional>

// The header version: the C API releases these declarations were checked against (major.minor range).
// (-DI3D_DNNL_MAX_MINOR=9 narrows it, as headers of 3.9 would: tests/test_cpu_kernels.py's mismatch.)
#define I3D_DNNL_MAJOR 3
#ifndef I3D_DNNL_MIN_MINOR
#define I3D_DNNL_MIN_MINOR 9
#endif
#ifndef I3D_DNNL_MAX_MINOR
#define I3D_DNNL_MAX_MINOR 12
#endif

#ifndef I3D_DNNL_REAL_HEADERS  // onednn_subset_check.cc includes the real headers first
extern "C" {
typedef int dnnl_status_t;
typedef int dnnl_data_type_t;
typedef int dnnl_format_tag_t;
typedef int dnnl_engine_kind_t;
typedef int dnnl_prop_kind_t;
typedef int dnnl_alg_kind_t;
typedef int dnnl_query_t;
typedef int dnnl_scratchpad_mode_t;
typedef int64_t dnnl_dim_t;
typedef dnnl_dim_t dnnl_dims_t[12];  // DNNL_MAX_NDIMS
typedef struct dnnl_engine *dnnl_engine_t;
typedef struct dnnl_stream *dnnl_stream_t;
typedef struct dnnl_memory_desc *dnnl_memory_desc_t;
typedef const struct dnnl_memory_desc *const_dnnl_memory_desc_t;
typedef struct dnnl_memory *dnnl_memory_t;
typedef const struct dnnl_memory *const_dnnl_memory_t;
typedef struct dnnl_primitive_desc *dnnl_primitive_desc_t;
typedef const struct dnnl_primitive_desc *const_dnnl_primitive_desc_t;
typedef struct dnnl_primitive *dnnl_primitive_t;
typedef const struct dnnl_primitive *const_dnnl_primitive_t;
typedef struct dnnl_primitive_attr *dnnl_primitive_attr_t;
typedef const struct dnnl_primitive_attr *const_dnnl_primitive_attr_t;
typedef struct {
  int arg;
  dnnl_memory_t memory;
} dnnl_exec_arg_t;
typedef struct {
  int major, minor, patch;
  const char *hash;
  unsigned cpu_runtime, gpu_runtime;
} dnnl_version_t;
}  // extern "C"

namespace dnnl {
namespace threadpool_interop {
// Slot order as in oneDNN 3.12 (wait() is new since 3.9; an older library never calls it, so declaring it
// is safe for both; the pool here is synchronous, get_flags() == 0).
struct threadpool_iface {
  virtual int get_num_threads() const = 0;
  virtual bool get_in_parallel() const = 0;
  virtual void parallel_for(int n, const std::function<void(int, int)> &fn) = 0;
  virtual uint64_t get_flags() const = 0;
  virtual void wait() = 0;
  virtual ~threadpool_iface() = default;
};
}  // namespace threadpool_interop
}  // namespace dnnl
#endif  // I3D_DNNL_REAL_HEADERS

extern "C" {
dnnl_status_t dnnl_engine_create(dnnl_engine_t *engine, dnnl_engine_kind_t kind, size_t index);
dnnl_status_t dnnl_threadpool_interop_stream_create(dnnl_stream_t *stream, dnnl_engine_t engine, void *threadpool);
dnnl_status_t dnnl_stream_wait(dnnl_stream_t stream);
dnnl_status_t dnnl_stream_destroy(dnnl_stream_t stream);
dnnl_status_t dnnl_memory_desc_create_with_tag(dnnl_memory_desc_t *memory_desc, int ndims, const dnnl_dims_t dims,
                                               dnnl_data_type_t data_type, dnnl_format_tag_t tag);
dnnl_status_t dnnl_memory_desc_create_submemory(dnnl_memory_desc_t *memory_desc,
                                                const_dnnl_memory_desc_t parent_memory_desc, const dnnl_dims_t dims,
                                                const dnnl_dims_t offsets);
dnnl_status_t dnnl_memory_desc_clone(dnnl_memory_desc_t *memory_desc, const_dnnl_memory_desc_t existing_memory_desc);
dnnl_status_t dnnl_memory_desc_destroy(dnnl_memory_desc_t memory_desc);
int dnnl_memory_desc_equal(const_dnnl_memory_desc_t lhs, const_dnnl_memory_desc_t rhs);
size_t dnnl_memory_desc_get_size(const_dnnl_memory_desc_t memory_desc);
dnnl_status_t dnnl_memory_create(dnnl_memory_t *memory, const_dnnl_memory_desc_t memory_desc, dnnl_engine_t engine,
                                 void *handle);
dnnl_status_t dnnl_memory_destroy(dnnl_memory_t memory);
dnnl_status_t dnnl_primitive_attr_create(dnnl_primitive_attr_t *attr);
dnnl_status_t dnnl_primitive_attr_destroy(dnnl_primitive_attr_t attr);
dnnl_status_t dnnl_primitive_attr_set_scratchpad_mode(dnnl_primitive_attr_t attr, dnnl_scratchpad_mode_t mode);
dnnl_status_t dnnl_convolution_forward_primitive_desc_create(
    dnnl_primitive_desc_t *primitive_desc, dnnl_engine_t engine, dnnl_prop_kind_t prop_kind, dnnl_alg_kind_t alg_kind,
    const_dnnl_memory_desc_t src_desc, const_dnnl_memory_desc_t weights_desc, const_dnnl_memory_desc_t bias_desc,
    const_dnnl_memory_desc_t dst_desc, const dnnl_dims_t strides, const dnnl_dims_t dilates,
    const dnnl_dims_t padding_l, const dnnl_dims_t padding_r, const_dnnl_primitive_attr_t attr);
dnnl_status_t dnnl_convolution_backward_data_primitive_desc_create(
    dnnl_primitive_desc_t *primitive_desc, dnnl_engine_t engine, dnnl_alg_kind_t alg_kind,
    const_dnnl_memory_desc_t diff_src_desc, const_dnnl_memory_desc_t weights_desc,
    const_dnnl_memory_desc_t diff_dst_desc, const dnnl_dims_t strides, const dnnl_dims_t dilates,
    const dnnl_dims_t padding_l, const dnnl_dims_t padding_r, const_dnnl_primitive_desc_t hint_fwd_pd,
    const_dnnl_primitive_attr_t attr);
dnnl_status_t dnnl_convolution_backward_weights_primitive_desc_create(
    dnnl_primitive_desc_t *primitive_desc, dnnl_engine_t engine, dnnl_alg_kind_t alg_kind,
    const_dnnl_memory_desc_t src_desc, const_dnnl_memory_desc_t diff_weights_desc,
    const_dnnl_memory_desc_t diff_bias_desc, const_dnnl_memory_desc_t diff_dst_desc, const dnnl_dims_t strides,
    const dnnl_dims_t dilates, const dnnl_dims_t padding_l, const dnnl_dims_t padding_r,
    const_dnnl_primitive_desc_t hint_fwd_pd, const_dnnl_primitive_attr_t attr);
dnnl_status_t dnnl_reorder_primitive_desc_create(dnnl_primitive_desc_t *reorder_primitive_desc,
                                                 const_dnnl_memory_desc_t src_desc, dnnl_engine_t src_engine,
                                                 const_dnnl_memory_desc_t dst_desc, dnnl_engine_t dst_engine,
                                                 const_dnnl_primitive_attr_t attr);
dnnl_status_t dnnl_primitive_desc_next_impl(dnnl_primitive_desc_t primitive_desc);
dnnl_status_t dnnl_primitive_desc_query(const_dnnl_primitive_desc_t primitive_desc, dnnl_query_t what, int index,
                                        void *result);
const_dnnl_memory_desc_t dnnl_primitive_desc_query_md(const_dnnl_primitive_desc_t primitive_desc, dnnl_query_t what,
                                                      int index);
dnnl_status_t dnnl_primitive_desc_destroy(dnnl_primitive_desc_t primitive_desc);
dnnl_status_t dnnl_primitive_create(dnnl_primitive_t *primitive, const_dnnl_primitive_desc_t primitive_desc);
dnnl_status_t dnnl_primitive_execute(const_dnnl_primitive_t primitive, dnnl_stream_t stream, int nargs,
                                     const dnnl_exec_arg_t *args);
dnnl_status_t dnnl_primitive_destroy(dnnl_primitive_t primitive);
const dnnl_version_t *dnnl_version(void);
}  // extern "C"

// The enumerator values used (identical in 3.9.1 and 3.12.0; checked by onednn_subset_check.cc).
namespace i3d_dnnl {
constexpr int kSuccess = 0;               // dnnl_success
constexpr int kF32 = 3;                   // dnnl_f32
constexpr int kAny = 1;                   // dnnl_format_tag_any
constexpr int kNcdhw = 6;                 // dnnl_ncdhw
constexpr int kOidhw = 6;                 // dnnl_oidhw
constexpr int kCpu = 1;                   // dnnl_cpu
constexpr int kForwardTraining = 64;      // dnnl_forward_training
constexpr int kConvolutionDirect = 1;     // dnnl_convolution_direct
constexpr int kScratchpadUser = 1;        // dnnl_scratchpad_mode_user
constexpr int kQueryImplInfoStr = 8;      // dnnl_query_impl_info_str
constexpr int kQuerySrcMd = 129;          // dnnl_query_src_md
constexpr int kQueryDiffSrcMd = 130;      // dnnl_query_diff_src_md
constexpr int kQueryWeightsMd = 131;      // dnnl_query_weights_md
constexpr int kQueryDiffWeightsMd = 132;  // dnnl_query_diff_weights_md
constexpr int kQueryDstMd = 133;          // dnnl_query_dst_md
constexpr int kQueryDiffDstMd = 134;      // dnnl_query_diff_dst_md
constexpr int kQueryScratchpadMd = 136;   // dnnl_query_scratchpad_md
constexpr int kLastImplReached = 4;       // dnnl_last_impl_reached
constexpr int kArgSrc = 1;                // DNNL_ARG_SRC (= DNNL_ARG_FROM)
constexpr int kArgDst = 17;               // DNNL_ARG_DST (= DNNL_ARG_TO)
constexpr int kArgWeights = 33;           // DNNL_ARG_WEIGHTS
constexpr int kArgScratchpad = 80;        // DNNL_ARG_SCRATCHPAD
constexpr int kArgDiffSrc = 129;          // DNNL_ARG_DIFF_SRC
constexpr int kArgDiffDst = 145;          // DNNL_ARG_DIFF_DST
constexpr int kArgDiffWeights = 161;      // DNNL_ARG_DIFF_WEIGHTS
constexpr int kMaxNdims = 12;             // DNNL_MAX_NDIMS
constexpr unsigned kRuntimeThreadpool = 8;  // DNNL_RUNTIME_THREADPOOL
}  // namespace i3d_dnnl

#endif  // I3D_ONEDNN_SUBSET_H
