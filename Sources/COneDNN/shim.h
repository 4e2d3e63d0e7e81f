// The one place forgetlens touches oneDNN's C interface (libdnnl-dev, Debian's 2.6.3, built with
// the OpenMP runtime). Used only for bf16 x bf16 -> f32 matmuls (--compute-dtype bf16); OpenBLAS
// keeps fp32 GEMM and LAPACK. dnnl_dims_t is a 12-element C array that Swift imports as a tuple,
// so the few descriptor builders that need one are small inline helpers here.
#ifndef FORGETLENS_CONEDNN_SHIM_H
#define FORGETLENS_CONEDNN_SHIM_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.h>

/// oneDNN's parallel regions use OpenMP's thread count. libdnnl brings libgomp into the process;
/// its omp_set_num_threads is looked up there rather than linked, so no libgomp-dev is needed.
static inline void fl_set_omp_threads(int n) {
    void (*set)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "omp_set_num_threads");
    if (set) set(n);
}

/// A 2-D descriptor with explicit strides (row-major with a leading dimension, or transposed).
static inline dnnl_status_t fl_md_strided(dnnl_memory_desc_t *md, dnnl_dim_t rows, dnnl_dim_t cols,
                                          dnnl_dim_t rowStride, dnnl_dim_t colStride, dnnl_data_type_t dt) {
    dnnl_dims_t dims = {rows, cols};
    dnnl_dims_t strides = {rowStride, colStride};
    return dnnl_memory_desc_init_by_strides(md, 2, dims, dt, strides);
}

/// A 2-D descriptor whose layout the primitive chooses (format_tag any).
static inline dnnl_status_t fl_md_any(dnnl_memory_desc_t *md, dnnl_dim_t rows, dnnl_dim_t cols, dnnl_data_type_t dt) {
    dnnl_dims_t dims = {rows, cols};
    return dnnl_memory_desc_init_by_tag(md, 2, dims, dt, dnnl_format_tag_any);
}

#endif
