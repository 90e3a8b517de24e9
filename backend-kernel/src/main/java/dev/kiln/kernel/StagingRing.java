package dev.kiln.kernel;

import java.lang.foreign.MemorySegment;

/**
 * A ring of page-locked host buffers for transfers, shared by the device runtimes: the DMA engine reads and writes
 * such memory directly, so a host-to-device copy returns as soon as the data is in a slot (the caller's memory is
 * free again) and runs in order with the kernels. Uploads fill a slot from front to back, many small ones sharing
 * it, so the host waits (for that slot's earlier copies to run) only when it moves on to a slot that is still in
 * use, not per upload. Downloads keep up to {@link #SLOTS} slot-sized pieces in flight. Slots are allocated at first
 * use.
 *
 * <p>What is specific to a device API (allocating page-locked memory, marking a slot's last use on the queue or
 * stream, waiting for it) is behind {@link Api}; the ring, its reuse rule and the transfer loops are here once.
 *
 * @param <S> the API's slot: its page-locked memory and the marker after the last transfer that used it
 */
public final class StagingRing<S extends StagingRing.Slot> implements AutoCloseable {
    /** Bytes per slot: large enough that a transfer's fixed cost is small beside its bytes. */
    public static final long SLOT_BYTES = 8L << 20;
    /** Slots in the ring: transfers in flight at once. */
    public static final int SLOTS = 4;
    private static final long ALIGN = 256;

    /** A slot's page-locked memory, as the host writes and reads it. */
    public interface Slot {
        /** {@return the slot's memory, {@link #SLOT_BYTES} long} */
        MemorySegment memory();
    }

    /**
     * The device API's side.
     *
     * @param <S> its slot type
     */
    public interface Api<S extends Slot> {
        /**
         * Allocates page-locked memory for a slot.
         *
         * @param bytes its size
         * @return the slot, not yet used by any transfer
         */
        S allocate(long bytes);

        /**
         * Marks the slot's latest use: the transfer just issued on the queue or stream.
         *
         * @param slot the slot
         */
        void markUsed(S slot);

        /**
         * Waits until every transfer issued from or into the slot has run.
         *
         * @param slot the slot
         */
        void awaitIdle(S slot);

        /**
         * Frees the slot; the queue or stream must be idle.
         *
         * @param slot the slot
         */
        void free(S slot);
    }

    /**
     * Issues a transfer between {@code bytes} bytes at {@code offset} of a slot and the device, without waiting.
     *
     * @param <S> the slot type
     */
    @FunctionalInterface
    public interface Transfer<S> {
        /**
         * Issues the transfer.
         *
         * @param slot the slot
         * @param offset the byte offset in the slot
         * @param position the byte offset of this piece in the whole transfer
         * @param bytes the piece's size
         */
        void issue(S slot, long offset, long position, long bytes);
    }

    private final Api<S> api;
    private final Object[] slots = new Object[SLOTS];
    private int next;
    private S filling;
    private long filled;

    /**
     * An empty ring.
     *
     * @param api the device API's side
     */
    public StagingRing(Api<S> api) { this.api = api; }

    /**
     * Copies {@code src} into slots and issues one upload per slot-sized piece; returns without waiting for them.
     *
     * @param src host memory, free for the caller to change once this returns
     * @param upload issues the copy of a piece from its slot to the device
     */
    public void upload(MemorySegment src, Transfer<S> upload) {
        for (long pos = 0; pos < src.byteSize(); pos += SLOT_BYTES) {
            long n = Math.min(SLOT_BYTES, src.byteSize() - pos);
            long offset = (filled + ALIGN - 1) / ALIGN * ALIGN;
            if (filling == null || offset + n > SLOT_BYTES) {
                filling = nextIdle();
                offset = 0;
            }
            filled = offset + n;
            MemorySegment.copy(src, pos, filling.memory(), offset, n);
            upload.issue(filling, offset, pos, n);
            api.markUsed(filling);
        }
    }

    /**
     * Downloads into {@code dst} in slot-sized pieces with up to {@link #SLOTS} in flight: piece i lands in the slot
     * that piece i - SLOTS used, so that piece is copied out (after its transfer ran) before piece i is issued.
     * Returns when all of {@code dst} is written.
     *
     * @param dst host memory to fill
     * @param download issues the copy of a piece from the device into its slot (at offset 0)
     */
    public void download(MemorySegment dst, Transfer<S> download) {
        long size = dst.byteSize();
        int pieces = (int) ((size + SLOT_BYTES - 1) / SLOT_BYTES);
        @SuppressWarnings("unchecked")
        S[] inFlight = (S[]) new Slot[SLOTS];
        for (int i = 0; i < pieces; i++) {
            int r = i % SLOTS;
            if (i >= SLOTS) drain(inFlight[r], i - SLOTS, dst);
            long pos = i * SLOT_BYTES;
            inFlight[r] = nextIdle();
            filling = null; // a download takes a whole slot, which later uploads must not share
            download.issue(inFlight[r], 0, pos, Math.min(SLOT_BYTES, size - pos));
            api.markUsed(inFlight[r]);
        }
        for (int i = Math.max(0, pieces - SLOTS); i < pieces; i++) drain(inFlight[i % SLOTS], i, dst);
    }

    private void drain(S slot, int piece, MemorySegment dst) {
        long pos = piece * SLOT_BYTES;
        api.awaitIdle(slot);
        MemorySegment.copy(slot.memory(), 0, dst, pos, Math.min(SLOT_BYTES, dst.byteSize() - pos));
    }

    @SuppressWarnings("unchecked")
    private S nextIdle() {
        int i = next;
        next = (next + 1) % SLOTS;
        if (slots[i] == null) slots[i] = api.allocate(SLOT_BYTES);
        S slot = (S) slots[i];
        api.awaitIdle(slot);
        return slot;
    }

    /** Frees every slot; the queue or stream must be idle. Idempotent. */
    @Override
    @SuppressWarnings("unchecked")
    public void close() {
        for (int i = 0; i < SLOTS; i++) {
            if (slots[i] != null) api.free((S) slots[i]);
            slots[i] = null;
        }
        filling = null;
    }
}
