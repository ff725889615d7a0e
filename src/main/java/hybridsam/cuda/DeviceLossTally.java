package hybridsam.cuda;

import hybridsam.train.LossTally;

/**
 * {@link LossTally.Accumulator}'s state in device memory, advanced by hs_loss_tally inside the
 * captured step (see {@link StepKernels#lossTally}): per replica Σ loss · B (double), the first
 * non-finite step (1-based, 0 while none), and the number of steps tallied. {@link #drain} is
 * the one host round trip of training; an on/off flag lets {@link CudaTrainingEngine#step},
 * which reads its loss directly, leave the tally alone, as the CPU engine's step does.
 */
final class DeviceLossTally {
    private final Device dev;
    private final StepKernels kernels;
    private final int K;
    private final DeviceBuffer sum, bad, steps, on;
    private boolean enabled;

    /** Buffers owned by scope, zeroed, tallying on. */
    DeviceLossTally(DeviceScope scope, StepKernels kernels, int K) {
        this.dev = scope.device();
        this.kernels = kernels;
        this.K = K;
        sum = scope.doubles(K);
        bad = scope.ints(K);
        steps = scope.ints(1);
        on = scope.ints(1);
        dev.zero(sum);
        dev.zero(bad);
        dev.zero(steps);
        dev.upload(on, new int[]{1});
        enabled = true;
    }

    /** Enqueues the tally of the losses in loss (K doubles) of a step of batch size B. */
    void enqueue(DeviceBuffer loss, int B) {
        kernels.lossTally(B, on, loss, sum, bad, steps);
    }

    /** Whether the next steps are tallied; copies the flag only when it changes. */
    void setEnabled(boolean yes) {
        if (yes == enabled) return;
        dev.upload(on, new int[]{yes ? 1 : 0});
        enabled = yes;
    }

    /** Reads the tally (waits for the steps enqueued) and starts a new one. */
    LossTally drain() {
        double[] s = new double[K];
        int[] b = new int[K], n = new int[1];
        dev.download(sum, s);
        dev.download(bad, b);
        dev.download(steps, n);
        dev.zero(sum);
        dev.zero(bad);
        dev.zero(steps);
        return new LossTally(s, b, n[0]);
    }
}
