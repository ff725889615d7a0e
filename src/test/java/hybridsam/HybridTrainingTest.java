package hybridsam;

import hybridsam.model.Activation;
import hybridsam.model.MlpShape;
import hybridsam.model.ScientificModel;
import hybridsam.model.Sequences;
import hybridsam.model.ThetaSpec;
import hybridsam.io.ConfigException;
import hybridsam.train.Method;
import hybridsam.train.Schedule;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A user's own scientific model, trained from Java with nothing else (the README's example). */
class HybridTrainingTest {

    /** The README's example model: an undamped spring x' = v, v' = −k x, with k in [0.1, 5]. */
    static final class Spring implements ScientificModel {
        public int stateDim() {
            return 2;
        }

        public ThetaSpec theta() {
            return ThetaSpec.linear(List.of("k"), new double[]{0.1}, new double[]{5.0});
        }

        // a chunk of C samples, state-major: x of sample c at z[zOff + c], v at z[zOff + C + c]
        public void field(float[] z, int zOff, int C, double[] theta, float[] out, int outOff) {
            for (int c = 0; c < C; c++) {
                out[outOff + c] = z[zOff + C + c];
                out[outOff + C + c] = (float) (-theta[0] * z[zOff + c]);
            }
        }

        // adds (∂f/∂z)ᵀ g to gz and (∂f/∂θ)ᵀ g to gTheta
        public void vjp(float[] z, int zOff, int C, double[] theta, float[] g, int gOff,
                        float[] gz, int gzOff, double[] gTheta) {
            for (int c = 0; c < C; c++) {
                gz[gzOff + c] += (float) (-theta[0] * g[gOff + C + c]);
                gz[gzOff + C + c] += g[gOff + c];
                gTheta[0] -= (double) z[zOff + c] * g[gOff + C + c];
            }
        }
    }

    /** Damped springs with k = 2 and friction 0.3 (what the network has to learn), 0.1 apart. */
    static Sequences springs(int n, int frames, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] obs = new float[n * frames * 2];
        for (int s = 0; s < n; s++) {
            double x = rng.nextDouble(-1, 1), v = rng.nextDouble(-1, 1);
            for (int t = 0; t < frames; t++) {
                obs[(s * frames + t) * 2] = (float) x;
                obs[(s * frames + t) * 2 + 1] = (float) v;
                for (int k = 0; k < 100; k++) {  // Euler at 1e-3: far below the model's step
                    double a = -2 * x - 0.3 * v;
                    x += 1e-3 * v;
                    v += 1e-3 * a;
                }
            }
        }
        return new Sequences(obs, n, frames, 2);
    }

    @Test
    void ownScientificModelTrainsOnTheCpuAndMovesThetaTowardTheTruth() {
        Sequences train = springs(64, 20, 1), valid = springs(16, 20, 2), test = springs(16, 20, 3);
        HybridTraining.Result r = new HybridTraining(new Spring(), new MlpShape(new int[]{2, 16, 16, 2}, Activation.TANH))
                .rk4(0.05, 2).rule(Method.FSAM, 0.05).epochs(40).batch(16).threads(2).thetaStar(2.0)
                .train(train, valid, test);
        double start = Math.abs(2.55 - 2.0);  // θ starts in the middle of its box
        assertTrue(Math.abs(r.theta()[0] - 2.0) < start / 2, "k = " + r.theta()[0]);
        assertTrue(r.testMse() < r.scienceOnlyTestMse(), r.testMse() + " vs science alone " + r.scienceOnlyTestMse());
        assertTrue(r.networkShare() > 0 && r.networkShare() < 1, "share " + r.networkShare());
    }

    /** The schedules' setters: constant ones change nothing, others change the training; each takes only its own schedules. */
    @Test
    void schedulesReachTheTraining() {
        Sequences train = springs(32, 10, 1), valid = springs(8, 10, 2), test = springs(8, 10, 3);
        java.util.function.Supplier<HybridTraining> base = () -> new HybridTraining(new Spring(),
                new MlpShape(new int[]{2, 8, 8, 2}, Activation.TANH)).rk4(0.05, 2).rule(Method.FSAM, 0.05).epochs(5).batch(8).threads(2);
        HybridTraining.Result plain = base.get().train(train, valid, test);
        HybridTraining.Result constant = base.get().lrSchedule(Schedule.CONSTANT).rhoSchedule(Schedule.CONSTANT).train(train, valid, test);
        HybridTraining.Result cosine = base.get().lrSchedule(Schedule.COSINE).train(train, valid, test);
        HybridTraining.Result warmup = base.get().rhoSchedule(Schedule.WARMUP).train(train, valid, test);
        assertEquals(hybridsam.io.Json.write(plain.record()), hybridsam.io.Json.write(constant.record()));
        assertNotEquals(plain.theta()[0], cosine.theta()[0]);
        assertNotEquals(plain.theta()[0], warmup.theta()[0]);
        assertThrows(ConfigException.class, () -> base.get().lrSchedule(Schedule.WARMUP));
        assertThrows(ConfigException.class, () -> base.get().rhoSchedule(Schedule.STEP));
    }
}
