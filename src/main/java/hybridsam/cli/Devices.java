package hybridsam.cli;

/** What `hybridsam devices` says about the GPU. */
final class Devices {
    private Devices() {
    }

    static String cudaStatus() {
        try {
            int[] version = new int[1];
            jcuda.driver.JCudaDriver.setExceptionsEnabled(false);
            int rc = jcuda.driver.JCudaDriver.cuInit(0);
            if (rc != 0) return "cuInit failed: " + jcuda.driver.CUresult.stringFor(rc);
            jcuda.driver.JCudaDriver.cuDriverGetVersion(version);
            return "driver " + version[0] + " found, but this build has no CUDA training engine yet";
        } catch (LinkageError e) {
            return "no NVIDIA driver (JCuda could not load its native library: " + firstCause(e.getMessage()) + ")";
        }
    }

    /**
     * JCuda's message holds the nested stack traces of every loading attempt; keep one line, the
     * one naming the missing library (libcuda.so.1 when no driver is installed) if there is one.
     */
    static String firstCause(String message) {
        if (message == null || message.isBlank()) return "no details";
        String[] lines = message.strip().split("\\R");
        for (String l : lines) {
            int i = l.indexOf("cannot open shared object file");
            if (i >= 0) {
                int start = l.lastIndexOf(": ", Math.max(0, i - 3));
                String lib = start >= 0 ? l.substring(start + 2, i).replaceAll(":\\s*$", "") : "";
                return (lib.isEmpty() ? "a driver library" : lib) + ": cannot open shared object file";
            }
        }
        return lines[0].strip();
    }
}
