package hybridsam.cli;

import hybridsam.io.AtomicFiles;
import hybridsam.io.ConfigException;
import hybridsam.io.DataException;
import hybridsam.io.Json;
import hybridsam.io.PngMark;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.zip.CRC32;

/**
 * The plots of a finished run, drawn from its results.json: {@code loss.png} (training loss and
 * validation MSE per epoch, log scale, the best epoch marked) and {@code theta.png} (θ per epoch,
 * one chart per component, θ* and θ_mn drawn where known; for a θ known only up to scale, the
 * cosine to θ* per epoch). Written by {@code train} when a run finishes and by {@code hybridsam
 * plot} for an existing run.
 *
 * <p>This class reads and writes; the drawing (Java2D through XChart) is {@link PlotCharts}'s, so
 * that a Java runtime without the desktop module or without usable fonts fails there, where it is
 * caught, and never when this class is loaded. Each PNG carries a text chunk ({@code Software:
 * hybridsam}) by which {@code plot} recognises the files it may replace.
 */
final class Plots {
    static final String LOSS = "loss.png", THETA = "theta.png";
    /** The plot files of a run folder. */
    static final List<String> FILES = List.of(LOSS, THETA);
    /** Each chart's size in pixels; theta.png stacks one chart per θ component. */
    static final int WIDTH = 800, HEIGHT = 500;


    /** For tests: runs just before drawing (e.g. throws, as a JDK without usable fonts would). */
    static volatile Runnable beforeDrawing;

    private Plots() {
    }

    /** Drawing failed (no usable fonts, no desktop module, nothing to draw); the message says why. */
    static final class DrawException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        DrawException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    // ---------------------------------------------------------------- what train and plot call

    /**
     * train, after results.json: draws the plots into dir, replacing only plot files hybridsam
     * wrote (a foreign file of these names was refused before training, {@link #refuseForeign}).
     * A plot that cannot be drawn is skipped with one line on err (the run's results are what
     * matters); a file that cannot be written is an UncheckedIOException, as for the run's other
     * files.
     *
     * @return the files written
     */
    static List<Path> afterTraining(Path dir, PrintStream err) {
        Map<String, byte[]> pngs;
        try {
            pngs = draw(RunResults.read(dir));
        } catch (DrawException | DataException e) {
            err.println("hybridsam train: plots skipped (" + e.getMessage() + "); the run's results are complete,"
                    + " and hybridsam plot --run " + dir + " draws them where drawing works");
            return List.of();
        }
        return write(dir, pngs);
    }

    /**
     * hybridsam plot: draws the plots of the finished run in dir, replacing plot files that
     * hybridsam wrote (its mark is in them) and refusing any other file of those names (before
     * drawing).
     *
     * @throws DataException results.json missing, unreadable or not a run's results (named)
     * @throws ConfigException a file of a plot's name that hybridsam did not write
     * @throws DrawException the plots cannot be drawn here
     * @throws UncheckedIOException a file cannot be written
     */
    static List<Path> redraw(Path dir) {
        refuseForeign(dir, "plot");
        Map<String, byte[]> pngs = draw(RunResults.read(dir));
        return write(dir, pngs);
    }

    /**
     * Refuses a folder holding a file of a plot's name that hybridsam did not write (one without
     * its mark, or not a regular file): such a file is never replaced. who: "train" (the run writes
     * these files when it finishes) or "plot".
     */
    static void refuseForeign(Path dir, String who) {
        for (String name : FILES) {
            Path f = dir.resolve(name);
            if (!Files.exists(f, LinkOption.NOFOLLOW_LINKS) || PngMark.isOwn(f)) continue;
            throw new ConfigException(dir + " holds " + name + ", which " + (who.equals("train") ? "this run writes when it finishes" : "plot writes")
                    + " (hybridsam never replaces a file it did not write, and this one carries no mark of hybridsam's); move it away"
                    + (who.equals("train") ? " or choose another --out" : ""));
        }
    }

    private static Map<String, byte[]> draw(RunResults run) {
        try {
            Runnable hook = beforeDrawing;
            if (hook != null) hook.run();
            Map<String, byte[]> out = new LinkedHashMap<>();
            out.put(LOSS, PngMark.mark(PlotCharts.loss(run)));
            out.put(THETA, PngMark.mark(PlotCharts.theta(run)));
            return out;
        } catch (DrawException e) {
            throw e;
        } catch (RuntimeException | Error e) {
            // a JDK whose text rendering fails (no fonts, no fontconfig), a runtime without
            // java.desktop (NoClassDefFoundError), a chart XChart refuses: the plot is skipped
            String m = e.getMessage();
            throw new DrawException("cannot draw: " + e.getClass().getName() + (m == null || m.isBlank() ? "" : ": " + m), e);
        }
    }

    /**
     * Writes each PNG atomically: over a plot file that hybridsam wrote, else only where no file
     * is (a file that appeared meanwhile is refused, not replaced).
     */
    private static List<Path> write(Path dir, Map<String, byte[]> pngs) {
        List<Path> written = new ArrayList<>();
        for (Map.Entry<String, byte[]> e : pngs.entrySet()) {
            Path f = dir.resolve(e.getKey());
            byte[] png = e.getValue();
            try {
                if (PngMark.isOwn(f)) AtomicFiles.write(f, png);
                else AtomicFiles.writeNew(f, out -> out.write(png));
            } catch (IOException x) {
                throw new UncheckedIOException("cannot write " + f + ": " + AtomicFiles.reason(x), x);
            }
            written.add(f);
        }
        return written;
    }

    // ---------------------------------------------------------------- results.json

    /** The hyperparameters that only some methods use (a value another method ignores is not shown). */
    private static final Map<String, Set<String>> USED_BY = Map.of(
            "rho", Set.of("sam", "asam", "fsam"), "sigma", Set.of("fsam"), "lambda", Set.of("fsam"),
            "eta", Set.of("asam"), "l2", Set.of("l2"), "rho_schedule", Set.of("sam", "asam", "fsam"));

    /**
     * Each replica's legend label: the method, the hyperparameters and the seed, as far as they
     * differ between the replicas ("" for a single run); the replica's number where that leaves
     * two alike.
     */
    static List<String> labels(List<Map<String, Object>> entries) {
        int K = entries.size();
        List<String> out = new ArrayList<>();
        if (K == 1) {
            out.add("");
            return out;
        }
        List<Map<String, Object>> hp = new ArrayList<>();
        for (Map<String, Object> e : entries) {
            hp.add(e.get("hyperparameters") instanceof Map<?, ?> h ? castMap(h) : Map.of());
        }
        Set<String> keys = new LinkedHashSet<>();
        keys.add("method");
        keys.add("rho");
        for (Map<String, Object> h : hp) keys.addAll(h.keySet());
        List<String> differ = new ArrayList<>();
        for (String k : keys) {
            Object first = hp.get(0).get(k);
            if (first instanceof Map || first instanceof List) continue;
            for (Map<String, Object> h : hp) {
                if (!Objects.equals(first, h.get(k))) {
                    differ.add(k);
                    break;
                }
            }
        }
        boolean seeds = false;
        for (Map<String, Object> e : entries) seeds |= !Objects.equals(entries.get(0).get("seed"), e.get("seed"));
        for (int r = 0; r < K; r++) {
            Map<String, Object> h = hp.get(r);
            String method = h.get("method") instanceof String s ? s : null;
            StringBuilder b = new StringBuilder();
            for (String k : differ) {
                Set<String> used = USED_BY.get(k);
                if (used != null && method != null && !used.contains(method)) continue;
                Object v = h.get(k);
                if (v == null) continue;
                if (b.length() > 0) b.append(' ');
                b.append(k.equals("method") ? String.valueOf(v) : symbol(k) + "=" + value(v));
            }
            if (seeds) b.append(b.length() > 0 ? " " : "").append("seed ").append(entries.get(r).get("seed"));
            out.add(b.toString());
        }
        for (int r = 0; r < K; r++) {
            String l = out.get(r);
            if (l.isEmpty() || out.indexOf(l) != out.lastIndexOf(l)) {
                // (a label can be duplicated only by hyperparameters ignored by a replica's method)
                out.set(r, (l.isEmpty() ? "" : l + " ") + "#" + r);
            }
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> castMap(Map<?, ?> m) {
        return (Map<String, Object>) m;
    }

    private static String symbol(String key) {
        return switch (key) {
            case "rho" -> "\u03c1";
            case "sigma" -> "\u03c3";
            case "lambda" -> "\u03bb";
            case "eta" -> "\u03b7";
            default -> key;
        };
    }

    /** A number as short as it reads (0.05, 1e-3 as 0.001, 5); anything else as text. */
    static String value(Object v) {
        if (v instanceof Double d && Double.isFinite(d)) {
            String plain = BigDecimal.valueOf(d).stripTrailingZeros().toPlainString();
            return plain.length() <= 8 ? plain : String.format(Locale.ROOT, "%.3g", d);
        }
        return String.valueOf(v);
    }
}
