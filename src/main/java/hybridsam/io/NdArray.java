package hybridsam.io;

import java.util.Arrays;

/** A float32 array in C (row-major) order with an explicit shape. */
public final class NdArray {
    private final float[] data;
    private final int[] shape;

    public NdArray(float[] data, int... shape) {
        if (data == null || shape == null) {
            throw new IllegalArgumentException("data and shape must not be null");
        }
        long n = 1;
        for (int d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
            n *= d;
        }
        if (n != data.length) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + n
                    + " values but data has " + data.length);
        }
        this.data = data;
        this.shape = shape.clone(); // callers often reuse their varargs array
    }

    /** The backing array (not copied: arrays here can be tens of MB). */
    public float[] data() {
        return data;
    }

    public int[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public int dim(int i) {
        return shape[i];
    }

    public long size() {
        return data.length;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) return true;
        if (!(o instanceof NdArray)) return false;
        NdArray other = (NdArray) o;
        // Arrays.equals on float[] compares bit patterns (floatToIntBits), so -0.0 != 0.0 here.
        return Arrays.equals(shape, other.shape) && Arrays.equals(data, other.data);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(shape) + Arrays.hashCode(data);
    }

    @Override
    public String toString() {
        return "NdArray(float32, shape=" + Arrays.toString(shape) + ")";
    }
}
