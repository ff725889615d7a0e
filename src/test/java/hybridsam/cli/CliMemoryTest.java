package hybridsam.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Option combinations whose memory exceeds the machine are refused before allocation, with the bytes. */
class CliMemoryTest {
    @Test
    void manyReplicasOfAWideNetworkAreRefusedWithTheBytes() {
        Cli.Result r = Cli.train(Cli.root().resolve("memory-wide"), "--replicas", "64", "--hidden", "4096,4096", "--epochs", "1");
        r.expect(Main.BAD_INPUT);
        assertTrue(r.err().contains("--replicas 64") && r.err().contains("bytes") && r.err().contains("-Xmx"), r.err());
        assertFalse(r.err().contains("\tat "), r.err());
    }

    @Test
    void aRolloutWhoseArraysOverflowIsRefused() {
        Cli.Result r = Cli.train(Cli.root().resolve("memory-steps"), "--rk4-step", "1e-9", "--epochs", "1");
        r.expect(Main.BAD_INPUT);
        assertTrue(r.err().contains("--rk4-step"), r.err());
        assertFalse(r.err().contains("\tat "), r.err());
    }
}
