/**
 * The CUDA backend: {@link dev.kiln.kernel.KernelBackend} over a JCuda driver-API runtime ({@link dev.kiln.cuda.CudaRuntime}),
 * the kernels module's sources compiled by NVRTC at run time, cuBLAS for matrix products where it loads. NVRTC and
 * cuBLAS are bound with java.lang.foreign. See the module's README for what has and has not run on a GPU.
 */
package dev.kiln.cuda;
