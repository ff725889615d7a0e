package hybridsam.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
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

    public static NdArray read(Path file) {
        ByteBuffer all;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size > Integer.MAX_VALUE) {
                throw new DataException(file.toAbsolutePath() + ": file is " + size
                        + " bytes; arrays over 2 GB are not supported");
            }
            all = ByteBuffer.allocate((int) size);
            while (all.hasRemaining()) {
                if (ch.read(all) < 0) break;
            }
            all.flip();
        } catch (NoSuchFileException e) {
            throw new DataException(file.toAbsolutePath() + ": file not found", e);
        } catch (IOException e) {
            throw new DataException(file.toAbsolutePath() + ": cannot read: " + e, e);
        }
        return parse(file.toAbsolutePath().toString(), all.order(ByteOrder.LITTLE_ENDIAN));
    }

    private static NdArray parse(String name, ByteBuffer b) {
        if (b.remaining() < MAGIC.length + 2) {
            throw new DataException(name + ": not a .npy file: only " + b.remaining() + " bytes long");
        }
        for (byte m : MAGIC) {
            if (b.get() != m) {
                throw new DataException(name + ": not a .npy file: bad magic (expected \\x93NUMPY)");
            }
        }
        int major = b.get() & 0xff;
        int minor = b.get() & 0xff;
        int headerLen;
        Charset cs;
        if (major == 1 && minor == 0) {
            headerLen = need(name, b, 2, "header length") ? b.getShort() & 0xffff : 0;
            cs = StandardCharsets.ISO_8859_1;
        } else if ((major == 2 || major == 3) && minor == 0) {
            headerLen = need(name, b, 4, "header length") ? b.getInt() : 0;
            // v3.0 only differs from v2.0 in allowing UTF-8 header text.
            cs = major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1;
            if (headerLen < 0) {
                throw new DataException(name + ": header length field is negative");
            }
        } else {
            throw new DataException(name + ": unsupported .npy format version " + major + "." + minor
                    + " (supported: 1.0, 2.0, 3.0)");
        }
        need(name, b, headerLen, "header of " + headerLen + " bytes");
        byte[] text = new byte[headerLen];
        b.get(text);
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
        long count = 1;
        for (int d : shape) {
            count *= d;
            if (count > Integer.MAX_VALUE) {
                throw new DataException(name + ": shape " + shapeText(shape) + " is too large (over 2^31 values)");
            }
        }
        long expectedBytes = count * width;
        int dataBytes = b.remaining();
        String type = width == 4 ? "float32" : "float64";
        if (dataBytes < expectedBytes) {
            throw new DataException(name + ": truncated: header says " + count + " " + type + " values ("
                    + expectedBytes + " bytes) but only " + dataBytes + " data bytes follow");
        }
        if (dataBytes > expectedBytes) {
            throw new DataException(name + ": " + (dataBytes - expectedBytes) + " unexpected trailing bytes after "
                    + count + " " + type + " values (" + expectedBytes + " bytes) of shape " + shapeText(shape));
        }
        float[] data = new float[(int) count];
        if (width == 4) {
            b.asFloatBuffer().get(data);
        } else {
            DoubleBuffer d = b.asDoubleBuffer();
            for (int i = 0; i < data.length; i++) data[i] = (float) d.get(i);
        }
        return new NdArray(data, shape);
    }

    private static boolean need(String name, ByteBuffer b, int n, String what) {
        if (b.remaining() < n) {
            throw new DataException(name + ": truncated while reading " + what + " (" + b.remaining()
                    + " bytes left)");
        }
        return true;
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
