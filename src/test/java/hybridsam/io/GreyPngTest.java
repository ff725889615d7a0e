package hybridsam.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Grey PNGs: the JDK decodes what is written, levels clipped to [0, 1]; an existing file is never replaced. */
class GreyPngTest {
    @TempDir
    Path tmp;

    @Test
    void decodesToTheLevelsClipped() throws IOException {
        float[] px = {0f, 0.5f, 1f, -0.3f, 1.7f, Float.NaN};  // 3 x 2
        BufferedImage img = ImageIO.read(new ByteArrayInputStream(GreyPng.encode(px, 3, 2)));
        assertEquals(3, img.getWidth());
        assertEquals(2, img.getHeight());
        int[] want = {0, 128, 255, 0, 255, 0};
        for (int i = 0; i < 6; i++) assertEquals(want[i], img.getRaster().getSample(i % 3, i / 3, 0), "pixel " + i);
        assertThrows(IllegalArgumentException.class, () -> GreyPng.encode(px, 4, 2));
    }

    @Test
    void neverReplacesAFile() throws IOException {
        Path f = tmp.resolve("a.png");
        GreyPng.writeNew(f, new float[] {1f}, 1, 1);
        assertEquals(1, ImageIO.read(f.toFile()).getWidth());
        Path mine = Files.writeString(tmp.resolve("b.png"), "someone's file");
        assertThrows(FileAlreadyExistsException.class, () -> GreyPng.writeNew(mine, new float[] {1f}, 1, 1));
        assertEquals("someone's file", Files.readString(mine));
        // no temp file is left behind
        try (var s = Files.list(tmp)) {
            assertEquals(List.of("a.png", "b.png"), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
        String why = AtomicFiles.reason(assertThrows(FileAlreadyExistsException.class,
                () -> AtomicFiles.writeNew(mine, out -> out.write(1))));
        assertTrue(why.contains("already exists"), why);
    }
}
