package dev.kiln.cuda;

/**
 * The kernel backend describes launches as OpenCL does (work-items per dimension, in groups); CUDA wants the number
 * of blocks and the block shape, within its limits. Pure functions, so they are tested without a device.
 */
final class LaunchGeometry {
    /** The grid's largest extent in y and z; x may reach 2^31 - 1. */
    private static final long MAX_GRID_YZ = 65535, MAX_GRID_X = Integer.MAX_VALUE;
    private static final int PREFERRED_BLOCK = 256;

    private LaunchGeometry() {}

    /**
     * The block for a launch whose group size the runtime chooses: in x the largest divisor of the work-items that is
     * at most 256 (and the kernel's limit), so the grid covers the work exactly; 1 in the other dimensions.
     */
    static long[] defaultBlock(long[] global, int maxThreads) {
        long limit = Math.min(PREFERRED_BLOCK, maxThreads), x = Math.max(1, Math.min(limit, global[0]));
        while (global[0] % x != 0) x--;
        long[] block = new long[global.length];
        java.util.Arrays.fill(block, 1);
        block[0] = x;
        return block;
    }

    /** Blocks per dimension (always three), checked against CUDA's limits; a message names the kernel otherwise. */
    static long[] grid(String kernel, long[] global, long[] block, int maxThreads) {
        if (global.length < 1 || global.length > 3 || block.length != global.length)
            throw new IllegalArgumentException("CUDA launch of " + kernel + " needs 1 to 3 dimensions of work and block, got "
                    + java.util.Arrays.toString(global) + " in " + java.util.Arrays.toString(block));
        long threads = 1;
        long[] grid = {1, 1, 1};
        for (int d = 0; d < global.length; d++) {
            if (block[d] < 1 || global[d] % block[d] != 0)
                throw new IllegalArgumentException("CUDA launch of " + kernel + ": " + global[d] + " work-items in dimension " + d
                        + " are not a multiple of the block's " + block[d]);
            threads *= block[d];
            grid[d] = global[d] / block[d];
        }
        if (threads > maxThreads)
            throw new IllegalArgumentException("CUDA launch of " + kernel + ": a block of " + threads + " threads exceeds the kernel's limit of " + maxThreads);
        if (grid[0] > MAX_GRID_X || grid[1] > MAX_GRID_YZ || grid[2] > MAX_GRID_YZ)
            throw new IllegalArgumentException("CUDA launch of " + kernel + ": a grid of " + grid[0] + "x" + grid[1] + "x" + grid[2]
                    + " blocks exceeds CUDA's limits (2^31-1 x 65535 x 65535)");
        return grid;
    }

    /** A block of 1 to 3 dimensions as the three cuLaunchKernel takes. */
    static long[] block3(long[] block) {
        long[] out = {1, 1, 1};
        System.arraycopy(block, 0, out, 0, block.length);
        return out;
    }
}
