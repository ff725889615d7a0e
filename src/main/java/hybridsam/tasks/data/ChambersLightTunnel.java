package hybridsam.tasks.data;

import hybridsam.io.DataException;
import hybridsam.io.Dataset;
import hybridsam.io.NdArray;
import hybridsam.tasks.LightTunnelModel;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Reads the Causal Chambers' light-tunnel camera datasets (e.g. {@code lt_camera_walks_v1},
 * {@code lt_color_regression_v1}; Gamella, Bühlmann and Peters 2024, causalchamber.org) into the
 * light-tunnel task's arrays.
 *
 * <p>Layout: {@code <root>/<dataset>/<experiment>/<experiment>.csv} plus folders
 * {@code <root>/<dataset>/<experiment>/images_<size>/} ({@code full} = 2000 px, or a side such as
 * 500, 200, 100, 64, 50) of RGB JPEG files named in the CSV's {@code image_file} column. The inputs
 * come from the columns {@code red}, {@code green}, {@code blue} (0 .. 255), {@code pol_1} and
 * {@code pol_2} (degrees). The path given may be the root, a dataset folder or one experiment
 * folder; every experiment found under it is read, in path order.
 *
 * <p>Images: of each experiment's folders, the smallest size at least the model's side, else the
 * largest; each row's image_file a file name inside it; decoded by the JDK's ImageIO (at most
 * {@link #MAX_PIXELS} pixels), values /255, resized to side × side by area averaging
 * (each output pixel the mean of the source area it covers, partial pixels weighted by their
 * overlap; rows, then columns), channel-major [3, side, side].
 *
 * <p>Split: the samples (rows) of all experiments are shuffled by {@code SplittableRandom(splitSeed)}
 * (Fisher-Yates, from the last index down) and cut into 60 % train, 20 % valid and the rest test
 * (valid and test at least one each); each split keeps the file order.
 *
 * <p>Camera settings (aperture, ISO, shutter) change the exposure; they are constant within an
 * experiment, so train on one experiment or on experiments with the same settings (the manifest
 * lists the settings it saw under "camera_settings").
 */
public final class ChambersLightTunnel {

    /** Input columns, in the order of the task's inputs. */
    public static final List<String> INPUT_COLUMNS = List.of("red", "green", "blue", "pol_1", "pol_2");
    public static final String IMAGE_COLUMN = "image_file";
    static final List<String> CAMERA_COLUMNS = List.of("aperture", "iso", "shutter_speed");
    public static final double TRAIN_FRACTION = 0.6, VALID_FRACTION = 0.2;
    /** The pixel side of the "full" image size. */
    public static final int FULL_SIDE = 2000;
    static final String FORMAT = "causal-chambers";
    /** Most pixels an image may have (4096 × 4096; the chambers' full size is 2000 × 2000). */
    public static final long MAX_PIXELS = 4096L * 4096;

    private ChambersLightTunnel() {
    }

    /** Whether dir is a light-tunnel experiment folder: it holds {@code <name>/<name>.csv}'s CSV. */
    static boolean isExperiment(Path dir) {
        Path name = dir.getFileName();
        return name != null && Files.isDirectory(dir) && Files.isRegularFile(dir.resolve(name + ".csv"));
    }

    /** The experiment folders at dir: dir itself, its subfolders, or their subfolders (the first level that has any). */
    public static List<Path> experiments(Path dir) {
        if (isExperiment(dir)) return List.of(dir);
        List<Path> level = subfolders(dir);
        List<Path> found = level.stream().filter(ChambersLightTunnel::isExperiment).toList();
        if (!found.isEmpty()) return found;
        List<Path> deeper = new ArrayList<>();
        for (Path d : level) deeper.addAll(subfolders(d).stream().filter(ChambersLightTunnel::isExperiment).toList());
        return deeper;
    }

    private static List<Path> subfolders(Path dir) {
        if (!Files.isDirectory(dir)) return List.of();
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isDirectory).sorted().toList();
        } catch (IOException e) {
            throw new DataException(dir + ": cannot list the folder (" + e.getMessage() + ")", e);
        }
    }

    /** Whether dir is, or holds, chambers' camera experiments. */
    public static boolean isLayout(Path dir) {
        try {
            return !experiments(dir).isEmpty();
        } catch (DataException e) {
            return false;
        }
    }

    /** The side of an {@code images_<size>} folder name, or -1 when it is not one. */
    static int folderSide(String name) {
        if (!name.startsWith("images_")) return -1;
        String s = name.substring("images_".length());
        if (s.equals("full")) return FULL_SIDE;
        try {
            int v = Integer.parseInt(s);
            return v > 0 ? v : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** The experiment's image folder for a model side: the smallest at least side, else the largest. */
    static Path imageFolder(Path experiment, int side) {
        Path best = null;
        int bestSide = 0;
        for (Path d : subfolders(experiment)) {
            int s = folderSide(d.getFileName().toString());
            if (s < 0) continue;
            boolean better = best == null
                    || (s >= side ? bestSide < side || s < bestSide : bestSide < side && s > bestSide);
            if (better) {
                best = d;
                bestSide = s;
            }
        }
        if (best == null) {
            throw new DataException(experiment + ": no images_<size> folder (images_full, images_500, images_64, ...)"
                    + " next to " + experiment.getFileName() + ".csv");
        }
        return best;
    }

    /** One CSV row: its 1-based line, the five inputs and the image file name. */
    record Row(int line, float[] inputs, String image) {
    }

    /** Splits one CSV line on commas; double quotes group (and "" inside quotes is a quote). */
    static List<String> cells(String line) {
        List<String> out = new ArrayList<>();
        StringBuilder sb = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char ch = line.charAt(i);
            if (quoted) {
                if (ch == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
                    sb.append('"');
                    i++;
                } else if (ch == '"') {
                    quoted = false;
                } else {
                    sb.append(ch);
                }
            } else if (ch == '"') {
                quoted = true;
            } else if (ch == ',') {
                out.add(sb.toString());
                sb.setLength(0);
            } else {
                sb.append(ch);
            }
        }
        out.add(sb.toString());
        return out;
    }

    /** The CSV's rows; camera settings seen go to `settings`. */
    static List<Row> readCsv(Path csv, Set<String> settings) {
        List<String> lines = new ArrayList<>();
        // line by line with a bound on each: a file without line breaks is refused, not read whole
        try (BoundedLines r = new BoundedLines(csv, ChambersWindTunnel.MAX_LINE)) {
            for (String l = r.next(); l != null; l = r.next()) lines.add(l);
        } catch (IOException | UncheckedIOException e) {
            throw new DataException(csv + ": cannot read the file (" + e.getMessage() + ")", e);
        }
        if (lines.isEmpty() || lines.get(0).isBlank()) throw new DataException(csv + ": empty file, no header line");
        String head = lines.get(0);
        if (head.startsWith("\uFEFF")) head = head.substring(1);
        List<String> header = cells(head).stream().map(String::trim).toList();
        int[] col = new int[INPUT_COLUMNS.size()];
        for (int k = 0; k < col.length; k++) col[k] = column(header, INPUT_COLUMNS.get(k), csv);
        int imageCol = column(header, IMAGE_COLUMN, csv);
        int[] cam = CAMERA_COLUMNS.stream().mapToInt(header::indexOf).toArray();
        List<Row> rows = new ArrayList<>();
        for (int i = 1; i < lines.size(); i++) {
            String text = lines.get(i);
            if (text.isBlank()) continue;
            int line = i + 1;
            List<String> c = cells(text);
            if (c.size() < header.size()) {
                throw new DataException(csv + ", line " + line + ": " + c.size() + " cells, the header has " + header.size());
            }
            float[] in = new float[INPUT_COLUMNS.size()];
            for (int k = 0; k < col.length; k++) {
                String cell = c.get(col[k]).trim();
                double v;
                try {
                    v = Double.parseDouble(cell);
                } catch (NumberFormatException e) {
                    v = Double.NaN;
                }
                if (!Double.isFinite(v)) {
                    throw new DataException(csv + ", line " + line + ", column \"" + INPUT_COLUMNS.get(k) + "\": \""
                            + cell + "\" is not a finite number");
                }
                in[k] = (float) v;
                if (!Float.isFinite(in[k])) {
                    throw new DataException(csv + ", line " + line + ", column \"" + INPUT_COLUMNS.get(k) + "\": \""
                            + cell + "\" is too large for a float");
                }
            }
            String image = c.get(imageCol).trim();
            if (image.isEmpty()) {
                throw new DataException(csv + ", line " + line + ", column \"" + IMAGE_COLUMN + "\": empty (no image file named)");
            }
            if (cam[0] >= 0 || cam[1] >= 0 || cam[2] >= 0) {
                StringBuilder sb = new StringBuilder();
                for (int k = 0; k < cam.length; k++) {
                    sb.append(k == 0 ? "" : ", ").append(CAMERA_COLUMNS.get(k)).append(' ')
                            .append(cam[k] >= 0 ? c.get(cam[k]).trim() : "?");
                }
                settings.add(sb.toString());
            }
            rows.add(new Row(line, in, image));
        }
        if (rows.isEmpty()) throw new DataException(csv + ": no data rows after the header");
        return rows;
    }

    private static int column(List<String> header, String name, Path csv) {
        int i = header.indexOf(name);
        if (i < 0) {
            throw new DataException(csv + ", line 1: no column \"" + name + "\" in the header (light-tunnel camera data need "
                    + String.join(", ", INPUT_COLUMNS) + " and " + IMAGE_COLUMN + ")");
        }
        return i;
    }

    /**
     * Area-averaging weights from n source pixels onto m target pixels: for target i, the source
     * pixels j overlapping [i·n/m, (i+1)·n/m) and their overlap / (n/m). Returned as
     * {first source index, count} per target plus the weights.
     */
    static double[][] areaWeights(int n, int m) {
        double[][] w = new double[m][];
        double step = (double) n / m;
        for (int i = 0; i < m; i++) {
            double lo = i * step, hi = (i + 1) * step;
            int first = (int) Math.floor(lo), last = Math.min(n - 1, (int) Math.ceil(hi) - 1);
            double[] row = new double[2 + last - first + 1];
            row[0] = first;
            row[1] = last - first + 1;
            for (int j = first; j <= last; j++) {
                double overlap = Math.min(hi, j + 1) - Math.max(lo, j);
                row[2 + j - first] = Math.max(overlap, 0) / step;
            }
            w[i] = row;
        }
        return w;
    }

    /**
     * An sh × sw RGB image (argb ints, row-major) resized to side × side, channel-major [3][side][side]
     * with values in [0, 1], written to out[off ..].
     */
    static void resize(int[] argb, int sh, int sw, int side, float[] out, int off) {
        double[][] wx = areaWeights(sw, side), wy = areaWeights(sh, side);
        double[] rows = new double[3 * sh * side];
        for (int y = 0; y < sh; y++) {
            for (int x = 0; x < side; x++) {
                double r = 0, g = 0, b = 0;
                double[] w = wx[x];
                int first = (int) w[0];
                for (int k = 0; k < (int) w[1]; k++) {
                    int p = argb[y * sw + first + k];
                    r += w[2 + k] * ((p >> 16) & 255);
                    g += w[2 + k] * ((p >> 8) & 255);
                    b += w[2 + k] * (p & 255);
                }
                rows[(0 * sh + y) * side + x] = r;
                rows[(sh + y) * side + x] = g;
                rows[(2 * sh + y) * side + x] = b;
            }
        }
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < side; y++) {
                double[] w = wy[y];
                int first = (int) w[0];
                for (int x = 0; x < side; x++) {
                    double v = 0;
                    for (int k = 0; k < (int) w[1]; k++) v += w[2 + k] * rows[(c * sh + first + k) * side + x];
                    out[off + (c * side + y) * side + x] = (float) (v / 255.0);
                }
            }
        }
    }

    /**
     * Reads every experiment at dir into a light-tunnel data set with side × side images.
     *
     * @param splitSeed seed of the train / valid / test shuffle
     * @param side      the model's image side (64 unless the caller says otherwise)
     */
    public static Dataset read(Path dir, long splitSeed, int side) {
        if (side < 1) throw new IllegalArgumentException("image side must be positive, got " + side);
        if (!Files.isDirectory(dir)) throw new DataException(dir + ": no such folder");
        List<Path> experiments = experiments(dir);
        if (experiments.isEmpty()) {
            throw new DataException(dir + ": no light-tunnel camera experiment found (expected <experiment>/<experiment>.csv"
                    + " with images_<size>/ folders, here, in a subfolder or two levels down)");
        }
        List<String> sources = new ArrayList<>();
        List<Map<String, Object>> expInfo = new ArrayList<>();
        Set<String> settings = new LinkedHashSet<>();
        List<float[]> inputs = new ArrayList<>();
        List<float[]> images = new ArrayList<>();
        int[] sourceSize = null;
        Path sizeFrom = null;
        int size = 3 * side * side;
        for (Path exp : experiments) {
            Path csv = exp.resolve(exp.getFileName() + ".csv");
            List<Row> rows = readCsv(csv, settings);
            sources.add(relative(dir, csv));
            Path folder = imageFolder(exp, side);
            Map<String, Object> info = new LinkedHashMap<>();
            info.put("experiment", relative(dir, exp));
            info.put("image_folder", folder.getFileName().toString());
            info.put("samples", rows.size());
            expInfo.add(info);
            for (Row row : rows) {
                String at = "(named in " + csv + ", line " + row.line() + ", column \"" + IMAGE_COLUMN + "\")";
                Path file = imageFile(folder, row.image(), at);
                if (!Files.isRegularFile(file)) throw new DataException(file + ": image missing " + at);
                BufferedImage img = readImage(file, at);
                int h = img.getHeight(), w = img.getWidth();
                if (sourceSize == null) {
                    sourceSize = new int[] {h, w};
                    sizeFrom = file;
                } else if (sourceSize[0] != h || sourceSize[1] != w) {
                    throw new DataException(file + ": image is " + w + " x " + h + " px " + at + ", but " + sizeFrom
                            + " is " + sourceSize[1] + " x " + sourceSize[0] + " px; images must share one size");
                }
                int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
                float[] out = new float[size];
                resize(argb, h, w, side, out, 0);
                inputs.add(row.inputs());
                images.add(out);
                sources.add(relative(dir, file));
            }
        }
        int n = inputs.size();
        if (n < 3) throw new DataException(dir + ": " + n + " sample" + (n == 1 ? "" : "s") + ", at least 3 are needed (train, valid, test)");
        int[] perm = new int[n];
        for (int i = 0; i < n; i++) perm[i] = i;
        SplittableRandom rng = new SplittableRandom(splitSeed);
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        int nValid = Math.max(1, (int) Math.floor(VALID_FRACTION * n));
        int nTest = Math.max(1, (int) Math.floor((1 - TRAIN_FRACTION - VALID_FRACTION) * n));
        int nTrain = n - nValid - nTest;
        int[][] parts = {Arrays.copyOfRange(perm, 0, nTrain), Arrays.copyOfRange(perm, nTrain, nTrain + nValid),
                Arrays.copyOfRange(perm, nTrain + nValid, n)};
        Map<String, NdArray> arrays = new LinkedHashMap<>();
        String[] names = {"train", "valid", "test"};
        for (int s = 0; s < 3; s++) {
            int[] idx = parts[s].clone();
            Arrays.sort(idx);
            float[] in = new float[idx.length * LightTunnelModel.INPUTS];
            float[] im = new float[idx.length * size];
            for (int i = 0; i < idx.length; i++) {
                System.arraycopy(inputs.get(idx[i]), 0, in, i * LightTunnelModel.INPUTS, LightTunnelModel.INPUTS);
                System.arraycopy(images.get(idx[i]), 0, im, i * size, size);
            }
            arrays.put(names[s] + "_inputs", new NdArray(in, idx.length, LightTunnelModel.INPUTS));
            arrays.put(names[s] + "_images", new NdArray(im, idx.length, 3, side, side));
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("task", LightTunnelData.TASK);
        m.put("format", FORMAT);
        m.put("experiments", expInfo);
        m.put("source_files", sources);
        m.put("source_image_size", List.of(sourceSize[0], sourceSize[1]));
        m.put("height", side);
        m.put("width", side);
        m.put("resize", "area averaging (each pixel the overlap-weighted mean of the source area it covers), rows then columns");
        m.put("camera_settings", new ArrayList<>(settings));
        if (settings.size() > 1) {
            m.put("camera_settings_note", "more than one camera setting: the exposure differs between them, F2 assumes one");
        }
        m.put("w", OdeDataGenerator.toList(LightTunnelModel.W));
        m.put("exposure", LightTunnelModel.EXPOSURE);
        m.put("split_seed", splitSeed);
        m.put("split", "SplittableRandom(split_seed) Fisher-Yates shuffle of all samples; 60 % train, 20 % valid, rest test;"
                + " file order within a split");
        m.put("n_train", nTrain);
        m.put("n_valid", nValid);
        m.put("n_test", n - nTrain - nValid);
        m.put("layout", "inputs [sample, 5] = red, green, blue (0..255), pol_1, pol_2 (degrees); images [sample, channel, y, x]"
                + " RGB in [0, 1]");
        m.put("theta_names", LightTunnelModel.THETA_NAMES);
        m.put("theta_star", OdeDataGenerator.toList(LightTunnelModel.S_STAR));
        m.put("theta_star_source", "the chambers' camera sensitivity at the LED wavelengths (tasks.md), a reference for real data");
        return new Dataset(m, arrays);
    }

    /** The image file a CSV row names: a path relative to the image folder that stays inside it. */
    private static Path imageFile(Path folder, String name, String at) {
        Path file;
        try {
            file = folder.resolve(name);
        } catch (InvalidPathException e) {
            throw new DataException(folder + ": \"" + name + "\" is not a file name " + at + ": " + e.getReason(), e);
        }
        if (file.isAbsolute() != folder.isAbsolute() || !file.normalize().startsWith(folder.normalize())
                || file.normalize().equals(folder.normalize())) {
            throw new DataException(folder + ": \"" + name + "\" is not a file in this folder " + at);
        }
        return file;
    }

    /**
     * Decodes an image with the first ImageIO reader that takes it (what ImageIO.read does), after
     * checking the size its header claims against {@link #MAX_PIXELS}, so a few bytes cannot make the
     * decoder allocate gigabytes.
     */
    private static BufferedImage readImage(Path file, String at) {
        try (ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            if (in == null) throw new DataException(file + ": unreadable image " + at);
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) throw new DataException(file + ": unreadable image, not a format ImageIO decodes " + at);
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                long w = reader.getWidth(0), h = reader.getHeight(0);
                if (w < 1 || h < 1 || w * h > MAX_PIXELS) {
                    throw new DataException(file + ": image is " + w + " x " + h + " px " + at + "; at most " + MAX_PIXELS
                            + " pixels are read");
                }
                BufferedImage img = reader.read(0);
                if (img == null) throw new DataException(file + ": unreadable image " + at);
                return img;
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof DataException d) throw d;
            throw new DataException(file + ": unreadable image " + at + ": " + e.getMessage(), e);
        }
    }

    private static String relative(Path dir, Path file) {
        return dir.relativize(file).toString().replace('\\', '/');
    }
}
