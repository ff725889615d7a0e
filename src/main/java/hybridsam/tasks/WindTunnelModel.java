package hybridsam.tasks;

import hybridsam.model.ThetaSpec;

import java.util.List;

/**
 * The wind tunnel's physics, as plain static per-sample methods in double precision: the fan
 * model A2 (the scientific model, θ = (T/I, K/I)), the data's truth (A2 plus bearing friction),
 * the downwind-pressure readouts C1 (scientific) and C3 (truth), and the vector-Jacobian products
 * the backends need. Every constant of the task lives here; the simulator, the CPU backend and
 * any later device kernel use (or are checked against) these methods.
 *
 * <p>Source of the models and constants: the Causal Chambers' mechanistic models (Gamella,
 * Peters, Bühlmann, Nature Machine Intelligence 2025, and their {@code causalchamber} package);
 * the friction term is this product's own addition (tasks.md, "wind-tunnel").
 *
 * <p>Units: fan speed ω in rad/s (the chambers' rpm × π/30), loads L in [0, 1], hatch H in
 * degrees [0, 45], pressures in Pa, time in s.
 */
public final class WindTunnelModel {
    private WindTunnelModel() {
    }

    /** Fan rotor inertia I (kg m²). */
    public static final double INERTIA = 3.481e-5;
    /** Torque constant T of A2 (N m). */
    public static final double TORQUE = 0.05;
    /** Drag constant K of A2 (N m s²): τ(1) / ω_max². */
    public static final double DRAG = 5.268701549401565e-8;
    /** Lower clip of the load in τ(L). */
    public static final double LOAD_MIN = 0.1;
    /** Duty-cycle range of the fan driver: τ(L) = T · max(L_min, L)³ · (C_max − C_min). */
    public static final double C_MIN = 0.166, C_MAX = 0.27;
    /** Maximum fan speed: 3000 rpm in rad/s (= 100 π). */
    public static final double OMEGA_MAX = 3000 * Math.PI / 30;
    /** rpm to rad/s. */
    public static final double RPM_TO_RAD = Math.PI / 30;
    /** Maximum downwind pressure difference S_max of C1 / C3 (Pa). */
    public static final double S_MAX = 74.82473949999999;
    /** Largest hatch angle (degrees). */
    public static final double HATCH_MAX = 45;
    /** Linear bearing friction c of the truth (N m s), both fans; not in the chambers' model. */
    public static final double FRICTION = 2e-6;
    /** Tachometer noise of the simulated data (rpm, one standard deviation). */
    public static final double RPM_NOISE = 5;
    /** Barometer noise of the simulated data (Pa, one standard deviation). */
    public static final double PRESSURE_NOISE = 0.2;

    /** θ*_0 = T / I (1/s² per unit of the load factor): about 1436.4. */
    public static final double THETA_TORQUE = TORQUE / INERTIA;
    /** θ*_1 = K / I (1/rad): about 1.5136e-3. */
    public static final double THETA_DRAG = DRAG / INERTIA;
    /** c / I (1/s): the truth's friction rate. */
    public static final double FRICTION_RATE = FRICTION / INERTIA;

    public static final List<String> THETA_NAMES = List.of("torque_per_inertia", "drag_per_inertia");

    /** θ* in the order of {@link #THETA_NAMES}. Do not modify. */
    static final double[] THETA_STAR = {THETA_TORQUE, THETA_DRAG};

    /** θ's box: a decade either side of θ*, log scale (tasks.md). */
    public static final ThetaSpec THETA = new ThetaSpec(THETA_NAMES,
            new double[]{THETA_TORQUE / 10, THETA_DRAG / 10}, new double[]{THETA_TORQUE * 10, THETA_DRAG * 10},
            new boolean[]{true, true});

    public static double[] thetaStar() {
        return THETA_STAR.clone();
    }

    /**
     * The load factor g(L) = max(L_min, L)³ · (C_max − C_min) of τ(L) = T · g(L), and exactly 0 when
     * L = 0 (a fan switched off gets no torque).
     */
    public static double loadFactor(double load) {
        if (load == 0) return 0;
        double l = Math.max(LOAD_MIN, load);
        return l * l * l * (C_MAX - C_MIN);
    }

    /**
     * Chamber model A2 divided by I: ω′ = θ_T · g(L) − θ_K · ω² (rad/s²), with θ_T = T / I and
     * θ_K = K / I. One fan; the load is an input, not a state.
     */
    public static double fanField(double omega, double load, double thetaTorque, double thetaDrag) {
        return thetaTorque * loadFactor(load) - thetaDrag * omega * omega;
    }

    /** ∂ω′/∂ω of {@link #fanField}: −2 θ_K ω. The VJP with respect to the state is g · this. */
    public static double fanFieldDOmega(double omega, double thetaDrag) {
        return -2 * thetaDrag * omega;
    }

    /** ∂ω′/∂θ_T of {@link #fanField}: g(L). */
    public static double fanFieldDTorque(double load) {
        return loadFactor(load);
    }

    /** ∂ω′/∂θ_K of {@link #fanField}: −ω². */
    public static double fanFieldDDrag(double omega) {
        return -omega * omega;
    }

    /**
     * Vector-Jacobian product of {@link #fanField} for one upstream gradient g: returns g · ∂ω′/∂ω
     * and adds g · ∂ω′/∂θ_T, g · ∂ω′/∂θ_K to gTheta[0], gTheta[1].
     */
    public static double fanFieldVjp(double omega, double load, double thetaDrag, double g, double[] gTheta) {
        gTheta[0] += g * fanFieldDTorque(load);
        gTheta[1] += g * fanFieldDDrag(omega);
        return g * fanFieldDOmega(omega, thetaDrag);
    }

    /**
     * The truth's fan field (the simulator's): (τ(L) − K ω² − c ω) / I, i.e. {@link #fanField} at
     * θ* minus the friction rate (c / I) · ω.
     */
    public static double truthFanField(double omega, double load) {
        return fanField(omega, load, THETA_TORQUE, THETA_DRAG) - FRICTION_RATE * omega;
    }

    /**
     * The speed at which {@link #fanField} vanishes: ω_max · max(L, L_min)^1.5 at θ* (0 for L = 0).
     */
    public static double steadySpeed(double load, double thetaTorque, double thetaDrag) {
        return Math.sqrt(thetaTorque * loadFactor(load) / thetaDrag);
    }

    /** The truth's steady speed: the positive root of θ_T g − θ_K ω² − (c / I) ω = 0. */
    public static double truthSteadySpeed(double load) {
        double a = THETA_DRAG, b = FRICTION_RATE, c = THETA_TORQUE * loadFactor(load);
        return (-b + Math.sqrt(b * b + 4 * a * c)) / (2 * a);
    }

    /**
     * Chamber pressure model C1: P_dw − P_amb = S_max · [(ω_in/ω_max)² − (ω_out/ω_max)²] (Pa), the
     * scientific model's readout.
     */
    public static double pressureC1(double omegaIn, double omegaOut) {
        double a = omegaIn / OMEGA_MAX, b = omegaOut / OMEGA_MAX;
        return S_MAX * (a * a - b * b);
    }

    /** ∂C1/∂ω_in = 2 S_max ω_in / ω_max² (Pa s/rad). */
    public static double pressureC1DIn(double omegaIn) {
        return 2 * S_MAX * omegaIn / (OMEGA_MAX * OMEGA_MAX);
    }

    /** ∂C1/∂ω_out = −2 S_max ω_out / ω_max² (Pa s/rad). */
    public static double pressureC1DOut(double omegaOut) {
        return -2 * S_MAX * omegaOut / (OMEGA_MAX * OMEGA_MAX);
    }

    /** The airflow ratio r(H) = min(1, 0.75 + 0.15 · H/45) of model C3, H in degrees. */
    public static double airflowRatio(double hatch) {
        return Math.min(1, 0.75 + 0.15 * hatch / HATCH_MAX);
    }

    /**
     * Chamber pressure model C3 in closed form (the truth's readout): (1 − r(H)) · C1(ω_in, ω_out).
     */
    public static double pressureC3(double omegaIn, double omegaOut, double hatch) {
        return (1 - airflowRatio(hatch)) * pressureC1(omegaIn, omegaOut);
    }
}
