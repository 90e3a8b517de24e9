package dev.kiln.kernel;

import dev.kiln.Device;

/**
 * A device as {@link KernelBackend} needs to know it.
 *
 * @param device           the Kiln device ({@code opencl:0}, {@code cuda:1})
 * @param name             the device's own name, for messages
 * @param description      one line for {@code kiln devices}
 * @param gpuLike          whether work-groups run in parallel lanes (GPUs, accelerators) rather than as loops over
 *                         their work-items (CPU drivers such as PoCL): it selects launch shapes and kernels
 * @param fp64             whether kernels may compute in float64
 * @param fp64Requirement  what float64 would need, for the message when it is missing ("the cl_khr_fp64 extension")
 * @param maxWorkGroupSize the largest work-group (CUDA: block) of the device
 * @param globalMemBytes   device memory
 * @param maxAllocBytes    the largest single allocation
 */
public record DeviceInfo(Device device, String name, String description, boolean gpuLike, boolean fp64,
                         String fp64Requirement, long maxWorkGroupSize, long globalMemBytes, long maxAllocBytes) {}
