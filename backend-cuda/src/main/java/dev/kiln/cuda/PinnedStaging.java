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
 * in order with the kernels. Uploads fill a slot from front to back, many small ones sharing it, so the host waits
 * (for that slot's earlier copies to run) only when it moves on to a slot that is still in use, not per upload.
 * Each slot has an event recorded after the last copy that used it. Allocated at the first transfer.
 */
final class PinnedStaging {
    static final long SLOT_BYTES = 8L << 20;
    static final int SLOTS = 4;
    private static final long ALIGN = 256;
    private static final int CU_EVENT_DISABLE_TIMING = 2;

    /** One page-locked buffer, the segment over it, and the event after its last use on the stream. */
    record Slot(Pointer host, MemorySegment segment, CUevent lastUse) {}

    /** {@code bytes} bytes at {@code offset} of a slot, reserved for one copy. */
    record Region(Slot slot, long offset) {
        MemorySegment segment(long bytes) { return slot.segment().asSlice(offset, bytes); }

        Pointer host() { return slot.host().withByteOffset(offset); }
    }

    private final Slot[] slots = new Slot[SLOTS];
    private int next;
    private Slot filling;
    private long filled;

    /** Room for {@code bytes} (at most {@link #SLOT_BYTES}) in the slot being filled, else in the next idle slot. */
    Region reserve(long bytes) {
        long offset = (filled + ALIGN - 1) / ALIGN * ALIGN;
        if (filling == null || offset + bytes > SLOT_BYTES) {
            filling = nextIdle();
            offset = 0;
        }
        filled = offset + bytes;
        return new Region(filling, offset);
    }

    /** A whole idle slot, which later reservations will not share. */
    Slot whole() {
        Slot s = nextIdle();
        filling = null;
        return s;
    }

    private Slot nextIdle() {
        int i = next;
        next = (next + 1) % SLOTS;
        if (slots[i] == null) {
            Pointer host = new Pointer();
            check(JCudaDriver.cuMemHostAlloc(host, SLOT_BYTES, 0), "cuMemHostAlloc(" + SLOT_BYTES + ")");
            CUevent event = new CUevent();
            check(JCudaDriver.cuEventCreate(event, CU_EVENT_DISABLE_TIMING), "cuEventCreate");
            slots[i] = new Slot(host, MemorySegment.ofBuffer(host.getByteBuffer(0, SLOT_BYTES)), event);
        }
        awaitIdle(slots[i]);
        return slots[i];
    }

    /** Waits until the stream has run every copy issued from or into {@code slot}. */
    static void awaitIdle(Slot slot) {
        check(JCudaDriver.cuEventSynchronize(slot.lastUse()), "cuEventSynchronize (a transfer or an earlier kernel failed)");
    }

    /** Marks the slot's latest use: the copy just issued on {@code stream}. */
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
