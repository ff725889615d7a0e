package hybridsam.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class JsonTest {

    @Test
    void parsesAllValueKinds() {
        Object v = Json.parse("{\"a\": 1, \"b\": -2.5e3, \"c\": [true, false, null], \"d\": \"x\\ty\", \"e\": {}}");
        Map<String, Object> m = Json.object(v, "test");
        assertEquals(List.of("a", "b", "c", "d", "e"), new ArrayList<>(m.keySet())); // order kept
        assertEquals(1L, m.get("a"));
        assertEquals(-2500.0, m.get("b"));
        assertEquals(java.util.Arrays.asList(true, false, null), m.get("c"));
        assertEquals("x\ty", m.get("d"));
        assertEquals(Map.of(), m.get("e"));
        assertEquals(Long.class, Json.parse("-0").getClass());
        assertEquals(Double.class, Json.parse("1.0").getClass());
        assertEquals(Double.class, Json.parse("1e2").getClass());
        assertNull(Json.parse(" null "));
    }

    @Test
    void nestedRoundTrip() {
        Map<String, Object> inner = new LinkedHashMap<>();
        inner.put("loss", 0.125);
        inner.put("steps", 42L);
        inner.put("tags", List.of("a", "b\"c"));
        List<Object> epochs = new ArrayList<>();
        epochs.add(inner);
        epochs.add(new ArrayList<>());
        epochs.add(null);
        Map<String, Object> top = new LinkedHashMap<>();
        top.put("name", "run \u00e9\u4e2d");
        top.put("epochs", epochs);
        top.put("ok", true);
        top.put("empty", new LinkedHashMap<>());
        String text = Json.write(top);
        assertEquals(top, Json.parse(text));
        assertTrue(text.contains("\n  \"name\": "), "2-space indent expected:\n" + text);
        assertTrue(text.contains("\n    {\n      \"loss\": 0.125"), text);
    }

    @Test
    void randomDoublesParseBackIdentical() {
        Random r = new Random(7);
        List<Object> xs = new ArrayList<>();
        for (int i = 0; i < 5000; i++) {
            double d;
            do {
                d = Double.longBitsToDouble(r.nextLong());
            } while (!Double.isFinite(d));
            xs.add(d);
        }
        xs.add(Double.MIN_VALUE);
        xs.add(-Double.MAX_VALUE);
        xs.add(0.1);
        xs.add(1e22);
        @SuppressWarnings("unchecked")
        List<Object> back = (List<Object>) Json.parse(Json.write(xs));
        assertEquals(xs.size(), back.size());
        for (int i = 0; i < xs.size(); i++) {
            assertEquals(Double.doubleToRawLongBits((Double) xs.get(i)),
                    Double.doubleToRawLongBits(((Number) back.get(i)).doubleValue()), "index " + i);
        }
    }

    @Test
    void writesPrimitiveArraysAndFloatsReadably() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("f", new float[] {0.1f, 2f});
        m.put("d", new double[] {0.5});
        m.put("i", new int[] {1, 2, 3});
        m.put("l", new long[] {Long.MAX_VALUE});
        m.put("o", new Object[] {"s", 1});
        m.put("g", 0.1f);
        String text = Json.write(m);
        assertTrue(text.contains("\"f\": [0.1, 2.0]"), text);
        assertTrue(text.contains("\"g\": 0.1\n"), text);
        Map<String, Object> back = Json.object(Json.parse(text), "t");
        assertArrayEquals(new int[] {1, 2, 3}, Json.ints(back, "i", "t"));
        assertArrayEquals(new double[] {0.5}, Json.doubles(back, "d", "t"));
        assertEquals(List.of(Long.MAX_VALUE), back.get("l"));
        assertEquals(List.of("s", 1L), back.get("o"));
    }

    @Test
    void escaping() {
        String s = "quote\" backslash\\ slash/ nl\n cr\r tab\t bell\u0007 nul\u0000 \u2028 emoji\ud83d\ude00";
        String text = Json.write(s);
        assertTrue(text.contains("\\\""));
        assertTrue(text.contains("\\u0007"), text);
        assertTrue(text.contains("\\u0000"), text);
        // The only raw newline is the one write() appends after the value.
        assertEquals(text.length() - 1, text.indexOf('\n'), text);
        assertEquals(s, Json.parse(text));
        assertEquals("\u00e9\ud83d\ude00/", Json.parse("\"\\u00e9\\ud83d\\ude00\\/\""));
    }

    /**
     * The exact text write() produces, pinned byte for byte (results.json, manifests and checkpoint
     * metadata are read by people and diffed between runs): 2-space indent, "key": value, arrays of
     * plain numbers on one line, empty containers as {} and [], doubles and floats as Java's
     * Double/Float.toString, control characters and U+2028/U+2029 as lowercase-hex escapes, other
     * non-ASCII text as is, and one trailing newline.
     */
    @Test
    void writeFormatIsPinned() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", "run \"a\"\\b/c \u00e9\u4e2d\ud83d\ude00 \u001b\u007f\u2028\u2029\b\f\n\r\t");
        m.put("ok", true);
        m.put("none", null);
        m.put("int", 7);
        m.put("long", Long.MIN_VALUE);
        m.put("short", (short) -3);
        m.put("big", new java.math.BigInteger("123456789012345678901234567890"));
        m.put("dec", new java.math.BigDecimal("1.50E+3"));
        m.put("doubles", List.of(0.1, 1e22, 1e-5, -0.0, 100.0, 1.0E7, 123456.789, Double.MIN_VALUE, Double.MAX_VALUE));
        m.put("float", 0.1f);
        m.put("shape", new int[] {8, 5, 2});
        m.put("empty_obj", new LinkedHashMap<>());
        m.put("empty_arr", List.of());
        m.put("matrix", List.of(List.of(1, 2), List.of(), List.of(3.5)));
        m.put("mixed", java.util.Arrays.asList(1, "x", null, false));
        Map<String, Object> inner = new LinkedHashMap<>();
        inner.put("loss", 0.125);
        inner.put("k", Map.of("deep", List.of(Map.of())));
        m.put("history", List.of(inner, inner));
        String expected = "{\n"
                + "  \"name\": \"run \\\"a\\\"\\\\b/c \u00e9\u4e2d\ud83d\ude00 \\u001b\u007f\\u2028\\u2029\\b\\f\\n\\r\\t\",\n"
                + "  \"ok\": true,\n"
                + "  \"none\": null,\n"
                + "  \"int\": 7,\n"
                + "  \"long\": -9223372036854775808,\n"
                + "  \"short\": -3,\n"
                + "  \"big\": 123456789012345678901234567890,\n"
                + "  \"dec\": 1.50E+3,\n"
                + "  \"doubles\": [0.1, 1.0E22, 1.0E-5, -0.0, 100.0, 1.0E7, 123456.789, 4.9E-324, 1.7976931348623157E308],\n"
                + "  \"float\": 0.1,\n"
                + "  \"shape\": [8, 5, 2],\n"
                + "  \"empty_obj\": {},\n"
                + "  \"empty_arr\": [],\n"
                + "  \"matrix\": [\n"
                + "    [1, 2],\n"
                + "    [],\n"
                + "    [3.5]\n"
                + "  ],\n"
                + "  \"mixed\": [\n"
                + "    1,\n"
                + "    \"x\",\n"
                + "    null,\n"
                + "    false\n"
                + "  ],\n"
                + "  \"history\": [\n"
                + "    {\n"
                + "      \"loss\": 0.125,\n"
                + "      \"k\": {\n"
                + "        \"deep\": [\n"
                + "          {}\n"
                + "        ]\n"
                + "      }\n"
                + "    },\n"
                + "    {\n"
                + "      \"loss\": 0.125,\n"
                + "      \"k\": {\n"
                + "        \"deep\": [\n"
                + "          {}\n"
                + "        ]\n"
                + "      }\n"
                + "    }\n"
                + "  ]\n"
                + "}\n";
        assertEquals(expected, Json.write(m));
        assertEquals(m.get("name"), Json.object(Json.parse(expected), "t").get("name"));
        assertEquals("\"top\"\n", Json.write("top"));
        assertEquals("[]\n", Json.write(List.of()));
        assertEquals("{}\n", Json.write(Map.of()));
        assertEquals("3.0\n", Json.write(3.0));
        assertEquals("null\n", Json.write(null));
    }

    @Test
    void parseErrorsCarryLineAndColumn() {
        Json.ParseException e = assertThrows(Json.ParseException.class,
                () -> Json.parse("{\n  \"a\": 1,\n  \"b\": tru\n}"));
        assertTrue(e.getMessage().contains("3:8"), e.getMessage());
        e = assertThrows(Json.ParseException.class, () -> Json.parse("[1, 2"));
        assertTrue(e.getMessage().contains("1:6"), e.getMessage());
        e = assertThrows(Json.ParseException.class, () -> Json.parse("{\"a\" 1}"));
        assertTrue(e.getMessage().contains("1:6"), e.getMessage());
        for (String bad : new String[] {"", "01", "1.", "-", "\"abc", "[1,]", "{} x", "NaN", "\"\\q\"", "{\"a\":1,}"}) {
            assertThrows(Json.ParseException.class, () -> Json.parse(bad), bad);
        }
    }

    @Test
    void nonFiniteNumbersRejectedWithPath() {
        Map<String, Object> epoch = new LinkedHashMap<>();
        epoch.put("loss", Double.NaN);
        List<Object> epochs = new ArrayList<>(List.of(Map.of(), Map.of(), Map.of()));
        epochs.add(epoch);
        Map<String, Object> top = new LinkedHashMap<>();
        top.put("epochs", epochs);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Json.write(top));
        assertTrue(e.getMessage().contains("epochs[3].loss"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> Json.write(Map.of("w", new float[] {1f, Float.POSITIVE_INFINITY})));
        assertTrue(e.getMessage().contains("w[1]"), e.getMessage());
    }

    @Test
    void typedHelpersNameFileAndKey() {
        Map<String, Object> m = Json.object(Json.parse("{\"n\": 3, \"x\": 2.5, \"s\": \"hi\", \"a\": [1, \"z\"]}"),
                "/cfg/run.json");
        assertEquals(3L, Json.integer(m, "n", "/cfg/run.json"));
        assertEquals(2.5, Json.number(m, "x", "/cfg/run.json"));
        assertEquals(3.0, Json.number(m, "n", "/cfg/run.json"));
        assertEquals("hi", Json.string(m, "s", "/cfg/run.json"));
        assertEquals(2, Json.array(m, "a", "/cfg/run.json").size());

        DataException e = assertThrows(DataException.class, () -> Json.number(m, "lr", "/cfg/run.json"));
        assertTrue(e.getMessage().contains("/cfg/run.json") && e.getMessage().contains("\"lr\""), e.getMessage());
        e = assertThrows(DataException.class, () -> Json.integer(m, "x", "/cfg/run.json"));
        assertTrue(e.getMessage().contains("\"x\"") && e.getMessage().contains("integer"), e.getMessage());
        e = assertThrows(DataException.class, () -> Json.string(m, "n", "/cfg/run.json"));
        assertTrue(e.getMessage().contains("\"n\"") && e.getMessage().contains("string"), e.getMessage());
        e = assertThrows(DataException.class, () -> Json.doubles(m, "a", "/cfg/run.json"));
        assertTrue(e.getMessage().contains("a[1]"), e.getMessage());
        e = assertThrows(DataException.class, () -> Json.ints(m, "s", "/cfg/run.json"));
        assertTrue(e.getMessage().contains("array"), e.getMessage());
        e = assertThrows(DataException.class, () -> Json.object(List.of(), "/cfg/run.json"));
        assertTrue(e.getMessage().contains("/cfg/run.json"), e.getMessage());
    }
}
