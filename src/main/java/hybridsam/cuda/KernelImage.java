package hybridsam.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;

/**
 * The kernels the build embedded in the jar (native-kernels/build.sh): one fatbin and one PTX
 * per .cu file under hybridsam/kernels/, listed in kernels.list, and kernels.properties with
 * the oldest driver (cuDriverGetVersion form) that runs the build's PTX, the nvcc release, and
 * the compute capabilities (major*10+minor) the fatbins hold SASS for (empty when not recorded).
 */
public record KernelImage(Map<String, byte[]> fatbins, int minimumDriver, String nvccRelease, Set<Integer> sassArchs) {
    static final String ROOT = "hybridsam/kernels/";

    public KernelImage {
        sassArchs = sassArchs == null ? Set.of() : Collections.unmodifiableSet(new TreeSet<>(sassArchs));
    }

    /** What the jar holds, or null when it was built without nvcc. */
    public static KernelImage fromClasspath(ClassLoader loader) {
        try {
            byte[] list = read(loader, ROOT + "kernels.list");
            byte[] props = read(loader, ROOT + "kernels.properties");
            if (list == null || props == null) return null;
            Properties p = new Properties();
            p.load(new java.io.ByteArrayInputStream(props));
            Map<String, byte[]> fatbins = new LinkedHashMap<>();
            for (String name : new String(list, StandardCharsets.UTF_8).split("\\R")) {
                if (name.isBlank()) continue;
                byte[] f = read(loader, ROOT + name.strip() + ".fatbin");
                if (f == null) return null;
                fatbins.put(name.strip(), f);
            }
            if (fatbins.isEmpty()) return null;
            return new KernelImage(fatbins, Integer.parseInt(p.getProperty("driver.min", "13000").strip()),
                    p.getProperty("nvcc.release", "?").strip(), parseArchs(p.getProperty("sass.archs", "")));
        } catch (IOException e) {
            throw new UncheckedIOException("reading the kernels embedded in the jar", e);
        }
    }

    /**
     * The CPU stand-in's module images, for a jar built without nvcc (null when there are none):
     * text images naming each module's kernels, which only the stand-in driver accepts.
     */
    static KernelImage standIn() {
        Map<String, byte[]> images = StandIn.moduleImages();
        return images == null ? null : new KernelImage(images, 0, "none (stand-in module images)", Set.of());
    }

    /** "80,86,89,90" → {80, 86, 89, 90}; blank → empty. */
    static Set<Integer> parseArchs(String s) {
        Set<Integer> out = new TreeSet<>();
        for (String a : s.split(",")) {
            if (!a.isBlank()) out.add(Integer.parseInt(a.strip()));
        }
        return out;
    }

    /** The CUDA major version of the nvcc that built the kernels ("13.2" → 13; from driver.min if unparseable). */
    public int nvccMajor() {
        int dot = nvccRelease.indexOf('.');
        try {
            return Integer.parseInt(dot < 0 ? nvccRelease : nvccRelease.substring(0, dot));
        } catch (NumberFormatException e) {
            return minimumDriver / 1000;
        }
    }

    /**
     * Whether the fatbins hold SASS a device of compute capability cc (major*10+minor) runs: SASS
     * for sm_XY runs on devices X.Z with Z ≥ Y (same major), so sm_86 SASS serves an sm_87 device.
     */
    public boolean hasSassFor(int cc) {
        if (cc <= 0) return false;
        for (int a : sassArchs) {
            if (a / 10 == cc / 10 && a % 10 <= cc % 10) return true;
        }
        return false;
    }

    private static byte[] read(ClassLoader loader, String path) throws IOException {
        try (InputStream in = loader.getResourceAsStream(path)) {
            return in == null ? null : in.readAllBytes();
        }
    }
}
