package hybridsam.cli;

import hybridsam.train.Progress;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;

/**
 * On a terminal: one line redrawn in place with the epoch, a bar, the loss and θ̂. Otherwise
 * (logs, pipes): one line every logEvery epochs.
 */
final class ProgressLine implements Progress {
    private final PrintStream err;
    private final boolean terminal, quiet;
    private final int logEvery;
    private final List<String> thetaNames;
    private final long start = System.nanoTime();
    private long lastDraw;
    private boolean drawn;
    private String lastTheta = "";

    ProgressLine(PrintStream err, boolean terminal, boolean quiet, int logEvery, List<String> thetaNames) {
        this.err = err;
        this.terminal = terminal;
        this.quiet = quiet;
        this.logEvery = Math.max(1, logEvery);
        this.thetaNames = thetaNames;
    }

    @Override
    public void step(int epoch, int step, int stepsPerEpoch, double loss) {
        if (!terminal) return;
        long now = System.nanoTime();
        if (now - lastDraw < 100_000_000L && step < stepsPerEpoch) return;
        lastDraw = now;
        int width = 20, filled = (int) Math.round(width * (double) step / stepsPerEpoch);
        err.printf(Locale.ROOT, "\repoch %d [%s%s] loss %.3e %s %5.0fs ", epoch, "#".repeat(filled),
                ".".repeat(width - filled), loss, lastTheta, (now - start) / 1e9);
        drawn = true;
    }

    @Override
    public void epoch(int epoch, int epochs, double trainLoss, double validMse, double[] theta, double thetaError,
                      double thetaCosine) {
        StringBuilder t = new StringBuilder();
        for (int i = 0; i < theta.length; i++) {
            t.append(i == 0 ? "" : " ").append(thetaNames.get(i)).append('=').append(theta(theta[i]));
        }
        lastTheta = t.toString();
        if (quiet || (epoch % logEvery != 0 && epoch != epochs && epoch != 1)) return;
        finishLine();
        err.printf(Locale.ROOT, "epoch %4d/%d  train %.4e  valid %.4e  %s%s  %.0fs%n", epoch, epochs, trainLoss, validMse, t,
                !Double.isNaN(thetaCosine) ? String.format(Locale.ROOT, "  theta cosine %.4f", thetaCosine)
                        : Double.isNaN(thetaError) ? "" : String.format(Locale.ROOT, "  theta error %.4f", thetaError),
                (System.nanoTime() - start) / 1e9);
    }

    void finishLine() {
        if (drawn) {
            err.print("\r" + " ".repeat(100) + "\r");
            drawn = false;
        }
    }

    /** A θ value for the terminal: four decimals, or four significant digits below 0.01 (reaction-diffusion's a, b). */
    static String theta(double v) {
        return String.format(Locale.ROOT, Math.abs(v) >= 0.01 || v == 0 ? "%.4f" : "%.4g", v);
    }
}
