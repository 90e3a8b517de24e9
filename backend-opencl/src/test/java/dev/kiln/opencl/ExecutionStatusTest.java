package dev.kiln.opencl;

import dev.kiln.DType;
import dev.kiln.backend.View;
import dev.kiln.kernel.KernelBackend;
import org.jocl.cl_mem;
import org.junit.jupiter.api.Test;

import java.util.function.Consumer;

import static dev.kiln.opencl.Devices.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The execution checks at the synchronisation points and the debug mode, on a backend of their own. A command that
 * fails while running cannot be staged on PoCL 3.1: a user event set to an error status aborts the process there
 * (PTHREAD ERROR in pocl_update_event_failed), so these tests cover the checks on work that ran.
 */
class ExecutionStatusTest {

    private static void withBackend(boolean debug, Consumer<KernelBackend<cl_mem>> body) {
        KernelBackend<cl_mem> be = new KernelBackend<>(new OpenClRuntime(ClDevice.discover().get(backendOrSkip().device().index()), debug));
        try {
            body.accept(be);
        } finally {
            be.close();
        }
    }

    @Test
    void synchronisationPointsPassWhenEverythingRan() {
        withBackend(true, be -> {
            View x = be.allocateView(DType.FLOAT32, 3);
            be.fill(x, 2.5);
            be.synchronize();
            assertArrayEquals(new double[] {2.5, 2.5, 2.5}, download(be, x));
        });
    }

    @Test
    void debuggingPoisonsReleasedBuffersWithNaN() {
        withBackend(true, be -> {
            View first = be.allocateView(DType.FLOAT32, 4);
            be.fill(first, 1.5);
            be.release(first.buffer());
            View second = be.allocateView(DType.FLOAT32, 4); // the pool hands the same memory back
            for (double v : download(be, second)) assertTrue(Double.isNaN(v), "released memory kept " + v);
        });
    }
}
