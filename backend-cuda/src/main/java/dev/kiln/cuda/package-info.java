/** The CUDA backend: JCuda's driver API, kernels from the kernels module, cuBLAS/cuDNN where they load. Not implemented yet: its provider is absent, so the probe never lists CUDA. */
package dev.kiln.cuda;
