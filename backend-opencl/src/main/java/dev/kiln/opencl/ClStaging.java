package dev.kiln.opencl;

import dev.kiln.kernel.StagingRing;
import org.jocl.CL;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_event;
import org.jocl.cl_mem;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * The OpenCL side of the {@link StagingRing}: a slot is a buffer allocated by the driver in host memory it can
 * reach by DMA ({@code CL_MEM_ALLOC_HOST_PTR}, page-locked on discrete GPUs), mapped once for the slot's lifetime,
 * and the marker enqueued after the last transfer that used it.
 */
final class ClStaging implements StagingRing.Api<ClStaging.Slot> {

    /** One mapped buffer and the marker event after its last use on the queue (null before the first). */
    static final class Slot implements StagingRing.Slot {
        private final cl_mem buffer;
        private final ByteBuffer mapped;
        private final MemorySegment memory;
        private cl_event lastUse;

        private Slot(cl_mem buffer, ByteBuffer mapped) {
            this.buffer = buffer;
            this.mapped = mapped;
            this.memory = MemorySegment.ofBuffer(mapped);
        }

        @Override
        public MemorySegment memory() { return memory; }

        /** {@return the host address {@code offset} bytes into the slot, as a transfer's source or destination} */
        Pointer at(long offset) { return Pointer.to(mapped).withByteOffset(offset); }
    }

    private final cl_context context;
    private final cl_command_queue queue;

    ClStaging(cl_context context, cl_command_queue queue) {
        this.context = context;
        this.queue = queue;
    }

    @Override
    public Slot allocate(long bytes) {
        cl_mem buffer = CL.clCreateBuffer(context, CL.CL_MEM_READ_WRITE | CL.CL_MEM_ALLOC_HOST_PTR, bytes, null, null);
        ByteBuffer mapped = CL.clEnqueueMapBuffer(queue, buffer, CL.CL_TRUE, CL.CL_MAP_READ | CL.CL_MAP_WRITE, 0, bytes, 0, null, null, null);
        return new Slot(buffer, mapped);
    }

    @Override
    public void markUsed(Slot slot) {
        cl_event marker = new cl_event();
        CL.clEnqueueMarkerWithWaitList(queue, 0, null, marker);
        if (slot.lastUse != null) CL.clReleaseEvent(slot.lastUse);
        slot.lastUse = marker;
    }

    /** Waits for the marker, which fails when the transfer or work queued before it did. */
    @Override
    public void awaitIdle(Slot slot) {
        if (slot.lastUse == null) return;
        try {
            CL.clWaitForEvents(1, new cl_event[] {slot.lastUse});
        } catch (CLException e) {
            throw new IllegalStateException("OpenCL: an upload through the staging buffers, or work queued before it, failed: " + e.getMessage(), e);
        } finally {
            CL.clReleaseEvent(slot.lastUse);
            slot.lastUse = null;
        }
    }

    @Override
    public void free(Slot slot) {
        if (slot.lastUse != null) CL.clReleaseEvent(slot.lastUse);
        CL.clEnqueueUnmapMemObject(queue, slot.buffer, slot.mapped, 0, null, null);
        CL.clFinish(queue);
        CL.clReleaseMemObject(slot.buffer);
    }
}
