package hybridsam.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class NdArrayTest {
    @Test
    void validatesShape() {
        assertThrows(IllegalArgumentException.class, () -> new NdArray(new float[5], 2, 3));
        assertThrows(IllegalArgumentException.class, () -> new NdArray(new float[0], -1, 0));
        NdArray a = new NdArray(new float[24], 2, 3, 4);
        assertEquals(3, a.rank());
        assertEquals(4, a.dim(2));
        assertEquals(24, a.size());
        a.shape()[0] = 99; // returned shape is a copy
        assertEquals(2, a.dim(0));
        assertTrue(a.toString().contains("[2, 3, 4]"));
    }

    @Test
    void equalityIsBitwiseAndShapeAware() {
        assertEquals(new NdArray(new float[] {1, 2}, 2), new NdArray(new float[] {1, 2}, 2));
        assertEquals(new NdArray(new float[] {1, 2}, 2).hashCode(), new NdArray(new float[] {1, 2}, 2).hashCode());
        assertNotEquals(new NdArray(new float[] {1, 2}, 2), new NdArray(new float[] {1, 2}, 1, 2));
        assertNotEquals(new NdArray(new float[] {0.0f}, 1), new NdArray(new float[] {-0.0f}, 1));
        assertEquals(new NdArray(new float[] {Float.NaN}, 1), new NdArray(new float[] {Float.NaN}, 1));
    }
}
