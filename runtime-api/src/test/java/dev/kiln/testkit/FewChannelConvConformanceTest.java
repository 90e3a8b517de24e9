package dev.kiln.testkit;

import dev.kiln.DType;
import dev.kiln.Functional;
import dev.kiln.Scope;
import dev.kiln.Tensor;
import dev.kiln.backend.Conv2dSpec;

import static dev.kiln.testkit.Ref.assertClose;
import static dev.kiln.testkit.Ref.data;

/**
 * float32 convolutions with few channels, the shapes small networks train (LeNet's 1 -> 6 and 6 -> 16), forward
 * and both gradients against float64 loops. {@link ConvolutionConformanceTest} checks gradients by finite
 * differences, in float64; a backend may compute float32 convolutions by other kernels (the CPU backend computes
 * these without a column matrix), so here the float32 gradients are compared too. The cases vary what those
 * kernels block over: output channels (1, 5, 6, 9, 16, 17), rows shorter and longer than a vector, odd widths,
 * padding, dilation, non-square kernels, an input that is a transposed view, and a NaN pixel.
 */
class FewChannelConvConformanceTest {

    private static final ConvolutionConformanceTest.Case[] CASES = {
            new ConvolutionConformanceTest.Case(3, 1, 28, 28, 6, 5, 5, new Conv2dSpec(1, 1, 2, 2, 1, 1, 1)),
            new ConvolutionConformanceTest.Case(3, 6, 14, 14, 16, 5, 5, new Conv2dSpec(1, 1, 0, 0, 1, 1, 1)),
            new ConvolutionConformanceTest.Case(2, 3, 9, 21, 5, 3, 3, new Conv2dSpec(1, 1, 1, 1, 1, 1, 1)),
            new ConvolutionConformanceTest.Case(2, 2, 13, 19, 9, 2, 3, new Conv2dSpec(1, 1, 1, 0, 2, 1, 1)),
            new ConvolutionConformanceTest.Case(2, 4, 6, 17, 1, 3, 1, new Conv2dSpec(1, 1, 0, 1, 1, 3, 1)),
            new ConvolutionConformanceTest.Case(2, 3, 8, 12, 17, 3, 3, new Conv2dSpec(1, 1, 1, 1, 1, 1, 1)),
            new ConvolutionConformanceTest.Case(2, 5, 7, 7, 6, 3, 3, new Conv2dSpec(1, 1, 1, 1, 1, 1, 1)),
    };

    @BackendTest
    void forwardAndGradientsInFloat32(TestDevice device) {
        device.activate();
        for (ConvolutionConformanceTest.Case k : CASES) {
            double[] x = data(11, Ref.numel(k.inShape()), -1, 1), w = data(12, Ref.numel(k.weightShape()), -1, 1);
            int[] outShape = {k.n(), k.cout(), k.oh(), k.ow()};
            double[] g = data(13, Ref.numel(outShape), -1, 1);
            // Tolerances for float32 sums of up to a few hundred products of magnitude 1.
            double rtol = 1e-4, atol = 1e-4;
            try (Scope s = Scope.open()) {
                Tensor xt = Tensor.of(x, DType.FLOAT32, null, k.inShape()).requiresGrad(true);
                Tensor wt = Tensor.of(w, DType.FLOAT32, null, k.weightShape()).requiresGrad(true);
                Tensor y = Functional.conv2d(xt, wt, null, k.spec());
                assertClose(ConvolutionConformanceTest.refConv(k, x, w, null), y, rtol, atol, "forward " + k);
                y.backward(Tensor.of(g, DType.FLOAT32, null, outShape));
                assertClose(refGradInput(k, g, w), xt.grad(), rtol, atol, "gradient by the input " + k);
                assertClose(refGradWeight(k, x, g), wt.grad(), rtol, atol, "gradient by the weight " + k);

                // The same image as a transposed view: the kernels copy it by its strides.
                int[] swapped = {k.n(), k.c(), k.w(), k.h()};
                Tensor xs = Tensor.of(transposeImages(k, x), DType.FLOAT32, null, swapped).transpose(2, 3).requiresGrad(true);
                Tensor ws = Tensor.of(w, DType.FLOAT32, null, k.weightShape()).requiresGrad(true);
                Functional.conv2d(xs, ws, null, k.spec()).backward(Tensor.of(g, DType.FLOAT32, null, outShape));
                assertClose(refGradWeight(k, x, g), ws.grad(), rtol, atol, "gradient by the weight, transposed input " + k);

                // A NaN pixel near the right edge: NaN reaches exactly the weights of the taps that see it.
                double[] withNan = x.clone();
                withNan[k.w() - 2] = Double.NaN;
                Tensor xn = Tensor.of(withNan, DType.FLOAT32, null, k.inShape());
                Tensor wn = Tensor.of(w, DType.FLOAT32, null, k.weightShape()).requiresGrad(true);
                Functional.conv2d(xn, wn, null, k.spec()).backward(Tensor.of(g, DType.FLOAT32, null, outShape));
                assertClose(refGradWeight(k, withNan, g), wn.grad(), rtol, atol, "gradient by the weight, a NaN pixel " + k);
            }
        }
    }

    /** x (n, c, h, w) stored as (n, c, w, h). */
    private static double[] transposeImages(ConvolutionConformanceTest.Case k, double[] x) {
        double[] r = new double[x.length];
        for (int plane = 0; plane < k.n() * k.c(); plane++)
            for (int i = 0; i < k.h(); i++)
                for (int j = 0; j < k.w(); j++) r[(plane * k.w() + j) * k.h() + i] = x[(plane * k.h() + i) * k.w() + j];
        return r;
    }

    /** Visits every (image, output channel, output position, input channel, tap) with the input index it reads. */
    private interface Term {
        void add(int outIndex, int inIndex, int weightIndex);
    }

    private static void forEachTerm(ConvolutionConformanceTest.Case k, Term term) {
        Conv2dSpec s = k.spec();
        int oh = k.oh(), ow = k.ow();
        for (int n = 0; n < k.n(); n++)
            for (int co = 0; co < k.cout(); co++)
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++)
                        for (int ci = 0; ci < k.c(); ci++)
                            for (int a = 0; a < k.kh(); a++)
                                for (int b = 0; b < k.kw(); b++) {
                                    int y = i * s.strideH() - s.padH() + a * s.dilationH(), xx = j * s.strideW() - s.padW() + b * s.dilationW();
                                    if (y < 0 || y >= k.h() || xx < 0 || xx >= k.w()) continue;
                                    term.add(((n * k.cout() + co) * oh + i) * ow + j, ((n * k.c() + ci) * k.h() + y) * k.w() + xx,
                                            ((co * k.c() + ci) * k.kh() + a) * k.kw() + b);
                                }
    }

    private static double[] refGradInput(ConvolutionConformanceTest.Case k, double[] g, double[] w) {
        double[] dx = new double[Ref.numel(k.inShape())];
        forEachTerm(k, (o, i, wi) -> dx[i] += g[o] * w[wi]);
        return dx;
    }

    private static double[] refGradWeight(ConvolutionConformanceTest.Case k, double[] x, double[] g) {
        double[] dw = new double[Ref.numel(k.weightShape())];
        forEachTerm(k, (o, i, wi) -> dw[wi] += g[o] * x[i]);
        return dw;
    }
}
