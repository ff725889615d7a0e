package hybridsam.cli;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The charts of {@link Plots}, drawn with XChart (Java2D, headless) and encoded as PNG by its
 * BitmapEncoder. Only {@link Plots} calls this class, inside its guard: whatever fails here (fonts,
 * a runtime without java.desktop) skips a plot, never a run.
 */
final class PlotCharts {
    static {
        // no window system is used or needed; set before anything asks AWT
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    /** Above this many replicas the legend would crowd the chart: it is left out and the title says what is drawn. */
    static final int LEGEND_MAX_REPLICAS = 8;

    /** Replica colours (cycled); θ* black, θ_mn grey. */
    static final Color[] PALETTE = {
        new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0xff7f0e), new Color(0x9467bd),
        new Color(0x8c564b), new Color(0xe377c2), new Color(0x17becf), new Color(0xbcbd22), new Color(0x7f7f7f)};
    static final Color STAR = Color.BLACK, MN = new Color(0x888888);
    static final BasicStroke SOLID = new BasicStroke(1.6f), DASHED = new BasicStroke(1.4f, BasicStroke.CAP_BUTT,
            BasicStroke.JOIN_MITER, 10f, new float[] {6f, 4f}, 0f), DOTTED = new BasicStroke(1.6f, BasicStroke.CAP_ROUND,
            BasicStroke.JOIN_ROUND, 10f, new float[] {1f, 4f}, 0f);

    private PlotCharts() {
    }

    private static Color color(RunResults.Replica r) {
        return PALETTE[r.index() % PALETTE.length];
    }

    /** loss.png: training loss (dashed) and validation MSE (solid) per epoch, log scale, each replica's best epoch marked. */
    static byte[] loss(RunResults run) {
        int K = run.replicas().size();
        boolean legend = K <= LEGEND_MAX_REPLICAS;
        XYChart c = chart(run.task() + ": training loss and validation MSE per epoch"
                        + (K > 1 ? " (" + K + " replicas" + (legend ? "" : "; dashed: training loss, solid: validation MSE") + ")" : ""),
                "loss (log scale)", legend);
        c.getStyler().setYAxisLogarithmic(true);
        List<Double> bestX = new ArrayList<>(), bestY = new ArrayList<>();
        boolean any = false;
        for (RunResults.Replica r : run.replicas()) {
            String suffix = r.label().isEmpty() ? "" : ", " + r.label();
            any |= line(c, "training loss" + suffix, r.epochs(), r.trainLoss(), color(r), DASHED, true);
            any |= line(c, "validation MSE" + suffix, r.epochs(), r.validMse(), color(r), SOLID, true);
            for (int e = 0; e < r.epochs().length; e++) {
                if (r.epochs()[e] == r.bestEpoch() && positive(r.validMse()[e])) {
                    bestX.add(r.epochs()[e]);
                    bestY.add(r.validMse()[e]);
                }
            }
        }
        if (!any) throw new IllegalArgumentException("no positive, finite loss in any epoch's history to draw on a log scale");
        if (!bestX.isEmpty()) {
            String name = K == 1 ? "best epoch (" + run.replicas().get(0).bestEpoch() + ")" : "best epoch (by validation MSE)";
            markers(c, name, bestX, bestY);
        }
        placeLegend(c, true);
        return png(List.of(c));
    }

    /**
     * theta.png: θ per epoch, one chart per component, θ* and θ_mn as horizontal lines where
     * known; for a θ known only up to scale (light-tunnel) with its cosine in the history, one
     * chart of cos(θ, θ*) per epoch instead.
     */
    static byte[] theta(RunResults run) {
        int K = run.replicas().size();
        boolean legend = K <= LEGEND_MAX_REPLICAS;
        String replicas = K > 1 ? " (" + K + " replicas)" : "";
        List<XYChart> charts = new ArrayList<>();
        double[] span = epochSpan(run);
        if (run.cosine()) {
            XYChart c = chart(run.task() + ": cos(\u03b8, \u03b8*) per epoch (\u03b8 is identifiable up to scale)" + replicas,
                    "cos(\u03b8, \u03b8*)", legend);
            for (RunResults.Replica r : run.replicas()) {
                line(c, r.label().isEmpty() ? "cos(\u03b8, \u03b8*)" : r.label(), r.epochs(), r.thetaCosine(), color(r), SOLID, false);
            }
            best(c, run, r -> r.thetaCosine());
            level(c, "\u03b8* (cosine 1)", span, 1.0, STAR, DASHED);
            if (run.thetaMn() != null && run.thetaStar() != null) {
                double cm = hybridsam.train.Trainer.thetaCosine(run.thetaMn(), run.thetaStar());
                if (Double.isFinite(cm)) level(c, "\u03b8_mn (cosine " + fmt(cm) + ")", span, cm, MN, DOTTED);
            }
            placeLegend(c, false);
            charts.add(c);
        } else {
            List<String> names = run.thetaNames();
            for (int i = 0; i < names.size(); i++) {
                final int comp = i;
                String name = names.get(i);
                XYChart c = chart(run.task() + ": " + name + " per epoch" + (names.size() > 1 ? " (\u03b8[" + i + "])" : "") + replicas,
                        name, legend);
                for (RunResults.Replica r : run.replicas()) {
                    double[] y = new double[r.epochs().length];
                    for (int e = 0; e < y.length; e++) y[e] = r.theta()[e][comp];
                    line(c, r.label().isEmpty() ? name : r.label(), r.epochs(), y, color(r), SOLID, false);
                }
                best(c, run, r -> {
                    double[] y = new double[r.epochs().length];
                    for (int e = 0; e < y.length; e++) y[e] = r.theta()[e][comp];
                    return y;
                });
                if (run.thetaStar() != null) level(c, "\u03b8* = " + fmt(run.thetaStar()[i]), span, run.thetaStar()[i], STAR, DASHED);
                if (run.thetaMn() != null) level(c, "\u03b8_mn = " + fmt(run.thetaMn()[i]), span, run.thetaMn()[i], MN, DOTTED);
                placeLegend(c, false);
                charts.add(c);
            }
        }
        return png(charts);
    }

    // ---------------------------------------------------------------- building blocks

    /** The look every hybridsam chart shares (run plots and sweep charts): white, light grid, legend top right. */
    static void style(org.knowm.xchart.style.AxesChartStyler s) {
        s.setLocale(Locale.ROOT);
        s.setChartBackgroundColor(Color.WHITE);
        s.setPlotBackgroundColor(Color.WHITE);
        s.setPlotGridLinesColor(new Color(0xe0e0e0));
        s.setPlotBorderColor(new Color(0x999999));
        s.setLegendPosition(Styler.LegendPosition.InsideNE);
        s.setLegendBackgroundColor(new Color(255, 255, 255, 210));
        s.setLegendBorderColor(new Color(0xcccccc));
        s.setMarkerSize(7);
        s.setAntiAlias(true);
        s.setYAxisLogarithmicDecadeOnly(false);
    }

    private static XYChart chart(String title, String yTitle, boolean legend) {
        XYChart c = new XYChartBuilder().width(Plots.WIDTH).height(Plots.HEIGHT).title(title).xAxisTitle("epoch").yAxisTitle(yTitle).build();
        XYStyler s = c.getStyler();
        style(s);
        s.setLegendVisible(legend);
        s.setXAxisDecimalPattern("#");
        return c;
    }

    /**
     * Adds a line of the finite points (on a log axis: the positive ones); false when none is left
     * to draw (then nothing is added).
     */
    private static boolean line(XYChart c, String name, double[] x, double[] y, Color color, BasicStroke stroke, boolean log) {
        List<Double> xs = new ArrayList<>(), ys = new ArrayList<>();
        for (int i = 0; i < x.length; i++) {
            if (log ? positive(y[i]) : Double.isFinite(y[i])) {
                xs.add(x[i]);
                ys.add(y[i]);
            }
        }
        if (xs.isEmpty()) return false;
        XYSeries s = c.addSeries(unique(c, name), xs, ys);
        s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
        s.setLineColor(color);
        s.setLineStyle(stroke);
        s.setMarker(SeriesMarkers.NONE);
        return true;
    }

    /** Each replica's value at its best epoch, as one series of markers. */
    private static void best(XYChart c, RunResults run, java.util.function.Function<RunResults.Replica, double[]> values) {
        List<Double> bx = new ArrayList<>(), by = new ArrayList<>();
        for (RunResults.Replica r : run.replicas()) {
            double[] y = values.apply(r);
            for (int e = 0; e < r.epochs().length; e++) {
                if (r.epochs()[e] == r.bestEpoch() && Double.isFinite(y[e])) {
                    bx.add(r.epochs()[e]);
                    by.add(y[e]);
                }
            }
        }
        if (!bx.isEmpty()) markers(c, run.replicas().size() == 1 ? "best epoch (" + run.replicas().get(0).bestEpoch() + ")" : "best epochs", bx, by);
    }

    private static void markers(XYChart c, String name, List<Double> x, List<Double> y) {
        XYSeries s = c.addSeries(unique(c, name), x, y);
        s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        s.setMarker(SeriesMarkers.DIAMOND);
        s.setMarkerColor(Color.BLACK);
    }

    /** A horizontal line at y over the epochs drawn. */
    private static void level(XYChart c, String name, double[] span, double y, Color color, BasicStroke stroke) {
        if (!Double.isFinite(y)) return;
        XYSeries s = c.addSeries(unique(c, name), new double[] {span[0], span[1]}, new double[] {y, y});
        s.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
        s.setLineColor(color);
        s.setLineStyle(stroke);
        s.setMarker(SeriesMarkers.NONE);
    }

    /** The first and last epoch of any replica's history (an epoch's width around a single one). */
    private static double[] epochSpan(RunResults run) {
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (RunResults.Replica r : run.replicas()) {
            for (double e : r.epochs()) {
                lo = Math.min(lo, e);
                hi = Math.max(hi, e);
            }
        }
        if (!(lo <= hi)) return new double[] {0, 1};
        return lo == hi ? new double[] {lo - 0.5, hi + 0.5} : new double[] {lo, hi};
    }

    /**
     * Puts the legend in the plot's corner that the drawn lines cross least (top right, bottom
     * right, top left, bottom left, in that order of preference on a tie): each line is sampled
     * along its segments, in the axes' scale (logY: log10 of y).
     */
    static void placeLegend(XYChart c, boolean logY) {
        List<double[]> pts = new ArrayList<>();
        for (XYSeries s : c.getSeriesMap().values()) {
            double[] x = s.getXData(), y = s.getYData();
            boolean line = s.getXYSeriesRenderStyle() != XYSeries.XYSeriesRenderStyle.Scatter;
            for (int i = 0; i < x.length; i++) {
                double yi = logY ? Math.log10(y[i]) : y[i];
                pts.add(new double[] {x[i], yi});
                if (line && i + 1 < x.length) {
                    double yj = logY ? Math.log10(y[i + 1]) : y[i + 1];
                    for (int k = 1; k < 16; k++) {
                        double t = k / 16.0;
                        pts.add(new double[] {x[i] + t * (x[i + 1] - x[i]), yi + t * (yj - yi)});
                    }
                }
            }
        }
        double x0 = Double.POSITIVE_INFINITY, x1 = Double.NEGATIVE_INFINITY, y0 = Double.POSITIVE_INFINITY, y1 = Double.NEGATIVE_INFINITY;
        for (double[] p : pts) {
            if (!Double.isFinite(p[0]) || !Double.isFinite(p[1])) continue;
            x0 = Math.min(x0, p[0]);
            x1 = Math.max(x1, p[0]);
            y0 = Math.min(y0, p[1]);
            y1 = Math.max(y1, p[1]);
        }
        Styler.LegendPosition[] corners = {Styler.LegendPosition.InsideNE, Styler.LegendPosition.InsideSE,
            Styler.LegendPosition.InsideNW, Styler.LegendPosition.InsideSW};
        int[] count = new int[4];
        double w = Math.max(x1 - x0, 1e-300), h = Math.max(y1 - y0, 1e-300);
        for (double[] p : pts) {
            if (!Double.isFinite(p[0]) || !Double.isFinite(p[1])) continue;
            double u = (p[0] - x0) / w, v = (p[1] - y0) / h;
            boolean right = u > 0.55, left = u < 0.45, top = v > 0.6, bottom = v < 0.4;
            if (right && top) count[0]++;
            if (right && bottom) count[1]++;
            if (left && top) count[2]++;
            if (left && bottom) count[3]++;
        }
        int best = 0;
        for (int i = 1; i < 4; i++) if (count[i] < count[best]) best = i;
        c.getStyler().setLegendPosition(corners[best]);
    }

    /** A series name not yet in the chart (XChart refuses two of one name). */
    static String unique(XYChart c, String name) {
        String n = name;
        for (int i = 2; c.getSeriesMap().containsKey(n); i++) n = name + " (" + i + ")";
        return n;
    }

    static boolean positive(double v) {
        return v > 0 && Double.isFinite(v);
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.4g", v);
    }

    /** The charts stacked vertically, each WIDTH × HEIGHT, as PNG bytes (XChart's BitmapEncoder). */
    static byte[] png(List<? extends org.knowm.xchart.internal.chartpart.Chart<?, ?>> charts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            if (charts.size() == 1) {
                BitmapEncoder.saveBitmap(charts.get(0), out, BitmapEncoder.BitmapFormat.PNG);
            } else {
                BitmapEncoder.saveBitmap(charts, charts.size(), 1, out, BitmapEncoder.BitmapFormat.PNG);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a byte array does not fail
        }
        return out.toByteArray();
    }
}
