package dev.kiln.testkit;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.backend.Backend;
import dev.kiln.backend.DeviceProbe;
import dev.kiln.backend.View;
import org.junit.jupiter.api.function.Executable;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad input gets a clear exception naming the op and what was wrong; never a crash or a wrong answer. */
class ErrorConformanceTest {

    static void assertMessage(Class<? extends Throwable> type, Executable call, String... fragments) {
        Throwable e = assertThrows(type, call);
        for (String f : fragments)
            assertTrue(e.getMessage() != null && e.getMessage().contains(f), () -> "message '" + e.getMessage() + "' should mention " + f);
    }

    /**
     * The SPI's checkIndex may report at once or at the next synchronisation point; either way the exception
     * names the op, the offending value and the bound, and a clean check afterwards passes.
     */
    @BackendTest
    void checkIndexReportsByTheNextSynchronisationPoint(TestDevice device) {
        Backend be = device.activate();
        View index = be.allocateView(DType.INT64, 4);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(4 * Long.BYTES, Long.BYTES);
            long[] values = {0, 2, 11, 1};
            for (int i = 0; i < values.length; i++) host.setAtIndex(ValueLayout.JAVA_LONG, i, values[i]);
            be.copyFromHost(host, index.buffer(), 0);
            assertMessage(IndexOutOfBoundsException.class, () -> {
                be.checkIndex("index_select", index, 3);
                be.synchronize();
            }, "index_select", "index 11", "size 3");
            be.checkIndex("index_select", index, 12);
            be.synchronize();
        } finally {
            be.release(index.buffer());
        }
    }

    @BackendTest
    void shapeDtypeAndDeviceErrors(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor a = Tensor.ones(2, 3), b = Tensor.ones(4, 3);
            assertMessage(IllegalArgumentException.class, () -> a.add(b), "add", "[2, 3]", "[4, 3]");
            assertMessage(IllegalArgumentException.class, () -> a.matmul(b), "matmul", "[2, 3]", "[4, 3]");
            assertMessage(IllegalArgumentException.class, () -> a.matmul(Tensor.ones(DType.FLOAT64, null, 3, 2)), "matmul", "float32", "float64");
            assertMessage(IllegalArgumentException.class, () -> a.reshape(4, 2), "reshape", "[4, 2]", "[2, 3]");
            assertMessage(IllegalArgumentException.class, () -> a.sum(new int[] {2}, false), "sum", "dimension 2");
            assertMessage(IllegalArgumentException.class, () -> a.permute(0, 0), "permute");
            assertMessage(IllegalArgumentException.class, () -> a.narrow(1, 2, 2), "narrow", "size 3");
            assertMessage(IllegalArgumentException.class, () -> a.expand(2, 4), "expand", "[2, 3]");
            assertMessage(IllegalArgumentException.class, () -> Tensor.of(new float[] {1, 2, 3}, 2, 2), "3 values", "[2, 2]");
            assertMessage(IllegalArgumentException.class, () -> Tensor.zeros(-1, 2), "negative dimension");
            assertMessage(IllegalArgumentException.class, () -> a.mean(new int[] {0}, false).to(DType.INT64).mean(), "mean", "int64");
            assertMessage(IllegalArgumentException.class, () -> Tensor.where(a, a, a), "where", "bool");
            assertMessage(IllegalStateException.class, () -> a.item(), "item", "6 elements");
            assertMessage(IllegalArgumentException.class, () -> a.softmax(2), "softmax", "dimension 2");
            Tensor closed = Tensor.ones(2);
            closed.close();
            assertMessage(IllegalStateException.class, closed::toFloatArray, "closed");
            assertMessage(IllegalArgumentException.class, () -> DeviceProbe.backend(new Device("cuda", 7)), "cuda:7", "not available");
            assertMessage(IllegalArgumentException.class, () -> Device.parse("cuda:x"), "cuda:x");
        }
    }
}
