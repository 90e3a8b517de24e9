/**
 * The OpenCL runtime (JOCL) under {@link dev.kiln.kernel.KernelBackend}: device discovery, context and queue,
 * buffers, program builds with an on-disk binary cache, and launches.
 */
package dev.kiln.opencl;
