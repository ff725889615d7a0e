package hybridsam.cli;

import hybridsam.train.ConfigException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** `--name value`, `--name=value` and bare flags, checked against the options a command accepts. */
final class Options {
    private final Map<String, String> values = new LinkedHashMap<>();
    private final List<String> args;

    Options(List<String> args, Set<String> valued, Set<String> flags) {
        this.args = List.copyOf(args);
        for (int i = 0; i < args.size(); i++) {
            String a = args.get(i);
            if (!a.startsWith("--")) throw new ConfigException("unexpected argument '" + a + "' (options start with --)");
            String name = a, value = null;
            int eq = a.indexOf('=');
            if (eq > 0) {
                name = a.substring(0, eq);
                value = a.substring(eq + 1);
            }
            if (flags.contains(name)) {
                if (value != null) throw new ConfigException(name + " takes no value");
                values.put(name, "true");
            } else if (valued.contains(name)) {
                if (value == null) {
                    if (i + 1 >= args.size() || args.get(i + 1).startsWith("--")) {
                        throw new ConfigException(name + " needs a value");
                    }
                    value = args.get(++i);
                }
                if (values.containsKey(name)) throw new ConfigException(name + " given twice");
                values.put(name, value);
            } else {
                throw new ConfigException("unknown option '" + name + "' (see --help)");
            }
        }
    }

    List<String> args() {
        return args;
    }

    boolean has(String name) {
        return values.containsKey(name);
    }

    boolean flag(String name) {
        return values.containsKey(name);
    }

    String string(String name, String def) {
        return values.getOrDefault(name, def);
    }

    double number(String name, double def) {
        String v = values.get(name);
        if (v == null) return def;
        try {
            return Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw new ConfigException(name + ": '" + v + "' is not a number");
        }
    }

    long integer(String name, long def) {
        String v = values.get(name);
        if (v == null) return def;
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new ConfigException(name + ": '" + v + "' is not a whole number");
        }
    }

    int intValue(String name, int def) {
        long v = integer(name, def);
        if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) throw new ConfigException(name + ": " + v + " is out of range");
        return (int) v;
    }

    int[] ints(String name, int[] def) {
        String v = values.get(name);
        if (v == null) return def;
        List<Integer> out = new ArrayList<>();
        for (String part : v.split(",")) {
            try {
                out.add(Integer.parseInt(part.trim()));
            } catch (NumberFormatException e) {
                throw new ConfigException(name + ": '" + v + "' is not a comma-separated list of whole numbers");
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    String choice(String name, String def, String... allowed) {
        String v = string(name, def);
        for (String a : allowed) if (a.equals(v)) return v;
        throw new ConfigException(name + ": '" + v + "' is not one of " + String.join(", ", allowed));
    }
}
