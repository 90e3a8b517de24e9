package dev.kiln.kernel;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The ring over a fake device whose transfers run late: a transfer is queued when issued and runs only when the
 * host waits for a slot (or the test drains the queue), so a slot reused before its transfers ran, or a source read
 * after the upload returned, shows up as wrong bytes on the device.
 */
class StagingRingTest {
    private static final long SLOT = StagingRing.SLOT_BYTES;

    /** A slot of the fake API: its memory and the number of the last transfer that used it. */
    private record FakeSlot(MemorySegment memory, long[] lastUse) implements StagingRing.Slot {}

    private static final class FakeDevice implements StagingRing.Api<FakeSlot> {
        final MemorySegment memory;
        final ArrayDeque<Runnable> queue = new ArrayDeque<>();
        final List<FakeSlot> allocated = new ArrayList<>(), freed = new ArrayList<>();
        long issued, ran, waits;

        FakeDevice(long bytes) { memory = Arena.ofAuto().allocate(bytes); }

        void enqueue(Runnable transfer) {
            queue.add(transfer);
            issued++;
        }

        void runUntil(long transfer) {
            while (ran < transfer) {
                queue.remove().run();
                ran++;
            }
        }

        @Override public FakeSlot allocate(long bytes) {
            FakeSlot s = new FakeSlot(Arena.ofAuto().allocate(bytes), new long[1]);
            allocated.add(s);
            return s;
        }

        @Override public void markUsed(FakeSlot slot) { slot.lastUse()[0] = issued; }

        @Override public void awaitIdle(FakeSlot slot) {
            if (ran < slot.lastUse()[0]) waits++;
            runUntil(slot.lastUse()[0]);
        }

        @Override public void free(FakeSlot slot) { freed.add(slot); }
    }

    private static MemorySegment randomBytes(long n, SplittableRandom r) {
        MemorySegment m = Arena.ofAuto().allocate(n);
        for (long i = 0; i < n; i += 8) m.set(ValueLayout.JAVA_LONG_UNALIGNED, Math.min(i, n - 8), r.nextLong());
        return m;
    }

    @Test
    void uploadsLandIntactThoughTheyRunLateAndTheSourceChangesAtOnce() {
        SplittableRandom r = new SplittableRandom(1);
        long[] sizes = {16, 1000, 3 * SLOT / 4, SLOT + 4096, 8, 2 * SLOT + 7, 64, SLOT / 2, 24};
        long total = 0;
        for (long s : sizes) total += s;
        FakeDevice device = new FakeDevice(total);
        MemorySegment expected = Arena.ofAuto().allocate(total);
        var ring = new StagingRing<>(device);
        long at = 0;
        for (long size : sizes) {
            MemorySegment src = randomBytes(size, r);
            MemorySegment.copy(src, 0, expected, at, size);
            long dst = at;
            ring.upload(src, (slot, offset, pos, n) -> device.enqueue(
                    () -> MemorySegment.copy(slot.memory(), offset, device.memory, dst + pos, n)));
            src.fill((byte) 0x5a); // the caller's memory is free once upload returns
            at += size;
        }
        device.runUntil(device.issued);
        assertEquals(-1, expected.mismatch(device.memory), "device bytes");
        assertTrue(device.allocated.size() <= StagingRing.SLOTS);
        ring.close();
        assertEquals(device.allocated, device.freed, "every slot freed once");
    }

    @Test
    void smallUploadsShareASlotAndWaitOnlyWhenTheRingComesRound() {
        FakeDevice device = new FakeDevice(64);
        var ring = new StagingRing<>(device);
        MemorySegment src = Arena.ofAuto().allocate(64);
        for (int i = 0; i < 1000; i++)
            ring.upload(src, (slot, offset, pos, n) -> device.enqueue(() -> MemorySegment.copy(slot.memory(), offset, device.memory, 0, n)));
        assertEquals(1, device.allocated.size(), "a thousand 64-byte uploads fit in one slot");
        assertEquals(0, device.waits, "and never wait");
        for (int i = 0; i < 2 * StagingRing.SLOTS; i++)
            ring.upload(Arena.ofAuto().allocate(SLOT), (slot, offset, pos, n) -> device.enqueue(() -> {}));
        assertEquals(StagingRing.SLOTS, device.allocated.size());
        assertTrue(device.waits > 0 && device.waits <= StagingRing.SLOTS + 1, "waits only on slots still in use: " + device.waits);
    }

    @Test
    void downloadsPipelineThroughTheSlotsAndAssembleInOrder() {
        long size = (StagingRing.SLOTS + 2) * SLOT + 12_345;
        FakeDevice device = new FakeDevice(size);
        MemorySegment.copy(randomBytes(size, new SplittableRandom(2)), 0, device.memory, 0, size);
        var ring = new StagingRing<>(device);
        MemorySegment dst = Arena.ofAuto().allocate(size);
        ring.download(dst, (slot, offset, pos, n) -> device.enqueue(() -> MemorySegment.copy(device.memory, pos, slot.memory(), offset, n)));
        assertEquals(-1, dst.mismatch(device.memory), "host bytes");
        assertEquals(StagingRing.SLOTS, device.allocated.size());
        // An upload after a download does not share the download's slot while it is in flight.
        ring.upload(Arena.ofAuto().allocate(16), (slot, offset, pos, n) -> {
            assertEquals(0, offset, "a fresh slot");
            device.enqueue(() -> {});
        });
    }
}
