package hybridsam.cli;

import hybridsam.cuda.CudaProbe;
import hybridsam.cuda.NnEngine;
import hybridsam.cuda.NnEngines;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --device on a machine whose probe says no (the build machines): refusal and fallback. */
class CliDeviceTest {
    @TempDir
    Path tmp;

    static void assumeNoGpu() {
        Assumptions.assumeFalse(CudaProbe.standard().probe().available(), "a GPU is present: the refusal cannot be seen");
    }

    @Test
    void cudaWhenUnavailableIsAClearErrorWithoutStackTrace() {
        assumeNoGpu();
        Path out = tmp.resolve("r");
        Cli.Result r = Cli.train(out, "--task", "pendulum", "--epochs", "1", "--device", "cuda").expect(Main.BAD_INPUT);
        assertTrue(r.err().contains("--device cuda: cuda unavailable: "), r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertFalse(Files.exists(out));
    }

    @Test
    void autoFallsBackToTheCpuWithAOneLineNotice() {
        assumeNoGpu();
        Path out = tmp.resolve("a");
        Cli.Result r = Cli.train(out, "--task", "pendulum", "--epochs", "1", "--device", "auto").expect(Main.OK);
        assertEquals(1, r.err().lines().filter(l -> l.contains("cuda unavailable") && l.contains("training on the CPU")).count(), r.err());
        assertTrue(Cli.results(out).get("backend").toString().startsWith("cpu"));
    }

    @Test
    void devicesNamesTheKernelsAndWhyCudaIsUnavailable() {
        assumeNoGpu();
        Cli.Result r = Cli.run("devices").expect(Main.OK);
        assertTrue(r.out().contains("cuda  unavailable: "), r.out());
        assertTrue(r.out().contains("kernels in this jar: "), r.out());
    }

    @Test
    void anNnEngineThatDidNotLoadIsRefusedWithItsReason() {
        NnEngines.Availability cublas = NnEngines.standard().probe(NnEngine.CUBLAS);
        Assumptions.assumeFalse(cublas.loaded(), "JCublas loads here: its refusal cannot be seen");
        Path out = tmp.resolve("nn");
        Cli.Result r = Cli.train(out, "--task", "pendulum", "--epochs", "1", "--device", "auto", "--nn-engine", "cublas")
                .expect(Main.BAD_INPUT);
        assertTrue(r.err().contains("--nn-engine cublas: not available: ") && r.err().contains("libcublas"), r.err());
        assertFalse(Files.exists(out));
    }

    @Test
    void nnEngineOptionIsCheckedEvenOnTheCpu() {
        Cli.Result r = Cli.train(tmp.resolve("c"), "--task", "pendulum", "--epochs", "1", "--nn-engine", "cudnn").expect(Main.BAD_INPUT);
        assertTrue(r.err().contains("--nn-engine cudnn") && r.err().contains("--device cuda"), r.err());
        Cli.Result bad = Cli.train(tmp.resolve("b"), "--task", "pendulum", "--epochs", "1", "--nn-engine", "tensorrt").expect(Main.BAD_INPUT);
        assertTrue(bad.err().contains("--nn-engine"), bad.err());
        // the default and auto train on the CPU
        Cli.train(tmp.resolve("k"), "--task", "pendulum", "--epochs", "1", "--nn-engine", "auto").expect(Main.OK);
    }

    @Test
    void devicesListsEveryCorrectorEngine() {
        Cli.Result r = Cli.run("devices").expect(Main.OK);
        for (String e : new String[]{"kernels", "cublas", "cudnn"}) {
            assertTrue(r.out().contains("--nn-engine " + e + ": "), r.out());
        }
    }
}
