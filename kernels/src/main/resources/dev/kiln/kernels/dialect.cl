// The kernel dialect: every kernel source is OpenCL C, and this header makes the same text compile as CUDA C++
// (nvcc, NVRTC), so the kernels PoCL runs in CI are the kernels a CUDA device launches. OpenCL spellings stay as
// they are where a macro or a definition can carry them into CUDA; the few constructs C++ cannot express that way
// have a dialect name, valid in both:
//
//   INLINE                        a device function (OpenCL: inline; CUDA: __device__ inline)
//   LOCAL_ARG(T, name)            a kernel parameter naming a local (CUDA: shared) array sized by the launch
//   BIND_LOCAL(T, name);          first statement of such a kernel: binds `name` (nothing in OpenCL)
//   LOCAL_PTR(T)                  the type of a pointer to local memory in a device function's parameters
//   __local T array[N];           a kernel-scope local array of fixed size (CUDA: __shared__)
//   REQD_WORK_GROUP_SIZE(x, y, z) the work-group shape a kernel must be launched with (CUDA: __launch_bounds__)
//   MAKE_LONG4(a, b, c, d)        a long4 value (OpenCL's (long4) (a, b, c, d) is a comma expression in C++)
//   MAKE_UINT2(a, b)              a uint2 value
//   PAST_RANGE_RETURN(past)       returns from a work-item past the range of a kernel launched without a local
//                                 size: CUDA rounds such a range up to whole blocks; OpenCL launches it exactly,
//                                 so there it is nothing (PoCL vectorises a work-group loop with the branch in it
//                                 worse: LeNet's backward im2col ran 4x slower with it)
//
// Atomics: atomic_cmpxchg on a __global int* (CUDA: atomicCAS); add others here as kernels need them.
//
// In CUDA, __kernel is extern "C" __global__ (unmangled entry points <op>_<dtype>), __global is nothing, the
// work-item functions come from blockIdx, blockDim, threadIdx and gridDim, barrier() is __syncthreads(), long4
// and long8 are structs with OpenCL's component names (.s0 ...) and the arithmetic the kernels use, half is
// 16-bit storage loaded and stored with vload_half / vstore_half_rte, and the conversions and math builtins the
// kernels call are defined below. OpenCL's wide vector types (float16, vload16, ...) exist only in OpenCL:
// kernels and program variants that use them are for CPU drivers (KILN_WIDE_VECTORS), which a CUDA device never
// gets. int64 is `long` in both (CUDA: checked to be 64 bits, i.e. an LP64 host such as Linux).
//
// Local memory passed as an argument: OpenCL gives a sized __local pointer argument. In CUDA the argument is the
// byte offset of the array in the launch's dynamic shared memory: the runtime's Args.local(bytes) passes the
// running total (aligned to 16 bytes) as a 32-bit unsigned argument and adds bytes to the launch's dynamic shared
// memory size, and BIND_LOCAL turns the offset back into a pointer.

#if defined(__CUDACC__)

#define KILN_CUDA 1
#define KILN_WIDE_VECTORS 0

static_assert(sizeof(long) == 8, "Kiln kernels need a 64-bit long (an LP64 host)");

typedef unsigned char uchar;
typedef unsigned short ushort;
typedef unsigned int uint;
typedef unsigned long ulong;
typedef unsigned short kiln_half;
#define half kiln_half

#define __kernel extern "C" __global__
#define __global
#define __local __shared__
#define INLINE __device__ inline
#define LOCAL_PTR(T) T*
#define LOCAL_ARG(T, name) unsigned int name##_at
extern __shared__ __align__(16) unsigned char kiln_dynamic_shared[];
#define BIND_LOCAL(T, name) T* name = (T*) (kiln_dynamic_shared + name##_at)
#define REQD_WORK_GROUP_SIZE(x, y, z) __launch_bounds__((x) * (y) * (z))
#define PAST_RANGE_RETURN(past) if (past) return

#define CLK_LOCAL_MEM_FENCE 1
#define CLK_GLOBAL_MEM_FENCE 2
#define barrier(flags) __syncthreads()

INLINE size_t kiln_dim(dim3 v, int d) { return d == 0 ? v.x : d == 1 ? v.y : v.z; }
INLINE size_t kiln_dim(uint3 v, int d) { return d == 0 ? v.x : d == 1 ? v.y : v.z; }
INLINE size_t get_local_id(int d) { return kiln_dim(threadIdx, d); }
INLINE size_t get_group_id(int d) { return kiln_dim(blockIdx, d); }
INLINE size_t get_local_size(int d) { return kiln_dim(blockDim, d); }
INLINE size_t get_num_groups(int d) { return kiln_dim(gridDim, d); }
INLINE size_t get_global_id(int d) { return get_group_id(d) * get_local_size(d) + get_local_id(d); }
INLINE size_t get_global_size(int d) { return get_num_groups(d) * get_local_size(d); }

// long4 and long8 with OpenCL's component names; CUDA's own long4 (.x .y .z .w) is shadowed.
struct kiln_long4 { long s0, s1, s2, s3; };
struct kiln_long8 { long s0, s1, s2, s3, s4, s5, s6, s7; };
#define long4 kiln_long4
#define long8 kiln_long8
INLINE long4 MAKE_LONG4(long a, long b, long c, long d) { long4 v = {a, b, c, d}; return v; }
INLINE long4 operator*(long s, long4 v) { return MAKE_LONG4(s * v.s0, s * v.s1, s * v.s2, s * v.s3); }
INLINE long4 operator+(long4 a, long4 b) { return MAKE_LONG4(a.s0 + b.s0, a.s1 + b.s1, a.s2 + b.s2, a.s3 + b.s3); }
INLINE long4& operator+=(long4& a, long4 b) { a = a + b; return a; }
#define MAKE_UINT2(a, b) make_uint2((a), (b))

#ifndef INFINITY
#define INFINITY __int_as_float(0x7f800000)
#endif
#ifndef NAN
#define NAN __int_as_float(0x7fffffff)
#endif
#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define atomic_cmpxchg(p, cmp, val) atomicCAS((p), (cmp), (val))
#define mad(a, b, c) fma((a), (b), (c))
#define mul_hi(a, b) __umulhi((a), (b))
#define as_float(u) __uint_as_float(u)
#define as_uint(f) __float_as_uint(f)

#define convert_float(v) ((float) (v))
#define convert_double(v) ((double) (v))
#define convert_int(v) ((int) (v))
#define convert_long(v) ((long) (v))
#define convert_uint(v) ((uint) (v))
#define convert_ulong(v) ((ulong) (v))
#define convert_uchar(v) ((uchar) (v))
#define convert_ushort(v) ((ushort) (v))

// Floating to integer, truncating toward zero and saturating, NaN to 0 (OpenCL's convert_<int>_sat).
template <typename I, typename F> INLINE I kiln_convert_sat(F v, I lowest, I highest) {
    if (v != v) return 0;
    if (v <= (F) lowest) return lowest;
    if (v >= (F) highest) return highest;
    return (I) v;
}
#define convert_int_sat(v) kiln_convert_sat<int>((v), (int) 0x80000000, 0x7fffffff)
#define convert_long_sat(v) kiln_convert_sat<long>((v), (long) 0x8000000000000000L, 0x7fffffffffffffffL)

INLINE float vload_half(long i, const kiln_half* p) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(p[i]));
    return f;
}

INLINE void vstore_half_rte(float v, long i, kiln_half* p) {
    kiln_half h;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(v));
    p[i] = h;
}

#else

#define KILN_OPENCL 1
#define KILN_WIDE_VECTORS 1
#define INLINE inline
#define LOCAL_PTR(T) __local T*
#define LOCAL_ARG(T, name) __local T* name
#define BIND_LOCAL(T, name) (void) 0
#define REQD_WORK_GROUP_SIZE(x, y, z) __attribute__((reqd_work_group_size(x, y, z)))
#define PAST_RANGE_RETURN(past) (void) 0
#define MAKE_LONG4(a, b, c, d) ((long4) ((a), (b), (c), (d)))
#define MAKE_UINT2(a, b) ((uint2) ((a), (b)))

#endif
