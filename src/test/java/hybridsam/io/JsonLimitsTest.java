package hybridsam.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Read limits of {@link Json#parse}: hostile or corrupt input (a truncated results.json, a manifest
 * from elsewhere) ends in {@link Json.ParseException} naming line:column, never in a
 * StackOverflowError, an Infinity where a number was, or a silently dropped duplicate key.
 */
class JsonLimitsTest {

    private static Json.ParseException refused(String text) {
        return assertThrows(Json.ParseException.class, () -> Json.parse(text),
                () -> "should be refused: " + (text.length() > 80 ? text.substring(0, 80) + "..." : text));
    }

    private static void assertAt(Json.ParseException e, String lineCol) {
        assertTrue(e.getMessage().startsWith("JSON parse error at " + lineCol + ": "), e.getMessage());
    }

    @Test
    void deepNestingIsRefusedNotStackOverflow() {
        // The old recursive parser died with StackOverflowError here.
        assertAt(refused("[".repeat(100_000)), "1:101");
        assertAt(refused("{\"a\":".repeat(100_000)), "1:501");
        assertAt(refused("[".repeat(100_000) + "]".repeat(100_000)), "1:101");
        Json.ParseException e = refused("[".repeat(101) + "]".repeat(101));
        assertTrue(e.getMessage().contains("nesting depth"), e.getMessage());
        // 100 levels are fine, and what the writer writes up to that depth reads back.
        Object v = Json.parse("[".repeat(100) + "]".repeat(100));
        for (int i = 0; i < 99; i++) v = ((List<?>) v).get(0);
        assertEquals(List.of(), v);
    }

    @Test
    void writerRefusesNestingTheReaderWouldRefuse() {
        Object deep = new ArrayList<>();
        for (int i = 1; i < 100; i++) deep = new ArrayList<>(List.of(deep));
        assertEquals(deep, Json.parse(Json.write(deep)));
        Map<String, Object> top = new LinkedHashMap<>();
        top.put("x", deep);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Json.write(top));
        assertTrue(e.getMessage().contains("nesting depth") && e.getMessage().contains("x[0][0]"), e.getMessage());
    }

    @Test
    void hugeNumbersAreRefused() {
        // The old parser turned these into Infinity (integers beyond long went through Double.parseDouble).
        Json.ParseException e = refused("1" + "0".repeat(1_000_000));
        assertAt(e, "1:1");
        assertTrue(e.getMessage().contains("Number value length"), e.getMessage());
        assertAt(refused("[1,\n 2, " + "9".repeat(101) + "]"), "2:5");
        refused("0." + "1".repeat(200));
        refused("1e" + "1".repeat(200));
        // Up to 100 characters a number is read; integers beyond long stay doubles, as before.
        assertEquals(1e99, (Double) Json.parse("1" + "0".repeat(99)), 1e84);
        assertEquals(Double.class, Json.parse("9".repeat(100)).getClass());
    }

    @Test
    void integersBeyondLongBecomeDoublesAsBefore() {
        assertEquals(Long.MAX_VALUE, Json.parse("9223372036854775807"));
        assertEquals(Long.MIN_VALUE, Json.parse("-9223372036854775808"));
        assertEquals(9.223372036854775808E18, Json.parse("9223372036854775808"));
        assertEquals(-9.223372036854775809E18, Json.parse("-9223372036854775809"));
        assertEquals(1.0E30, Json.parse("1000000000000000000000000000000"));
    }

    @Test
    void numbersOverflowingToInfinityAreRefusedAtTheirPosition() {
        // The old parser returned Double.POSITIVE_INFINITY for these.
        assertAt(refused("1e999"), "1:1");
        assertAt(refused("[1, -2e400]"), "1:5");
        Json.ParseException e = refused("{\n  \"loss\": 1.5E309\n}");
        assertAt(e, "2:11");
        assertTrue(e.getMessage().contains("1.5E309"), e.getMessage());
        // Underflow is not an error (the nearest double is zero), and the extremes still read.
        assertEquals(0.0, Json.parse("1e-999"));
        assertEquals(Double.MAX_VALUE, Json.parse("1.7976931348623157E308"));
        assertEquals(Double.MIN_VALUE, Json.parse("4.9E-324"));
    }

    @Test
    void nonNumericLiteralsAreRefused() {
        for (String bad : new String[] {"NaN", "-NaN", "Infinity", "-Infinity", "+Infinity", "+1", ".5", "[NaN]",
                "{\"a\": -Infinity}", "0x10", "1.e3", "-.5", "--1"}) {
            assertTrue(refused(bad).getMessage().matches("JSON parse error at \\d+:\\d+: .*"), bad);
        }
        assertAt(refused("[1, NaN]"), "1:5");
    }

    @Test
    void negativeZeroIsKept() {
        // "-0" is the integer zero (JsonTest pins Long); "-0.0" is the double the writer writes for -0.0.
        assertEquals(0L, Json.parse("-0"));
        assertEquals(Double.doubleToRawLongBits(-0.0), Double.doubleToRawLongBits((Double) Json.parse("-0.0")));
        assertEquals(Double.doubleToRawLongBits(-0.0),
                Double.doubleToRawLongBits((Double) Json.parse(Json.write(-0.0))));
    }

    @Test
    void duplicateKeysAreRefused() {
        // The old parser kept the last value silently.
        Json.ParseException e = refused("{\"a\": 1,\n \"a\": 2}");
        assertAt(e, "2:2");
        assertTrue(e.getMessage().contains("\"a\""), e.getMessage());
        refused("{\"x\": {\"k\": 1, \"j\": 2, \"k\": 3}}");
        // The same key in different objects is fine.
        assertEquals(2, Json.object(Json.parse("{\"a\": {\"a\": 1}, \"b\": {\"a\": 2}}"), "t").size());
    }

    @Test
    void longStringsAreRefused() {
        int max = 10_000_000;
        String ok = "x".repeat(max);
        assertEquals(ok, Json.parse("\"" + ok + "\""));
        Json.ParseException e = refused("[\"" + ok + "y\"]");
        assertTrue(e.getMessage().contains("String value length"), e.getMessage());
    }

    @Test
    void trailingTextIsRefused() {
        assertAt(refused("{} x"), "1:4");
        assertAt(refused("{}{}"), "1:3");
        assertAt(refused("1 2"), "1:3");
        assertAt(refused("[1]\n]"), "2:1");
        assertAt(refused("\"a\"\"b\""), "1:4");
        refused("null null");
        refused("true,");
        assertEquals(List.of(1L), Json.parse(" \n[1]\r\n\t "));
    }

    @Test
    void malformedInputOnlyEverThrowsParseException() {
        String valid = Json.write(Map.of("name", "r\u00e9sum\u00e9 \\ \"q\"", "xs", List.of(1.5, -2, 3e-7),
                "nested", Map.of("a", List.of(Map.of("b", true), List.of()), "n", 12345678901L)));
        Random r = new Random(11);
        String alphabet = "{}[],:\"\\ \n0123456789.eE+-tfnulrsaxyz\u0000\u2028\ud83d";
        for (int i = 0; i < 20_000; i++) {
            StringBuilder b = new StringBuilder(valid);
            int edits = 1 + r.nextInt(4);
            for (int k = 0; k < edits && b.length() > 0; k++) {
                int at = r.nextInt(b.length());
                switch (r.nextInt(3)) {
                    case 0: b.deleteCharAt(at); break;
                    case 1: b.insert(at, alphabet.charAt(r.nextInt(alphabet.length()))); break;
                    default: b.setLength(at); break;
                }
            }
            String text = b.toString();
            try {
                Json.parse(text);
            } catch (Json.ParseException expected) {
                assertTrue(expected.getMessage().matches("(?s)JSON parse error at \\d+:\\d+: .+"), expected.getMessage());
            } catch (RuntimeException | Error other) {
                fail("input " + text + " threw " + other, other);
            }
        }
    }
}
