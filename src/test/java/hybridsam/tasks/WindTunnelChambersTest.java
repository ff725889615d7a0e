package hybridsam.tasks;

import hybridsam.io.DataException;
import hybridsam.io.Dataset;
import hybridsam.io.NdArray;
import hybridsam.tasks.data.ChambersWindTunnel;
import hybridsam.tasks.data.WindTunnelData;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The reader of the chambers' wt_intake_impulse_v1 CSV files, on fixtures written from the
 * simulator in the chambers' layout (their 37 columns in their order, rpm, absolute pressures,
 * unix timestamps), and its errors on bad files.
 */
class WindTunnelChambersTest {
    static final int F = WindTunnelData.FRAMES;

    /** One simulated impulse in the task's units. */
    record Impulse(float[] obs, float[] inputs, float[] times) {
    }

    static List<Impulse> impulses(long seed) {
        Dataset d = WindTunnelData.generate("fixture", new WindTunnelData.Settings(4, 2, 2), seed);
        List<Impulse> out = new ArrayList<>();
        for (String s : new String[]{"train", "valid", "test"}) {
            NdArray o = d.arrays().get(s + "_obs"), in = d.arrays().get(s + "_inputs"), t = d.arrays().get(s + "_times");
            for (int i = 0; i < o.dim(0); i++) {
                out.add(new Impulse(java.util.Arrays.copyOfRange(o.data(), i * F * 3, (i + 1) * F * 3),
                        java.util.Arrays.copyOfRange(in.data(), i * F * 3, (i + 1) * F * 3),
                        java.util.Arrays.copyOfRange(t.data(), i * F, (i + 1) * F)));
            }
        }
        return out;
    }

    /** The CSV lines (header first) of the impulses in the chambers' layout, flags from firstFlag. */
    static List<String> csv(List<Impulse> imps, int firstFlag) {
        List<String> lines = new ArrayList<>();
        lines.add(String.join(",", ChambersWindTunnel.COLUMNS));
        int counter = 0;
        for (int k = 0; k < imps.size(); k++) {
            Impulse q = imps.get(k);
            double start = 1711360000.0 + 60.0 * k;
            for (int f = 0; f < F; f++) {
                Map<String, String> v = new HashMap<>();
                for (String c : ChambersWindTunnel.COLUMNS) v.put(c, "0");
                v.put("timestamp", String.format(Locale.ROOT, "%.6f", start + q.times[f]));
                v.put("config", "standard");
                v.put("counter", Integer.toString(counter++));
                v.put("flag", Integer.toString(firstFlag + k));
                v.put("intervention", f == 0 || f == 5 || f == 25 ? "1" : "0");
                v.put("hatch", Float.toString(q.inputs[f * 3 + 2]));
                v.put("load_in", Float.toString(q.inputs[f * 3]));
                v.put("load_out", Float.toString(q.inputs[f * 3 + 1]));
                v.put("rpm_in", String.format(Locale.ROOT, "%.6f", q.obs[f * 3] * 30 / Math.PI));
                v.put("rpm_out", String.format(Locale.ROOT, "%.6f", q.obs[f * 3 + 1] * 30 / Math.PI));
                double amb = 96000 + 3.25 * k + 0.01 * f;
                v.put("pressure_ambient", String.format(Locale.ROOT, "%.4f", amb));
                v.put("pressure_downwind", String.format(Locale.ROOT, "%.4f", amb + q.obs[f * 3 + 2]));
                v.put("pressure_upwind", String.format(Locale.ROOT, "%.4f", amb - 1.5));
                v.put("pressure_intake", String.format(Locale.ROOT, "%.4f", amb + 0.5));
                v.put("osr_downwind", "4");
                v.put("v_in", "1.1");
                v.put("v_out", "1.1");
                v.put("current_in", "-9999");  // the firmware's missing value in an unused column is ignored
                v.put("mic", "5.12");
                List<String> row = new ArrayList<>();
                for (String c : ChambersWindTunnel.COLUMNS) row.add(v.get(c));
                lines.add(String.join(",", row));
            }
        }
        return lines;
    }

    static Path write(Path folder, String name, List<String> lines) throws IOException {
        Files.createDirectories(folder);
        Path f = folder.resolve(name);
        Files.write(f, lines);
        return f;
    }

    @Test
    void readsTheChambersLayoutIntoTheSimulatorsNumbers(@TempDir Path root) throws IOException {
        List<Impulse> imps = impulses(3);
        Path folder = root.resolve("wt_intake_impulse_v1");
        write(folder, "load_out_0.5_osr_downwind_4.csv", csv(imps.subList(0, 5), 0));
        write(folder, "load_out_1_osr_downwind_4.csv", csv(imps.subList(5, 8), 0));
        Files.writeString(folder.resolve("README.txt"), "not data");
        assertTrue(ChambersWindTunnel.isPublishedLayout(root));
        assertTrue(WindTunnelTask.INSTANCE.isPublishedLayout(folder));
        assertFalse(ChambersWindTunnel.isPublishedLayout(root.resolve("wt_intake_impulse_v1").resolve("..").resolve("nothing")));

        Dataset d = WindTunnelTask.INSTANCE.readPublished(root, 42);
        assertEquals("causal-chambers", d.manifest().get("format"));
        assertEquals("wind-tunnel", d.manifest().get("task"));
        assertEquals(List.of("wt_intake_impulse_v1/load_out_0.5_osr_downwind_4.csv",
                "wt_intake_impulse_v1/load_out_1_osr_downwind_4.csv"), d.manifest().get("source_files"));
        // 8 impulses: 4 / 2 / 2 (60 / 20 / 20 rounded, valid and test at least one)
        assertEquals(4, d.arrays().get("train_obs").dim(0));
        assertEquals(2, d.arrays().get("valid_obs").dim(0));
        assertEquals(2, d.arrays().get("test_times").dim(0));
        // the task accepts the arrays
        WindTunnelTask.INSTANCE.splits(d, root);

        // every impulse comes back once, in the task's units, matched by its hatch
        Map<Float, Impulse> byHatch = new HashMap<>();
        for (Impulse q : imps) byHatch.put(q.inputs[2], q);
        int seen = 0;
        for (String s : new String[]{"train", "valid", "test"}) {
            NdArray o = d.arrays().get(s + "_obs"), in = d.arrays().get(s + "_inputs"), t = d.arrays().get(s + "_times");
            for (int i = 0; i < o.dim(0); i++) {
                Impulse q = byHatch.remove(in.data()[i * F * 3 + 2]);
                assertTrue(q != null, s + " impulse " + i + " matches a simulated one");
                seen++;
                for (int f = 0; f < F; f++) {
                    for (int c = 0; c < 3; c++) {
                        assertEquals(q.inputs[f * 3 + c], in.data()[(i * F + f) * 3 + c]);
                        double tol = c < 2 ? 1e-4 : 2e-3;
                        assertEquals(q.obs[f * 3 + c], o.data()[(i * F + f) * 3 + c], tol, s + " " + i + " " + f + " " + c);
                    }
                    assertEquals(q.times[f], t.data()[i * F + f], 2e-5);
                }
            }
        }
        assertEquals(8, seen);

        // --data at the folder itself: the same arrays; another split seed: another split of the same impulses
        Dataset same = WindTunnelTask.INSTANCE.readPublished(folder, 42);
        assertEquals(d.arrays(), same.arrays());
        assertEquals(List.of("load_out_0.5_osr_downwind_4.csv", "load_out_1_osr_downwind_4.csv"),
                same.manifest().get("source_files"));
        Dataset other = WindTunnelTask.INSTANCE.readPublished(root, 43);
        assertFalse(d.arrays().get("train_obs").equals(other.arrays().get("train_obs")));
    }

    /** Writes one experiment with three impulses, changed by edit (lines indexed from 0 = line 1), and reads it. */
    static DataException bad(Path root, Consumer<List<String>> edit) throws IOException {
        List<String> lines = csv(impulses(5).subList(0, 3), 10);
        edit.accept(lines);
        write(root.resolve("wt_intake_impulse_v1"), "load_out_0.5_osr_downwind_4.csv", lines);
        return assertThrows(DataException.class, () -> ChambersWindTunnel.read(root, 1));
    }

    static void mentions(DataException e, String... parts) {
        for (String p : parts) assertTrue(e.getMessage().contains(p), "'" + e.getMessage() + "' should mention " + p);
    }

    static List<String> cells(String line) {
        return new ArrayList<>(List.of(line.split(",", -1)));
    }

    static void setCell(List<String> lines, int lineNo, String column, String value) {
        List<String> c = cells(lines.get(lineNo - 1));
        c.set(ChambersWindTunnel.COLUMNS.indexOf(column), value);
        lines.set(lineNo - 1, String.join(",", c));
    }

    @Test
    void missingColumnNamesFileLineAndColumn(@TempDir Path root) throws IOException {
        int drop = ChambersWindTunnel.COLUMNS.indexOf("rpm_out");
        DataException e = bad(root, lines -> {
            for (int i = 0; i < lines.size(); i++) {
                List<String> c = cells(lines.get(i));
                c.remove(drop);
                lines.set(i, String.join(",", c));
            }
        });
        mentions(e, "load_out_0.5_osr_downwind_4.csv", "line 1", "'rpm_out'");
    }

    @Test
    void nonNumericCellNamesFileLineAndColumn(@TempDir Path root) throws IOException {
        DataException e = bad(root, lines -> setCell(lines, 7, "rpm_in", "fast"));
        mentions(e, "load_out_0.5_osr_downwind_4.csv", "line 7", "'rpm_in'", "'fast' is not a number");
    }

    @Test
    void firmwareMissingValueNamesFileLineAndColumn(@TempDir Path root) throws IOException {
        DataException e = bad(root, lines -> setCell(lines, 60, "pressure_downwind", "-9999"));
        mentions(e, "load_out_0.5_osr_downwind_4.csv", "line 60", "'pressure_downwind'", "-9999");
    }

    @Test
    void shortImpulseNamesFileLineAndFlag(@TempDir Path root) throws IOException {
        // impulse 11 is lines 52..101; drop its last row
        DataException e = bad(root, lines -> lines.remove(100));
        mentions(e, "load_out_0.5_osr_downwind_4.csv", "line 52", "'flag'", "impulse 11", "49 rows");
    }

    @Test
    void longImpulseNamesFileLineAndFlag(@TempDir Path root) throws IOException {
        // a 51st row of impulse 10 (lines 2..51) after its last
        DataException e = bad(root, lines -> {
            List<String> c = cells(lines.get(50));
            c.set(0, String.format(Locale.ROOT, "%.6f", Double.parseDouble(c.get(0)) + 0.1));
            lines.add(51, String.join(",", c));
        });
        mentions(e, "load_out_0.5_osr_downwind_4.csv", "line 52", "'flag'", "impulse 10", "more than 50 rows");
    }

    @Test
    void timeGoingBackNamesFileLineAndColumn(@TempDir Path root) throws IOException {
        DataException e = bad(root, lines -> setCell(lines, 9, "timestamp", "1711359000.0"));
        mentions(e, "load_out_0.5_osr_downwind_4.csv", "line 9", "'timestamp'");
    }

    @Test
    void rowWithTooFewFieldsNamesFileAndLine(@TempDir Path root) throws IOException {
        DataException e = bad(root, lines -> lines.set(3, lines.get(3).substring(0, lines.get(3).lastIndexOf(','))));
        mentions(e, "load_out_0.5_osr_downwind_4.csv", "line 4", "36 fields", "37");
    }

    /** A line past the limit is refused by number as it is read (a file without line breaks is never read whole). */
    @Test
    void anOverlongLineIsRefusedByItsNumber(@TempDir Path root) throws IOException {
        DataException e = bad(root, l -> l.set(3, l.get(3) + "9".repeat(ChambersWindTunnel.MAX_LINE)));
        mentions(e, "load_out_0.5_osr_downwind_4.csv", "line 4", "longer than " + ChambersWindTunnel.MAX_LINE);
        // exactly the limit is a line like any other (its last cell padded with leading zeros)
        List<String> lines = csv(impulses(5).subList(0, 3), 10);
        String line = lines.get(3);
        int cut = line.lastIndexOf(',') + 1;
        lines.set(3, line.substring(0, cut) + "0".repeat(ChambersWindTunnel.MAX_LINE - line.length()) + line.substring(cut));
        assertEquals(ChambersWindTunnel.MAX_LINE, lines.get(3).length());
        Path ok = root.resolve("exact");
        write(ok.resolve("wt_intake_impulse_v1"), "load_out_0.5_osr_downwind_4.csv", lines);
        Dataset d = ChambersWindTunnel.read(ok, 1);
        assertEquals(3, d.arrays().entrySet().stream().filter(a -> a.getKey().endsWith("_obs"))
                .mapToInt(a -> a.getValue().shape()[0]).sum(), "the three impulses, over the splits");
    }

    @Test
    void noCsvFileIsAnError(@TempDir Path root) throws IOException {
        Files.createDirectories(root.resolve("wt_intake_impulse_v1"));
        DataException e = assertThrows(DataException.class, () -> ChambersWindTunnel.read(root, 1));
        mentions(e, root.resolve("wt_intake_impulse_v1").toString(), "no .csv file");
        assertFalse(ChambersWindTunnel.isPublishedLayout(root));
        DataException none = assertThrows(DataException.class, () -> ChambersWindTunnel.read(root.resolve("wt_intake_impulse_v1").resolve("x"), 1));
        mentions(none, "no wt_intake_impulse_v1 folder");
    }
}
