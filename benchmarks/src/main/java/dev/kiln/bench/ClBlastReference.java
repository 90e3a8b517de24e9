package dev.kiln.bench;

import dev.kiln.DType;
import dev.kiln.backend.Distribution;
import dev.kiln.backend.View;
import dev.kiln.kernel.KernelBackend;
import dev.kiln.opencl.OpenClRuntime;
import org.jocl.blast.CLBlast;
import org.jocl.blast.CLBlastLayout;
import org.jocl.blast.CLBlastStatusCode;
import org.jocl.blast.CLBlastTranspose;
import org.jocl.cl_command_queue;
import org.jocl.cl_mem;

/**
 * CLBlast's SGEMM ({@code org.jocl:jocl-blast} 1.5.2, which bundles CLBlast), the GEMM reference of the OpenCL
 * device's rows: on the backend's own context and in-order queue, with operands in buffers of the backend's pool,
 * so both sides run on the same device and driver threads. Used by the benchmarks only.
 */
final class ClBlastReference {
    private ClBlastReference() {}

    /**
     * C_i[m x n] = A_i[m x k] * B[k x n] for i below batch, row-major and dense, alpha 1 and beta 0 as on Kiln's
     * side; a batch is one strided-batched call with B's batch stride 0. Each run ends with {@code clFinish}.
     */
    static Workload sgemm(KernelBackend<cl_mem> be, int batch, int m, int n, int k) {
        View a = be.allocateView(DType.FLOAT32, batch, m, k), b = be.allocateView(DType.FLOAT32, k, n), c = be.allocateView(DType.FLOAT32, batch, m, n);
        be.random(Distribution.NORMAL, 0, 1, 1, 0, a);
        be.random(Distribution.NORMAL, 0, 1, 2, 0, b);
        be.synchronize();
        cl_command_queue queue = ((OpenClRuntime) be.runtime()).queue();
        int noTrans = CLBlastTranspose.CLBlastTransposeNo, rowMajor = CLBlastLayout.CLBlastLayoutRowMajor;
        return new Workload() {
            @Override
            public void run() {
                int status = batch == 1
                        ? CLBlast.CLBlastSgemm(rowMajor, noTrans, noTrans, m, n, k, 1f, be.memory(a.buffer()), 0, k,
                                be.memory(b.buffer()), 0, n, 0f, be.memory(c.buffer()), 0, n, queue, null)
                        : CLBlast.CLBlastSgemmStridedBatched(rowMajor, noTrans, noTrans, m, n, k, 1f, be.memory(a.buffer()), 0, k,
                                (long) m * k, be.memory(b.buffer()), 0, n, 0, 0f, be.memory(c.buffer()), 0, n, (long) m * n,
                                batch, queue, null);
                if (status != CLBlastStatusCode.CLBlastSuccess)
                    throw new IllegalStateException("CLBlast SGEMM " + batch + " x " + m + "x" + n + "x" + k + " failed on "
                            + be.device() + ": " + CLBlastStatusCode.stringFor(status));
                be.synchronize();
            }

            @Override public double work() { return 2.0 * batch * m * n * k; }

            @Override public String unit() { return "GFLOP/s"; }

            @Override
            public void close() {
                for (View v : new View[] {a, b, c}) be.release(v.buffer());
            }
        };
    }
}
