/** Kernel sources as resources, one file per op family, in one C dialect that compiles as OpenCL C and as CUDA C++ (dialect.cl). */
package dev.kiln.kernels;
