package hybridsam.tasks;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import hybridsam.io.DataException;
import hybridsam.model.Activation;
import hybridsam.model.MlpShape;
import hybridsam.model.OdeHybrid;
import hybridsam.io.ConfigException;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** The checks of a data set against the task it is trained for, and of the frame spacing against the RK4 step. */
class TaskDataChecksTest {
    private static final String WHERE = "/data/manifest.json";

    private static Map<String, Object> manifestOf(Task t) {
        return new LinkedHashMap<>(t.generate("small", 0).manifest());
    }

    @Test
    void eachTaskAcceptsItsOwnData() {
        for (Task t : Tasks.ALL) {
            assertDoesNotThrow(() -> Tasks.checkData(t, manifestOf(t), WHERE));
        }
        assertDoesNotThrow(() -> Tasks.checkData(Tasks.PENDULUM, new LinkedHashMap<>(), WHERE), "all fields optional");
    }

    @Test
    void dataOfAnotherTaskSaySoBeforeAnythingElse() {
        // duffing's theta_star has two values, pendulum's θ one: the task is named, not the count
        DataException e = assertThrows(DataException.class,
                () -> Tasks.checkData(Tasks.PENDULUM, manifestOf(Tasks.DUFFING), WHERE));
        assertTrue(e.getMessage().contains("this data set is for duffing, not pendulum")
                && e.getMessage().contains(WHERE) && e.getMessage().contains("--task duffing"), e.getMessage());
        e = assertThrows(DataException.class, () -> Tasks.checkData(Tasks.DUFFING, manifestOf(Tasks.PENDULUM), WHERE));
        assertTrue(e.getMessage().contains("this data set is for pendulum, not duffing"), e.getMessage());

        Map<String, Object> m = manifestOf(Tasks.DUFFING);
        m.put("task", "cloud-chamber");
        e = assertThrows(DataException.class, () -> Tasks.checkData(Tasks.DUFFING, m, WHERE));
        assertTrue(e.getMessage().contains("for cloud-chamber, not duffing") && e.getMessage().contains("no task 'cloud-chamber'"),
                e.getMessage());
        m.put("task", 7L);
        e = assertThrows(DataException.class, () -> Tasks.checkData(Tasks.DUFFING, m, WHERE));
        assertTrue(e.getMessage().contains("\"task\""), e.getMessage());
    }

    @Test
    void withoutATaskFieldTheThetaNamesTell() {
        Map<String, Object> m = manifestOf(Tasks.DUFFING);
        m.remove("task");
        DataException e = assertThrows(DataException.class, () -> Tasks.checkData(Tasks.PENDULUM, m, WHERE));
        assertTrue(e.getMessage().contains("theta_names [alpha, beta]") && e.getMessage().contains("[omega0_sq]"),
                e.getMessage());
    }

    @Test
    void thetaStarAndThetaMnNeedOneValuePerTheta() {
        Map<String, Object> m = manifestOf(Tasks.DUFFING);
        m.put("theta_mn", List.of(1.0));
        DataException e = assertThrows(DataException.class, () -> Tasks.checkData(Tasks.DUFFING, m, WHERE));
        assertTrue(e.getMessage().contains("\"theta_mn\" has 1 value but duffing's θ has 2 [alpha, beta]"), e.getMessage());
    }

    @Test
    void stepsPerFrameIsAWholeNumberInRange() {
        assertEquals(2, Tasks.stepsPerFrame(0.2, 0.1, WHERE));
        assertEquals(1, Tasks.stepsPerFrame(0.2, 0.2, WHERE));
        assertEquals(OdeHybrid.MAX_STEPS_PER_FRAME, Tasks.stepsPerFrame(OdeHybrid.MAX_STEPS_PER_FRAME * 0.5, 0.5, WHERE));

        // an RK4 step so small that the rollout's sizes overflow an int, and one whose ratio overflows int itself
        for (double h : new double[] {1e-10, 1e-12, Double.MIN_VALUE}) {
            ConfigException c = assertThrows(ConfigException.class, () -> Tasks.stepsPerFrame(0.2, h, WHERE));
            assertTrue(c.getMessage().contains("--rk4-step " + h) && c.getMessage().contains("frame_dt")
                    && c.getMessage().contains(Integer.toString(OdeHybrid.MAX_STEPS_PER_FRAME)), c.getMessage());
        }
        ConfigException c = assertThrows(ConfigException.class, () -> Tasks.stepsPerFrame(1e12, 0.1, WHERE));
        assertTrue(c.getMessage().contains("10000000000000 RK4 steps"), c.getMessage());

        for (double dt : new double[] {0, -0.2, Double.NaN, Double.POSITIVE_INFINITY, 0.05}) {
            DataException d = assertThrows(DataException.class, () -> Tasks.stepsPerFrame(dt, 0.1, WHERE));
            assertTrue(d.getMessage().contains(WHERE) && d.getMessage().contains("frame_dt"), d.getMessage());
        }
        DataException d = assertThrows(DataException.class, () -> Tasks.stepsPerFrame(0.2, 0.07, WHERE));
        assertTrue(d.getMessage().contains("--rk4-step"), d.getMessage());
    }

    @Test
    void theModelRefusesMoreStepsPerFrameThanItsRolloutHolds() {
        MlpShape mlp = new MlpShape(new int[] {2, 8, 2}, Activation.TANH);
        assertDoesNotThrow(() -> new OdeHybrid(new PendulumModel(), mlp, 0.1, OdeHybrid.MAX_STEPS_PER_FRAME));
        // what (int) Math.rint(frame_dt / h) gives for h = 1e-10 and for a ratio past 2^31 (the cast saturates)
        for (int spf : new int[] {2_000_000_000, Integer.MAX_VALUE}) {
            ConfigException c = assertThrows(ConfigException.class, () -> new OdeHybrid(new PendulumModel(), mlp, 1e-10, spf));
            assertTrue(c.getMessage().contains("--rk4-step") && c.getMessage().contains("frame_dt"), c.getMessage());
        }
    }
}
