package hybridsam.io;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reader/writer for the NumPy .npy format (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html).
 * Writes version 1.0, float32, C order, byte-for-byte like numpy.save; reads versions 1.0-3.0 with
 * dtype '<f4' or '<f8' (the latter narrowed to float, since the whole project works in float32).
 *
 * <p>Reading checks before it allocates: the header (at most {@link #MAX_HEADER_BYTES}) is read
 * alone, its shape × dtype size is compared, exactly, with the file's size, and arrays of more
 * than {@link #MAX_VALUES} values are refused; only then is the float array allocated, and the
 * data are read into it through a fixed-size buffer (no second copy of the file in memory).
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    /** numpy aligns the data start to 64 bytes so it can be memory-mapped efficiently. */
    private static final int ALIGN = 64;
    /**
     * numpy reserves room for shape[0] to grow to this many digits (so files can be appended to in
     * place); we pad the same way so our headers are byte-identical to numpy.save's.
     */
    private static final int GROWTH_AXIS_MAX_DIGITS = 21;

    private Npy() {}

    public static void write(Path file, NdArray a) throws IOException {
        byte[] header = header(a.shape());
        float[] data = a.data();
        AtomicFiles.write(file, out -> {
            out.write(header);
            // Convert in chunks so a 40 MB array does not need a second 40 MB byte[] at once.
            ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
            int chunk = buf.capacity() / Float.BYTES;
            for (int i = 0; i < data.length; i += chunk) {
                int n = Math.min(chunk, data.length - i);
                buf.clear();
                buf.asFloatBuffer().put(data, i, n);
                out.write(buf.array(), 0, n * Float.BYTES);
            }
        });
    }

    /** The full v1.0 preamble (magic, version, length, padded header text) for a float32 array. */
    static byte[] header(int[] shape) {
        StringBuilder dict = new StringBuilder("{'descr': '<f4', 'fortran_order': False, 'shape': (");
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) dict.append(", ");
            dict.append(shape[i]);
        }
        if (shape.length == 1) dict.append(','); // Python's 1-tuple syntax: (5,)
        dict.append("), }");
        if (shape.length > 0) {
            dict.append(" ".repeat(GROWTH_AXIS_MAX_DIGITS - Integer.toString(shape[0]).length()));
        }
        int unpadded = MAGIC.length + 2 + 2 + dict.length() + 1; // +1 for the final '\n'
        // numpy always pads (1..64 spaces), even when already aligned; mirror that exactly.
        int pad = ALIGN - unpadded % ALIGN;
        dict.append(" ".repeat(pad)).append('\n');
        byte[] text = dict.toString().getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer b = ByteBuffer.allocate(MAGIC.length + 4 + text.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) text.length).put(text);
        return b.array();
    }

    /**
     * What a .npy header says, read and checked against the file's size before any data are read.
     *
     * @param descr      the header's dtype text, '<f4' or '<f8'
     * @param shape      the array's shape
     * @param count      number of values (the product of the shape)
     * @param dataOffset bytes before the first value (preamble plus header text)
     * @param fileSize   the file's size in bytes
     */
    public record Header(String descr, int[] shape, long count, long dataOffset, long fileSize) {
        /** Bytes per value: 4 for float32, 8 for float64. */
        public int width() {
            return descr.equals("<f8") ? 8 : 4;
        }

        /** "float32" or "float64", as a manifest's "dtype" spells it. */
        public String dtype() {
            return descr.equals("<f8") ? "float64" : "float32";
        }

        public long dataBytes() {
            return count * width();
        }
    }

    /** The most values one array may hold: the length limit of a Java array. */
    public static final long MAX_VALUES = Integer.MAX_VALUE - 8L;
    /** Longest header text accepted (numpy writes about 118 bytes for our arrays). */
    public static final int MAX_HEADER_BYTES = 1 << 20;
    /** Data are read and converted through a buffer of this many bytes, never the whole file at once. */
    static final int READ_CHUNK = 1 << 20;

    /**
     * Reads and checks the header only: magic, version, dtype, order, shape, and that the file's
     * size is exactly the header plus shape × dtype size. Nothing the size of the data is allocated.
     */
    public static Header readHeader(Path file) {
        String name = file.toAbsolutePath().toString();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return header(name, ch);
        } catch (NoSuchFileException e) {
            throw new DataException(name + ": file not found", e);
        } catch (IOException e) {
            throw new DataException(name + ": cannot read: " + e, e);
        }
    }

    /**
     * Reads a whole array. The header is checked against the file size (and {@link #MAX_VALUES})
     * before the float array is allocated, and the data are read straight into that array through
     * a fixed-size buffer, so a file is never held twice in memory. float64 values are narrowed to
     * float32; a finite value too large for float32 is refused with its index.
     */
    public static NdArray read(Path file) {
        String name = file.toAbsolutePath().toString();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Header h = header(name, ch);
            float[] data;
            try {
                data = new float[(int) h.count()];
            } catch (OutOfMemoryError e) {
                Runtime rt = Runtime.getRuntime();
                throw new DataException(name + ": " + h.count() + " values of shape " + shapeText(h.shape())
                        + " need " + 4 * h.count() + " bytes of memory as float32 and this JVM cannot allocate them"
                        + " (maximum heap " + rt.maxMemory() + " bytes); give Java more memory"
                        + " (HYBRIDSAM_JAVA_OPTS=-Xmx...)");
            }
            readData(name, ch, h, data);
            return new NdArray(data, h.shape());
        } catch (NoSuchFileException e) {
            throw new DataException(name + ": file not found", e);
        } catch (IOException e) {
            throw new DataException(name + ": cannot read: " + e, e);
        }
    }

    private static void readData(String name, FileChannel ch, Header h, float[] data) throws IOException {
        int width = h.width();
        ByteBuffer buf = ByteBuffer.allocateDirect((int) Math.min(READ_CHUNK, Math.max(width, h.dataBytes())))
                .order(ByteOrder.LITTLE_ENDIAN);
        long pos = h.dataOffset();
        int at = 0;
        while (at < data.length) {
            buf.clear();
            long left = (long) (data.length - at) * width;
            if (left < buf.capacity()) buf.limit((int) left);
            while (buf.hasRemaining()) {
                int n = ch.read(buf, pos);
                if (n < 0) {
                    // the file shrank after its size was checked
                    throw new DataException(name + ": truncated: the file ended after " + (pos - h.dataOffset())
                            + " of " + h.dataBytes() + " data bytes");
                }
                pos += n;
            }
            buf.flip();
            int n = buf.remaining() / width;
            if (width == 4) {
                buf.asFloatBuffer().get(data, at, n);
            } else {
                DoubleBuffer d = buf.asDoubleBuffer();
                for (int i = 0; i < n; i++) {
                    double v = d.get(i);
                    float f = (float) v;
                    if (Float.isInfinite(f) && !Double.isInfinite(v)) {
                        throw new DataException(name + ": float64 value " + v + " at flat index " + (at + i)
                                + " is too large for float32 (largest " + Float.MAX_VALUE + "); rescale the data");
                    }
                    data[at + i] = f;
                }
            }
            at += n;
        }
    }

    private static String hex(byte[] b, int n) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < n; i++) s.append(i > 0 ? " " : "").append(String.format("%02X", b[i] & 0xff));
        return s.toString();
    }

    private static boolean startsWithBom(byte[] b, int n) {
        return n >= 3 && (b[0] & 0xff) == 0xEF && (b[1] & 0xff) == 0xBB && (b[2] & 0xff) == 0xBF;
    }

    private static Header header(String name, FileChannel ch) throws IOException {
        long size = ch.size();
        ByteBuffer pre = ByteBuffer.allocate(MAGIC.length + 2 + 4).order(ByteOrder.LITTLE_ENDIAN);
        while (pre.hasRemaining() && ch.read(pre, pre.position()) > 0) {
            // fill what the file has of the preamble
        }
        pre.flip();
        byte[] first = new byte[pre.remaining()];
        pre.get(first);
        pre.rewind();
        if (startsWithBom(first, first.length)) {
            throw new DataException(name + ": not a .npy file: it starts with a byte-order mark (EF BB BF) where the"
                    + " \\x93NUMPY magic should be (a text editor or text-mode copy added it); write the file with numpy.save");
        }
        if (size < MAGIC.length + 2) {
            throw new DataException(name + ": not a .npy file: only " + size + " bytes long");
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (first[i] != MAGIC[i]) {
                throw new DataException(name + ": not a .npy file: bad magic (expected \\x93NUMPY, found "
                        + hex(first, MAGIC.length) + ")");
            }
        }
        pre.position(MAGIC.length);
        int major = pre.get() & 0xff;
        int minor = pre.get() & 0xff;
        long headerLen;
        int lenBytes;
        Charset cs;
        if (major == 1 && minor == 0) {
            lenBytes = 2;
            cs = StandardCharsets.ISO_8859_1;
        } else if ((major == 2 || major == 3) && minor == 0) {
            lenBytes = 4;
            // v3.0 only differs from v2.0 in allowing UTF-8 header text.
            cs = major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1;
        } else {
            throw new DataException(name + ": unsupported .npy format version " + major + "." + minor
                    + " (supported: 1.0, 2.0, 3.0)");
        }
        if (pre.remaining() < lenBytes) {
            throw new DataException(name + ": truncated while reading header length (" + pre.remaining()
                    + " bytes left)");
        }
        headerLen = lenBytes == 2 ? pre.getShort() & 0xffff : pre.getInt() & 0xffffffffL;
        long textStart = MAGIC.length + 2 + lenBytes;
        if (headerLen > MAX_HEADER_BYTES) {
            throw new DataException(name + ": header length field says " + headerLen + " bytes, over the "
                    + MAX_HEADER_BYTES + " this reader accepts (file size " + size + " bytes)");
        }
        if (size - textStart < headerLen) {
            throw new DataException(name + ": truncated while reading header of " + headerLen + " bytes ("
                    + (size - textStart) + " bytes left)");
        }
        ByteBuffer textBuf = ByteBuffer.allocate((int) headerLen);
        while (textBuf.hasRemaining()) {
            if (ch.read(textBuf, textStart + textBuf.position()) < 0) {
                throw new DataException(name + ": truncated while reading header of " + headerLen + " bytes");
            }
        }
        byte[] text = textBuf.array();
        if (startsWithBom(text, text.length)) {
            throw new DataException(name + ": .npy header starts with a byte-order mark (EF BB BF) before its dict;"
                    + " write the file with numpy.save");
        }
        Map<String, Object> dict = new HeaderParser(name, new String(text, cs)).parse();

        Object descr = dict.get("descr");
        Object fortran = dict.get("fortran_order");
        Object shapeObj = dict.get("shape");
        if (!(descr instanceof String)) {
            throw new DataException(name + ": header field 'descr' is missing or not a string: " + descr);
        }
        if (!(fortran instanceof Boolean)) {
            throw new DataException(name + ": header field 'fortran_order' is missing or not True/False");
        }
        if (!(shapeObj instanceof int[])) {
            throw new DataException(name + ": header field 'shape' is missing or not a tuple of integers");
        }
        int width;
        if (descr.equals("<f4")) {
            width = 4;
        } else if (descr.equals("<f8")) {
            width = 8;
        } else {
            throw new DataException(name + ": unsupported dtype '" + descr
                    + "' (only little-endian float32 '<f4' and float64 '<f8' are accepted)");
        }
        if ((Boolean) fortran) {
            throw new DataException(name + ": fortran_order is True; only C-order arrays are supported"
                    + " (save with np.ascontiguousarray)");
        }
        int[] shape = (int[]) shapeObj;
        // exact, whatever the shape: the product of up to many 31-bit dimensions overflows a long
        BigInteger count = BigInteger.ONE;
        for (int d : shape) count = count.multiply(BigInteger.valueOf(d));
        BigInteger expectedBytes = count.multiply(BigInteger.valueOf(width));
        long dataOffset = textStart + headerLen;
        long dataBytes = size - dataOffset;
        String type = width == 4 ? "float32" : "float64";
        String claim = count + " " + type + " values (" + expectedBytes + " bytes)";
        int cmp = expectedBytes.compareTo(BigInteger.valueOf(dataBytes));
        if (cmp > 0) {
            throw new DataException(name + ": truncated: header says shape " + shapeText(shape) + ", " + claim
                    + ", but only " + dataBytes + " data bytes follow the " + dataOffset + "-byte header (file size "
                    + size + " bytes); refused before reading the data");
        }
        if (cmp < 0) {
            throw new DataException(name + ": " + (dataBytes - expectedBytes.longValueExact())
                    + " unexpected trailing bytes after " + claim + " of shape " + shapeText(shape)
                    + " (file size " + size + " bytes, " + dataBytes + " data bytes after the " + dataOffset
                    + "-byte header)");
        }
        if (count.compareTo(BigInteger.valueOf(MAX_VALUES)) > 0) {
            throw new DataException(name + ": shape " + shapeText(shape) + " holds " + claim + ", more than the "
                    + MAX_VALUES + " values one array may hold");
        }
        return new Header((String) descr, shape, count.longValueExact(), dataOffset, size);
    }

    static String shapeText(int[] shape) {
        StringBuilder s = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) {
            if (i > 0) s.append(", ");
            s.append(shape[i]);
        }
        return s.append(shape.length == 1 ? ",)" : ")").toString();
    }

    /**
     * Parses the Python dict literal in the header, e.g. {'descr': '<f4', 'fortran_order': False,
     * 'shape': (2, 3), }. Only the value kinds that occur there are understood: quoted strings,
     * True/False and tuples of non-negative integers (returned as int[]).
     */
    private static final class HeaderParser {
        private final String name;
        private final String s;
        private int pos;

        HeaderParser(String name, String s) {
            this.name = name;
            this.s = s;
        }

        Map<String, Object> parse() {
            Map<String, Object> out = new LinkedHashMap<>();
            expect('{');
            while (true) {
                skipSpace();
                if (peek() == '}') break;
                String key = string();
                expect(':');
                out.put(key, value());
                skipSpace();
                if (peek() == ',') {
                    pos++;
                } else if (peek() != '}') {
                    throw fail("expected ',' or '}'");
                }
            }
            pos++;
            skipSpace();
            if (pos != s.length()) throw fail("unexpected text after the closing '}'");
            return out;
        }

        private Object value() {
            skipSpace();
            char c = peek();
            if (c == '\'' || c == '"') return string();
            if (c == '(') return tuple();
            if (s.startsWith("True", pos)) {
                pos += 4;
                return Boolean.TRUE;
            }
            if (s.startsWith("False", pos)) {
                pos += 5;
                return Boolean.FALSE;
            }
            throw fail("unsupported value");
        }

        private int[] tuple() {
            expect('(');
            List<Integer> dims = new ArrayList<>();
            while (true) {
                skipSpace();
                if (peek() == ')') break;
                int start = pos;
                while (pos < s.length() && Character.isDigit(s.charAt(pos))) pos++;
                // Python 2 era files may write long dims as "3L".
                String digits = s.substring(start, pos);
                if (pos < s.length() && s.charAt(pos) == 'L') pos++;
                if (digits.isEmpty()) throw fail("expected a non-negative integer in shape");
                try {
                    dims.add(Integer.parseInt(digits));
                } catch (NumberFormatException e) {
                    throw fail("shape dimension " + digits + " is too large");
                }
                skipSpace();
                if (peek() == ',') pos++;
                else if (peek() != ')') throw fail("expected ',' or ')' in shape");
            }
            pos++;
            return dims.stream().mapToInt(Integer::intValue).toArray();
        }

        private String string() {
            skipSpace();
            char q = peek();
            if (q != '\'' && q != '"') throw fail("expected a quoted string");
            int end = s.indexOf(q, pos + 1);
            if (end < 0) throw fail("unterminated string");
            String v = s.substring(pos + 1, end);
            pos = end + 1;
            return v;
        }

        private void expect(char c) {
            skipSpace();
            if (peek() != c) throw fail("expected '" + c + "'");
            pos++;
        }

        private char peek() {
            if (pos >= s.length()) throw fail("header ends unexpectedly");
            return s.charAt(pos);
        }

        private void skipSpace() {
            while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) pos++;
        }

        private DataException fail(String why) {
            return new DataException(name + ": malformed .npy header dict: " + why + " at character " + pos
                    + " of header " + s.strip());
        }
    }
}
