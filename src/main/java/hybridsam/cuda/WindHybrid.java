package hybridsam.cuda;

import hybridsam.model.Hybrid;
import hybridsam.model.MlpShape;
import hybridsam.model.Split;
import hybridsam.model.ThetaSpec;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * What the wind-tunnel gradient program ({@link WindTunnelGradient}) runs (tasks.md, wind-tunnel):
 * two fans, ω_j′ = θ_T g(L_j) − θ_K ω_j² + fanScale · fan(ω_j/ω_max, L_j), integrated by RK4 with
 * substeps equal steps between consecutive time stamps (loads held at the interval's first
 * sample), and the pressure readout C1(ω_in, ω_out) + pScale · pressure(ω_in/ω_max, ω_out/ω_max,
 * H/H_max). θ = (θ_T, θ_K); parameters per replica: u, then the fan MLP, then the pressure MLP
 * (both of one activation). The task's constants come in {@link Constants}; the split is read
 * through samples.
 *
 * <p>It is itself a {@link Hybrid}, so that the engine runs it as it stands (tests, and a task
 * whose model the CUDA backend translates into it).
 */
public record WindHybrid(ThetaSpec theta, MlpShape fan, MlpShape pressure, Constants constants, int substeps,
                         Function<Split, Samples> samples) implements Hybrid {

    /** The task's constants: ω_max (rad/s), S_max (Pa), the largest hatch angle, L_min, C_max − C_min, the networks' output scales. */
    public record Constants(double omegaMax, double sMax, double hatchMax, double loadMin, double cRange, double fanScale,
                            double pressureScale) {
        /** As wind.cu reads them: wc[HS_WT_...] of common.cuh. */
        double[] table() {
            double[] t = new double[KernelConstants.value("HS_WT_N")];
            t[KernelConstants.value("HS_WT_OMEGA_MAX")] = omegaMax;
            t[KernelConstants.value("HS_WT_S_MAX")] = sMax;
            t[KernelConstants.value("HS_WT_HATCH_MAX")] = hatchMax;
            t[KernelConstants.value("HS_WT_LOAD_MIN")] = loadMin;
            t[KernelConstants.value("HS_WT_C_RANGE")] = cRange;
            t[KernelConstants.value("HS_WT_FAN_SCALE")] = fanScale;
            t[KernelConstants.value("HS_WT_P_SCALE")] = pressureScale;
            return t;
        }
    }

    /**
     * A split as the program reads it: obs [count][frames][3] (ω_in, ω_out in rad/s, pressure in
     * Pa), inputs [count][frames][3] (load_in, load_out, hatch in degrees), times [count][frames] (s).
     */
    public record Samples(float[] obs, float[] inputs, float[] times, int count, int frames) implements Split {
    }

    public WindHybrid {
        if (theta.size() != 2) throw new IllegalArgumentException("wind-tunnel's theta is (T/I, K/I), not " + theta.size() + " values");
        if (fan.inputs() != 2 || fan.outputs() != 1 || pressure.inputs() != 3 || pressure.outputs() != 1) {
            throw new IllegalArgumentException("the fan network maps 2 values to 1 and the pressure network 3 to 1");
        }
        if (fan.activation() != pressure.activation()) throw new IllegalArgumentException("both networks take one activation");
        if (substeps < 1) throw new IllegalArgumentException("substeps must be positive");
    }

    @Override
    public ThetaSpec thetaSpec() {
        return theta;
    }

    public int fanOffset() {
        return thetaCount();
    }

    public int pressureOffset() {
        return thetaCount() + fan.parameterCount();
    }

    @Override
    public int parameterCount() {
        return thetaCount() + fan.parameterCount() + pressure.parameterCount();
    }

    @Override
    public void initializeNetworks(float[] params, int off, SplittableRandom rng) {
        fan.initialize(params, off + fanOffset(), rng);
        pressure.initialize(params, off + pressureOffset(), rng);
    }

    @Override
    public Map<String, Object> describe() {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("form", "two fans' ODE with inputs + pressure readout");
        d.put("fan_network", fan.describe());
        d.put("pressure_network", pressure.describe());
        return d;
    }
}
