package hybridsam.cuda;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The CPU stand-ins for the NVIDIA libraries (native-kernels/standin: libcuda.so.1, libcublas.so.12,
 * libcudnn.so.9), switched on by the environment variable {@value #ENV}=1 and never otherwise.
 * They are loaded by absolute path before JCuda loads its native libraries, which then bind to
 * them by soname; from there on the project's GPU code runs unchanged through JCuda, JCublas and
 * JCudnn, on the CPU, with the stand-ins checking stream order, capture rules and every
 * device-memory access. The folder comes from the system property {@value #DIR_PROPERTY}, else
 * native/standin next to the jar (target/native/standin in a build).
 */
public final class StandIn {
    public static final String ENV = "HYBRIDSAM_CUDA_STANDIN";
    static final String DIR_PROPERTY = "hybridsam.standin.dir";
    static final List<String> LIBRARIES = List.of("libcuda.so.1", "libcublas.so.12", "libcudnn.so.9");
    private static boolean loaded;
    private static String failure;

    private StandIn() {
    }

    /** Whether the user asked for the stand-in ({@value #ENV}=1). */
    public static boolean requested() {
        return "1".equals(System.getenv(ENV));
    }

    /** Whether the stand-in is loaded in this JVM (JCuda then runs on it, whatever else is installed). */
    public static synchronized boolean active() {
        return loaded;
    }

    /**
     * Loads the stand-in when it is requested and not loaded yet; throws UnsatisfiedLinkError,
     * naming the folder and the reason, when it is requested but cannot be loaded (never falling
     * back to a real driver silently). Call before the first JCuda call.
     */
    public static synchronized void loadIfRequested() {
        if (!requested() || loaded) return;
        if (failure == null) failure = load();
        if (failure != null) throw new UnsatisfiedLinkError(failure);
    }

    private static String load() {
        Path dir = directory();
        for (String lib : LIBRARIES) {
            Path p = dir.resolve(lib);
            if (!Files.isRegularFile(p)) {
                return ENV + "=1 but the CUDA stand-in " + p + " does not exist (native-kernels/standin/build.sh builds it"
                        + " with g++; name another folder with -D" + DIR_PROPERTY + ", e.g. in HYBRIDSAM_JAVA_OPTS)";
            }
        }
        try {
            for (String lib : LIBRARIES) System.load(dir.resolve(lib).toAbsolutePath().toString());
        } catch (LinkageError e) {
            return ENV + "=1 but the CUDA stand-in in " + dir + " failed to load: " + e.getMessage();
        }
        loaded = true;
        return null;
    }

    /** The stand-in libraries' folder. */
    static Path directory() {
        String p = System.getProperty(DIR_PROPERTY);
        if (p != null && !p.isBlank()) return Path.of(p);
        try {
            Path code = Path.of(StandIn.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            // target/hybridsam-*.jar or target/classes: both have target/native/standin beside them
            Path candidate = code.getParent().resolve("native").resolve("standin");
            if (Files.isDirectory(candidate)) return candidate;
        } catch (URISyntaxException | RuntimeException e) {
            // fall through to the working folder's build
        }
        return Path.of("target", "native", "standin");
    }

    /**
     * Module images for a jar built without nvcc: one text image per module listing its kernels
     * (the stand-in finds kernel names in an image the way it finds them in a fatbin). Null when
     * the build wrote none.
     */
    static Map<String, byte[]> moduleImages() {
        Path dir = directory().resolve("kernels");
        if (!Files.isDirectory(dir)) return null;
        Map<String, byte[]> out = new LinkedHashMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.sorted().toList()) {
                String name = f.getFileName().toString();
                if (!name.endsWith(".image")) continue;
                byte[] text = Files.readAllBytes(f);
                byte[] z = new byte[text.length + 1];  // NUL-terminated, as PTX text is
                System.arraycopy(text, 0, z, 0, text.length);
                out.put(name.substring(0, name.length() - ".image".length()), z);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("reading the stand-in's module images in " + dir, e);
        }
        return out.isEmpty() ? null : out;
    }

    /** What `hybridsam devices` says of the stand-in, in one line. */
    public static String describe() {
        return "CPU STAND-IN for the NVIDIA driver, cuBLAS and cuDNN (" + ENV + "=1): the GPU code path runs on the CPU,"
                + " slowly, with every device-memory access checked; no GPU is used";
    }

    /** Everything the stand-in reported since the last {@link #clearReport} (faults, refusals), or "". */
    public static String lastReport() {
        return active() ? report() : "";
    }

    static native String report();

    static native int reportCount();

    static native void clearReport();

    /**
     * Injects one fault into the stand-in driver, counted from now: "alloc:N" (the allocation after
     * N fails, out of memory), "launch:N" (the launch after N is refused), "sticky:N" (the kernel run
     * after N faults, and the context is lost); "" clears it. HYBRIDSAM_STANDIN_FAULT sets the
     * same at start.
     */
    public static native void injectFault(String spec);

    /** Kernels the stand-in has run in this process (to place an injected fault). */
    public static native long kernelRuns();

    /** Device allocations not freed yet (for leak checks). */
    static native int liveAllocations();

    /**
     * Which cuDNN algorithms the stand-in refuses with CUDNN_STATUS_NOT_SUPPORTED, e.g.
     * "fwd:0,bwd_data:1,bwd_filter:1" ("" refuses none): how tests make cuDNN 9's refusals happen.
     */
    static native void refuseCudnnAlgorithms(String spec);
}
