package dev.kiln.cuda;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * A shared library loaded through {@code java.lang.foreign}, and where it came from (for the probe's report).
 * {@code path} is the file that was opened, or the soname when the system loader resolved it and the file could not
 * be identified.
 */
record NativeLibrary(String soname, String path, String foundBy, SymbolLookup lookup) {

    /** A downcall handle for {@code symbol}; a missing symbol is an error naming the library and the symbol. */
    MethodHandle function(String symbol, FunctionDescriptor descriptor) {
        return Linker.nativeLinker().downcallHandle(lookup.find(symbol).orElseThrow(
                () -> new UnsatisfiedLinkError(soname + " (" + path + ") has no function " + symbol)), descriptor);
    }

    /** "libnvrtc.so.13 from /venv/.../nvidia/cuda_nvrtc/lib (Python environment)", or "libnvrtc.so.13 (system loader)". */
    String describe() {
        return path.contains("/") ? soname + " from " + Path.of(path).getParent() + " (" + foundBy + ")" : soname + " (" + foundBy + ")";
    }
}
