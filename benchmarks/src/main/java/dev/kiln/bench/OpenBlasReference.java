package dev.kiln.bench;

import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas_nolapack;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Random;

/**
 * OpenBLAS's {@code cblas_sgemm}, the GEMM reference, through JavaCPP's presets. Used by the benchmarks only.
 * Threads and kernels are OpenBLAS's environment variables ({@code OPENBLAS_NUM_THREADS}, {@code OPENBLAS_CORETYPE}),
 * which {@code bench.sh} sets to give it the same cores as Kiln's pool.
 */
final class OpenBlasReference {
    private OpenBlasReference() {}

    /**
     * The settings in force and the kernel OpenBLAS chose for this CPU. The presets bind neither
     * {@code openblas_get_corename} nor {@code openblas_get_num_threads}, so both are called through the FFM linker
     * in the library the presets loaded; the environment variables are printed beside them.
     */
    static String describe() {
        String library = org.bytedeco.javacpp.Loader.load(openblas_nolapack.class);
        String chosen;
        try {
            var lookup = SymbolLookup.libraryLookup(library, Arena.global());
            var linker = Linker.nativeLinker();
            MethodHandle corename = linker.downcallHandle(lookup.findOrThrow("openblas_get_corename"), FunctionDescriptor.of(ValueLayout.ADDRESS));
            MethodHandle threads = linker.downcallHandle(lookup.findOrThrow("openblas_get_num_threads"), FunctionDescriptor.of(ValueLayout.JAVA_INT));
            chosen = "kernel " + ((MemorySegment) corename.invoke()).reinterpret(64).getString(0) + ", " + (int) threads.invoke() + " threads";
        } catch (Throwable e) {
            chosen = "kernel not reported (" + e.getMessage() + ")";
        }
        return "OpenBLAS 0.3.31 (JavaCPP presets 1.5.13): " + chosen + "; OPENBLAS_NUM_THREADS="
                + System.getenv().getOrDefault("OPENBLAS_NUM_THREADS", "(unset)") + " OPENBLAS_CORETYPE="
                + System.getenv().getOrDefault("OPENBLAS_CORETYPE", "(unset)");
    }

    /**
     * C_i[m x n] = A_i[m x k] * B[k x n] for i below batch, all row-major and dense, alpha 1 and beta 0 as on
     * Kiln's side; batches are a loop of calls, as CBLAS has no batched GEMM.
     */
    static Workload sgemm(int batch, int m, int n, int k) {
        FloatPointer a = random((long) batch * m * k, 1), b = random((long) k * n, 2), c = new FloatPointer((long) batch * m * n);
        FloatPointer ai = new FloatPointer(a), ci = new FloatPointer(c);
        return new Workload() {
            @Override
            public void run() {
                for (int i = 0; i < batch; i++) {
                    ai.position((long) i * m * k);
                    ci.position((long) i * m * n);
                    openblas_nolapack.cblas_sgemm(openblas_nolapack.CblasRowMajor, openblas_nolapack.CblasNoTrans,
                            openblas_nolapack.CblasNoTrans, m, n, k, 1f, ai, k, b, n, 0f, ci, n);
                }
            }

            @Override public double work() { return 2.0 * batch * m * n * k; }

            @Override public String unit() { return "GFLOP/s"; }

            @Override
            public void close() {
                a.close();
                b.close();
                c.close();
            }
        };
    }

    private static FloatPointer random(long n, long seed) {
        FloatPointer p = new FloatPointer(n);
        Random rnd = new Random(seed);
        float[] row = new float[4096];
        for (long i = 0; i < n; i += row.length) {
            int len = (int) Math.min(row.length, n - i);
            for (int j = 0; j < len; j++) row[j] = (float) rnd.nextGaussian();
            p.position(i).put(row, 0, len);
        }
        return p.position(0);
    }
}
