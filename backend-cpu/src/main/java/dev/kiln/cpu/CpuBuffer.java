package dev.kiln.cpu;

import dev.kiln.backend.Buffer;

import java.lang.foreign.MemorySegment;

/** Off-heap host memory: a cached block of one size class, of which the first {@code byteSize} bytes are in use. */
record CpuBuffer(SegmentCache.Block block, long byteSize) implements Buffer {
    MemorySegment segment() { return block.segment(); }
}
