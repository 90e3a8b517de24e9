package dev.kiln.cuda;

import dev.kiln.kernel.StagingRing;
import jcuda.Pointer;
import jcuda.driver.CUevent;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.lang.foreign.MemorySegment;

import static dev.kiln.cuda.CudaDriver.check;

/**
 * The CUDA side of the {@link StagingRing}: page-locked memory from {@code cuMemHostAlloc}, and per slot an event
 * recorded on the stream after the last copy that used it.
 */
final class PinnedStaging implements StagingRing.Api<PinnedStaging.Slot> {
    private static final int CU_EVENT_DISABLE_TIMING = 2;

    /** One page-locked buffer, the segment over it, and the event after its last use on the stream. */
    record Slot(Pointer host, MemorySegment memory, CUevent lastUse) implements StagingRing.Slot {
        /** {@return the address {@code offset} bytes into the buffer, for a copy} */
        Pointer at(long offset) { return host.withByteOffset(offset); }
    }

    private final CUstream stream;

    PinnedStaging(CUstream stream) { this.stream = stream; }

    @Override
    public Slot allocate(long bytes) {
        Pointer host = new Pointer();
        check(JCudaDriver.cuMemHostAlloc(host, bytes, 0), "cuMemHostAlloc(" + bytes + ")");
        CUevent event = new CUevent();
        check(JCudaDriver.cuEventCreate(event, CU_EVENT_DISABLE_TIMING), "cuEventCreate");
        return new Slot(host, MemorySegment.ofBuffer(host.getByteBuffer(0, bytes)), event);
    }

    @Override
    public void markUsed(Slot slot) { check(JCudaDriver.cuEventRecord(slot.lastUse(), stream), "cuEventRecord"); }

    @Override
    public void awaitIdle(Slot slot) {
        check(JCudaDriver.cuEventSynchronize(slot.lastUse()), "cuEventSynchronize (a transfer or an earlier kernel failed)");
    }

    @Override
    public void free(Slot slot) {
        JCudaDriver.cuEventDestroy(slot.lastUse());
        JCudaDriver.cuMemFreeHost(slot.host());
    }
}
