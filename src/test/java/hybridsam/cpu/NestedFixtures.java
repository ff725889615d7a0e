package hybridsam.cpu;

import hybridsam.model.Activation;
import hybridsam.model.ImageSequences;
import hybridsam.model.MlpShape;
import hybridsam.model.NestedHybrid;
import hybridsam.model.OdeHybrid;
import hybridsam.tasks.PendulumModel;

import java.util.SplittableRandom;

/** Small nested hybrids (pendulum ODE, tiny encoder and decoder) and random image sequences for the CPU tests. */
final class NestedFixtures {
    private NestedFixtures() {
    }

    /** Pendulum with a 2-8-2 corrector (RK4 step 0.1, 2 steps a frame), encoder 3·H·W → hidden → 2, decoder 2 → hidden → H·W. */
    static NestedHybrid nested(Activation act, int height, int width, int hidden) {
        OdeHybrid ode = Fixtures.hybrid(new PendulumModel(), act, 8);
        int px = height * width;
        return new NestedHybrid(ode, new MlpShape(new int[]{NestedHybrid.ENCODER_FRAMES * px, hidden, 2}, act),
                new MlpShape(new int[]{2, hidden, px}, act), NestedHybrid.ENCODER_FRAMES, height, width);
    }

    /** K replicas: u uniform in ±0.5, every network at its seeded default initialization. */
    static float[] params(NestedHybrid m, int K, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        int P = m.parameterCount();
        float[] p = new float[K * P];
        for (int r = 0; r < K; r++) {
            for (int i = 0; i < m.thetaCount(); i++) p[r * P + i] = (float) (rng.nextDouble() - 0.5);
            m.initializeNetworks(p, r * P, rng);
        }
        return p;
    }

    /** n sequences of the given frames, pixels uniform in [0, 1], frames 0.2 apart (the fixture's RK4 step × 2). */
    static ImageSequences images(int n, int frames, int height, int width, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] img = new float[n * frames * height * width];
        for (int i = 0; i < img.length; i++) img[i] = (float) rng.nextDouble();
        return new ImageSequences(img, n, frames, height, width, 0.2);
    }

    static int[] range(int n) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) a[i] = i;
        return a;
    }
}
