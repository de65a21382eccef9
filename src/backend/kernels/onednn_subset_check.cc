// Compile-only check of onednn_subset.h against a release's real oneDNN headers (tests/test_conv3d.py
// compiles it with -fsyntax-only where such headers are installed, e.g. torch's): each C function the
// subset declares must be a compatible redeclaration (else "conflicting declaration"), each constant
// must equal the real enumerator.
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_threadpool.h>
#include <oneapi/dnnl/dnnl_threadpool_iface.hpp>

#define I3D_DNNL_REAL_HEADERS
#include "onednn_subset.h"

#if DNNL_VERSION_MAJOR != I3D_DNNL_MAJOR || DNNL_VERSION_MINOR < I3D_DNNL_MIN_MINOR || \
    DNNL_VERSION_MINOR > I3D_DNNL_MAX_MINOR
#error "these oneDNN headers are outside the release range onednn_subset.h was checked against"
#endif

namespace d = i3d_dnnl;
static_assert(d::kSuccess == dnnl_success, "dnnl_success");
static_assert(d::kF32 == dnnl_f32, "dnnl_f32");
static_assert(d::kAny == dnnl_format_tag_any, "dnnl_format_tag_any");
static_assert(d::kNcdhw == dnnl_ncdhw, "dnnl_ncdhw");
static_assert(d::kOidhw == dnnl_oidhw, "dnnl_oidhw");
static_assert(d::kCpu == dnnl_cpu, "dnnl_cpu");
static_assert(d::kForwardTraining == dnnl_forward_training, "dnnl_forward_training");
static_assert(d::kConvolutionDirect == dnnl_convolution_direct, "dnnl_convolution_direct");
static_assert(d::kScratchpadUser == dnnl_scratchpad_mode_user, "dnnl_scratchpad_mode_user");
static_assert(d::kQueryImplInfoStr == dnnl_query_impl_info_str, "dnnl_query_impl_info_str");
static_assert(d::kQuerySrcMd == dnnl_query_src_md, "dnnl_query_src_md");
static_assert(d::kQueryDiffSrcMd == dnnl_query_diff_src_md, "dnnl_query_diff_src_md");
static_assert(d::kQueryWeightsMd == dnnl_query_weights_md, "dnnl_query_weights_md");
static_assert(d::kQueryDiffWeightsMd == dnnl_query_diff_weights_md, "dnnl_query_diff_weights_md");
static_assert(d::kQueryDstMd == dnnl_query_dst_md, "dnnl_query_dst_md");
static_assert(d::kQueryDiffDstMd == dnnl_query_diff_dst_md, "dnnl_query_diff_dst_md");
static_assert(d::kQueryScratchpadMd == dnnl_query_scratchpad_md, "dnnl_query_scratchpad_md");
static_assert(d::kLastImplReached == dnnl_last_impl_reached, "dnnl_last_impl_reached");
static_assert(d::kArgSrc == DNNL_ARG_SRC && d::kArgSrc == DNNL_ARG_FROM, "DNNL_ARG_SRC");
static_assert(d::kArgDst == DNNL_ARG_DST && d::kArgDst == DNNL_ARG_TO, "DNNL_ARG_DST");
static_assert(d::kArgWeights == DNNL_ARG_WEIGHTS, "DNNL_ARG_WEIGHTS");
static_assert(d::kArgScratchpad == DNNL_ARG_SCRATCHPAD, "DNNL_ARG_SCRATCHPAD");
static_assert(d::kArgDiffSrc == DNNL_ARG_DIFF_SRC, "DNNL_ARG_DIFF_SRC");
static_assert(d::kArgDiffDst == DNNL_ARG_DIFF_DST, "DNNL_ARG_DIFF_DST");
static_assert(d::kArgDiffWeights == DNNL_ARG_DIFF_WEIGHTS, "DNNL_ARG_DIFF_WEIGHTS");
static_assert(d::kMaxNdims == DNNL_MAX_NDIMS, "DNNL_MAX_NDIMS");
static_assert(d::kRuntimeThreadpool == DNNL_RUNTIME_THREADPOOL, "DNNL_RUNTIME_THREADPOOL");
static_assert(sizeof(dnnl_exec_arg_t) == 16 && sizeof(dnnl_version_t) == 32, "struct layouts");
