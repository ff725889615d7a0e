package hybridsam.cuda;

import hybridsam.model.OdeHybrid;
import hybridsam.model.Sequences;
import hybridsam.model.Split;

/** The observed sequences the ODE programs read, on the device: obs as [sequence][frame][state] floats. */
record OdeData(DeviceBuffer obs, int frames, int count) {

    /** Uploads the split, checked to be sequences of the model's state. */
    static OdeData upload(DeviceScope scope, Split train, OdeHybrid model) {
        if (!(train instanceof Sequences seq)) {
            throw new IllegalArgumentException("an ODE hybrid trains on observed sequences, not " + train.getClass().getSimpleName());
        }
        if (seq.dim() != model.stateDim()) throw new IllegalArgumentException("data and model differ in state dimension");
        DeviceBuffer obs = scope.floats(seq.obs().length);
        scope.device().upload(obs, seq.obs());
        return new OdeData(obs, seq.frames(), seq.count());
    }

    /** Refuses a program used before its split is uploaded. */
    static OdeData required(OdeData d) {
        if (d == null) throw new IllegalStateException("the gradient program has no training split: upload one first");
        return d;
    }
}
