package hybridsam.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * Which kernels each native-kernels/*.cu module defines (the fatbin's name without extension),
 * and which of them synchronise with barriers. Read from the resource hybridsam/kernels/kernels.index,
 * which native-kernels/build.sh generates from the .cu sources on every build (with or without
 * nvcc): one line "module kernel barriers signature" per extern "C" __global__ kernel, barriers 1
 * when the kernel calls __syncthreads() directly or through a __device__ function, else 0, and
 * signature the kernel's parameter types one letter each as {@link KernelArgs#signature()} spells
 * them ('p' pointer, 'i' int, 'l' long long, 'f' float, 'd' double; "-" for no parameters), read
 * from the .cu declaration. The emulator's kernel table is generated from the same scan.
 */
final class KernelNames {
    static final String RESOURCE = KernelImage.ROOT + "kernels.index";

    /** Module name → its kernels, in source order. */
    static final Map<String, Set<String>> IN_MODULE;
    private static final Map<String, Boolean> BARRIERS;
    private static final Map<String, String> SIGNATURES;

    static {
        Index index = load();
        IN_MODULE = index.modules();
        BARRIERS = index.barriers();
        SIGNATURES = index.signatures();
    }

    private KernelNames() {
    }

    /** Every kernel of every module. */
    static Set<String> all() {
        return BARRIERS.keySet();
    }

    /** Whether the kernel calls __syncthreads() (directly or through a __device__ function). */
    static boolean barriers(String kernel) {
        Boolean b = BARRIERS.get(kernel);
        if (b == null) throw new IllegalArgumentException("no kernel named " + kernel + " in " + RESOURCE);
        return b;
    }

    /**
     * The kernel's parameter types as {@link KernelArgs#signature()} spells them for a matching
     * argument list ("" for a kernel without parameters).
     */
    static String signature(String kernel) {
        String s = SIGNATURES.get(kernel);
        if (s == null) throw new IllegalArgumentException("no kernel named " + kernel + " in " + RESOURCE);
        return s;
    }

    record Index(Map<String, Set<String>> modules, Map<String, Boolean> barriers, Map<String, String> signatures) {
    }

    private static Index load() {
        try (InputStream in = KernelNames.class.getClassLoader().getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " is not on the classpath: native-kernels/build.sh generates it "
                        + "(Maven runs it in generate-resources; rebuild with mvn compile)");
            }
            return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + RESOURCE, e);
        }
    }

    /**
     * Parses the index's text; blank lines and lines starting with # are skipped, any amount of
     * blanks separates the columns. A line of the three-column format of earlier builds (without
     * the signature) is rejected with a hint to rebuild.
     */
    static Index parse(String text) {
        Map<String, Set<String>> modules = new LinkedHashMap<>();
        Map<String, Boolean> barriers = new LinkedHashMap<>();
        Map<String, String> signatures = new LinkedHashMap<>();
        int n = 0;
        for (String raw : text.split("\\R")) {
            n++;
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#")) continue;
            String[] f = line.split("\\s+");
            if (f.length == 3) {
                throw new IllegalStateException(RESOURCE + " line " + n + ": '" + line + "' has no parameter signature "
                        + "(an index from an older build; native-kernels/build.sh regenerates it: rebuild with mvn compile)");
            }
            if (f.length != 4 || !(f[2].equals("0") || f[2].equals("1")) || !(f[3].equals("-") || f[3].matches("[pilfd]+"))) {
                throw new IllegalStateException(RESOURCE + " line " + n + ": expected 'module kernel 0|1 signature' "
                        + "(signature [pilfd]+ or -), found '" + line + "'");
            }
            if (barriers.put(f[1], f[2].equals("1")) != null) {
                throw new IllegalStateException(RESOURCE + " line " + n + ": kernel " + f[1] + " listed twice");
            }
            signatures.put(f[1], f[3].equals("-") ? "" : f[3]);
            modules.computeIfAbsent(f[0], m -> new LinkedHashSet<>()).add(f[1]);
        }
        if (barriers.isEmpty()) throw new IllegalStateException(RESOURCE + " lists no kernels");
        Map<String, Set<String>> frozen = new LinkedHashMap<>();
        modules.forEach((m, ks) -> frozen.put(m, Collections.unmodifiableSet(ks)));
        return new Index(Collections.unmodifiableMap(frozen), Collections.unmodifiableMap(barriers),
                Collections.unmodifiableMap(signatures));
    }
}
