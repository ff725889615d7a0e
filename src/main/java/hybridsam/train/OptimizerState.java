package hybridsam.train;

/**
 * Everything a training step changes, for K replicas laid back to back: parameters, Adam's
 * moments, fsam's gradient average, and the number of steps taken. A checkpoint is this plus
 * the trainer's bookkeeping.
 */
public record OptimizerState(float[] params, float[] adamM, float[] adamV, float[] gradAverage, long step) {

    public static OptimizerState fresh(float[] params) {
        return new OptimizerState(params.clone(), new float[params.length], new float[params.length],
                new float[params.length], 0);
    }

    public OptimizerState copy() {
        return new OptimizerState(params.clone(), adamM.clone(), adamV.clone(), gradAverage.clone(), step);
    }
}
