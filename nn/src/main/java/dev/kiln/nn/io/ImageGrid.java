package dev.kiln.nn.io;

import dev.kiln.Tensor;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Writes greyscale images as one PNG grid (torchvision's {@code save_image} for one channel): images in rows of
 * {@code columns}, each pixel enlarged to {@code scale} x {@code scale}, separated by a 2-pixel mid-grey border.
 * Values are clamped to [0, 1] (0 black, 1 white).
 */
public final class ImageGrid {
    private static final int BORDER = 2;
    private static final int BORDER_GREY = 128;

    private ImageGrid() {}

    /**
     * Writes the grid.
     *
     * @param png the file written
     * @param images (N, H, W) or (N, 1, H, W), any float dtype, on any device
     * @param columns images per row, positive
     * @param scale the pixel enlargement, positive
     * @throws IllegalArgumentException if the images are not float (N, H, W) or (N, 1, H, W), or columns or scale is not positive
     * @throws IOException if the file cannot be written
     */

    public static void write(Path png, Tensor images, int columns, int scale) throws IOException {
        int[] shape = images.shape();
        boolean oneChannel = shape.length == 4 && shape[1] == 1;
        if (!(shape.length == 3 || oneChannel) || !images.dtype().isFloatingPoint())
            throw new IllegalArgumentException("ImageGrid.write: expected float images (N, H, W) or (N, 1, H, W), got " + images.dtype() + " " + Arrays.toString(shape));
        if (columns <= 0 || scale <= 0) throw new IllegalArgumentException("ImageGrid.write: columns and scale must be positive, got " + columns + ", " + scale);
        int n = shape[0], h = shape[shape.length - 2], w = shape[shape.length - 1];
        float[] pixels = images.to(dev.kiln.DType.FLOAT32).toFloatArray();
        int cols = Math.min(columns, Math.max(1, n)), rows = (n + cols - 1) / cols;
        int cellW = w * scale + BORDER, cellH = h * scale + BORDER;
        BufferedImage image = new BufferedImage(cols * cellW + BORDER, rows * cellH + BORDER, BufferedImage.TYPE_BYTE_GRAY);
        // The raster's samples are the bytes written (setRGB would pass through a colour-space conversion).
        WritableRaster raster = image.getRaster();
        for (int y = 0; y < image.getHeight(); y++)
            for (int x = 0; x < image.getWidth(); x++) raster.setSample(x, y, 0, BORDER_GREY);
        for (int k = 0; k < n; k++) {
            int left = BORDER + (k % cols) * cellW, top = BORDER + (k / cols) * cellH;
            for (int y = 0; y < h * scale; y++)
                for (int x = 0; x < w * scale; x++) {
                    float v = pixels[(k * h + y / scale) * w + x / scale];
                    raster.setSample(left + x, top + y, 0, Math.round(255 * Math.clamp(Float.isNaN(v) ? 0 : v, 0f, 1f)));
                }
        }
        Path parent = png.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        if (!ImageIO.write(image, "png", png.toFile())) throw new IOException("ImageGrid.write: no PNG writer in this JVM");
    }
}
