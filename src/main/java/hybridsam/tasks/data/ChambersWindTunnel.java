package hybridsam.tasks.data;

import hybridsam.io.DataException;
import hybridsam.io.Dataset;
import hybridsam.io.NdArray;
import hybridsam.tasks.WindTunnelModel;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Reads the Causal Chambers' published {@code wt_intake_impulse_v1} data set into the wind-tunnel
 * task's arrays (see {@link WindTunnelData} for the layout).
 *
 * <p><b>Layout</b>: {@code <root>/wt_intake_impulse_v1/<experiment>.csv}, one CSV per experiment
 * (such as {@code load_out_0.5_osr_downwind_4.csv}), one row per measurement, a header naming the
 * columns; the directory given may be the root or the {@code wt_intake_impulse_v1} folder itself.
 * The chambers' files have the 37 columns of {@link #COLUMNS} in that order (their
 * {@code variables.csv} of the wind tunnel's standard configuration: {@code timestamp},
 * {@code config}, then the firmware's 35 variables); only {@link #USED} are read, by name, in any
 * order. Rows are grouped by {@code flag} (the impulse number) into sequences of
 * {@value #FRAMES} samples, files in name order, sequences in order of first appearance.
 *
 * <p><b>Conversion</b>: rpm × π/30 → rad/s; pressure_downwind − pressure_ambient (Pa); times in
 * seconds since the sequence's first timestamp; loads and hatch as recorded.
 *
 * <p><b>Split</b>: the sequences are shuffled with {@code SplittableRandom(splitSeed)}
 * (Fisher-Yates from the last, {@code nextInt(i + 1)}); the first 60 % train, the next 20 % valid,
 * the rest test (valid and test at least one each).
 *
 * <p>Each file is read once, line by line. A problem is a {@link DataException} naming the file,
 * the line (1-based, the header is line 1) and the column: a missing column, a cell that is not a
 * number, the firmware's missing value -9999, a load outside [0, 1] or hatch outside [0, 45], a
 * time that does not increase, a value too large for a float after conversion, an impulse with other than {@value #FRAMES} rows, no CSV file.
 */
public final class ChambersWindTunnel {
    public static final String DATASET = "wt_intake_impulse_v1";
    /** The chambers' column order (wind tunnel, standard configuration). */
    public static final List<String> COLUMNS = List.of("timestamp", "config", "counter", "flag", "intervention", "hatch",
            "pot_1", "pot_2", "osr_1", "osr_2", "osr_mic", "osr_in", "osr_out", "osr_upwind", "osr_downwind", "osr_ambient",
            "osr_intake", "v_1", "v_2", "v_mic", "v_in", "v_out", "load_in", "load_out", "current_in", "current_out",
            "res_in", "res_out", "rpm_in", "rpm_out", "pressure_upwind", "pressure_downwind", "pressure_ambient",
            "pressure_intake", "mic", "signal_1", "signal_2");
    /** The columns read. */
    public static final List<String> USED = List.of("timestamp", "flag", "load_in", "load_out", "hatch", "rpm_in",
            "rpm_out", "pressure_downwind", "pressure_ambient");
    /** The firmware's missing value. */
    public static final double MISSING = -9999;
    /** Samples per impulse (the protocol's 5 + 20 + 25). */
    public static final int FRAMES = WindTunnelData.FRAMES;
    /** Longest line accepted (characters). */
    public static final int MAX_LINE = 1 << 16;
    public static final double TRAIN_FRACTION = 0.6, VALID_FRACTION = 0.2;

    /** Positions in USED. */
    private static final int T_ = 0, FLAG = 1, LOAD_IN = 2, LOAD_OUT = 3, HATCH = 4, RPM_IN = 5, RPM_OUT = 6, P_DW = 7, P_AMB = 8;

    private ChambersWindTunnel() {
    }

    /** The folder holding the CSV files: dir itself when it is named wt_intake_impulse_v1, else dir/wt_intake_impulse_v1; null when neither. */
    static Path folder(Path dir) {
        Path name = dir.toAbsolutePath().normalize().getFileName();
        if (name != null && name.toString().equals(DATASET) && Files.isDirectory(dir)) return dir;
        Path sub = dir.resolve(DATASET);
        return Files.isDirectory(sub) ? sub : null;
    }

    private static List<Path> csvFiles(Path folder) {
        try (Stream<Path> s = Files.list(folder)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".csv") && Files.isRegularFile(p)).sorted().toList();
        } catch (IOException e) {
            throw new DataException(folder + ": cannot list the folder (" + e.getMessage() + ")", e);
        }
    }

    /** Whether dir (or dir/wt_intake_impulse_v1) holds CSV files whose first line names rpm_in: the chambers' layout. */
    public static boolean isPublishedLayout(Path dir) {
        Path folder = folder(dir);
        if (folder == null) return false;
        List<Path> files = csvFiles(folder);
        if (files.isEmpty()) return false;
        try (BoundedLines r = new BoundedLines(files.get(0), MAX_LINE)) {
            String header = r.next();
            return header != null && header.contains("rpm_in");
        } catch (IOException | UncheckedIOException | DataException e) {
            return false;
        }
    }

    /** One impulse being read. */
    private static final class Sequence {
        final Path file;
        final long flag;
        final int firstLine;
        int rows;
        final double[] time = new double[FRAMES];
        final float[] values = new float[FRAMES * 6]; // load_in, load_out, hatch, omega_in, omega_out, pressure

        Sequence(Path file, long flag, int firstLine) {
            this.file = file;
            this.flag = flag;
            this.firstLine = firstLine;
        }
    }

    /** Reads the data set under dir (the root or the wt_intake_impulse_v1 folder), split with splitSeed. */
    public static Dataset read(Path dir, long splitSeed) {
        Path folder = folder(dir);
        if (folder == null) {
            throw new DataException(dir + ": no " + DATASET + " folder; expected " + dir.resolve(DATASET)
                    + "/EXPERIMENT.csv (the Causal Chambers' layout), or this folder itself named " + DATASET);
        }
        List<Path> files = csvFiles(folder);
        if (files.isEmpty()) {
            throw new DataException(folder + ": no .csv file found (expected one CSV per experiment, such as"
                    + " load_out_0.5_osr_downwind_4.csv)");
        }
        List<Sequence> all = new ArrayList<>();
        List<String> sources = new ArrayList<>();
        for (Path f : files) {
            all.addAll(readFile(f));
            sources.add(dir.relativize(f).toString().replace('\\', '/'));
        }
        int n = all.size();
        if (n < 3) {
            throw new DataException(folder + ": " + n + " impulse" + (n == 1 ? "" : "s")
                    + " in all; train, valid and test need at least one each");
        }
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        SplittableRandom rng = new SplittableRandom(splitSeed);
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        int nValid = Math.max(1, (int) Math.round(VALID_FRACTION * n));
        int nTest = Math.max(1, (int) Math.round((1 - TRAIN_FRACTION - VALID_FRACTION) * n));
        int nTrain = n - nValid - nTest;
        int[] counts = {nTrain, nValid, nTest};
        String[] names = {"train", "valid", "test"};
        Map<String, NdArray> arrays = new LinkedHashMap<>();
        int at = 0;
        for (int sp = 0; sp < 3; sp++) {
            int m = counts[sp];
            float[] obs = new float[m * FRAMES * 3], in = new float[m * FRAMES * 3], times = new float[m * FRAMES];
            for (int s = 0; s < m; s++) {
                Sequence q = all.get(order[at++]);
                for (int f = 0; f < FRAMES; f++) {
                    int o = (s * FRAMES + f) * 3;
                    for (int c = 0; c < 3; c++) {
                        in[o + c] = q.values[f * 6 + c];
                        obs[o + c] = q.values[f * 6 + 3 + c];
                    }
                    times[s * FRAMES + f] = (float) (q.time[f] - q.time[0]);
                }
            }
            arrays.put(names[sp] + "_obs", new NdArray(obs, m, FRAMES, 3));
            arrays.put(names[sp] + "_inputs", new NdArray(in, m, FRAMES, 3));
            arrays.put(names[sp] + "_times", new NdArray(times, m, FRAMES));
        }
        Map<String, Object> manifest = new LinkedHashMap<>();
        manifest.put("task", WindTunnelData.TASK);
        manifest.put("format", "causal-chambers");
        manifest.put("dataset", DATASET);
        manifest.put("source_files", sources);
        manifest.put("split_seed", splitSeed);
        manifest.put("split", "by impulse: shuffled with java.util.SplittableRandom(split_seed) (Fisher-Yates from the"
                + " last, nextInt(i + 1)); first " + nTrain + " train, next " + nValid + " valid, last " + nTest + " test");
        manifest.put("sequences", n);
        manifest.put("n_train", nTrain);
        manifest.put("n_valid", nValid);
        manifest.put("n_test", nTest);
        manifest.put("channel_names", List.of("omega_in", "omega_out", "pressure"));
        manifest.put("input_names", List.of("load_in", "load_out", "hatch"));
        manifest.put("conversion", "omega = rpm * pi / 30 (rad/s); pressure = pressure_downwind - pressure_ambient (Pa);"
                + " times = timestamp - the impulse's first timestamp (s); rows grouped by flag");
        manifest.put("theta_names", WindTunnelModel.THETA_NAMES);
        manifest.put("theta_star", OdeDataGenerator.toList(WindTunnelModel.thetaStar()));
        manifest.put("theta_star_source", "the chambers' model A2 constants (T/I, K/I); the real tunnel's values are unknown");
        manifest.put("format_version", WindTunnelData.FORMAT_VERSION);
        return new Dataset(manifest, arrays);
    }

    /** The impulses of one CSV file, in order of first appearance. */
    private static List<Sequence> readFile(Path file) {
        Map<Long, Sequence> byFlag = new LinkedHashMap<>();
        try (BoundedLines r = new BoundedLines(file, MAX_LINE)) {
            String header = r.next();
            if (header == null) throw new DataException(file + ": line 1: the file is empty (expected a header row)");
            if (header.startsWith("\uFEFF")) header = header.substring(1);
            String[] names = header.split(",", -1);
            Map<String, Integer> index = new HashMap<>();
            for (int i = 0; i < names.length; i++) index.putIfAbsent(names[i].trim(), i);
            int[] col = new int[USED.size()];
            for (int i = 0; i < col.length; i++) {
                Integer c = index.get(USED.get(i));
                if (c == null) {
                    throw new DataException(file + ": line 1: missing column '" + USED.get(i) + "' (the wind-tunnel task"
                            + " reads " + String.join(", ", USED) + ")");
                }
                col[i] = c;
            }
            int width = names.length;
            int[] starts = new int[width + 1];
            double[] v = new double[USED.size()];
            String line;
            int lineNo = 1;
            while ((line = r.next()) != null) {
                lineNo++;
                if (line.isBlank()) continue;
                int fields = cut(line, starts, width);
                if (fields != width) {
                    throw new DataException(file + ": line " + lineNo + ": has " + fields + " fields, the header has " + width);
                }
                for (int i = 0; i < v.length; i++) v[i] = number(file, lineNo, USED.get(i), line, starts, col[i]);
                add(file, lineNo, v, byFlag);
            }
        } catch (IOException e) {
            throw new DataException(file + ": cannot read (" + e.getMessage() + ")", e);
        } catch (UncheckedIOException e) {
            throw new DataException(file + ": cannot read (" + e.getCause().getMessage() + ")", e);
        }
        for (Sequence q : byFlag.values()) {
            if (q.rows != FRAMES) {
                throw new DataException(file + ": line " + q.firstLine + ", column 'flag': impulse " + q.flag + " has "
                        + q.rows + " rows, expected " + FRAMES + " (5 + 20 + 25 samples of the intake-impulse protocol)");
            }
        }
        return new ArrayList<>(byFlag.values());
    }


    /** Field starts: field i is line[starts[i], starts[i+1] − 1); returns the number of fields (up to width + 1). */
    private static int cut(String line, int[] starts, int width) {
        int n = 0;
        starts[0] = 0;
        int from = 0;
        while (true) {
            int comma = line.indexOf(',', from);
            n++;
            if (comma < 0) {
                if (n <= width) starts[n] = line.length() + 1;
                return n;
            }
            if (n >= width) return n + 1;  // more fields than the header: the count only matters as "not width"
            starts[n] = comma + 1;
            from = comma + 1;
        }
    }

    private static double number(Path file, int lineNo, String column, String line, int[] starts, int c) {
        String cell = line.substring(starts[c], starts[c + 1] - 1).trim();
        double x;
        try {
            x = Double.parseDouble(cell);
        } catch (NumberFormatException e) {
            throw new DataException(file + ": line " + lineNo + ", column '" + column + "': '" + cell + "' is not a number");
        }
        if (!Double.isFinite(x)) {
            throw new DataException(file + ": line " + lineNo + ", column '" + column + "': '" + cell + "' is not a finite number");
        }
        if (x == MISSING) {
            throw new DataException(file + ": line " + lineNo + ", column '" + column + "': -9999 is the firmware's"
                    + " missing value; remove the impulse or the file");
        }
        return x;
    }

    private static void add(Path file, int lineNo, double[] v, Map<Long, Sequence> byFlag) {
        double flag = v[FLAG];
        if (flag != Math.rint(flag) || Math.abs(flag) > 1e15) {
            throw new DataException(file + ": line " + lineNo + ", column 'flag': " + flag + " is not an impulse number (an integer)");
        }
        for (int i : new int[]{LOAD_IN, LOAD_OUT}) {
            if (!(v[i] >= 0 && v[i] <= 1)) {
                throw new DataException(file + ": line " + lineNo + ", column '" + USED.get(i) + "': " + v[i]
                        + " lies outside [0, 1]");
            }
        }
        if (!(v[HATCH] >= 0 && v[HATCH] <= WindTunnelModel.HATCH_MAX)) {
            throw new DataException(file + ": line " + lineNo + ", column 'hatch': " + v[HATCH] + " lies outside [0, 45] degrees");
        }
        long key = (long) flag;
        Sequence q = byFlag.computeIfAbsent(key, k -> new Sequence(file, k, lineNo));
        if (q.rows >= FRAMES) {
            throw new DataException(file + ": line " + lineNo + ", column 'flag': impulse " + key + " (first at line "
                    + q.firstLine + ") has more than " + FRAMES + " rows");
        }
        int f = q.rows;
        if (f > 0 && !(v[T_] > q.time[f - 1])) {
            throw new DataException(file + ": line " + lineNo + ", column 'timestamp': " + v[T_] + " does not come after"
                    + " the impulse's previous timestamp " + q.time[f - 1]);
        }
        if (f > 0) finite(file, lineNo, "timestamp", "the time since the impulse's first timestamp", v[T_] - q.time[0]);
        q.time[f] = v[T_];
        q.values[f * 6] = (float) v[LOAD_IN];
        q.values[f * 6 + 1] = (float) v[LOAD_OUT];
        q.values[f * 6 + 2] = (float) v[HATCH];
        q.values[f * 6 + 3] = finite(file, lineNo, "rpm_in", "omega_in", v[RPM_IN] * WindTunnelModel.RPM_TO_RAD);
        q.values[f * 6 + 4] = finite(file, lineNo, "rpm_out", "omega_out", v[RPM_OUT] * WindTunnelModel.RPM_TO_RAD);
        q.values[f * 6 + 5] = finite(file, lineNo, "pressure_downwind", "pressure_downwind - pressure_ambient", v[P_DW] - v[P_AMB]);
        q.rows++;
    }

    /** x as a float; a DataException when it is not finite as a float (a cell too large for the task's arrays). */
    private static float finite(Path file, int lineNo, String column, String what, double x) {
        float y = (float) x;
        if (!Float.isFinite(y)) {
            throw new DataException(file + ": line " + lineNo + ", column '" + column + "': " + what + " = " + x
                    + " is too large for the task's float arrays");
        }
        return y;
    }
}
