package hybridsam.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;

/**
 * The kernels the build embedded in the jar (native-kernels/build.sh): one fatbin and one PTX
 * per .cu file under hybridsam/kernels/, listed in kernels.list, and kernels.properties with
 * the oldest driver (cuDriverGetVersion form) that runs the build's PTX.
 */
public record KernelImage(Map<String, byte[]> fatbins, int minimumDriver, String nvccRelease) {
    static final String ROOT = "hybridsam/kernels/";

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
                    p.getProperty("nvcc.release", "?").strip());
        } catch (IOException e) {
            throw new UncheckedIOException("reading the kernels embedded in the jar", e);
        }
    }

    private static byte[] read(ClassLoader loader, String path) throws IOException {
        try (InputStream in = loader.getResourceAsStream(path)) {
            return in == null ? null : in.readAllBytes();
        }
    }
}
