package dev.kiln.nn.io;

import dev.kiln.Scope;
import dev.kiln.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ImageGridTest {

    @Test
    void writesImagesInRowsWithBordersAndClampedScaledPixels(@TempDir Path dir) throws Exception {
        Path png = dir.resolve("grid.png");
        try (Scope s = Scope.open()) {
            // Three 2x3 images, two to a row: the second row holds one image and a border-coloured gap.
            float[] v = new float[3 * 2 * 3];
            v[0] = 1;          // image 0, pixel (0, 0): white
            v[6 + 5] = 0.5f;   // image 1, pixel (1, 2): mid-grey
            v[12 + 1] = 7;     // image 2, pixel (0, 1): clamped to white
            v[12 + 2] = -3;    // image 2, pixel (0, 2): clamped to black
            ImageGrid.write(png, Tensor.of(v, 3, 1, 2, 3), 2, 2);
        }
        BufferedImage image = ImageIO.read(png.toFile());
        int cellW = 3 * 2 + 2, cellH = 2 * 2 + 2;
        assertEquals(2 + 2 * cellW, image.getWidth());
        assertEquals(2 + 2 * cellH, image.getHeight());
        assertEquals(128, grey(image, 0, 0));
        assertEquals(255, grey(image, 2, 2));
        assertEquals(255, grey(image, 3, 3));
        assertEquals(0, grey(image, 4, 2));
        assertEquals(128, grey(image, 2 + cellW + 2 * 2, 2 + 1 * 2));
        assertEquals(255, grey(image, 2 + 2, 2 + cellH));
        assertEquals(0, grey(image, 2 + 4, 2 + cellH));
        assertEquals(128, grey(image, 2 + cellW + 1, 2 + cellH + 1));
    }

    @Test
    void rejectsColourImages(@TempDir Path dir) {
        try (Scope s = Scope.open()) {
            Tensor rgb = Tensor.zeros(2, 3, 4, 4);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ImageGrid.write(dir.resolve("x.png"), rgb, 2, 1));
            assertEquals(true, e.getMessage().contains("[2, 3, 4, 4]"), e.getMessage());
        }
    }

    private static int grey(BufferedImage image, int x, int y) { return image.getRaster().getSample(x, y, 0); }
}
