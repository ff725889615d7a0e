package hybridsam.tasks;

import hybridsam.model.ScientificModel;
import hybridsam.model.ThetaSpec;

import java.util.List;

/**
 * Diffusion of two species on an H × W grid, (U_t, V_t) = (a ΔU, b ΔV), with θ = (a, b) on a
 * log-scale box [1e-4, 1e-2]. Δ is the five-point Laplacian with mesh step dx and Neumann
 * boundaries written as edge replication: a neighbour outside the grid takes the edge cell's
 * value. State component ch·H·W + y·W + x holds species ch (0 = U, 1 = V) at cell (y, x).
 */
public final class ReactionDiffusionModel implements ScientificModel {
    private static final ThetaSpec THETA = new ThetaSpec(List.of("a", "b"), new double[]{1e-4, 1e-4},
            new double[]{1e-2, 1e-2}, new boolean[]{true, true});

    private final int height, width;
    private final double dx;

    public ReactionDiffusionModel(int height, int width, double dx) {
        if (height < 1 || width < 1) throw new IllegalArgumentException("grid must be at least 1 x 1");
        if (!(dx > 0) || !Double.isFinite(dx)) throw new IllegalArgumentException("mesh step must be positive, got " + dx);
        this.height = height;
        this.width = width;
        this.dx = dx;
    }

    /** The grid spanning [−1, 1] along its width: dx = 2 / (W − 1) (tasks.md). */
    public static ReactionDiffusionModel onUnitSquare(int height, int width) {
        return new ReactionDiffusionModel(height, width, 2.0 / Math.max(1, width - 1));
    }

    public int height() {
        return height;
    }

    public int width() {
        return width;
    }

    public double dx() {
        return dx;
    }

    @Override
    public int stateDim() {
        return 2 * height * width;
    }

    @Override
    public ThetaSpec theta() {
        return THETA;
    }

    /** Index of the cell next to (y, x) in the given direction, clamped to the grid (edge replication). */
    private int cell(int y, int x) {
        return Math.min(Math.max(y, 0), height - 1) * width + Math.min(Math.max(x, 0), width - 1);
    }

    @Override
    public void field(float[] z, int zOff, int C, double[] theta, float[] out, int outOff) {
        int cells = height * width;
        for (int ch = 0; ch < 2; ch++) {
            float coef = (float) (theta[ch] / (dx * dx));
            int base = ch * cells;
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    int o = (base + y * width + x) * C;
                    int up = zOff + (base + cell(y - 1, x)) * C, down = zOff + (base + cell(y + 1, x)) * C;
                    int left = zOff + (base + cell(y, x - 1)) * C, right = zOff + (base + cell(y, x + 1)) * C;
                    int mid = zOff + o;
                    for (int c = 0; c < C; c++) {
                        out[outOff + o + c] = coef * (z[up + c] + z[down + c] + z[left + c] + z[right + c] - 4f * z[mid + c]);
                    }
                }
            }
        }
    }

    @Override
    public void vjp(float[] z, int zOff, int C, double[] theta, float[] g, int gOff,
                    float[] gz, int gzOff, double[] gTheta) {
        int cells = height * width;
        double inv = 1.0 / (dx * dx);
        for (int ch = 0; ch < 2; ch++) {
            float coef = (float) (theta[ch] * inv);
            int base = ch * cells;
            double gt = 0;
            for (int y = 0; y < height; y++) {
                for (int x = 0; x < width; x++) {
                    int o = (base + y * width + x) * C;
                    int up = (base + cell(y - 1, x)) * C, down = (base + cell(y + 1, x)) * C;
                    int left = (base + cell(y, x - 1)) * C, right = (base + cell(y, x + 1)) * C;
                    for (int c = 0; c < C; c++) {
                        float gc = g[gOff + o + c], w = coef * gc;
                        // the transpose of the stencil: each neighbour read (clamped) receives coef·g
                        gz[gzOff + up + c] += w;
                        gz[gzOff + down + c] += w;
                        gz[gzOff + left + c] += w;
                        gz[gzOff + right + c] += w;
                        gz[gzOff + o + c] -= 4f * w;
                        float lap = z[zOff + up + c] + z[zOff + down + c] + z[zOff + left + c] + z[zOff + right + c]
                                - 4f * z[zOff + o + c];
                        gt += (double) gc * lap;
                    }
                }
            }
            gTheta[ch] += gt * inv;
        }
    }
}
