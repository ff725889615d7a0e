package hybridsam.cli;

import hybridsam.cuda.StandIn;
import hybridsam.cuda.StandInSuites;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GPU faults injected through the CUDA stand-in at chosen points of a `train --device cuda` run:
 * the run ends with the documented exit status and a message naming the failure, the last good
 * checkpoint stays intact, and the run can be continued.
 */
class CliGpuFaultStandInTest {
    @BeforeEach
    void standIn() {
        StandInSuites.assume();
        StandIn.injectFault("");
    }

    @AfterEach
    void clear() {
        if (StandIn.active()) StandIn.injectFault("");
    }

    private static String[] cuda(String... more) {
        String[] base = {"--task", "pendulum", "--seed", "0", "--device", "cuda", "--nn-engine", "kernels"};
        String[] all = new String[base.length + more.length];
        System.arraycopy(base, 0, all, 0, base.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        return all;
    }

    /** Kernel runs of one epoch of the small pendulum run, measured. */
    private static long kernelsPerEpoch() {
        Path probe = Cli.root().resolve("fault-probe-" + System.nanoTime());
        long before = StandIn.kernelRuns();
        Cli.train(probe, cuda("--epochs", "2")).expect(Main.OK);
        return (StandIn.kernelRuns() - before) / 2;
    }

    @Test
    void aKernelCrashInTheSecondEpochKeepsTheFirstCheckpointAndTheRunContinues() throws Exception {
        long perEpoch = kernelsPerEpoch();
        Path dir = Cli.root().resolve("fault-sticky");
        StandIn.injectFault("sticky:" + (perEpoch + perEpoch / 2));
        Cli.Result r = Cli.train(dir, cuda("--epochs", "3"));
        r.expect(Main.FAILED);
        assertTrue(r.err().contains("CUDA_ERROR_ILLEGAL_ADDRESS") && r.err().contains("injected fault"), r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        assertTrue(Files.exists(dir.resolve("checkpoint.bin")), "the last good checkpoint stays");
        assertFalse(Files.exists(dir.resolve("results.json")));
        byte[] kept = Files.readAllBytes(dir.resolve("checkpoint.bin"));

        // the fault is gone: the run continues from its checkpoint and ends as an uninterrupted run would
        StandIn.injectFault("");
        Cli.run("train", "--resume", dir.toString()).expect(Main.OK);
        Path whole = Cli.root().resolve("fault-whole");
        Cli.train(whole, cuda("--epochs", "3")).expect(Main.OK);
        Map<String, Object> a = Cli.results(dir), b = Cli.results(whole);
        Cli.assertBitIdentical(b.get("final"), a.get("final"), "final");
        Cli.assertBitIdentical(b.get("history"), a.get("history"), "history");
        assertTrue(kept.length > 0);
    }

    /** After a GPU fault the run can go on on the CPU: --resume DIR --device cpu continues from the GPU's checkpoint. */
    @Test
    void aRunKilledByAGpuFaultContinuesOnTheCpu() {
        long perEpoch = kernelsPerEpoch();
        Path dir = Cli.root().resolve("fault-to-cpu");
        StandIn.injectFault("sticky:" + (perEpoch + perEpoch / 2));
        Cli.train(dir, cuda("--epochs", "3")).expect(Main.FAILED);
        StandIn.injectFault("");
        Cli.Result r = Cli.run("train", "--resume", dir.toString(), "--device", "cpu");
        r.expect(Main.OK);
        Map<String, Object> res = Cli.results(dir);
        assertEquals(3, ((Number) res.get("epochs_run")).intValue(), res.toString());
        assertTrue(String.valueOf(res.get("backend")).startsWith("cpu"), String.valueOf(res.get("backend")));
        Cli.run("train", "--resume", dir.toString(), "--epochs", "9").expect(Main.BAD_INPUT);
    }

    @Test
    void anAllocationFailureIsAGpuOutOfMemoryWithTheBytes() {
        Path dir = Cli.root().resolve("fault-alloc");
        StandIn.injectFault("alloc:3");
        Cli.Result r = Cli.train(dir, cuda("--epochs", "1"));
        assertTrue(r.status() == Main.FAILED || r.status() == Main.BAD_INPUT, "status " + r.status() + ": " + r.err());
        assertTrue(r.err().toLowerCase().contains("out of memory") && r.err().contains("bytes"), r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        assertFalse(Files.exists(dir.resolve("checkpoint.bin")));
    }

    @Test
    void aRefusedLaunchEndsTheRunWithTheKernelsName() {
        Path dir = Cli.root().resolve("fault-launch");
        StandIn.injectFault("launch:5");
        Cli.Result r = Cli.train(dir, cuda("--epochs", "1"));
        r.expect(Main.FAILED);
        assertTrue(r.err().contains("cuLaunchKernel(hs_") && r.err().contains("CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES"), r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
    }
}
