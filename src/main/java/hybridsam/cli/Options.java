package hybridsam.cli;

import hybridsam.io.ConfigException;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.TypeConversionException;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The options of the command line: one table ({@link Def}) from which picocli's option specs, the
 * help and the shell completion are made, and the values one command was given (as typed, so that
 * config.json records the command line itself and a resume parses it again the same way).
 * picocli checks the form (unknown options, missing values, an option given twice, a value of the
 * wrong type); the meaning of the values (ranges, one list length per replica) is RunSetup's.
 */
final class Options {
    /** What an option's value is; picocli converts (and so checks) it, completion uses it. */
    enum Type {
        /** any text; candidates, when given, only serve completion (the command checks the value) */
        TEXT,
        /** one of the candidates */
        CHOICE,
        /** a whole number in int range */
        INT,
        /** a whole number in long range */
        LONG,
        /** a number */
        NUMBER,
        /** a file or folder */
        PATH,
        /** comma-separated whole numbers in int range */
        INTS,
        /** comma-separated whole numbers in long range (one per replica) */
        LONGS,
        /** comma-separated numbers */
        NUMBERS,
        /** comma-separated texts (candidates, when given, only serve completion) */
        TEXTS,
        /** a flag without a value */
        FLAG
    }

    /**
     * One option: its name, what its value is, the value's name in the help, the help section it
     * is listed under (null: none) and its description (with its default).
     */
    record Def(String name, Type type, String label, String section, String description, List<String> candidates) {
        Def(String name, Type type, String label, String section, String description) {
            this(name, type, label, section, description, List.of());
        }

        boolean valued() {
            return type != Type.FLAG;
        }

        boolean list() {
            return type == Type.INTS || type == Type.LONGS || type == Type.NUMBERS || type == Type.TEXTS;
        }
    }

    private final Map<String, String> values = new LinkedHashMap<>();
    private final List<String> args;

    private Options(List<String> args) {
        this.args = List.copyOf(args);
    }

    // ---------------------------------------------------------------- picocli specs from the table

    /** A command with the given options, and -h/--help. */
    static CommandSpec command(String name, List<Def> defs) {
        CommandSpec spec = CommandSpec.create().name(name);
        spec.interpolateVariables(false);
        for (Def d : defs) spec.addOption(option(d));
        spec.addOption(OptionSpec.builder("-h", "--help").usageHelp(true).description("this help").build());
        return spec;
    }

    /** The parser settings every command shares. */
    static CommandLine configure(CommandLine cl) {
        // an argument starting with @ is a value (a folder may be called that), never a file of arguments
        cl.setExpandAtFiles(false);
        cl.setAbbreviatedOptionsAllowed(false);
        cl.setOverwrittenOptionsAllowed(false);
        cl.setUnmatchedArgumentsAllowed(false);
        cl.setPosixClusteredShortOptionsAllowed(false);
        return cl;
    }

    static OptionSpec option(Def d) {
        OptionSpec.Builder b = OptionSpec.builder(d.name()).description(d.description());
        if (!d.candidates().isEmpty()) b.completionCandidates(d.candidates());
        switch (d.type()) {
            case FLAG -> b.arity("0").type(boolean[].class); // a flag given twice is still the flag
            case TEXT -> b.type(String.class);
            case CHOICE -> b.type(String.class).converters(v -> choice(d, v));
            case INT -> b.type(Integer.class).converters(Options::toInt);
            case LONG -> b.type(Long.class).converters(Options::toLong);
            case NUMBER -> b.type(Double.class).converters(Options::toDouble);
            case PATH -> b.type(Path.class).converters(Options::toPath);
            case INTS -> b.type(List.class).auxiliaryTypes(Integer.class).converters(Options::toInt);
            case LONGS -> b.type(List.class).auxiliaryTypes(Long.class).converters(Options::toLong);
            // a word among the candidates (--rho auto) passes as a value; the command gives it its meaning
            case NUMBERS -> b.type(List.class).auxiliaryTypes(Double.class)
                    .converters(v -> d.candidates().contains(v.trim()) ? Double.NaN : toDouble(v));
            case TEXTS -> b.type(List.class).auxiliaryTypes(String.class);
        }
        if (d.valued()) b.arity("1").paramLabel(d.label());
        if (d.list()) b.splitRegex(",");
        return b.build();
    }

    private static String choice(Def d, String v) {
        if (d.candidates().contains(v)) return v;
        throw new TypeConversionException("'" + v + "' is not one of " + String.join(", ", d.candidates()));
    }

    private static Integer toInt(String v) {
        long l = toLong(v);
        if (l < Integer.MIN_VALUE || l > Integer.MAX_VALUE) throw new TypeConversionException("'" + v + "' is out of range");
        return (int) l;
    }

    private static Long toLong(String v) {
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new TypeConversionException("'" + v + "' is not a whole number");
        }
    }

    private static Double toDouble(String v) {
        try {
            return Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw new TypeConversionException("'" + v + "' is not a number");
        }
    }

    private static Path toPath(String v) {
        try {
            return Path.of(v);
        } catch (InvalidPathException e) {
            throw new TypeConversionException("'" + v + "' is not a path (" + e.getReason() + ")");
        }
    }

    // ---------------------------------------------------------------- the values given

    /**
     * The values of a command picocli has parsed (args: the command's own arguments, as given).
     * Also refuses what picocli lets through: a list option given twice (its values would
     * silently add up) and a value that is an option (`--out --quiet`: the value was forgotten).
     */
    static Options of(ParseResult parsed, List<String> args) {
        Options o = new Options(args);
        CommandLine cl = parsed.commandSpec().commandLine();
        for (OptionSpec spec : parsed.matchedOptions()) {
            String name = spec.longestName();
            if (o.values.containsKey(name)) {
                if (spec.arity().max() == 0) continue;
                throw new ParameterException(cl, "option '" + name + "' (" + spec.paramLabel() + ") should be specified only once"
                        + (spec.splitRegex().isEmpty() ? "" : " (a list is one value, comma-separated: " + name + " a,b,c)"), null, spec, null);
            }
            if (spec.arity().max() == 0) {
                o.values.put(name, "true");
                continue;
            }
            List<String> given = spec.originalStringValues();
            if (given.size() != 1) {
                throw new ParameterException(cl, "option '" + name + "' (" + spec.paramLabel() + ") should be specified only once"
                        + (spec.splitRegex().isEmpty() ? "" : " (a list is one value, comma-separated: " + name + " a,b,c)"), null, spec, null);
            }
            String v = given.get(0);
            if (v.startsWith("--")) {
                throw new ParameterException(cl, "option '" + name + "' (" + spec.paramLabel() + ") needs a value, not the option '" + v + "'",
                        null, spec, v);
            }
            o.values.put(name, v);
        }
        return o;
    }

    /**
     * Parses a command line of the given options outside a command (a run's recorded args, or
     * evaluate's run settings); anything picocli refuses is a ConfigException with its message.
     */
    static Options parse(String command, List<Def> defs, List<String> args) {
        CommandLine cl = configure(new CommandLine(command(command, defs)));
        try {
            ParseResult parsed = cl.parseArgs(args.toArray(String[]::new));
            if (parsed.isUsageHelpRequested()) throw new ConfigException("unexpected --help");
            return of(parsed, args);
        } catch (ParameterException e) {
            throw new ConfigException(e.getMessage());
        }
    }

    /** The command's arguments as given. */
    List<String> args() {
        return args;
    }

    /** The options given, in order. */
    List<String> names() {
        return new ArrayList<>(values.keySet());
    }

    /** Every option given and its value as typed ("true" for a flag), in the order given. */
    Map<String, String> values() {
        return java.util.Collections.unmodifiableMap(values);
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
