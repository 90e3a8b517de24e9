package dev.kiln.opencl;

import dev.kiln.DType;
import dev.kiln.Device;
import dev.kiln.backend.Backend;
import dev.kiln.backend.Conv2dSpec;
import dev.kiln.backend.DeviceProbe;
import dev.kiln.backend.Distribution;
import dev.kiln.backend.View;
import dev.kiln.kernel.KernelBackend;
import org.jocl.cl_mem;

import java.util.List;
import java.util.function.Consumer;

/**
 * Run by hand, not by the test suite: each fused entry point of the OpenCL backend against the SPI's composed
 * default (the interface's default method, running on the same backend's primitives), on the shapes of the
 * benchmark rows, in one run. Prints the median milliseconds of both and their ratio.
 * {@code java -cp <module test class path> dev.kiln.opencl.FusedVersusDefault opencl:0 [row-substring]}.
 */
public final class FusedVersusDefault {
    private FusedVersusDefault() {}

    public static void main(String[] args) {
        KernelBackend<cl_mem> be = OpenClRuntime.backendOf(DeviceProbe.backend(Device.parse(args.length > 0 ? args[0] : "opencl:0")));
        String filter = args.length > 1 ? args[1] : "";
        Backend composed = Devices.composed(be);
        System.out.println(be.device() + ": " + be.description());
        System.out.println("row                              fused ms  default ms  default/fused");
        record Row(String name, Consumer<Backend> op) {}
        List<View> views = new java.util.ArrayList<>();
        java.util.function.Function<int[], View> random = shape -> {
            View v = be.allocateView(DType.FLOAT32, shape);
            be.random(Distribution.NORMAL, 0, 1, views.size() + 1, 0, v);
            views.add(v);
            return v;
        };
        List<Row> rows = new java.util.ArrayList<>();
        View s = random.apply(new int[] {64, 1024}), so = random.apply(new int[] {64, 1024});
        rows.add(new Row("softmax_64x1024", b -> b.softmax(s, 1, false, so)));
        View s2 = random.apply(new int[] {4096, 768}), s2o = random.apply(new int[] {4096, 768});
        rows.add(new Row("softmax_4096x768", b -> b.softmax(s2, 1, false, s2o)));
        rows.add(new Row("log_softmax_axis0_4096x768", b -> b.softmax(s2, 0, true, s2o)));
        View lw = random.apply(new int[] {768}), lb = random.apply(new int[] {768});
        View mean = random.apply(new int[] {4096, 1}), inv = random.apply(new int[] {4096, 1});
        View gx = random.apply(new int[] {4096, 768}), gw = random.apply(new int[] {768}), gb = random.apply(new int[] {768});
        rows.add(new Row("layer_norm_4096x768", b -> b.layerNorm(s2, 1, lw, lb, 1e-5, s2o, mean, inv)));
        rows.add(new Row("layer_norm_backward_4096x768", b -> b.layerNormBackward(s2o, s2, 1, lw, mean, inv, gx, gw, gb)));
        int[][] convs = {{64, 1, 32, 32, 6, 5, 1, 0}, {64, 6, 14, 14, 16, 5, 1, 0}, {32, 64, 56, 56, 64, 3, 1, 1}};
        String[] convNames = {"lenet1", "lenet2", "resnet64_b32"};
        for (int i = 0; i < convs.length; i++) {
            int[] c = convs[i];
            Conv2dSpec spec = Conv2dSpec.of(c[6], c[7]);
            View x = random.apply(new int[] {c[0], c[1], c[2], c[3]}), w = random.apply(new int[] {c[4], c[1], c[5], c[5]});
            View y = random.apply(new int[] {c[0], c[4], spec.outH(c[2], c[5]), spec.outW(c[3], c[5])});
            rows.add(new Row("conv_" + convNames[i] + "_forward", b -> b.conv2d(x, w, spec, y)));
            rows.add(new Row("conv_" + convNames[i] + "_backward_input", b -> b.conv2dBackwardInput(y, w, spec, x)));
            rows.add(new Row("conv_" + convNames[i] + "_backward_weight", b -> b.conv2dBackwardWeight(x, y, spec, w)));
        }
        for (Row r : rows) {
            if (!r.name.contains(filter)) continue;
            double[][] t = GemmVersusClBlast.medians(be, () -> r.op.accept(be), () -> r.op.accept(composed));
            System.out.printf("%-32s %9.3f %11.3f %14.2f%n", r.name, t[0][0] * 1e3, t[1][0] * 1e3, t[1][0] / t[0][0]);
        }
        views.forEach(v -> be.release(v.buffer()));
    }
}
