package hybridsam.cuda;

import hybridsam.model.Activation;
import hybridsam.train.Method;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The ids Java hands the kernels come from common.cuh's enums, and every Java constant has one. */
class KernelConstantsTest {

    @Test
    void everyActivationAndRuleHasItsOwnKernelId() {
        Set<Integer> acts = new HashSet<>(), rules = new HashSet<>();
        for (Activation a : Activation.values()) assertTrue(acts.add(KernelConstants.activation(a)), a + " shares an id");
        for (Method m : Method.values()) assertTrue(rules.add(KernelConstants.method(m)), m + " shares an id");
    }

    @Test
    void ruleTableFieldsAreDistinctAndInsideTheRow() {
        Set<Integer> fields = new HashSet<>();
        for (String f : KernelConstants.all().keySet()) {
            if (!f.startsWith("HS_CFG_") || f.equals("HS_CFG_N")) continue;
            int i = KernelConstants.value(f);
            assertTrue(i >= 0 && i < StepKernels.CFG_N && fields.add(i), f + " = " + i);
        }
        assertEquals(StepKernels.CFG_N, fields.size(), "every field of the row is named");
    }

    @Test
    void anUnknownNameIsAnErrorNamingIt() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> KernelConstants.value("HS_SWISH"));
        assertTrue(e.getMessage().contains("HS_SWISH"), e.getMessage());
    }
}
