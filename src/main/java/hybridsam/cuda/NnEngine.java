package hybridsam.cuda;

import java.util.Locale;

/**
 * How the CUDA backend evaluates the neural corrector (--nn-engine): KERNELS, the project's own
 * rollout kernels (fused or per-thread, the MLP inside them); CUBLAS and CUDNN, the layer-wise
 * path ({@link LayerwiseGradient}) whose dense layers go through cuBLAS or cuDNN.
 */
public enum NnEngine {
    KERNELS, CUBLAS, CUDNN;

    /** The option's spelling: kernels, cublas, cudnn. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** kernels, cublas or cudnn (any case); "auto" is not an engine (see {@link NnEngines#select}). */
    public static NnEngine parse(String s) {
        for (NnEngine e : values()) if (e.id().equalsIgnoreCase(s.strip())) return e;
        throw new IllegalArgumentException("unknown nn engine '" + s + "' (kernels, cublas, cudnn or auto)");
    }
}
