package hybridsam.io;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * 8-bit grey PNG files from row-major grey levels in [0, 1] (clipped; NaN as 0), encoded by the
 * JDK's ImageIO without any window system (no fonts, no text).
 */
public final class GreyPng {
    private GreyPng() {
    }

    /** The PNG bytes of a width × height image, pixels[y · width + x]. */
    public static byte[] encode(float[] pixels, int width, int height) {
        if (width < 1 || height < 1 || pixels.length != (long) width * height) {
            throw new IllegalArgumentException(pixels.length + " grey levels for a " + width + " x " + height + " image");
        }
        BufferedImage img = new BufferedImage(width, height, BufferedImage.TYPE_BYTE_GRAY);
        WritableRaster raster = img.getRaster();
        int[] row = new int[width];
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) row[x] = level(pixels[y * width + x]);
            raster.setPixels(0, y, width, 1, row);
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(img, "png", bytes)) throw new IllegalStateException("this JDK has no PNG writer");
        } catch (IOException e) {
            throw new UncheckedIOException(e);  // a byte array does not fail
        }
        return bytes.toByteArray();
    }

    /** The 8-bit level of a grey value: round(255 · clip(v, 0, 1)), NaN as 0. */
    static int level(float v) {
        if (!(v > 0)) return 0;
        if (v >= 1) return 255;
        return Math.round(v * 255f);
    }

    /**
     * Writes the image to target atomically ({@link AtomicFiles#writeNew}): a file already there is
     * never replaced but refused with {@link java.nio.file.FileAlreadyExistsException}.
     */
    public static void writeNew(Path target, float[] pixels, int width, int height) throws IOException {
        byte[] png = PngMark.mark(encode(pixels, width, height));
        AtomicFiles.writeNew(target, out -> out.write(png));
    }

    /**
     * Writes the image to target atomically, replacing a file there only when it carries
     * hybridsam's mark ({@link PngMark}); any other file is refused with
     * {@link java.nio.file.FileAlreadyExistsException}.
     */
    public static void replaceOwn(Path target, float[] pixels, int width, int height) throws IOException {
        if (java.nio.file.Files.exists(target, java.nio.file.LinkOption.NOFOLLOW_LINKS) && !PngMark.isOwn(target)) {
            throw new java.nio.file.FileAlreadyExistsException(target.toString(), null,
                    "not written by hybridsam (it lacks the mark), so it is not replaced; move it away to redraw");
        }
        byte[] png = PngMark.mark(encode(pixels, width, height));
        AtomicFiles.write(target, png);
    }
}
