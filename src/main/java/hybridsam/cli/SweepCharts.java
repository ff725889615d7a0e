package hybridsam.cli;

import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.CategoryStyler;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.BasicStroke;
import java.awt.Color;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The charts of {@code hybridsam sweep} (sweep-theta.png, sweep-mse.png), drawn with XChart like
 * {@link PlotCharts}: one chart per task, stacked vertically, each {@link Plots#WIDTH} ×
 * {@link Plots#HEIGHT}. Where a ρ list was swept, the quantity against ρ (log axis): one line per
 * method of the ρ family (and its other hyperparameters) through the medians over seeds, with
 * q1–q3 bars, and the other methods (erm, l2) as horizontal lines at their medians (the paper's
 * sensitivity figure); otherwise one category per cell, each seed's value a point and the median
 * a marker. Only {@link Sweep} calls this class, inside {@link Plots#drawMarked}:
 * whatever fails here (fonts, a runtime without java.desktop) skips the charts, never the sweep.
 */
final class SweepCharts {
    static {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    private SweepCharts() {
    }

    /**
     * One cell of a task: its method, its label ("fsam ρ=0.05"), its label without ρ (the line it
     * belongs to), its ρ (null: not on the ρ axis) and the values of its seeds that did not
     * diverge.
     */
    record Cell(String method, String label, String line, Double rho, double[] values) {
    }

    /** One task's chart: the quantity drawn ("θ error"), on a log scale or not, against ρ or per cell. */
    record Panel(String task, String quantity, boolean logY, boolean rhoAxis, List<Cell> cells) {
        /** Whether nothing would be drawn (no value, or on a log scale none positive). */
        boolean empty() {
            for (Cell c : cells) for (double v : c.values()) if (drawable(v, logY)) return false;
            return true;
        }
    }

    private static final BasicStroke BAR = new BasicStroke(1.2f);

    /** The panels' charts stacked vertically, as PNG bytes. */
    static byte[] draw(List<Panel> panels) {
        List<org.knowm.xchart.internal.chartpart.Chart<?, ?>> charts = new ArrayList<>();
        for (Panel p : panels) charts.add(p.rhoAxis() && p.cells().stream().anyMatch(c -> c.rho() != null) ? againstRho(p) : perCell(p));
        return PlotCharts.png(charts);
    }

    private static boolean drawable(double v, boolean log) {
        return log ? PlotCharts.positive(v) : Double.isFinite(v);
    }

    /** The values that can be drawn (finite; on a log scale positive). */
    private static double[] drawable(double[] values, boolean log) {
        return java.util.Arrays.stream(values).filter(v -> drawable(v, log)).toArray();
    }

    /** median, q1, q3 of values (ReplicaSummary's statistics). */
    private static double[] quartiles(double[] values) {
        Map<String, Object> s = ReplicaSummary.stats(values);
        return new double[] {(double) s.get("median"), (double) s.get("q1"), (double) s.get("q3")};
    }

    /** The quantity against ρ: lines through the ρ family's medians with q1–q3 bars; the other methods' medians as levels. */
    private static XYChart againstRho(Panel p) {
        XYChart c = chart(p.task() + ": " + p.quantity() + " against \u03c1 (median over seeds, bars q1\u2013q3)",
                "\u03c1 (log scale)", p.quantity() + (p.logY() ? " (log scale)" : ""));
        c.getStyler().setXAxisLogarithmic(true);
        c.getStyler().setXAxisLogarithmicDecadeOnly(false);
        c.getStyler().setYAxisLogarithmic(p.logY());
        double lo = Double.POSITIVE_INFINITY, hi = 0;
        for (Cell cell : p.cells()) {
            if (cell.rho() != null && cell.rho() > 0) {
                lo = Math.min(lo, cell.rho());
                hi = Math.max(hi, cell.rho());
            }
        }
        if (!(lo <= hi)) throw new IllegalArgumentException("no positive \u03c1 to draw on a log axis");
        double x0 = lo / 1.5, x1 = hi * 1.5;
        c.getStyler().setXAxisMin(x0);
        c.getStyler().setXAxisMax(x1);
        // the lines: each method of the ρ family with its other values, through its medians at each ρ
        Map<String, TreeMap<Double, double[]>> lines = new LinkedHashMap<>();
        for (Cell cell : p.cells()) {
            if (cell.rho() == null || !(cell.rho() > 0)) continue;
            double[] v = drawable(cell.values(), p.logY());
            if (v.length == 0) continue;
            lines.computeIfAbsent(cell.line(), k -> new TreeMap<>()).put(cell.rho(), quartiles(v));
        }
        int colour = 0;
        for (Map.Entry<String, TreeMap<Double, double[]>> line : lines.entrySet()) {
            Color col = PlotCharts.PALETTE[colour++ % PlotCharts.PALETTE.length];
            List<Double> xs = new ArrayList<>(), ys = new ArrayList<>();
            for (Map.Entry<Double, double[]> pt : line.getValue().entrySet()) {
                xs.add(pt.getKey());
                ys.add(pt.getValue()[0]);
                bar(c, pt.getKey(), pt.getValue()[1], pt.getValue()[2], col);
            }
            XYSeries s = c.addSeries(PlotCharts.unique(c, line.getKey() + " (median)"), xs, ys);
            s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
            s.setLineColor(col);
            s.setLineStyle(PlotCharts.SOLID);
            s.setMarker(SeriesMarkers.CIRCLE);
            s.setMarkerColor(col);
        }
        // the other methods (erm, l2): horizontal lines at their medians over the ρ span
        for (Cell cell : p.cells()) {
            if (cell.rho() != null) continue;
            double[] v = drawable(cell.values(), p.logY());
            if (v.length == 0) continue;
            Color col = PlotCharts.PALETTE[colour++ % PlotCharts.PALETTE.length];
            double m = quartiles(v)[0];
            XYSeries s = c.addSeries(PlotCharts.unique(c, cell.label() + " (median)"), new double[] {x0, x1}, new double[] {m, m});
            s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
            s.setLineColor(col);
            s.setLineStyle(PlotCharts.DASHED);
            s.setMarker(SeriesMarkers.NONE);
        }
        PlotCharts.placeLegend(c, p.logY());
        return c;
    }

    /**
     * One category per cell: each seed's value a point (the seeds side by side, in the order of
     * the sweep's seeds), the median a black diamond.
     */
    private static CategoryChart perCell(Panel p) {
        CategoryChart c = new CategoryChartBuilder().width(Plots.WIDTH).height(Plots.HEIGHT)
                .title(p.task() + ": " + p.quantity() + " per cell (each seed, and the median over seeds)")
                .xAxisTitle("cell").yAxisTitle(p.quantity() + (p.logY() ? " (log scale)" : "")).build();
        CategoryStyler st = c.getStyler();
        PlotCharts.style(st);
        st.setDefaultSeriesRenderStyle(CategorySeries.CategorySeriesRenderStyle.Scatter);
        st.setYAxisLogarithmic(p.logY());
        List<String> labels = p.cells().stream().map(Cell::label).toList();
        // labels side by side where they fit (about 7 pixels a character), else slanted, else upright
        int n = labels.size(), longest = labels.stream().mapToInt(String::length).max().orElse(0);
        double room = (Plots.WIDTH - 100.0) / Math.max(n, 1);
        st.setXAxisLabelRotation(longest * 7 <= room ? 0 : n <= 8 ? 30 : 90);
        int seeds = p.cells().stream().mapToInt(x -> x.values().length).max().orElse(0);
        Color seedColour = new Color(31, 119, 180, 190);
        for (int k = 0; k < seeds; k++) {
            List<Double> y = new ArrayList<>();
            for (Cell cell : p.cells()) {
                double v = k < cell.values().length ? cell.values()[k] : Double.NaN;
                y.add(drawable(v, p.logY()) ? v : null);
            }
            if (y.stream().allMatch(java.util.Objects::isNull)) continue;
            CategorySeries s = c.addSeries(c.getSeriesMap().isEmpty() ? "each seed" : "seed #" + k, labels, y);
            s.setMarker(SeriesMarkers.CIRCLE);
            s.setMarkerColor(seedColour);
            s.setShowInLegend(c.getSeriesMap().size() == 1);
        }
        List<Double> med = new ArrayList<>();
        for (Cell cell : p.cells()) {
            double[] v = drawable(cell.values(), p.logY());
            med.add(v.length == 0 ? null : quartiles(v)[0]);
        }
        CategorySeries m = c.addSeries("median", labels, med);
        m.setMarker(SeriesMarkers.DIAMOND);
        m.setMarkerColor(Color.BLACK);
        return c;
    }

    /** A vertical bar from lo to hi at x, left out of the legend. */
    private static void bar(XYChart c, double x, double lo, double hi, Color col) {
        if (!(hi > lo)) return;
        XYSeries s = c.addSeries(PlotCharts.unique(c, "q1-q3 " + x), new double[] {x, x}, new double[] {lo, hi});
        s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
        s.setLineColor(col);
        s.setLineStyle(BAR);
        s.setMarker(SeriesMarkers.NONE);
        s.setShowInLegend(false);
    }

    private static XYChart chart(String title, String xTitle, String yTitle) {
        XYChart c = new XYChartBuilder().width(Plots.WIDTH).height(Plots.HEIGHT).title(title).xAxisTitle(xTitle).yAxisTitle(yTitle).build();
        PlotCharts.style(c.getStyler());
        return c;
    }
}
