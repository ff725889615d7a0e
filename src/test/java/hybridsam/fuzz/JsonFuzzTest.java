package hybridsam.fuzz;

import com.code_intelligence.jazzer.junit.FuzzTest;
import hybridsam.io.DataException;
import hybridsam.io.Json;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Coverage-guided fuzz test of the JSON reader, {@link Json#parse(String)} on the fuzzer's bytes read
 * as UTF-8 (as the manifest and config readers do), then of the typed getters ({@link Json#object},
 * number, integer, string, array, doubles, ints) on every field of the parsed object. Contract
 * ({@link ReaderContract}): parse returns or throws {@link Json.ParseException} (with a message); the getters return or
 * throw {@link DataException} naming the "where" label they were given. Anything else
 * (StackOverflowError on deep nesting, NumberFormatException, ClassCastException, ...) is a finding.
 *
 * <p>{@code mvn test} runs it in regression mode only, over the committed inputs in
 * src/test/resources/hybridsam/fuzz/JsonFuzzTestInputs/parse/ (plus the empty input).
 *
 * <p>To fuzz (see NpyFuzzTest for what the options mean):
 * <pre>
 * JAZZER_FUZZ=1 mvn -B test-compile surefire:test@default-test -Dtest='JsonFuzzTest#parse' \
 *     -Djazzer.keep_going=20 -Djazzer.internal.arg.0=fuzz \
 *     -Djazzer.internal.arg.1=-max_total_time=3600 -Djazzer.internal.arg.2=-timeout=30
 * </pre>
 */
class JsonFuzzTest {
    private static final String WHERE = "fuzz-input.json";

    @FuzzTest(maxDuration = "2m")
    void parse(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        ReaderContract parser = new ReaderContract("Json.parse", "", false, Json.ParseException.class);
        Object parsed = parser.check(input.length, () -> Json.parse(text));

        ReaderContract getters = new ReaderContract("Json typed getters", WHERE, false, DataException.class);
        Map<String, Object> m = getters.check(input.length, () -> Json.object(parsed, WHERE));
        if (m == null) return;
        List<String> keys = new ArrayList<>(m.keySet());
        keys.add("no such field");
        for (String key : keys.subList(0, Math.min(keys.size(), 64))) {
            getters.check(input.length, () -> Json.number(m, key, WHERE));
            getters.check(input.length, () -> Json.integer(m, key, WHERE));
            getters.check(input.length, () -> Json.string(m, key, WHERE));
            getters.check(input.length, () -> Json.array(m, key, WHERE));
            getters.check(input.length, () -> Json.doubles(m, key, WHERE));
            getters.check(input.length, () -> Json.ints(m, key, WHERE));
            getters.check(input.length, () -> Json.object(m.get(key), WHERE));
        }
    }
}
