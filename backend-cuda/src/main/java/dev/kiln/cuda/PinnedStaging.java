package dev.kiln.cuda;

import jcuda.Pointer;
import jcuda.driver.CUevent;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.lang.foreign.MemorySegment;

import static dev.kiln.cuda.CudaDriver.check;

/**
 * A ring of page-locked host buffers for transfers: the DMA engine reads and writes them directly, so a host to
 * device copy returns as soon as the data is in a slot (the caller's memory is free again) and runs on the stream
 * in order with the kernels. Each slot has an event recorded after the last copy that used it; the host waits on it
 * only before it writes that slot again. Allocated at the first transfer.
 */
final class PinnedStaging {
    static final long SLOT_BYTES = 8L << 20;
    static final int SLOTS = 4;
    private static final int CU_EVENT_DISABLE_TIMING = 2;

    /** One page-locked buffer, the segment over it, and the event after its last use on the stream. */
    record Slot(Pointer host, MemorySegment segment, CUevent lastUse) {}

    private final Slot[] slots = new Slot[SLOTS];
    private int next;

    /** The next slot in ring order, allocated on first use; the caller records its use with {@link #used}. */
    Slot take() {
        int i = next;
        next = (next + 1) % SLOTS;
        if (slots[i] == null) {
            Pointer host = new Pointer();
            check(JCudaDriver.cuMemHostAlloc(host, SLOT_BYTES, 0), "cuMemHostAlloc(" + SLOT_BYTES + ")");
            CUevent event = new CUevent();
            check(JCudaDriver.cuEventCreate(event, CU_EVENT_DISABLE_TIMING), "cuEventCreate");
            slots[i] = new Slot(host, MemorySegment.ofBuffer(host.getByteBuffer(0, SLOT_BYTES)), event);
        }
        return slots[i];
    }

    /** Waits until the stream has finished every copy issued from or into {@code slot}. */
    static void awaitIdle(Slot slot) {
        check(JCudaDriver.cuEventSynchronize(slot.lastUse()), "cuEventSynchronize (a transfer or an earlier kernel failed)");
    }

    static void used(Slot slot, CUstream stream) {
        check(JCudaDriver.cuEventRecord(slot.lastUse(), stream), "cuEventRecord");
    }

    /** Frees the page-locked memory; the stream must be idle. */
    void close() {
        for (Slot s : slots) {
            if (s == null) continue;
            JCudaDriver.cuEventDestroy(s.lastUse());
            JCudaDriver.cuMemFreeHost(s.host());
        }
    }
}
