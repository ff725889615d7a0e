package hybridsam.cli;

import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.nio.file.Path;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The same seed gives the same numbers bit for bit through the command line, however many threads. */
class CliDeterminismTest {
    @TempDir
    Path tmp;

    private Map<String, Object> results(String name, String... extra) {
        Path dir = tmp.resolve(name);
        String[] a = new String[extra.length + 6];
        a[0] = "--task";
        a[1] = "duffing";
        a[2] = "--epochs";
        a[3] = "2";
        a[4] = "--batch";
        a[5] = "16"; // several steps per epoch, so shuffling and the optimizer state both matter
        System.arraycopy(extra, 0, a, 6, extra.length);
        Cli.train(dir, a).expect(Main.OK);
        return Cli.results(dir);
    }

    private static void assertSameNumbers(Map<String, Object> a, Map<String, Object> b) {
        Cli.assertBitIdentical(a.get("history"), b.get("history"), "history");
        Cli.assertBitIdentical(a.get("final"), b.get("final"), "final");
        Cli.assertBitIdentical(a.get("last_epoch"), b.get("last_epoch"), "last_epoch");
    }

    @Test
    void sameSeedSameThreadsIsBitIdentical() {
        assertSameNumbers(results("a", "--seed", "3"), results("b", "--seed", "3"));
    }

    @Test
    void threadCountDoesNotChangeTheNumbers() {
        // FAST passes --threads 2; a later --threads would be "given twice", so use a separate run line
        Path one = tmp.resolve("one");
        Cli.run("train", "--preset", "small", "--quiet", "--threads", "1", "--cache", Cli.cache().toString(),
                "--out", one.toString(), "--task", "duffing", "--epochs", "2", "--batch", "16", "--seed", "3")
                .expect(Main.OK);
        assertSameNumbers(Cli.results(one), results("two", "--seed", "3"));
    }

    @Test
    void differentSeedDiffers() {
        Map<String, Object> a = results("s3", "--seed", "3"), b = results("s4", "--seed", "4");
        assertNotEquals(a.get("history"), b.get("history"));
        assertNotEquals(a.get("final"), b.get("final"));
    }
}
