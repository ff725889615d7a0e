package hybridsam.tasks;

import hybridsam.model.Activation;
import hybridsam.model.Hybrid;
import hybridsam.model.MlpShape;
import hybridsam.model.ThetaSpec;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The wind tunnel's hybrid: an ODE with inputs for the two fan speeds plus a pressure readout.
 * <pre>
 *   ω_j′ = θ_T g(L_j) − θ_K ω_j² + FAN_SCALE · f_φ(ω_j/ω_max, L_j)         j = in, out (one f_φ for both)
 *   p̂   = C1(ω_in, ω_out) + PRESSURE_SCALE · p_ψ(ω_in/ω_max, ω_out/ω_max, H/45)
 * </pre>
 * integrated by classic RK4, {@link #SUBSTEPS} equal steps between consecutive time stamps with
 * the inputs held at the interval's first sample ({@link WindTunnelModel} has the physics).
 *
 * <p>Parameter layout of one replica: u (θ's two unconstrained coordinates), then the fan MLP
 * (2 → hidden → 1), then the pressure MLP (3 → hidden → 1), each in {@link MlpShape}'s layout.
 *
 * <p>Output scales. The networks' raw outputs start at a few tenths (PyTorch's initialization),
 * so fixed scales set what that means physically. FAN_SCALE = ω_max / 20 ≈ 15.7 rad/s²: the
 * initial correction (a few rad/s²) is small beside the fan's spin-up rate (θ_T g(1) ≈ 149 rad/s²),
 * and the missing friction (c/I) ω, at most ≈ 18 rad/s², is an output of order 1.
 * PRESSURE_SCALE = S_max / 4 ≈ 18.7 Pa: the start is small beside C1's range (± 75 Pa), and what
 * the truth's factor (1 − r(H)) removes, r C1 (at most 0.9 S_max), is an output of a few units.
 */
public record WindTunnelHybrid(MlpShape fan, MlpShape pressure) implements Hybrid {

    /** RK4 steps between two consecutive time stamps. */
    public static final int SUBSTEPS = 4;
    /** Scale of the fan network's output (rad/s²). */
    public static final double FAN_SCALE = WindTunnelModel.OMEGA_MAX / 20;
    /** Scale of the pressure network's output (Pa). */
    public static final double PRESSURE_SCALE = WindTunnelModel.S_MAX / 4;

    public WindTunnelHybrid {
        if (fan.inputs() != 2 || fan.outputs() != 1) throw new IllegalArgumentException("the fan network maps (omega, load) to one value");
        if (pressure.inputs() != 3 || pressure.outputs() != 1) {
            throw new IllegalArgumentException("the pressure network maps (omega_in, omega_out, hatch) to one value");
        }
    }

    /** Both networks with the given hidden widths and activation. */
    public static WindTunnelHybrid of(int[] hidden, Activation activation) {
        return new WindTunnelHybrid(new MlpShape(widths(2, hidden), activation), new MlpShape(widths(3, hidden), activation));
    }

    private static int[] widths(int in, int[] hidden) {
        int[] w = new int[hidden.length + 2];
        w[0] = in;
        System.arraycopy(hidden, 0, w, 1, hidden.length);
        w[w.length - 1] = 1;
        return w;
    }

    @Override
    public ThetaSpec thetaSpec() {
        return WindTunnelModel.THETA;
    }

    /** Offset of the fan MLP within a replica's parameters (= nnOffset). */
    public int fanOffset() {
        return nnOffset();
    }

    /** Offset of the pressure MLP within a replica's parameters. */
    public int pressureOffset() {
        return nnOffset() + fan.parameterCount();
    }

    @Override
    public int parameterCount() {
        return thetaCount() + fan.parameterCount() + pressure.parameterCount();
    }

    /** The fan MLP first, then the pressure MLP, from the same stream. */
    @Override
    public void initializeNetworks(float[] params, int off, SplittableRandom rng) {
        fan.initialize(params, off + fanOffset(), rng);
        pressure.initialize(params, off + pressureOffset(), rng);
    }

    @Override
    public Map<String, Object> describe() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("form", "ode-with-inputs+readout");
        m.put("science", "chamber model A2 per fan (omega' = theta_T g(L) - theta_K omega^2), pressure readout C1");
        m.put("fan_network", fan.describe());
        m.put("fan_network_inputs", "omega/omega_max, load (shared by both fans)");
        m.put("fan_network_scale", FAN_SCALE);
        m.put("fan_network_parameters", fan.parameterCount());
        m.put("pressure_network", pressure.describe());
        m.put("pressure_network_inputs", "omega_in/omega_max, omega_out/omega_max, hatch/45");
        m.put("pressure_network_scale", PRESSURE_SCALE);
        m.put("pressure_network_parameters", pressure.parameterCount());
        m.put("parameters", parameterCount());
        m.put("integrator", "rk4");
        m.put("substeps", SUBSTEPS);
        m.put("inputs_between_samples", "held at the interval's first sample");
        return m;
    }
}
