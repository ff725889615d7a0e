package hybridsam.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.PrettyPrinter;
import com.fasterxml.jackson.core.SerializableString;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.StreamWriteConstraints;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.core.io.CharacterEscapes;
import com.fasterxml.jackson.core.io.SerializedString;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.lang.reflect.Array;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * JSON for manifests, configs, reports and checkpoint metadata, on Jackson's streaming API.
 * Parsing yields LinkedHashMap (key order kept), ArrayList, String, Long (integers written
 * without fraction/exponent), Double (also integers beyond the long range), Boolean or null.
 *
 * <p>Reading is strict and bounded: at most {@value #MAX_DEPTH} levels of nesting, numbers of at
 * most {@value #MAX_NUMBER_CHARS} characters, strings of at most {@value #MAX_STRING_CHARS}
 * characters, no duplicate keys, no NaN/Infinity, no number that overflows a double, nothing after
 * the value. Every such problem is a {@link ParseException} naming line:column.
 */
public final class Json {

    /** Deepest nesting of arrays/objects read (and written: what we write we can read back). */
    public static final int MAX_DEPTH = 100;
    /** Longest number literal read, in characters. */
    public static final int MAX_NUMBER_CHARS = 100;
    /** Longest string (value) read, in characters. */
    public static final int MAX_STRING_CHARS = 10_000_000;

    /** Malformed JSON text; the message carries line:column of the problem. */
    public static final class ParseException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public ParseException(String message) {
            super(message);
        }

        public ParseException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private static final JsonFactory FACTORY = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxNestingDepth(MAX_DEPTH)
                    .maxNumberLength(MAX_NUMBER_CHARS)
                    .maxStringLength(MAX_STRING_CHARS)
                    .build())
            .streamWriteConstraints(StreamWriteConstraints.builder().maxNestingDepth(MAX_DEPTH).build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            // a write refused half way (NaN, too deep) must not have Jackson close the open brackets
            .disable(StreamWriteFeature.AUTO_CLOSE_CONTENT)
            .disable(JsonWriteFeature.WRITE_HEX_UPPER_CASE) // escapes in lowercase hex, as the files always had
            // keys as plain Strings: no symbol table shared between parses, no interning of input text
            .disable(JsonFactory.Feature.CANONICALIZE_FIELD_NAMES)
            .build();

    private Json() {}

    // ------------------------------------------------------------------ parsing

    public static Object parse(String text) {
        try (JsonParser p = FACTORY.createParser(text)) {
            try {
                JsonToken t = p.nextToken();
                if (t == null) throw fail(text, text.length(), "unexpected end of input, expected a value");
                Object v = value(text, p, t);
                if (p.nextToken() != null) throw fail(text, tokenStart(p), "unexpected text after the JSON value");
                return v;
            } catch (JsonProcessingException e) {
                throw translate(text, p, e);
            }
        } catch (IOException e) {
            // Reading a String does no I/O; only close() could get here, and it has nothing to release.
            throw new UncheckedIOException(e);
        }
    }

    /** Reads the value starting at token t; recursion depth is bounded by MAX_DEPTH. */
    private static Object value(String text, JsonParser p, JsonToken t) throws IOException {
        if (t == null) throw fail(text, text.length(), "unexpected end of input, expected a value");
        switch (t) {
            case START_OBJECT: {
                Map<String, Object> m = new LinkedHashMap<>();
                String key;
                while ((key = p.nextFieldName()) != null) {
                    m.put(key, value(text, p, p.nextToken()));
                }
                return m; // nextFieldName() returned null on END_OBJECT (anything else has thrown)
            }
            case START_ARRAY: {
                List<Object> a = new ArrayList<>();
                JsonToken e;
                while ((e = p.nextToken()) != JsonToken.END_ARRAY) a.add(value(text, p, e));
                return a;
            }
            case VALUE_STRING: return p.getText();
            case VALUE_NUMBER_INT: {
                String digits = p.getText();
                try {
                    return Long.parseLong(digits);
                } catch (NumberFormatException beyondLong) {
                    return finite(text, p, digits); // beyond long range: a double, as always
                }
            }
            case VALUE_NUMBER_FLOAT: return finite(text, p, p.getText());
            case VALUE_TRUE: return Boolean.TRUE;
            case VALUE_FALSE: return Boolean.FALSE;
            case VALUE_NULL: return null;
            default:
                // Not reachable with the default features (no embedded objects, no NaN tokens).
                throw fail(text, tokenStart(p), "unexpected token " + t);
        }
    }

    private static Double finite(String text, JsonParser p, String literal) {
        double d = Double.parseDouble(literal);
        if (Double.isInfinite(d)) {
            throw fail(text, tokenStart(p), "number " + literal + " is out of the range of a double");
        }
        return d;
    }

    /** Offset of the first character of the token the parser has just returned. */
    private static int tokenStart(JsonParser p) {
        return (int) p.currentTokenLocation().getCharOffset();
    }

    /**
     * Places Jackson's error where the old parser placed its own: at the offending character, or at
     * the start of the offending token. Jackson's location is that of the last character it read
     * (for a word or number: past its end), and its token location can still name the previous key;
     * so this works from that char offset and the text itself. Lines and columns count as before:
     * 1-based, and only '\n' ends a line.
     */
    private static ParseException translate(String text, JsonParser p, JsonProcessingException e) {
        String why = tidy(e.getOriginalMessage());
        JsonLocation loc = e.getLocation() != null ? e.getLocation() : p.currentLocation();
        // Jackson's char offset: the offending character, or just past the word/number/key at fault
        int off = (int) Math.min(Math.max(loc.getCharOffset(), 0), text.length());
        int at;
        if (e instanceof JsonEOFException) {
            at = text.length();
        } else if (why.startsWith("Document nesting depth")) {
            at = back(text, off - 1, Json::isSpace); // the '[' or '{' one level too deep
        } else if (why.startsWith("String value length") || why.startsWith("Name length")) {
            at = openingQuote(text, off - 1);
        } else if (why.startsWith("Duplicate field")) {
            int close = back(text, off - 1, c -> c != '"'); // past the key are at most ':' and spaces
            at = openingQuote(text, close - 1);
            why = "duplicate key \"" + currentName(p) + "\" in object";
        } else if (why.startsWith("Number value length") || why.startsWith("Unrecognized token")
                || why.startsWith("Non-standard token")) {
            int i = off < text.length() && isWordChar(text.charAt(off)) ? off : off - 1;
            at = back(text, i, Json::isWordChar) + 1; // the start of the number or word
        } else {
            at = off;
        }
        return new ParseException(message(text, Math.max(0, Math.min(at, text.length())), why), e);
    }

    private static boolean isSpace(int c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
    }

    private static boolean isWordChar(int c) {
        return Character.isJavaIdentifierPart(c) || c == '-' || c == '+' || c == '.';
    }

    /** Jackson's message without hints about parser features and source references we do not use. */
    private static String tidy(String why) {
        return why.replaceAll(": enable `[^`]*` to allow", "")
                .replaceAll("\\[Source: [^\\]]*?; (line: [^\\]]*)\\]", "[$1]")
                .replaceFirst("^Unexpected end-of-input(?=[A-Za-z])", "Unexpected end-of-input: ");
    }

    /** Steps back from i over characters matching skip; the index of the first that does not (or -1). */
    private static int back(String text, int i, java.util.function.IntPredicate skip) {
        while (i >= 0 && i < text.length() && skip.test(text.charAt(i))) i--;
        return i;
    }

    /** The unescaped '"' at or before i: the start of the string i lies in. */
    private static int openingQuote(String text, int i) {
        for (i = Math.min(i, text.length() - 1); i >= 0; i--) {
            if (text.charAt(i) != '"') continue;
            int slashes = 0;
            while (i - 1 - slashes >= 0 && text.charAt(i - 1 - slashes) == '\\') slashes++;
            if (slashes % 2 == 0) return i;
        }
        return 0;
    }

    private static String currentName(JsonParser p) {
        try {
            return p.currentName();
        } catch (IOException e) {
            return "?";
        }
    }

    private static ParseException fail(String text, int offset, String why) {
        return new ParseException(message(text, offset, why));
    }

    private static String message(String text, int offset, String why) {
        int line = 1;
        int col = 1;
        for (int i = 0; i < offset && i < text.length(); i++) {
            if (text.charAt(i) == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        return "JSON parse error at " + line + ":" + col + ": " + why;
    }

    // ------------------------------------------------------------------ writing

    /** Pretty-prints with 2-space indentation; non-finite numbers are rejected, naming their path. */
    public static String write(Object value) {
        StringWriter out = new StringWriter();
        try (JsonGenerator g = FACTORY.createGenerator(out)) {
            Layout layout = new Layout();
            g.setPrettyPrinter(layout);
            g.setCharacterEscapes(LineSeparatorEscapes.INSTANCE);
            write(g, layout, value, "");
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a StringWriter does not fail
        }
        return out.append('\n').toString();
    }

    private static void write(JsonGenerator g, Layout layout, Object v, String path) throws IOException {
        if (v == null) {
            g.writeNull();
        } else if (v instanceof String) {
            g.writeString((String) v);
        } else if (v instanceof Boolean) {
            g.writeBoolean((Boolean) v);
        } else if (v instanceof Float) {
            float f = (Float) v;
            checkFinite(f, path);
            // Float.toString gives the shortest text that identifies the float ("0.1"), which reads
            // back as the nearest double; widening would print 0.10000000149011612 instead.
            g.writeNumber(f);
        } else if (v instanceof Double) {
            double d = (Double) v;
            checkFinite(d, path);
            g.writeNumber(d); // Double.toString: shortest round-tripping form
        } else if (v instanceof Number) {
            // Integral types (Integer, Long, Short, Byte, BigInteger) print exactly; others via double.
            if (v instanceof java.math.BigDecimal) {
                g.writeNumber((java.math.BigDecimal) v); // toString(), as before
            } else if (v instanceof Integer || v instanceof Short || v instanceof Byte) {
                g.writeNumber(((Number) v).intValue());
            } else if (v instanceof Long) {
                g.writeNumber((long) (Long) v);
            } else if (v instanceof java.math.BigInteger) {
                g.writeNumber((java.math.BigInteger) v);
            } else {
                double d = ((Number) v).doubleValue();
                checkFinite(d, path);
                g.writeNumber(d);
            }
        } else if (v instanceof Map) {
            Map<?, ?> m = (Map<?, ?>) v;
            start(g, path, () -> g.writeStartObject(m, m.size()));
            for (Map.Entry<?, ?> e : m.entrySet()) {
                String key = String.valueOf(e.getKey());
                g.writeFieldName(key);
                write(g, layout, e.getValue(), path.isEmpty() ? key : path + "." + key);
            }
            g.writeEndObject();
        } else if (v instanceof Collection) {
            writeArray(g, layout, v, new ArrayList<Object>((Collection<?>) v), path);
        } else if (v.getClass().isArray()) {
            // Boxes primitive arrays element by element (double[] -> Double, float[] -> Float, ...).
            int n = Array.getLength(v);
            List<Object> items = new ArrayList<>(n);
            for (int i = 0; i < n; i++) items.add(Array.get(v, i));
            writeArray(g, layout, v, items, path);
        } else {
            throw new IllegalArgumentException("cannot write " + v.getClass().getName() + " as JSON at "
                    + where(path));
        }
    }

    private static void writeArray(JsonGenerator g, Layout layout, Object source, List<Object> items, String path)
            throws IOException {
        // Keep arrays of plain numbers on one line: shapes and loss curves stay readable.
        layout.nextArrayFlat = items.stream().allMatch(x -> x instanceof Number);
        start(g, path, () -> g.writeStartArray(source, items.size()));
        for (int i = 0; i < items.size(); i++) write(g, layout, items.get(i), path + "[" + i + "]");
        g.writeEndArray();
    }

    private interface IoAction {
        void run() throws IOException;
    }

    /** Opens an object/array; one level deeper than the reader accepts is refused, naming the path. */
    private static void start(JsonGenerator g, String path, IoAction open) throws IOException {
        try {
            open.run();
        } catch (StreamConstraintsException e) {
            throw new IllegalArgumentException("cannot write JSON deeper than nesting depth " + MAX_DEPTH
                    + " (the most Json.parse reads) at " + where(path), e);
        }
    }

    private static void checkFinite(double d, String path) {
        if (Double.isNaN(d) || Double.isInfinite(d)) {
            throw new IllegalArgumentException("cannot write non-finite number " + d + " to JSON at "
                    + where(path));
        }
    }

    private static String where(String path) {
        return path.isEmpty() ? "top level" : path;
    }

    /**
     * The project's layout: 2-space indent, {@code "key": value}, "\n" line ends on every platform,
     * empty containers as {} and [], arrays of plain numbers on one line as [1, 2, 3]. Stateful (one per
     * write): the writer sets {@link #nextArrayFlat} before each array it opens.
     */
    private static final class Layout implements PrettyPrinter {
        boolean nextArrayFlat;
        private final Deque<Boolean> flat = new ArrayDeque<>();
        private int depth;

        private void newline(JsonGenerator g) throws IOException {
            g.writeRaw('\n');
            for (int i = 0; i < depth; i++) g.writeRaw("  ");
        }

        @Override public void writeRootValueSeparator(JsonGenerator g) {}

        @Override public void writeStartObject(JsonGenerator g) throws IOException {
            g.writeRaw('{');
            depth++;
        }

        @Override public void beforeObjectEntries(JsonGenerator g) throws IOException {
            newline(g);
        }

        @Override public void writeObjectFieldValueSeparator(JsonGenerator g) throws IOException {
            g.writeRaw(": ");
        }

        @Override public void writeObjectEntrySeparator(JsonGenerator g) throws IOException {
            g.writeRaw(',');
            newline(g);
        }

        @Override public void writeEndObject(JsonGenerator g, int entries) throws IOException {
            depth--;
            if (entries > 0) newline(g);
            g.writeRaw('}');
        }

        @Override public void writeStartArray(JsonGenerator g) throws IOException {
            flat.push(nextArrayFlat);
            nextArrayFlat = false;
            g.writeRaw('[');
            depth++;
        }

        @Override public void beforeArrayValues(JsonGenerator g) throws IOException {
            if (!flat.peek()) newline(g);
        }

        @Override public void writeArrayValueSeparator(JsonGenerator g) throws IOException {
            if (flat.peek()) {
                g.writeRaw(", ");
            } else {
                g.writeRaw(',');
                newline(g);
            }
        }

        @Override public void writeEndArray(JsonGenerator g, int values) throws IOException {
            depth--;
            if (!flat.pop() && values > 0) newline(g);
            g.writeRaw(']');
        }
    }

    /** Jackson's standard escapes, plus U+2028/U+2029 (line breaks to JavaScript) as before. */
    private static final class LineSeparatorEscapes extends CharacterEscapes {
        private static final long serialVersionUID = 1L;
        static final LineSeparatorEscapes INSTANCE = new LineSeparatorEscapes();
        private static final int[] ASCII = CharacterEscapes.standardAsciiEscapesForJSON();
        private static final SerializableString LS = new SerializedString("\\u2028");
        private static final SerializableString PS = new SerializedString("\\u2029");

        @Override public int[] getEscapeCodesForAscii() {
            return ASCII;
        }

        @Override public SerializableString getEscapeSequence(int ch) {
            return ch == 0x2028 ? LS : ch == 0x2029 ? PS : null;
        }
    }

    // ------------------------------------------------------------------ typed access helpers

    @SuppressWarnings("unchecked")
    public static Map<String, Object> object(Object parsed, String what) {
        if (!(parsed instanceof Map)) {
            throw new DataException(what + ": expected a JSON object but found " + describe(parsed));
        }
        return (Map<String, Object>) parsed;
    }

    public static double number(Map<String, Object> m, String key, String where) {
        Object v = require(m, key, where);
        if (!(v instanceof Number)) throw wrongType(key, where, "a number", v);
        return ((Number) v).doubleValue();
    }

    public static long integer(Map<String, Object> m, String key, String where) {
        Object v = require(m, key, where);
        if (v instanceof Long || v instanceof Integer) return ((Number) v).longValue();
        // Accept 3.0 (some tools write all numbers as floats) but not 3.5.
        if (v instanceof Double) {
            double d = (Double) v;
            if (d == Math.rint(d) && Math.abs(d) < 0x1p53) return (long) d;
        }
        throw wrongType(key, where, "an integer", v);
    }

    public static String string(Map<String, Object> m, String key, String where) {
        Object v = require(m, key, where);
        if (!(v instanceof String)) throw wrongType(key, where, "a string", v);
        return (String) v;
    }

    @SuppressWarnings("unchecked")
    public static List<Object> array(Map<String, Object> m, String key, String where) {
        Object v = require(m, key, where);
        if (!(v instanceof List)) throw wrongType(key, where, "an array", v);
        return (List<Object>) v;
    }

    public static double[] doubles(Map<String, Object> m, String key, String where) {
        List<Object> list = array(m, key, where);
        double[] out = new double[list.size()];
        for (int i = 0; i < out.length; i++) {
            Object v = list.get(i);
            if (!(v instanceof Number)) throw wrongType(key + "[" + i + "]", where, "a number", v);
            out[i] = ((Number) v).doubleValue();
        }
        return out;
    }

    public static int[] ints(Map<String, Object> m, String key, String where) {
        List<Object> list = array(m, key, where);
        int[] out = new int[list.size()];
        for (int i = 0; i < out.length; i++) {
            Object v = list.get(i);
            if (!(v instanceof Long) || (Long) v != (int) (long) (Long) v) {
                throw wrongType(key + "[" + i + "]", where, "a 32-bit integer", v);
            }
            out[i] = (int) (long) (Long) v;
        }
        return out;
    }

    private static Object require(Map<String, Object> m, String key, String where) {
        if (m == null || !m.containsKey(key)) {
            throw new DataException(where + ": missing field \"" + key + "\"");
        }
        return m.get(key);
    }

    private static DataException wrongType(String key, String where, String expected, Object v) {
        return new DataException(where + ": field \"" + key + "\" must be " + expected + " but is "
                + describe(v));
    }

    private static String describe(Object v) {
        if (v == null) return "null";
        if (v instanceof Map) return "an object";
        if (v instanceof List) return "an array";
        if (v instanceof String) return "the string \"" + v + "\"";
        if (v instanceof Boolean) return "the boolean " + v;
        return "the number " + v;
    }
}
