package hybridsam.cuda;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * A kernel's argument list in order: device pointers, ints, floats, doubles. The emulator takes
 * it packed as the driver lays out kernel parameters (each value at the next multiple of its
 * size) with a signature string ("p", "i", "l", "f", "d" per argument) checked against the kernel's
 * own parameter types; JCuda takes it as a pointer per argument.
 */
public final class KernelArgs {
    final List<Object> values = new ArrayList<>();
    private final StringBuilder signature = new StringBuilder();

    public static KernelArgs of() {
        return new KernelArgs();
    }

    public KernelArgs ptr(DeviceBuffer b) {
        values.add(b);
        signature.append('p');
        return this;
    }

    public KernelArgs i(int v) {
        values.add(v);
        signature.append('i');
        return this;
    }

    public KernelArgs l(long v) {
        values.add(v);
        signature.append('l');
        return this;
    }

    public KernelArgs f(float v) {
        values.add(v);
        signature.append('f');
        return this;
    }

    public KernelArgs d(double v) {
        values.add(v);
        signature.append('d');
        return this;
    }

    public String signature() {
        return signature.toString();
    }

    /** The parameter buffer with device addresses in place of the buffers. */
    public byte[] packed() {
        int size = 0;
        for (Object v : values) size = align(size, sizeOf(v)) + sizeOf(v);
        ByteBuffer bb = ByteBuffer.allocate(Math.max(size, 1)).order(ByteOrder.nativeOrder());
        int off = 0;
        for (Object v : values) {
            off = align(off, sizeOf(v));
            if (v instanceof DeviceBuffer b) bb.putLong(off, b.address());
            else if (v instanceof Integer x) bb.putInt(off, x);
            else if (v instanceof Long x) bb.putLong(off, x);
            else if (v instanceof Float x) bb.putFloat(off, x);
            else bb.putDouble(off, (Double) v);
            off += sizeOf(v);
        }
        return bb.array();
    }

    private static int sizeOf(Object v) {
        return v instanceof DeviceBuffer || v instanceof Double || v instanceof Long ? 8 : 4;
    }

    private static int align(int off, int a) {
        return (off + a - 1) / a * a;
    }
}
