package hybridsam.cuda;

import hybridsam.model.Activation;
import hybridsam.train.Method;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The ids the kernels take for activations, rules, rule-table fields and models, read from the
 * resource hybridsam/kernels/kernels.constants that native-kernels/build.sh lists from the enums
 * of common.cuh ("NAME VALUE" per line). common.cuh is their one source: a Java enum constant maps
 * to HS_ + its name, so a constant added on one side and not the other is an error naming it, not
 * a silently wrong id.
 */
final class KernelConstants {
    static final String RESOURCE = KernelImage.ROOT + "kernels.constants";
    private static final Map<String, Integer> VALUES = load();

    private KernelConstants() {
    }

    private static Map<String, Integer> load() {
        try (InputStream in = KernelConstants.class.getClassLoader().getResourceAsStream(RESOURCE)) {
            if (in == null) throw new IllegalStateException(RESOURCE + " is missing: the build did not run native-kernels/build.sh");
            Map<String, Integer> m = new LinkedHashMap<>();
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (line.isBlank()) continue;
                String[] f = line.trim().split(" ");
                m.put(f[0], Integer.parseInt(f[1]));
            }
            return Collections.unmodifiableMap(m);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + RESOURCE, e);
        }
    }

    static Map<String, Integer> all() {
        return VALUES;
    }

    /** The value of HS_name in common.cuh. */
    static int value(String name) {
        Integer v = VALUES.get(name);
        if (v == null) throw new IllegalStateException("common.cuh defines no " + name + " (the kernels do not know it)");
        return v;
    }

    static int activation(Activation a) {
        return value("HS_" + a.name());
    }

    static int method(Method m) {
        return value("HS_" + m.name());
    }

    /** Index of a field of a replica's rule-table row (HS_CFG_field). */
    static int ruleField(String field) {
        return value("HS_CFG_" + field);
    }
}
