package hybridsam.cuda;

import java.util.Map;
import java.util.Set;

/** Which kernels each native-kernels/*.cu module defines (the fatbin's name without extension). */
final class KernelNames {
    private KernelNames() {
    }

    static final Map<String, Set<String>> IN_MODULE = Map.of(
            "ode", Set.of("hs_rollout", "hs_theta_chain", "hs_loss", "hs_loss_tally"),
            "fused", Set.of("hs_rollout_fused"),
            "reduce", Set.of("hs_tilesum", "hs_rowsum", "hs_norm_partial", "hs_norm_finish"),
            "rules", Set.of("hs_l2_add", "hs_fsam_direction", "hs_perturb", "hs_restore", "hs_adam", "hs_step_advance"));
}
