package hybridsam.io;

import java.util.Map;

/**
 * A generated or user-supplied dataset: a JSON manifest (generator settings, provenance, and
 * after loading the "arrays" index) plus named float32 arrays such as "train_obs" [N, T, D].
 */
public record Dataset(Map<String, Object> manifest, Map<String, NdArray> arrays) {
}
