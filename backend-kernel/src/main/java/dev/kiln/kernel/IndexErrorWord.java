package dev.kiln.kernel;

import dev.kiln.DType;
import dev.kiln.backend.Backend;
import dev.kiln.backend.View;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * The device-side bounds checks of one backend. A check kernel records the first offending value it finds into a
 * 16-byte word on the device ({claimed, check id, value as two ints}); the host keeps what each check id stands
 * for (op and bound) and reads the word only at a synchronisation point, and only if a check was issued since the
 * last one. Not thread-safe: the backend calls it under its lock.
 */
final class IndexErrorWord {
    private record Check(String op, long bound) {}

    private final List<Check> issued = new ArrayList<>();
    private final View word;
    private boolean zeroed;

    /**
     * Allocated with the backend, so that it counts among the backend's own memory from the start rather than
     * appearing as a leak after the first check; zeroed at first use, which needs a kernel.
     */
    IndexErrorWord(Backend be) { word = be.allocateView(DType.INT32, 4); }

    /** The id a new check of {@code op} against {@code bound} reports under. */
    int issue(String op, long bound, Backend be) {
        if (!zeroed) {
            be.fill(word, 0);
            zeroed = true;
        }
        issued.add(new Check(op, bound));
        return issued.size();
    }

    View word() { return word; }

    /**
     * Reads the word if checks ran since the last examination; throws for the recorded violation, then resets it.
     * The checks are forgotten before the read, so the read, itself a synchronisation point, finds none to examine.
     */
    void examine(Backend be) {
        if (issued.isEmpty()) return;
        List<Check> checks = List.copyOf(issued);
        issued.clear();
        MemorySegment w = MemorySegment.ofArray(new int[4]);
        be.copyToHost(word.buffer(), 0, w);
        if (w.getAtIndex(ValueLayout.JAVA_INT, 0) == 0) return;
        be.fill(word, 0);
        Check c = checks.get(w.getAtIndex(ValueLayout.JAVA_INT, 1) - 1);
        long value = (w.getAtIndex(ValueLayout.JAVA_INT, 2) & 0xFFFFFFFFL) | ((long) w.getAtIndex(ValueLayout.JAVA_INT, 3) << 32);
        throw Backend.indexOutOfBounds(c.op(), value, c.bound());
    }
}
