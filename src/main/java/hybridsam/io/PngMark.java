package hybridsam.io;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.zip.CRC32;

/**
 * hybridsam's mark in the PNGs it writes (plots, figures): a text chunk {@code Software:
 * hybridsam} right after the header, by which a later run or {@code plot} recognises a file it
 * may replace; any other file of the same name is never replaced.
 */
public final class PngMark {
    /** The PNG text chunk's keyword and text. */
    public static final String MARK_KEYWORD = "Software", MARK_TEXT = "hybridsam";

    private PngMark() {
    }

    private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    /** The PNG with a tEXt chunk {@code Software: hybridsam} after its header chunk. */
    public static byte[] mark(byte[] png) {
        if (!startsWithSignature(png) || png.length < 33) throw new IllegalArgumentException("not a PNG");
        byte[] data = (MARK_KEYWORD + "\0" + MARK_TEXT).getBytes(StandardCharsets.ISO_8859_1);
        byte[] chunk = new byte[12 + data.length];
        putInt(chunk, 0, data.length);
        byte[] type = "tEXt".getBytes(StandardCharsets.ISO_8859_1);
        System.arraycopy(type, 0, chunk, 4, 4);
        System.arraycopy(data, 0, chunk, 8, data.length);
        CRC32 crc = new CRC32();
        crc.update(chunk, 4, 4 + data.length);
        putInt(chunk, 8 + data.length, (int) crc.getValue());
        int afterHeader = 8 + 12 + 13; // signature, then IHDR (13 bytes of data)
        byte[] out = new byte[png.length + chunk.length];
        System.arraycopy(png, 0, out, 0, afterHeader);
        System.arraycopy(chunk, 0, out, afterHeader, chunk.length);
        System.arraycopy(png, afterHeader, out, afterHeader + chunk.length, png.length - afterHeader);
        return out;
    }

    /** Whether f is a PNG that carries hybridsam's mark in a text chunk before its image data. */
    public static boolean isOwn(Path f) {
        if (!Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) return false;
        byte[] head;
        try (var in = Files.newInputStream(f)) {
            head = in.readNBytes(4096);
        } catch (IOException e) {
            return false;
        }
        if (!startsWithSignature(head)) return false;
        byte[] want = (MARK_KEYWORD + "\0" + MARK_TEXT).getBytes(StandardCharsets.ISO_8859_1);
        int at = 8;
        while (at + 8 <= head.length) {
            long len = getInt(head, at) & 0xffffffffL;
            String type = new String(head, at + 4, 4, StandardCharsets.ISO_8859_1);
            if (type.equals("IDAT") || type.equals("IEND")) return false;
            if (type.equals("tEXt") && len == want.length && at + 8 + len <= head.length) {
                boolean same = true;
                for (int i = 0; i < want.length && same; i++) same = head[at + 8 + i] == want[i];
                if (same) return true;
            }
            at += 12 + len;
            if (len > head.length) return false;
        }
        return false;
    }

    private static boolean startsWithSignature(byte[] b) {
        if (b.length < SIGNATURE.length) return false;
        for (int i = 0; i < SIGNATURE.length; i++) if (b[i] != SIGNATURE[i]) return false;
        return true;
    }

    private static void putInt(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
    }

    private static int getInt(byte[] b, int at) {
        return (b[at] & 0xff) << 24 | (b[at + 1] & 0xff) << 16 | (b[at + 2] & 0xff) << 8 | (b[at + 3] & 0xff);
    }
}
