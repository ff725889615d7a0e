package hybridsam.cuda;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The JNI entry points of the emulation library (native-kernels/emu/emu_jni.cpp), built by
 * native-kernels/build.sh into target/native. Its location comes from the system property
 * {@value #LIBRARY_PROPERTY}.
 */
final class EmulatedNative {
    static final String LIBRARY_PROPERTY = "hybridsam.emu.library";
    private static String loadFailure;
    private static boolean loaded;

    private EmulatedNative() {
    }

    /** Loads the library once; returns null when loaded, otherwise why not. */
    static synchronized String load() {
        if (loaded) return null;
        if (loadFailure != null) return loadFailure;
        String path = System.getProperty(LIBRARY_PROPERTY);
        if (path == null || path.isBlank()) {
            loadFailure = "system property " + LIBRARY_PROPERTY + " is not set (it names libhybridsam_emu.so)";
        } else if (!Files.isRegularFile(Path.of(path))) {
            loadFailure = "emulation library " + path + " does not exist (native-kernels/build.sh builds it with g++)";
        } else {
            try {
                System.load(Path.of(path).toAbsolutePath().toString());
                loaded = true;
                return null;
            } catch (LinkageError e) {
                loadFailure = "emulation library " + path + " failed to load: " + e.getMessage();
            }
        }
        return loadFailure;
    }

    static native String[] kernelNames();

    /** The emulator's parameter signature of the kernel ("p", "i", "l", "f", "d" each), null when it has no such kernel. */
    static native String kernelSignature(String kernel);

    static native long alloc(long bytes);

    static native void free(long address);

    static native void memsetZero(long address, long bytes);

    static native void copyDeviceToDevice(long dst, long src, long bytes);

    static native void putFloats(long dst, float[] a, int off, int n);

    static native void getFloats(long src, float[] a, int off, int n);

    static native void putInts(long dst, int[] a, int off, int n);

    static native void getInts(long src, int[] a, int off, int n);

    static native void putDoubles(long dst, double[] a, int off, int n);

    static native void getDoubles(long src, double[] a, int off, int n);

    static native void launch(String kernel, int gx, int gy, int gz, int bx, int by, int bz, int sharedBytes,
                              byte[] args, String signature);
}
