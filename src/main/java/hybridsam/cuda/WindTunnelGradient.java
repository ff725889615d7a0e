package hybridsam.cuda;

import hybridsam.model.MlpShape;
import hybridsam.model.Split;

/**
 * The gradient program of the wind-tunnel hybrid ({@link WindHybrid}): hs_wt_rollout (wind.cu),
 * one thread per (sequence, replica) through both fans' RK4 rollout, the pressure readouts, the
 * loss and the exact reverse pass (each step's stages recomputed from its start, so the tape per
 * thread is small), leaving one gradient row per sequence, which hs_rowsum adds in sequence
 * order; hs_theta_chain carries θ's part onto u. No atomics: a replica's gradient is the same on
 * every run.
 */
public final class WindTunnelGradient implements DeviceGradient {
    /** Threads per block of hs_wt_rollout: one (sequence, replica) each. */
    static final int BLOCK = 64;
    private final Device dev;
    private final WindHybrid model;
    private final StepKernels reduce;
    private final int K, P, act;
    private final DeviceBuffer thetaBox, constants, fanWidths, pressureWidths;
    private DeviceBuffer obs, inputs, times;
    private int count = -1, frames;

    public WindTunnelGradient(DeviceScope scope, WindHybrid model, int K) {
        if (K < 1 || K > 65535) throw new IllegalArgumentException("replicas must lie in [1, 65535] (got " + K + ")");
        this.dev = scope.device();
        this.model = model;
        this.K = K;
        this.P = model.parameterCount();
        this.act = KernelConstants.activation(model.fan().activation());
        this.reduce = StepKernels.rulesOnly(scope, K, P, model.thetaCount());
        double[] box = StepKernels.thetaBox(model.theta());
        thetaBox = scope.doubles(box.length);
        dev.upload(thetaBox, box);
        double[] c = model.constants().table();
        constants = scope.doubles(c.length);
        dev.upload(constants, c);
        fanWidths = widths(scope, model.fan());
        pressureWidths = widths(scope, model.pressure());
    }

    private DeviceBuffer widths(DeviceScope scope, MlpShape mlp) {
        DeviceBuffer b = scope.ints(mlp.widths().length);
        dev.upload(b, mlp.widths());
        return b;
    }

    public WindHybrid model() {
        return model;
    }

    @Override
    public void upload(DeviceScope scope, Split train) {
        WindHybrid.Samples s = model.samples().apply(train);
        long n = (long) s.count() * s.frames();
        if (s.frames() < 2 || s.obs().length != n * 3 || s.inputs().length != n * 3 || s.times().length != n) {
            throw new IllegalArgumentException("wind-tunnel data: expected " + s.count() + " sequences of " + s.frames()
                    + " samples (at least 2) with 3 observed values, 3 inputs and a time each");
        }
        obs = upload(scope, s.obs());
        inputs = upload(scope, s.inputs());
        times = upload(scope, s.times());
        frames = s.frames();
        count = s.count();
    }

    private DeviceBuffer upload(DeviceScope scope, float[] x) {
        DeviceBuffer b = scope.floats(x.length);
        dev.upload(b, x);
        return b;
    }

    @Override
    public int count() {
        if (count < 0) throw new IllegalStateException("the gradient program has no training split: upload one first");
        return count;
    }

    /** Floats of tape per (sequence, replica): hs_wt_tape of wind.cu. */
    static long tapeFloats(WindHybrid m, int frames) {
        int hf = m.fan().hiddenUnits(), hp = m.pressure().hiddenUnits();
        int maxW = Math.max(m.fan().maxWidth(), m.pressure().maxWidth());
        return (long) (frames - 1) * m.substeps() * 2 + (long) frames * 2 + 8 + 8L * hf + hp + 2L * maxW;
    }

    @Override
    public long workspaceFloats(int B) {
        return (long) K * B * tapeFloats(model, frames);
    }

    @Override
    public long gradientRowsFloats(int B) {
        return (long) K * B * P;
    }

    /** 1 / B: sq holds each sequence's loss, and the minibatch's loss is their mean. */
    @Override
    public float lossWeight(int B) {
        return (float) (1.0 / B);
    }

    @Override
    public void gradient(DeviceBuffer params, DeviceBuffer batch, int B, DeviceBuffer ws, DeviceBuffer gs, DeviceBuffer sq,
                         DeviceBuffer grad) {
        if (count < 0) throw new IllegalStateException("the gradient program has no training split: upload one first");
        if (ws.bytes() < 4 * workspaceFloats(B) || gs.bytes() < 4 * gradientRowsFloats(B)) {
            throw new IllegalArgumentException("wind-tunnel workspace too small");
        }
        MlpShape fan = model.fan(), pr = model.pressure();
        dev.launch("hs_wt_rollout", KernelDenseOps.ceil(B, BLOCK), K, 1, BLOCK, 1, 1, 0, KernelArgs.of()
                .i(act).i(fan.layers()).ptr(fanWidths).i(model.fanOffset()).i(pr.layers()).ptr(pressureWidths)
                .i(model.pressureOffset()).ptr(thetaBox).i(P).ptr(params).ptr(constants).ptr(obs).ptr(inputs).ptr(times)
                .i(frames).i(model.substeps()).ptr(batch).i(B).f(lossWeight(B)).ptr(ws).ptr(gs).ptr(sq));
        reduce.rowSum(gs, B, grad, (long) K * P);
        dev.launch("hs_theta_chain", KernelDenseOps.ceil((long) K * model.thetaCount(), 32), 1, 1, 32, 1, 1, 0, KernelArgs.of()
                .i(K).i(model.thetaCount()).ptr(thetaBox).i(P).ptr(params).ptr(grad));
    }
}
