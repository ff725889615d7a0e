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
            return "no NVIDIA driver (JCuda could not load its native library: " + e.getMessage() + ")";
        }
    }
}
