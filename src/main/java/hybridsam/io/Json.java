package hybridsam.io;

import java.lang.reflect.Array;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Minimal JSON for manifests, configs and reports (the project allows no JSON library).
 * Parsing yields LinkedHashMap (key order kept), ArrayList, String, Long (integers written
 * without fraction/exponent), Double, Boolean or null.
 */
public final class Json {

    /** Malformed JSON text; the message carries line:column of the problem. */
    public static final class ParseException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public ParseException(String message) {
            super(message);
        }
    }

    private Json() {}

    // ------------------------------------------------------------------ parsing

    public static Object parse(String text) {
        Parser p = new Parser(text);
        p.skipSpace();
        Object v = p.value();
        p.skipSpace();
        if (p.pos < text.length()) throw p.fail("unexpected text after the JSON value");
        return v;
    }

    private static final class Parser {
        private final String s;
        private int pos;

        Parser(String s) {
            this.s = s;
        }

        Object value() {
            if (pos >= s.length()) throw fail("unexpected end of input, expected a value");
            char c = s.charAt(pos);
            switch (c) {
                case '{': return object();
                case '[': return array();
                case '"': return string();
                case 't': return literal("true", Boolean.TRUE);
                case 'f': return literal("false", Boolean.FALSE);
                case 'n': return literal("null", null);
                default:
                    if (c == '-' || (c >= '0' && c <= '9')) return number();
                    throw fail("unexpected character '" + c + "'");
            }
        }

        private Map<String, Object> object() {
            Map<String, Object> m = new LinkedHashMap<>();
            pos++; // '{'
            skipSpace();
            if (peekIs('}')) {
                pos++;
                return m;
            }
            while (true) {
                skipSpace();
                if (!peekIs('"')) throw fail("expected a string key");
                String key = string();
                skipSpace();
                if (!peekIs(':')) throw fail("expected ':' after key \"" + key + "\"");
                pos++;
                skipSpace();
                m.put(key, value());
                skipSpace();
                if (peekIs(',')) {
                    pos++;
                } else if (peekIs('}')) {
                    pos++;
                    return m;
                } else {
                    throw fail("expected ',' or '}' in object");
                }
            }
        }

        private List<Object> array() {
            List<Object> a = new ArrayList<>();
            pos++; // '['
            skipSpace();
            if (peekIs(']')) {
                pos++;
                return a;
            }
            while (true) {
                skipSpace();
                a.add(value());
                skipSpace();
                if (peekIs(',')) {
                    pos++;
                } else if (peekIs(']')) {
                    pos++;
                    return a;
                } else {
                    throw fail("expected ',' or ']' in array");
                }
            }
        }

        private String string() {
            int start = pos;
            pos++; // opening quote
            StringBuilder b = new StringBuilder();
            while (true) {
                if (pos >= s.length()) {
                    pos = start;
                    throw fail("unterminated string");
                }
                char c = s.charAt(pos++);
                if (c == '"') return b.toString();
                if (c < 0x20) {
                    pos--;
                    throw fail("control character in string (must be escaped)");
                }
                if (c != '\\') {
                    b.append(c);
                    continue;
                }
                if (pos >= s.length()) throw fail("unterminated escape");
                char e = s.charAt(pos++);
                switch (e) {
                    case '"': b.append('"'); break;
                    case '\\': b.append('\\'); break;
                    case '/': b.append('/'); break;
                    case 'b': b.append('\b'); break;
                    case 'f': b.append('\f'); break;
                    case 'n': b.append('\n'); break;
                    case 'r': b.append('\r'); break;
                    case 't': b.append('\t'); break;
                    case 'u':
                        if (pos + 4 > s.length()) throw fail("truncated \\u escape");
                        int cp = 0;
                        for (int i = 0; i < 4; i++) {
                            int d = Character.digit(s.charAt(pos + i), 16);
                            if (d < 0) throw fail("bad hex digit in \\u escape");
                            cp = cp * 16 + d;
                        }
                        pos += 4;
                        b.append((char) cp); // surrogate pairs come through as two \\u escapes
                        break;
                    default:
                        pos--;
                        throw fail("invalid escape '\\" + e + "'");
                }
            }
        }

        private Object number() {
            int start = pos;
            if (peekIs('-')) pos++;
            int intStart = pos;
            while (pos < s.length() && Character.isDigit(s.charAt(pos))) pos++;
            if (pos == intStart) throw fail("expected digits");
            if (s.charAt(intStart) == '0' && pos - intStart > 1) {
                pos = intStart;
                throw fail("leading zeros are not allowed");
            }
            boolean integral = true;
            if (peekIs('.')) {
                integral = false;
                pos++;
                int fracStart = pos;
                while (pos < s.length() && Character.isDigit(s.charAt(pos))) pos++;
                if (pos == fracStart) throw fail("expected digits after '.'");
            }
            if (peekIs('e') || peekIs('E')) {
                integral = false;
                pos++;
                if (peekIs('+') || peekIs('-')) pos++;
                int expStart = pos;
                while (pos < s.length() && Character.isDigit(s.charAt(pos))) pos++;
                if (pos == expStart) throw fail("expected digits in exponent");
            }
            String t = s.substring(start, pos);
            if (integral) {
                try {
                    return Long.parseLong(t);
                } catch (NumberFormatException tooBig) {
                    return Double.parseDouble(t); // beyond long range: keep the magnitude at least
                }
            }
            return Double.parseDouble(t);
        }

        private Object literal(String word, Object v) {
            if (!s.startsWith(word, pos)) throw fail("unexpected token, expected '" + word + "'");
            pos += word.length();
            return v;
        }

        private boolean peekIs(char c) {
            return pos < s.length() && s.charAt(pos) == c;
        }

        void skipSpace() {
            while (pos < s.length()) {
                char c = s.charAt(pos);
                if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
                pos++;
            }
        }

        ParseException fail(String why) {
            int line = 1;
            int col = 1;
            for (int i = 0; i < pos && i < s.length(); i++) {
                if (s.charAt(i) == '\n') {
                    line++;
                    col = 1;
                } else {
                    col++;
                }
            }
            return new ParseException("JSON parse error at " + line + ":" + col + ": " + why);
        }
    }

    // ------------------------------------------------------------------ writing

    /** Pretty-prints with 2-space indentation; non-finite numbers are rejected, naming their path. */
    public static String write(Object value) {
        StringBuilder b = new StringBuilder();
        write(b, value, "", "");
        return b.append('\n').toString();
    }

    private static void write(StringBuilder b, Object v, String indent, String path) {
        if (v == null) {
            b.append("null");
        } else if (v instanceof String) {
            quote(b, (String) v);
        } else if (v instanceof Boolean) {
            b.append(v);
        } else if (v instanceof Float) {
            float f = (Float) v;
            checkFinite(f, path);
            // Float.toString gives the shortest text that identifies the float ("0.1"), which reads
            // back as the nearest double; widening would print 0.10000000149011612 instead.
            b.append(Float.toString(f));
        } else if (v instanceof Double) {
            double d = (Double) v;
            checkFinite(d, path);
            b.append(Double.toString(d)); // shortest round-tripping form
        } else if (v instanceof Number) {
            // Integral types (Integer, Long, Short, Byte, BigInteger) print exactly; others via double.
            Number n = (Number) v;
            if (v instanceof java.math.BigDecimal) {
                b.append(((java.math.BigDecimal) v).toString());
            } else if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte
                    || v instanceof java.math.BigInteger) {
                b.append(n.toString());
            } else {
                checkFinite(n.doubleValue(), path);
                b.append(Double.toString(n.doubleValue()));
            }
        } else if (v instanceof Map) {
            writeObject(b, (Map<?, ?>) v, indent, path);
        } else if (v instanceof Collection) {
            writeArray(b, new ArrayList<Object>((Collection<?>) v), indent, path);
        } else if (v.getClass().isArray()) {
            // Boxes primitive arrays element by element (double[] -> Double, float[] -> Float, ...).
            int n = Array.getLength(v);
            List<Object> items = new ArrayList<>(n);
            for (int i = 0; i < n; i++) items.add(Array.get(v, i));
            writeArray(b, items, indent, path);
        } else {
            throw new IllegalArgumentException("cannot write " + v.getClass().getName() + " as JSON at "
                    + (path.isEmpty() ? "top level" : path));
        }
    }

    private static void writeObject(StringBuilder b, Map<?, ?> m, String indent, String path) {
        if (m.isEmpty()) {
            b.append("{}");
            return;
        }
        String inner = indent + "  ";
        b.append("{\n");
        boolean first = true;
        for (Map.Entry<?, ?> e : m.entrySet()) {
            if (!first) b.append(",\n");
            first = false;
            String key = String.valueOf(e.getKey());
            b.append(inner);
            quote(b, key);
            b.append(": ");
            write(b, e.getValue(), inner, path.isEmpty() ? key : path + "." + key);
        }
        b.append('\n').append(indent).append('}');
    }

    private static void writeArray(StringBuilder b, List<Object> items, String indent, String path) {
        if (items.isEmpty()) {
            b.append("[]");
            return;
        }
        // Keep arrays of plain numbers on one line: shapes and loss curves stay readable.
        boolean flat = items.stream().allMatch(x -> x instanceof Number);
        String inner = indent + "  ";
        b.append(flat ? "[" : "[\n");
        for (int i = 0; i < items.size(); i++) {
            if (i > 0) b.append(flat ? ", " : ",\n");
            if (!flat) b.append(inner);
            write(b, items.get(i), inner, path + "[" + i + "]");
        }
        if (!flat) b.append('\n').append(indent);
        b.append(']');
    }

    private static void checkFinite(double d, String path) {
        if (Double.isNaN(d) || Double.isInfinite(d)) {
            throw new IllegalArgumentException("cannot write non-finite number " + d + " to JSON at "
                    + (path.isEmpty() ? "top level" : path));
        }
    }

    private static void quote(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': b.append("\\\""); break;
                case '\\': b.append("\\\\"); break;
                case '\n': b.append("\\n"); break;
                case '\r': b.append("\\r"); break;
                case '\t': b.append("\\t"); break;
                case '\b': b.append("\\b"); break;
                case '\f': b.append("\\f"); break;
                default:
                    if (c < 0x20 || c == '\u2028' || c == '\u2029') {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
            }
        }
        b.append('"');
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
