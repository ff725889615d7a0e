package hybridsam.cli;

/** Help texts of the command line. */
final class Help {
    private Help() {
    }

    static final String MAIN = """
            hybridsam: train hybrid models (a scientific model with physical unknowns theta plus a
            neural corrector) so that theta comes out right, using sharpness-aware minimization
            applied to the network alone.

            usage: hybridsam COMMAND [OPTIONS]

            commands:
              train      train a task end to end (data generated and cached on first use)
              generate   write a task's data set (.npy arrays + manifest.json) to a folder
              evaluate   metrics of a finished or interrupted run on its test (or other) split
              devices    the backends this machine offers, and why any is unavailable

            examples:
              hybridsam train --task pendulum                       fsam, full preset, 160 epochs
              hybridsam train --task duffing --method erm --seed 1 --out runs/d-erm-1
              hybridsam train --task pendulum --preset small --epochs 5
              hybridsam train --resume runs/d-erm-1                 continue an interrupted run
              hybridsam evaluate --run runs/d-erm-1

            hybridsam COMMAND --help shows the command's options.
            """;

    static final String TRAIN = """
            usage: hybridsam train [OPTIONS]      or      hybridsam train --resume DIR

            data
              --task NAME          pendulum (default) or duffing
              --preset NAME        full (default) or small (seconds on a laptop, for trying things)
              --data-seed N        seed of the generated data (default 0)
              --data DIR           train on your own data: a folder with manifest.json and
                                   train_obs.npy, valid_obs.npy, test_obs.npy, each float32
                                   [sequences, frames, state] (see datasets/README.md)
              --cache DIR          where generated data are kept (default $HYBRIDSAM_CACHE or
                                   ~/.cache/hybridsam)
            rule
              --method NAME        erm, l2, sam, asam or fsam (default fsam)
              --rho X              perturbation radius (task default: see README)
              --sigma X            fsam: share of the gradient average removed (default 1)
              --lambda X           fsam: decay of the gradient average, in [0, 1) (default 0.9)
              --eta X              asam: eta in T = |phi| + eta (default 0.01)
              --l2 X               l2: weight of (l2/2)|phi|^2 (default 1e-3)
              --perturb WHAT       neural (default: perturb the network only) or all (theta too)
              --theta-grad WHICH   perturbed (default) or clean: theta's gradient from which pass
            optimizer
              --lr-theta X         Adam learning rate for theta (default 1e-2)
              --lr-nn X            Adam learning rate for the network (default 1e-3)
              --clip X             gradient-norm clip over (theta, phi); 0 = off (default 5)
              --weight-decay X     decoupled weight decay on the network (default 0)
            run
              --epochs N           (default 160)       --batch N        minibatch size (default 64)
              --seed N             initialization and shuffling (default 0)
              --patience N         stop after N epochs without a better validation error (0 = off)
              --out DIR            output folder (default runs/TASK-METHOD-seedN, or
                                   runs/TASK-METHOD-replicasK); must not hold a run
              --threads N          CPU threads (default: all cores; results do not depend on it)
              --device WHICH       cpu (default), cuda (refused with the reason when no GPU can run it),
                       or auto (cuda when available, else cpu with a one-line notice).
                       HYBRIDSAM_CUDA_STANDIN=1 in the environment runs --device cuda on CPU
                       stand-ins for the NVIDIA libraries (slow; for seeing the GPU path run);
                       auto never picks them. HYBRIDSAM_CUDA_SYNC=1 names the kernel that faults.
  --nn-engine WHICH    on the GPU, what runs the corrector: kernels (default: the project's
                       fused kernels), cublas (CUDA 12's libcublas.so.12), cudnn (cuDNN 9),
                       or auto (the first of cudnn, cublas, kernels that loads)
              --quiet              no progress output     --log-every N   epoch lines (default 10)
            replicas
              --replicas K         train K independent runs at once, advanced together by one engine
                                   (1..4096, default 1); each equals the same run trained alone.
                                   Without lists the replicas take seeds N, N+1, ..., N+K-1; with a
                       list of another option they all start from --seed N (a sweep).
              lists                --method, --seed, --rho, --sigma, --lambda, --eta, --l2, --lr-theta,
                                   --lr-nn, --clip and --weight-decay accept a comma-separated list,
                                   one value per replica (e.g. --rho 0.01,0.02,0.05,0.1); every list
                                   must have K values (K may be left out: it is the lists' length);
                                   a single value applies to every replica. Data and model settings
                                   are shared by all replicas.
            model
              --hidden W1,W2,...   hidden widths of the corrector MLP (default 64,64)
              --activation NAME    tanh (default), relu, elu, softplus
              --rk4-step X         RK4 step; must divide the frame spacing (default 0.1)
              --theta-init X[,Y]   starting theta in physical units (default: middle of its box)

            Output: DIR/config.json (settings), DIR/checkpoint.bin (after every epoch, written
            atomically), DIR/results.json (per-epoch theta and losses, final metrics, timing). With
            K > 1 replicas results.json holds a "replicas" list (each replica's seed, hyperparameters,
            history, best epoch and final metrics) and a "summary" (median, min, max, quartiles of
            theta_error and test_mse, also per distinct value of each listed hyperparameter), and
            stdout shows one line per replica and the summary.
            Exit status: 0 done, 1 GPU error, 2 bad input, 3 diverged (last good checkpoint kept),
            4 cannot write.
            """;

    static final String GENERATE = """
            usage: hybridsam generate [--task NAME] [--preset full|small] [--seed N] [--out DIR] [--cache DIR]

            Writes the task's data set as NumPy .npy arrays (train_obs, valid_obs, test_obs, float32
            [sequences, frames, state]) and manifest.json (task, preset, seed, every generator
            setting, theta_star, theta_mn). Without --out it goes to the cache that train uses.
            """;

    static final String EVALUATE = """
            usage: hybridsam evaluate --run DIR [--split test|valid|train] [--data DIR] [--replica R] [--json]

            Loads the best-by-validation parameters from DIR/checkpoint.bin and reports theta,
            theta error, the hybrid's MSE, the scientific model's MSE alone, and the network's share
            of the vector field, on the chosen split (default test). --data evaluates on other data.
            A run with several replicas is evaluated replica by replica, with a summary; --replica R
            (0-based) picks one.
            """;

    static final String DEVICES = """
            usage: hybridsam devices

            Lists the backends (cpu, cuda) and, for any that is unavailable, why.
            """;

    static String forCommand(String cmd) {
        return switch (cmd) {
            case "train" -> TRAIN;
            case "generate" -> GENERATE;
            case "evaluate" -> EVALUATE;
            case "devices" -> DEVICES;
            default -> null;
        };
    }
}
