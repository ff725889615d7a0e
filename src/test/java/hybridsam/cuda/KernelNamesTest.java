package hybridsam.cuda;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The kernel index that native-kernels/build.sh generates (KernelNames) against the sources: the
 * names the Java code launches, the .cu modules and their kernel declarations, and the emulator.
 * Surefire runs in the project root, so the sources are read relative to it.
 */
class KernelNamesTest {
    static final Path JAVA = Path.of("src/main/java/hybridsam/cuda");
    static final Path KERNELS = Path.of("native-kernels");

    /** A kernel name as the first argument of a call: launch("hs_x", ...) or activation("hs_x", ...). */
    static final Pattern CALLED = Pattern.compile("\\b\\w+\\(\\s*\"(hs_\\w+)\"");
    static final Pattern LAUNCHED = Pattern.compile("\\blaunch\\(\\s*\"(hs_\\w+)\"");
    static final Pattern DECLARED = Pattern.compile("extern\\s+\"C\"\\s+__global__\\s+void\\s+(\\w+)\\s*\\(");

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static TreeMap<Path, String> files(Path dir, String suffix) throws IOException {
        TreeMap<Path, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.list(dir)) {
            s.filter(p -> p.getFileName().toString().endsWith(suffix)).forEach(p -> out.put(p, read(p)));
        }
        return out;
    }

    @Test
    void everyKernelTheJavaCodeNamesIsInTheIndex() throws IOException {
        Set<String> launched = new TreeSet<>(), named = new TreeSet<>();
        for (String src : files(JAVA, ".java").values()) {
            for (Matcher m = LAUNCHED.matcher(src); m.find(); ) launched.add(m.group(1));
            for (Matcher m = CALLED.matcher(src); m.find(); ) named.add(m.group(1));
        }
        assertTrue(launched.size() >= 20, () -> "the scan found only " + launched);
        assertTrue(named.containsAll(Set.of("hs_act_forward", "hs_act_backward")), named::toString);
        Set<String> missing = new TreeSet<>(named);
        missing.removeAll(KernelNames.all());
        assertTrue(missing.isEmpty(), () -> "kernels named in " + JAVA + " but not in " + KernelNames.RESOURCE + ": " + missing);
    }

    @Test
    void everyModuleIsIndexedWithTheKernelsItDeclares() throws IOException {
        TreeMap<String, Set<String>> declared = new TreeMap<>();
        for (var e : files(KERNELS, ".cu").entrySet()) {
            String module = e.getKey().getFileName().toString().replaceFirst("\\.cu$", "");
            Set<String> ks = new TreeSet<>();
            for (Matcher m = DECLARED.matcher(e.getValue()); m.find(); ) ks.add(m.group(1));
            declared.put(module, ks);
        }
        assertTrue(declared.keySet().containsAll(Set.of("ode", "fused", "reduce", "rules", "dense", "layerwise")),
                declared::toString);
        assertEquals(declared.keySet(), new TreeSet<>(KernelNames.IN_MODULE.keySet()), "modules in " + KernelNames.RESOURCE);
        for (var e : declared.entrySet()) {
            assertEquals(e.getValue(), new TreeSet<>(KernelNames.IN_MODULE.get(e.getKey())), "kernels of " + e.getKey() + ".cu");
            assertEquals(e.getValue(), new TreeSet<>(KernelNames.IN_MODULE.getOrDefault(e.getKey(), Set.of())));
        }
    }

    /**
     * A kernel whose own body calls __syncthreads() is flagged (found here by a brace match of its
     * own, comments removed); hs_step_advance has no barrier; the flags cover helpers (hs_block_sum).
     */
    @Test
    void barrierFlags() throws IOException {
        int direct = 0;
        for (String src : files(KERNELS, ".cu").values()) {
            String code = src.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\\n]*", "");
            for (Matcher m = DECLARED.matcher(code); m.find(); ) {
                int open = code.indexOf('{', m.end()), semi = code.indexOf(';', m.end());
                if (open < 0 || (semi >= 0 && semi < open)) continue;  // a prototype
                int depth = 0, i = open;
                do {
                    char c = code.charAt(i++);
                    if (c == '{') depth++;
                    else if (c == '}') depth--;
                } while (depth > 0);
                if (code.substring(open, i).matches("(?s).*__syncthreads\\s*\\(.*")) {
                    direct++;
                    assertTrue(KernelNames.barriers(m.group(1)), m.group(1) + " calls __syncthreads() but is not flagged");
                }
            }
        }
        assertTrue(direct >= 1, "no kernel calls __syncthreads() directly");
        assertFalse(KernelNames.barriers("hs_step_advance"));
        assertTrue(KernelNames.barriers("hs_norm_partial"));   // directly and through hs_block_sum
        assertThrows(IllegalArgumentException.class, () -> KernelNames.barriers("hs_nope"));
    }

    @Test
    void indexParsing() {
        var index = KernelNames.parse("# comment\nm a 1 pif\nm  b\t0   lld\n\nn c 0 -\n");
        assertEquals(Set.of("m", "n"), index.modules().keySet());
        assertEquals(java.util.List.of("a", "b"), java.util.List.copyOf(index.modules().get("m")));
        assertTrue(index.barriers().get("a"));
        assertEquals("pif", index.signatures().get("a"));
        assertEquals("lld", index.signatures().get("b"));
        assertEquals("", index.signatures().get("c"));
        assertThrows(IllegalStateException.class, () -> KernelNames.parse("m a 2 p\n"));
        assertThrows(IllegalStateException.class, () -> KernelNames.parse("m a 0 p\nn a 0 p\n"));
        assertThrows(IllegalStateException.class, () -> KernelNames.parse("m a\n"));
        assertThrows(IllegalStateException.class, () -> KernelNames.parse("\n"));
        // the signature column is required: an index from before it asks for a rebuild
        var old = assertThrows(IllegalStateException.class, () -> KernelNames.parse("m a 0\n"));
        assertTrue(old.getMessage().contains("rebuild"), old::getMessage);
        assertThrows(IllegalStateException.class, () -> KernelNames.parse("m a 0 pix\n"));
        assertThrows(IllegalStateException.class, () -> KernelNames.parse("m a 0 \"\"\n"));
        assertThrows(IllegalStateException.class, () -> KernelNames.parse("m a 0 p extra\n"));
    }

    @Test
    void signaturesOfKnownKernels() {
        assertEquals("p", KernelNames.signature("hs_step_advance"));
        // hs_gemm(int transA, int transB, int M, int N, int Kd, float alpha, const float* A, long long offA,
        //         int lda, long long strideA, const float* Bm, long long offB, int ldb, long long strideB,
        //         float beta, float* C, long long offC, int ldc, long long strideC): its declaration spans lines
        assertEquals("iiiiifplilplilfplil", KernelNames.signature("hs_gemm"));
        for (String k : KernelNames.all()) assertTrue(KernelNames.signature(k).matches("[pilfd]*"), k);
        assertThrows(IllegalArgumentException.class, () -> KernelNames.signature("hs_nope"));
    }

    /** The index's signatures (from the .cu text) agree with the emulator's (from the C++ parameter types). */
    @Test
    void indexSignaturesMatchTheEmulator() {
        String why = EmulatedDevice.unavailableReason();
        Assumptions.assumeTrue(why == null, () -> "emulated CUDA device skipped: " + why);
        try (EmulatedDevice dev = EmulatedDevice.open()) {
            assertEquals(KernelNames.all(), dev.kernels());
            for (String k : KernelNames.all()) {
                assertEquals(KernelNames.signature(k), EmulatedNative.kernelSignature(k), "parameter signature of " + k);
            }
            assertNull(EmulatedNative.kernelSignature("hs_nope"));
        }
    }

    /** The emulator registers exactly the indexed kernels (its table is generated from the same scan). */
    @Test
    void emulatorRegistersTheIndexedKernels() {
        String why = EmulatedDevice.unavailableReason();
        Assumptions.assumeTrue(why == null, () -> "emulated CUDA device skipped: " + why);
        try (EmulatedDevice dev = EmulatedDevice.open()) {
            assertEquals(KernelNames.all(), dev.kernels());
        }
    }
}
