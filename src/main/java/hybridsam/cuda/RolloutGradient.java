package hybridsam.cuda;

import hybridsam.model.OdeHybrid;
import hybridsam.model.Split;

/**
 * The rollout kernels of an ODE hybrid with an MLP corrector (hs_rollout, hs_rollout_fused: one
 * thread or one tile of samples per replica, every RK4 stage and its reverse on chip) as a
 * {@link DeviceGradient}, over the {@link StepKernels} that launch them.
 */
final class RolloutGradient implements DeviceGradient {
    private final StepKernels kernels;
    private final OdeHybrid model;
    private final int K;
    private OdeData data;

    RolloutGradient(StepKernels kernels, OdeHybrid model, int K) {
        this.kernels = kernels;
        this.model = model;
        this.K = K;
    }

    StepKernels kernels() {
        return kernels;
    }

    @Override
    public void upload(DeviceScope scope, Split train) {
        data = OdeData.upload(scope, train, model);
    }

    @Override
    public int count() {
        return OdeData.required(data).count();
    }

    @Override
    public long workspaceFloats(int B) {
        return StepKernels.workspaceFloats(kernels.rollout(), model, K, B, OdeData.required(data).frames());
    }

    @Override
    public long gradientRowsFloats(int B) {
        return StepKernels.gradientRowsFloats(kernels.rollout(), model, K, B);
    }

    @Override
    public int lossRows(int B) {
        return StepKernels.lossRows(kernels.rollout(), B);
    }

    @Override
    public float lossWeight(int B) {
        return StepKernels.lossWeight(model, B, OdeData.required(data).frames());
    }

    @Override
    public void gradient(DeviceBuffer params, DeviceBuffer batch, int B, DeviceBuffer ws, DeviceBuffer gs, DeviceBuffer sq,
                         DeviceBuffer grad) {
        OdeData d = OdeData.required(data);
        kernels.gradient(params, d.obs(), d.frames(), batch, B, ws, gs, sq, grad);
    }
}
