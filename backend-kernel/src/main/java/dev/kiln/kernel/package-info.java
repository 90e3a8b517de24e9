/**
 * The device-neutral kernel backend: {@link dev.kiln.kernel.KernelBackend} dispatches every SPI entry point to the
 * kernels module's sources and drives a {@link dev.kiln.kernel.KernelRuntime} (OpenCL, CUDA) for memory,
 * compilation and launches.
 */
package dev.kiln.kernel;
