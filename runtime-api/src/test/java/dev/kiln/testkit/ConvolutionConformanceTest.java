package dev.kiln.testkit;

import dev.kiln.DType;
import dev.kiln.Functional;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.backend.Conv2dSpec;

import static dev.kiln.testkit.ErrorConformanceTest.assertMessage;
import static dev.kiln.testkit.Ref.assertClose;
import static dev.kiln.testkit.Ref.assertShape;
import static dev.kiln.testkit.Ref.data;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * conv2d and conv_transpose2d (so the backend's three fused convolution entry points) against direct host loops:
 * stride, padding, dilation, groups, rectangular kernels, strided inputs, unbatched inputs, and all gradients.
 */
class ConvolutionConformanceTest {

    /** One convolution geometry: input (n, c, h, w), weight (cout, c/groups, kh, kw). */
    record Case(int n, int c, int h, int w, int cout, int kh, int kw, Conv2dSpec spec) {
        int[] inShape() { return new int[] {n, c, h, w}; }
        int[] weightShape() { return new int[] {cout, c / spec.groups(), kh, kw}; }
        int oh() { return spec.outH(h, kh); }
        int ow() { return spec.outW(w, kw); }

        @Override
        public String toString() { return "input " + java.util.Arrays.toString(inShape()) + " weight " + java.util.Arrays.toString(weightShape()) + " " + spec; }
    }

    private static final Case[] CASES = {
            new Case(2, 3, 5, 5, 4, 3, 3, new Conv2dSpec(1, 1, 0, 0, 1, 1, 1)),
            new Case(1, 2, 7, 6, 3, 3, 3, new Conv2dSpec(2, 2, 1, 1, 1, 1, 1)),
            new Case(1, 2, 7, 7, 2, 3, 3, new Conv2dSpec(1, 1, 2, 2, 2, 2, 1)),
            new Case(2, 4, 5, 5, 6, 3, 3, new Conv2dSpec(1, 1, 1, 1, 1, 1, 2)),
            new Case(1, 3, 6, 6, 3, 2, 2, new Conv2dSpec(2, 2, 0, 0, 1, 1, 3)),
            new Case(1, 2, 6, 7, 2, 1, 3, new Conv2dSpec(1, 2, 0, 1, 2, 1, 1)),
            new Case(2, 2, 4, 4, 3, 1, 1, new Conv2dSpec(1, 1, 0, 0, 1, 1, 1)),
            new Case(1, 2, 5, 4, 2, 2, 3, new Conv2dSpec(3, 2, 1, 1, 2, 1, 2)),
    };

    /** Direct convolution: out[n][co][i][j] = bias[co] + sum over the group's channels and kernel taps. */
    static double[] refConv(Case k, double[] x, double[] wt, double[] bias) {
        Conv2dSpec s = k.spec;
        int g = s.groups(), cg = k.c / g, coutG = k.cout / g, oh = k.oh(), ow = k.ow();
        double[] out = new double[k.n * k.cout * oh * ow];
        for (int n = 0; n < k.n; n++)
            for (int co = 0; co < k.cout; co++)
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++) {
                        double acc = bias == null ? 0 : bias[co];
                        for (int ci = 0; ci < cg; ci++)
                            for (int a = 0; a < k.kh; a++)
                                for (int b = 0; b < k.kw; b++) {
                                    int y = i * s.strideH() - s.padH() + a * s.dilationH(), xx = j * s.strideW() - s.padW() + b * s.dilationW();
                                    if (y < 0 || y >= k.h || xx < 0 || xx >= k.w) continue;
                                    int c = (co / coutG) * cg + ci;
                                    acc += x[((n * k.c + c) * k.h + y) * k.w + xx] * wt[((co * cg + ci) * k.kh + a) * k.kw + b];
                                }
                        out[((n * k.cout + co) * oh + i) * ow + j] = acc;
                    }
        return out;
    }

    /**
     * Direct transposed convolution by scattering: input (n, cin, h, w), weight (cin, cout/groups, kh, kw); every
     * input pixel adds its weighted kernel into the output at {@code i * stride - pad + tap * dilation}.
     */
    static double[] refConvTranspose(int n, int cin, int h, int w, double[] x, int coutG, int kh, int kw, double[] wt, double[] bias,
                                     Conv2dSpec s, int oh, int ow) {
        int g = s.groups(), cinG = cin / g, cout = coutG * g;
        double[] out = new double[n * cout * oh * ow];
        for (int b = 0; b < n; b++)
            for (int co = 0; co < cout; co++)
                for (int i = 0; i < oh * ow; i++) out[(b * cout + co) * oh * ow + i] = bias == null ? 0 : bias[co];
        for (int b = 0; b < n; b++)
            for (int ci = 0; ci < cin; ci++)
                for (int i = 0; i < h; i++)
                    for (int j = 0; j < w; j++)
                        for (int co = 0; co < coutG; co++)
                            for (int p = 0; p < kh; p++)
                                for (int q = 0; q < kw; q++) {
                                    int y = i * s.strideH() - s.padH() + p * s.dilationH(), xx = j * s.strideW() - s.padW() + q * s.dilationW();
                                    if (y < 0 || y >= oh || xx < 0 || xx >= ow) continue;
                                    int oc = (ci / cinG) * coutG + co;
                                    out[((b * cout + oc) * oh + y) * ow + xx] += x[((b * cin + ci) * h + i) * w + j] * wt[((ci * coutG + co) * kh + p) * kw + q];
                                }
        return out;
    }

    @BackendTest
    void conv2dForwardMatchesDirectLoops(TestDevice device) {
        device.activate();
        for (Case k : CASES) {
            double[] x = data(1, Ref.numel(k.inShape()), -1, 1), wt = data(2, Ref.numel(k.weightShape()), -1, 1), bias = data(3, k.cout, -1, 1);
            for (DType dt : Ref.floatingTypes()) {
                try (Scope s = Scope.open()) {
                    Tensor y = Functional.conv2d(Tensor.of(x, dt, null, k.inShape()), Tensor.of(wt, dt, null, k.weightShape()),
                            Tensor.of(bias, dt, null, k.cout), k.spec);
                    assertShape(y, k.n, k.cout, k.oh(), k.ow());
                    assertEquals(dt, y.dtype());
                    assertClose(refConv(k, x, wt, bias), y, Ref.rtol(dt), Ref.atol(dt), "conv2d " + dt + " " + k);
                    Tensor noBias = Functional.conv2d(Tensor.of(x, dt, null, k.inShape()), Tensor.of(wt, dt, null, k.weightShape()), null, k.spec);
                    assertClose(refConv(k, x, wt, null), noBias, Ref.rtol(dt), Ref.atol(dt), "conv2d without bias " + dt + " " + k);
                }
            }
        }
        TestDevice.requireFloat64();
    }

    @BackendTest
    void conv2dGradients(TestDevice device) {
        device.activate();
        for (Case k : CASES) {
            double[] x = data(4, Ref.numel(k.inShape()), -1, 1), wt = data(5, Ref.numel(k.weightShape()), -1, 1), bias = data(6, k.cout, -1, 1);
            GradCheck.check("conv2d " + k, t -> Functional.conv2d(t[0], t[1], t[2], k.spec),
                    new double[][] {x, wt, bias}, new int[][] {k.inShape(), k.weightShape(), {k.cout}});
        }
    }

    @BackendTest
    void stridedAndUnbatchedInputs(TestDevice device) {
        device.activate();
        Case k = CASES[1];
        double[] x = data(7, Ref.numel(k.inShape()), -1, 1), wt = data(8, Ref.numel(k.weightShape()), -1, 1);
        double[] expected = refConv(k, x, wt, null);
        try (Scope s = Scope.open()) {
            // The same values stored transposed, so the kernel reads a non-contiguous view.
            Tensor transposed = Ref.f64(x, k.inShape()).transpose(2, 3).contiguous().transpose(2, 3);
            Tensor weight = Ref.f64(wt, k.weightShape());
            assertClose(expected, Functional.conv2d(transposed, weight, null, k.spec), 1e-12, 1e-12, "strided input");
            Tensor permutedWeight = weight.permute(0, 1, 3, 2).contiguous().permute(0, 1, 3, 2);
            assertClose(expected, Functional.conv2d(transposed, permutedWeight, null, k.spec), 1e-12, 1e-12, "strided weight");
            Tensor unbatched = Functional.conv2d(Ref.f64(x, k.c, k.h, k.w), weight, null, k.spec);
            assertShape(unbatched, k.cout, k.oh(), k.ow());
            assertClose(expected, unbatched, 1e-12, 1e-12, "unbatched (C, H, W) input");
            Tensor simple = Functional.conv2d(Ref.f64(x, k.inShape()), weight, null, 2, 1);
            assertClose(expected, simple, 1e-12, 1e-12, "stride/padding overload");
        }
        GradCheck.check("conv2d strided input", t -> Functional.conv2d(t[0].transpose(2, 3), t[1], null, k.spec),
                new double[][] {x, wt}, new int[][] {{k.n, k.c, k.w, k.h}, k.weightShape()});
        // A transpose after the op makes the incoming gradient a strided view.
        GradCheck.check("conv2d strided output gradient", t -> Functional.conv2d(t[0], t[1], null, k.spec).transpose(2, 3),
                new double[][] {x, wt}, new int[][] {k.inShape(), k.weightShape()});
        GradCheck.check("conv_transpose2d strided input and gradient", t -> Functional.convTranspose2d(t[0].transpose(2, 3), t[1], null, 2, 1).transpose(2, 3),
                new double[][] {data(15, 3 * 4 * 3, -1, 1), wt}, new int[][] {{1, 3, 4, 3}, k.weightShape()});
    }

    @BackendTest
    void emptyBatch(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.zeros(DType.FLOAT32, null, 0, 2, 5, 5).requiresGrad(true);
            Tensor w = Tensor.ones(DType.FLOAT32, null, 3, 2, 3, 3).requiresGrad(true);
            Tensor y = Functional.conv2d(x, w, null, 1, 1);
            assertShape(y, 0, 3, 5, 5);
            y.sum().backward();
            assertShape(x.grad(), 0, 2, 5, 5);
            assertClose(new double[3 * 2 * 9], w.grad(), 0, 0, "no samples, no weight gradient");
            assertShape(Functional.convTranspose2d(Tensor.zeros(0, 3, 2, 2), Tensor.ones(3, 2, 3, 3), null, 2, 0), 0, 2, 5, 5);
        }
    }

    /** Transposed convolution geometries: {n, cin, h, w, coutPerGroup, kh, kw, stride, pad, outPad, dilation, groups}. */
    private static final int[][] TRANSPOSED = {
            {1, 2, 3, 3, 3, 3, 3, 1, 0, 0, 1, 1},
            {2, 2, 3, 4, 2, 3, 3, 2, 1, 1, 1, 1},
            {1, 4, 3, 3, 1, 2, 2, 2, 0, 0, 1, 2},
            {1, 2, 4, 3, 2, 3, 2, 3, 1, 2, 2, 1},
            {1, 2, 3, 3, 1, 3, 3, 1, 1, 1, 2, 1},
    };

    @BackendTest
    void convTranspose2dMatchesScatterReferenceAndGradients(TestDevice device) {
        device.activate();
        for (int[] t : TRANSPOSED) {
            int n = t[0], cin = t[1], h = t[2], w = t[3], coutG = t[4], kh = t[5], kw = t[6], stride = t[7], pad = t[8], outPad = t[9], dil = t[10], groups = t[11];
            Conv2dSpec spec = new Conv2dSpec(stride, stride, pad, pad, dil, dil, groups);
            int oh = (h - 1) * stride - 2 * pad + dil * (kh - 1) + outPad + 1, ow = (w - 1) * stride - 2 * pad + dil * (kw - 1) + outPad + 1;
            int[] inShape = {n, cin, h, w}, wShape = {cin, coutG, kh, kw};
            double[] x = data(9, Ref.numel(inShape), -1, 1), wt = data(10, Ref.numel(wShape), -1, 1), bias = data(11, coutG * groups, -1, 1);
            String what = "conv_transpose2d " + java.util.Arrays.toString(t);
            try (Scope s = Scope.open()) {
                Tensor y = Functional.convTranspose2d(Ref.f64(x, inShape), Ref.f64(wt, wShape), Ref.f64(bias, coutG * groups), stride, pad, outPad, dil, groups);
                assertShape(y, n, coutG * groups, oh, ow);
                assertClose(refConvTranspose(n, cin, h, w, x, coutG, kh, kw, wt, bias, spec, oh, ow), y, 1e-12, 1e-12, what);
                Tensor y32 = Functional.convTranspose2d(Ref.f32(x, inShape), Ref.f32(wt, wShape), null, spec, outPad, outPad);
                assertClose(refConvTranspose(n, cin, h, w, x, coutG, kh, kw, wt, null, spec, oh, ow), y32, 1e-4, 1e-5, what + " f32");
            }
            GradCheck.check(what, v -> Functional.convTranspose2d(v[0], v[1], v[2], stride, pad, outPad, dil, groups),
                    new double[][] {x, wt, bias}, new int[][] {inShape, wShape, {coutG * groups}});
        }
    }

    @BackendTest
    void transposedConvolutionIsTheAdjoint(TestDevice device) {
        device.activate();
        // <conv(x), y> == <x, conv_transpose(y)> for the same weight and geometry.
        Case k = CASES[7];
        double[] x = data(12, Ref.numel(k.inShape()), -1, 1), wt = data(13, Ref.numel(k.weightShape()), -1, 1);
        double[] y = data(14, k.n * k.cout * k.oh() * k.ow(), -1, 1);
        try (Scope s = Scope.open()) {
            Tensor weight = Ref.f64(wt, k.weightShape());
            Tensor yt = Ref.f64(y, k.n, k.cout, k.oh(), k.ow());
            double lhs = Functional.conv2d(Ref.f64(x, k.inShape()), weight, null, k.spec).mul(yt).sum().item();
            // The adjoint of a convolution whose last rows the stride skips needs output padding to recover h and w.
            int outPadH = k.h - ((k.oh() - 1) * k.spec.strideH() - 2 * k.spec.padH() + k.spec.dilationH() * (k.kh - 1) + 1);
            int outPadW = k.w - ((k.ow() - 1) * k.spec.strideW() - 2 * k.spec.padW() + k.spec.dilationW() * (k.kw - 1) + 1);
            Tensor back = Functional.convTranspose2d(yt, weight, null, k.spec, outPadH, outPadW);
            assertShape(back, k.inShape());
            double rhs = back.mul(Ref.f64(x, k.inShape())).sum().item();
            assertEquals(lhs, rhs, 1e-10);
        }
    }

    @BackendTest
    void badInputIsRejectedClearly(TestDevice device) {
        device.activate();
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.ones(1, 4, 5, 5), w = Tensor.ones(6, 2, 3, 3);
            assertMessage(IllegalArgumentException.class, () -> Functional.conv2d(x, w, null), "conv2d", "[1, 4, 5, 5]", "[6, 2, 3, 3]", "groups=1");
            assertMessage(IllegalArgumentException.class, () -> Functional.conv2d(x, Tensor.ones(5, 2, 3, 3), null, 1, 0, 1, 2), "conv2d", "groups=2");
            assertMessage(IllegalArgumentException.class, () -> Functional.conv2d(x, Tensor.ones(2, 4, 7, 7), null), "conv2d", "7x7", "[1, 4, 5, 5]");
            assertMessage(IllegalArgumentException.class, () -> Functional.conv2d(x, Tensor.ones(DType.FLOAT64, null, 2, 4, 3, 3), null), "conv2d", "float32", "float64");
            assertMessage(IllegalArgumentException.class, () -> Functional.conv2d(x, Tensor.ones(2, 4, 3, 3), Tensor.ones(3)), "conv2d", "bias", "[3]");
            assertMessage(IllegalArgumentException.class, () -> Functional.conv2d(Tensor.ones(4, 5), Tensor.ones(2, 4, 3, 3), null), "conv2d", "[4, 5]");
            assertMessage(IllegalArgumentException.class, () -> Functional.conv2d(x, Tensor.ones(2, 4, 3, 3), null, 0, 0), "conv2d", "stride");
            assertMessage(IllegalArgumentException.class, () -> Functional.convTranspose2d(x, Tensor.ones(4, 2, 3, 3), null, 2, 0, 2, 1, 1),
                    "conv_transpose2d", "output padding 2x2");
            assertMessage(IllegalArgumentException.class, () -> Functional.convTranspose2d(x, Tensor.ones(3, 2, 3, 3), null, 1, 0),
                    "conv_transpose2d", "[1, 4, 5, 5]", "[3, 2, 3, 3]");
        }
    }
}
