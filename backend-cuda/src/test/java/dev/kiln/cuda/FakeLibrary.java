package dev.kiln.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * A stand-in for a native library: Java static methods exported as C function pointers (upcall stubs), so the
 * bindings' downcalls go through the real foreign linker with the real argument layouts. It checks what no GPU is
 * needed for: the function names, the descriptors, the argument order and the memory each call reads and writes.
 */
final class FakeLibrary {
    private final Arena arena = Arena.ofShared();
    private final Map<String, MemorySegment> symbols = new HashMap<>();

    /** Exports {@code owner.method} as {@code symbol} with the C signature {@code descriptor}. */
    FakeLibrary export(String symbol, Class<?> owner, String method, FunctionDescriptor descriptor) {
        try {
            MethodType type = descriptor.toMethodType();
            var handle = MethodHandles.lookup().findStatic(owner, method, type);
            symbols.put(symbol, Linker.nativeLinker().upcallStub(handle, descriptor, arena));
            return this;
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
    }

    NativeLibrary library(String soname) {
        return new NativeLibrary(soname, "/fake/" + soname, "test", name -> Optional.ofNullable(symbols.get(name)));
    }
}
