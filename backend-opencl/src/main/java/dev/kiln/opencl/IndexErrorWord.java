package dev.kiln.opencl;

import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.cl_command_queue;

import java.util.ArrayList;
import java.util.List;

/**
 * The device-side bounds checks of one backend. A check kernel records the first offending value it finds into a
 * 16-byte word on the device ({claimed, check id, value}); the host keeps what each check id stands for (op and
 * bound) and reads the word only at a synchronisation point, and only if a check was issued since the last one.
 * Not thread-safe: the backend calls it under its lock.
 */
final class IndexErrorWord {
    private record Check(String op, long bound) {}

    private final String device;
    private final List<Check> issued = new ArrayList<>();
    private ClBuffer word;

    IndexErrorWord(String device) { this.device = device; }

    /** The id a new check of {@code op} against {@code bound} reports under; the word is zeroed at first use. */
    int issue(String op, long bound, MemoryPool pool, cl_command_queue queue) {
        if (word == null) {
            word = pool.allocate(4 * Integer.BYTES);
            clear(queue);
        }
        issued.add(new Check(op, bound));
        return issued.size();
    }

    ClBuffer word() { return word; }

    /** Reads the word if checks ran since the last examination; throws for the recorded violation, then resets it. */
    void examine(cl_command_queue queue) {
        if (issued.isEmpty()) return;
        int[] w = new int[4];
        CL.clEnqueueReadBuffer(queue, word.mem, CL.CL_TRUE, 0, w.length * Integer.BYTES, Pointer.to(w), 0, null, null);
        List<Check> checks = List.copyOf(issued);
        issued.clear();
        if (w[0] == 0) return;
        clear(queue);
        Check c = checks.get(w[1] - 1);
        long value = (w[2] & 0xFFFFFFFFL) | ((long) w[3] << 32);
        throw new IndexOutOfBoundsException(c.op() + ": index value " + value + " is out of range [0, " + c.bound() + ") on " + device);
    }

    private void clear(cl_command_queue queue) {
        CL.clEnqueueFillBuffer(queue, word.mem, Pointer.to(new int[] {0}), Integer.BYTES, 0, 4 * Integer.BYTES, 0, null, null);
    }

    void release(MemoryPool pool) {
        if (word != null) pool.release(word);
        word = null;
    }
}
