#!/usr/bin/env python3
"""PyTorch peer of hybridsam's training steps, for side-by-side timings (issue 4).

--task pendulum (default): the same hybrid as the project's `pendulum` task at the full preset:
  state z = (q, p); dz/dt = f_sci(z; theta) + f_nn(z), f_sci = (p, -theta sin q),
  theta = lo + (hi - lo) * sigmoid(u), box [0.1, 4], u the optimised unconstrained value;
  f_nn an MLP 2-64-64-2 with tanh (PyTorch default initialisation);
  classic RK4 with step 0.1 from the first observed frame, 50 frames every 0.2 (98 RK4 steps);
  loss = mean over batch x 49 frames x 2 of the squared error over frames 1..49;
  batch 256 drawn from 400 synthetic sequences generated here (damped pendulum,
  omega0^2 = (2 pi / 6)^2, alpha = 0.2, APHYNITY initial states, noise 0.01).
--task reaction-diffusion: the project's `reaction-diffusion` task at the full preset, as
benchmarks/cpu-step.sh --task reaction-diffusion times it on the CPU:
  state z = (U, V) on a 32 x 32 grid, channels first [B, 2, 32, 32];
  dz/dt = (a Lap U, b Lap V) + net(z), Lap the five-point Laplacian with edge-replicate (Neumann)
  boundaries and mesh step dx = 2/31; theta = (a, b) = exp(log lo + (log hi - log lo) sigmoid(u)),
  box [1e-4, 1e-2] for each (log scale);
  net a 3x3 convolutional net 2-16-16-2 with edge-replicate padding (F.pad mode='replicate') before
  each convolution and leaky ReLU (slope 0.01) after the hidden ones (PyTorch default init);
  classic RK4 with step 0.1, 16 frames every 0.1 (15 RK4 steps, one per frame);
  loss = mean over batch x 15 frames x 2 x 32 x 32 of the squared error over frames 1..15;
  batch 16 (the task's default) drawn from --episodes FitzHugh-Nagumo episodes made here with the
  task's truth (U_t = a Lap U + U - U^3 - V - k, V_t = b Lap V + U - V, a = 1.5e-3, b = 5e-3,
  k = 5e-3; initial U, V uniform in [0, 1) per cell; RK4 at 1e-3 in float64, no noise); 64 episodes
  by default rather than the preset's 400: the values do not change a step's arithmetic.
  FLOPs as hybridsam counts them: conv layers only, 2 * sum(in * out * 9 * 32 * 32) per sample per
  RK4 stage forward, backward twice that, 4 stages per step, twice for fsam.
--task pendulum-images: the project's nested hybrid (pendulum-images) at the full preset, as
benchmarks/cpu-step.sh --task pendulum-images times it on the CPU:
  encoder MLP 3*32*32 -> 128 -> 2 (tanh) maps the first 3 frames, flattened frame-major, to z0;
  the pendulum hybrid above (theta box [0.1, 4], corrector MLP 2-64-64-2 tanh) integrated by RK4
  with step 0.1 over 20 frames every 0.2 (38 RK4 steps); decoder MLP 2 -> 128 -> 32*32 (tanh)
  then a sigmoid renders every state, frame 0 included; loss = mean over batch x 20 frames x
  32 x 32 of the squared pixel error; all three networks are phi (fsam perturbs them all);
  batch 64 drawn from 1000 sequences rendered here (a Gaussian spot, sigma 1.5 px, 12 px from the
  centre at angle q of the damped pendulum above, noise 0.01); the pixel values do not change a
  step's arithmetic. FLOPs: the three networks' dense layers, encoder once per sequence, decoder
  once per frame, corrector once per RK4 stage; backward twice the forward; twice for fsam.
Rules (method.md section 2):
  erm:  Adam step with grad L(theta, phi).
  fsam: g = grad L at (theta, phi); d = g_phi - sigma m_{t-1}, m_t = lam m_{t-1} + (1 - lam) g_phi
        (first step: m = g_phi, d = g_phi); eps = rho d / (||d|| + 1e-12);
        phi += eps; g' = grad L at (theta, phi + eps); phi restored from a saved copy;
        clip the global norm of g' over (theta, phi) to 5; Adam step with g'
        (lr 1e-2 for u, 1e-3 for phi; betas 0.9, 0.999; eps 1e-8).
Variants timed (median training steps/s after warm-up, per-step CUDA events):
  eager, eager-erm          plain PyTorch, foreach ops and fused Adam
  cudagraph, cudagraph-erm  the whole eager step captured once in a CUDA graph and replayed
  compile-rk4               torch.compile of one RK4 step (small graph), Python loop around it
  compile-rk4-graph         compile-rk4 inside a manually captured CUDA graph of the whole step
  compile-step[-ro]         torch.compile of the whole step function (mode default /
                            reduce-overhead, i.e. with CUDA graphs)
  compile-loss[-ro]         torch.compile of the rollout loss only (unrolled 98 steps)
  seq-eager, seq-cudagraph  K independent runs one after another (aggregate steps/s)
A variant that fails prints why and the script goes on. torch is imported only after the
arguments are parsed, so --help works without it.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time
import traceback

ALL_VARIANTS = [
    "eager", "eager-erm", "cudagraph", "cudagraph-erm", "compile-rk4", "compile-rk4-graph",
    "compile-step", "compile-step-ro", "seq-eager", "seq-cudagraph", "compile-loss", "compile-loss-ro",
]

# the pendulum task, full preset
FRAMES, FRAME_DT, H = 50, 0.2, 0.1
SPF = int(round(FRAME_DT / H))          # RK4 steps per frame: 2
STEPS = (FRAMES - 1) * SPF              # 98
THETA_LO, THETA_HI = 0.1, 4.0
OMEGA0_SQ, ALPHA = (2 * math.pi / 6) ** 2, 0.2
N_TRAIN, NOISE = 400, 0.01
WIDTH = 64
# MLP forward FLOPs per sample per RK4 stage, counted as benchmarks/RESULTS.md does
MLP_FWD_FLOP = 2 * (2 * WIDTH + WIDTH * WIDTH + WIDTH * 2)

# the reaction-diffusion task, full preset
RD_GRID = 32
RD_DX = 2.0 / (RD_GRID - 1)
RD_FRAMES, RD_FRAME_DT = 16, 0.1
RD_LO, RD_HI = 1e-4, 1e-2
RD_CHANNELS = (2, 16, 16, 2)
RD_SLOPE = 0.01
RD_TRUTH = dict(a=1.5e-3, b=5e-3, k=5e-3)
RD_DATA_STEP = 1e-3
# conv forward FLOPs per sample per RK4 stage (hybridsam's ConvShape.forwardFlops())
RD_FWD_FLOP = sum(2 * i * o * 9 * RD_GRID * RD_GRID for i, o in zip(RD_CHANNELS[:-1], RD_CHANNELS[1:]))

# the pendulum-images task (nested hybrid), full preset
IMG_SIDE, IMG_FRAMES, IMG_ENC_FRAMES, IMG_CODEC = 32, 20, 3, 128
IMG_COUNT, IMG_SIGMA, IMG_RADIUS = 1000, 1.5, 12.0
IMG_PIXELS = IMG_SIDE * IMG_SIDE
# forward FLOPs per sequence: encoder once, decoder once per frame, corrector once per RK4 stage
IMG_FWD_FLOP_PER_SEQUENCE = (2 * (IMG_ENC_FRAMES * IMG_PIXELS * IMG_CODEC + IMG_CODEC * 2)
                             + IMG_FRAMES * 2 * (2 * IMG_CODEC + IMG_CODEC * IMG_PIXELS)
                             + 4 * (IMG_FRAMES - 1) * SPF * MLP_FWD_FLOP)

torch = None  # bound in main() after argument parsing


def parse_args(argv=None):
    ap = argparse.ArgumentParser(
        description="PyTorch peer of hybridsam's fsam/erm training step (timings): pendulum, reaction-diffusion "
                    "or pendulum-images.")
    ap.add_argument("--task", default="pendulum", choices=["pendulum", "reaction-diffusion", "pendulum-images"],
                    help="pendulum (default; MLP 2-64-64-2, batch 256), reaction-diffusion (32x32 grid, "
                         "conv 2-16-16-2, batch 16) or pendulum-images (nested: encoder 3072-128-2, corrector "
                         "2-64-64-2, decoder 2-128-1024 + sigmoid, 32x32 images, 20 frames, batch 64)")
    ap.add_argument("--episodes", type=int, default=64,
                    help="reaction-diffusion: FitzHugh-Nagumo episodes made to draw minibatches from (default 64)")
    ap.add_argument("--device", default="cuda", help="cuda (default; falls back to cpu with a warning) or cpu")
    ap.add_argument("--steps", type=int, default=30, help="timed steps per variant (default 30)")
    ap.add_argument("--warmup", type=int, default=5, help="warm-up steps per variant before timing (default 5)")
    ap.add_argument("--batch", type=int, default=None,
                    help="minibatch size (default 256 for pendulum, 16 for reaction-diffusion, 64 for pendulum-images)")
    ap.add_argument("--variants", default=",".join(ALL_VARIANTS),
                    help="comma-separated list, run in this order (default: all: %s)" % ",".join(ALL_VARIANTS))
    ap.add_argument("--seq-k", type=int, default=8, help="K for the sequential-runs variants (default 8)")
    ap.add_argument("--seq-steps", type=int, default=10, help="timed steps per run in the sequential variants (default 10)")
    ap.add_argument("--check-steps", type=int, default=4,
                    help="steps each non-eager variant is compared with eager from the same start (0: off; default 4)")
    ap.add_argument("--time-budget", type=float, default=0,
                    help="seconds; variants not yet started when it is spent are skipped (0: no limit)")
    ap.add_argument("--rho", type=float, default=0.05)
    ap.add_argument("--sigma", type=float, default=1.0)
    ap.add_argument("--lam", type=float, default=0.9, help="fsam lambda (default 0.9)")
    ap.add_argument("--lr-theta", type=float, default=1e-2)
    ap.add_argument("--lr-nn", type=float, default=1e-3)
    ap.add_argument("--clip", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", metavar="OUT", help="write every figure as JSON to OUT (rewritten after each variant)")
    a = ap.parse_args(argv)
    if a.batch is None:
        a.batch = {"reaction-diffusion": 16, "pendulum-images": 64}.get(a.task, 256)
    return a


# ---------------------------------------------------------------- data

def make_data(n, device, seed):
    """n noisy damped-pendulum sequences [n, FRAMES, 2], RK4 at step 0.02 (10 per frame)."""
    gen = torch.Generator(device="cpu").manual_seed(seed)
    y0 = torch.rand(n, 2, generator=gen, dtype=torch.float64) * 2 - 1
    radius = 1.3 + torch.rand(n, 1, generator=gen, dtype=torch.float64)  # [1.3, 2.3)
    y0 = y0 / y0.norm(dim=1, keepdim=True).clamp_min(1e-12) * radius
    y0 = y0.to(device)

    def f(z):
        q, p = z[:, 0], z[:, 1]
        return torch.stack((p, -OMEGA0_SQ * torch.sin(q) - ALPHA * p), dim=1)

    sub = 10
    h = FRAME_DT / sub
    z = y0
    out = [z]
    for _ in range(FRAMES - 1):
        for _ in range(sub):
            k1 = f(z)
            k2 = f(z + 0.5 * h * k1)
            k3 = f(z + 0.5 * h * k2)
            k4 = f(z + h * k3)
            z = z + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)
        out.append(z)
    x = torch.stack(out, dim=1)
    noise = torch.randn(x.shape, generator=gen, dtype=torch.float64).to(device)
    return (x + NOISE * noise).to(torch.float32).contiguous()


def make_rd_data(n, device, seed):
    """n FitzHugh-Nagumo episodes [n, RD_FRAMES, 2, G, G] (the task's truth), RK4 at RD_DATA_STEP in float64."""
    gen = torch.Generator(device="cpu").manual_seed(seed)
    z = torch.rand(n, 2, RD_GRID, RD_GRID, generator=gen, dtype=torch.float64).to(device)
    a, b, k = RD_TRUTH["a"], RD_TRUTH["b"], RD_TRUTH["k"]

    def f(z):
        lap = laplacian(z)
        u, v = z[:, 0], z[:, 1]
        return torch.stack((a * lap[:, 0] + u - u ** 3 - v - k, b * lap[:, 1] + u - v), dim=1)

    sub = int(round(RD_FRAME_DT / RD_DATA_STEP))
    h = RD_DATA_STEP
    out = [z]
    with torch.no_grad():
        for _ in range(RD_FRAMES - 1):
            for _ in range(sub):
                k1 = f(z)
                k2 = f(z + 0.5 * h * k1)
                k3 = f(z + 0.5 * h * k2)
                k4 = f(z + h * k3)
                z = z + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)
            out.append(z)
    return torch.stack(out, dim=1).to(torch.float32).contiguous()


def laplacian(z):
    """Five-point Laplacian of [B, C, H, W] with edge-replicate (Neumann) boundaries, mesh step RD_DX."""
    zp = torch.nn.functional.pad(z, (1, 1, 1, 1), mode="replicate")
    return (zp[:, :, :-2, 1:-1] + zp[:, :, 2:, 1:-1] + zp[:, :, 1:-1, :-2] + zp[:, :, 1:-1, 2:] - 4 * z) / (RD_DX * RD_DX)


class Pendulum:
    """The pendulum hybrid: what Run needs of a task."""
    name, frames, spf, steps, h = "pendulum", FRAMES, SPF, STEPS, H
    theta_shape = (1,)
    fwd_flop = MLP_FWD_FLOP
    describe = "pendulum full, MLP 2-%d-%d-2 tanh" % (WIDTH, WIDTH)

    @staticmethod
    def data(a, device):
        return make_data(N_TRAIN, device, a.seed + 1000)

    @staticmethod
    def net(device):
        nn = torch.nn
        return nn.Sequential(nn.Linear(2, WIDTH), nn.Tanh(), nn.Linear(WIDTH, WIDTH), nn.Tanh(),
                             nn.Linear(WIDTH, 2)).to(device)

    @staticmethod
    def theta(u):
        return THETA_LO + (THETA_HI - THETA_LO) * torch.sigmoid(u)

    @staticmethod
    def field(z, theta, net):
        q, p = z[:, :1], z[:, 1:]
        return torch.cat((p, -theta * torch.sin(q)), dim=1) + net(z)


def _rd_net(device):
    nn, F = torch.nn, torch.nn.functional

    class Pad(nn.Module):
        # edge-replicate padding, the boundary rule of the grid's Laplacian (hybridsam's ConvShape)
        def forward(self, x):
            return F.pad(x, (1, 1, 1, 1), mode="replicate")

    layers = []
    ch = RD_CHANNELS
    for i, (cin, cout) in enumerate(zip(ch[:-1], ch[1:])):
        layers += [Pad(), nn.Conv2d(cin, cout, 3)]
        if i + 2 < len(ch):
            layers.append(nn.LeakyReLU(RD_SLOPE))
    return nn.Sequential(*layers).to(device)


class ReactionDiffusion:
    """The reaction-diffusion hybrid: diffusion with theta = (a, b) plus the 3x3 conv net."""
    name, frames, spf, h = "reaction-diffusion", RD_FRAMES, 1, 0.1
    steps = (RD_FRAMES - 1) * 1
    theta_shape = (2,)
    fwd_flop = RD_FWD_FLOP
    describe = "reaction-diffusion full (%dx%d), conv3x3 %s leaky_relu" % (
        RD_GRID, RD_GRID, "-".join(str(c) for c in RD_CHANNELS))

    @staticmethod
    def data(a, device):
        return make_rd_data(a.episodes, device, a.seed + 1000)

    @staticmethod
    def net(device):
        return _rd_net(device)

    @staticmethod
    def theta(u):
        lo, hi = math.log(RD_LO), math.log(RD_HI)
        return torch.exp(lo + (hi - lo) * torch.sigmoid(u))

    @staticmethod
    def field(z, theta, net):
        return theta.view(1, 2, 1, 1) * laplacian(z) + net(z)


def make_image_data(n, device, seed):
    """n sequences [n, IMG_FRAMES, G, G]: the bob of the damped pendulum (the first IMG_FRAMES frames of
    make_data's trajectories) as a Gaussian spot IMG_RADIUS px from the centre at angle q, noise 0.01."""
    q = make_data(n, device, seed)[:, :IMG_FRAMES, 0]                     # [n, T]
    c = (IMG_SIDE - 1) / 2
    grid = torch.arange(IMG_SIDE, device=device, dtype=torch.float32)
    bx = (c + IMG_RADIUS * torch.sin(q))[..., None, None]                 # [n, T, 1, 1]
    by = (c + IMG_RADIUS * torch.cos(q))[..., None, None]
    d2 = (grid.view(1, 1, 1, -1) - bx) ** 2 + (grid.view(1, 1, -1, 1) - by) ** 2
    img = torch.exp(-d2 / (2 * IMG_SIGMA ** 2))
    gen = torch.Generator(device="cpu").manual_seed(seed + 1)
    noise = torch.randn(img.shape, generator=gen).to(device)
    return (img + NOISE * noise).contiguous()


class PendulumImages:
    """The nested hybrid: encoder (first frames -> z0), the pendulum hybrid, decoder + sigmoid."""
    name, frames, spf, h = "pendulum-images", IMG_FRAMES, SPF, H
    steps = (IMG_FRAMES - 1) * SPF
    theta_shape = (1,)
    nested = True
    fwd_flop_per_sequence = IMG_FWD_FLOP_PER_SEQUENCE
    describe = ("pendulum-images full (%dx%d, %d frames), encoder %d-%d-2, MLP 2-%d-%d-2, decoder 2-%d-%d + sigmoid, tanh"
                % (IMG_SIDE, IMG_SIDE, IMG_FRAMES, IMG_ENC_FRAMES * IMG_PIXELS, IMG_CODEC, WIDTH, WIDTH,
                   IMG_CODEC, IMG_PIXELS))
    count = IMG_COUNT

    @staticmethod
    def data(a, device):
        return make_image_data(IMG_COUNT, device, a.seed + 1000)

    @staticmethod
    def net(device):
        nn = torch.nn
        # module order = hybridsam's parameter layout after theta: corrector, encoder, decoder
        return nn.ModuleDict({
            "corrector": Pendulum.net(device),
            "encoder": nn.Sequential(nn.Linear(IMG_ENC_FRAMES * IMG_PIXELS, IMG_CODEC), nn.Tanh(),
                                     nn.Linear(IMG_CODEC, 2)),
            "decoder": nn.Sequential(nn.Linear(2, IMG_CODEC), nn.Tanh(), nn.Linear(IMG_CODEC, IMG_PIXELS)),
        }).to(device)

    @staticmethod
    def theta(u):
        return Pendulum.theta(u)

    @staticmethod
    def field(z, theta, net):
        return Pendulum.field(z, theta, net["corrector"])


TASKS = {"pendulum": Pendulum, "reaction-diffusion": ReactionDiffusion, "pendulum-images": PendulumImages}


# ---------------------------------------------------------------- helpers

def global_norm(ts):
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(ts)))


class Timer:
    """Per-step times in ms: CUDA events on a GPU, perf_counter with synchronize otherwise."""

    def __init__(self, cuda):
        self.cuda = cuda

    def sync(self):
        if self.cuda:
            torch.cuda.synchronize()

    def per_step(self, fn, n):
        self.sync()
        w0 = time.perf_counter()
        if self.cuda:
            ev = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(n)]
            for a, b in ev:
                a.record()
                fn()
                b.record()
            self.sync()
            ms = [a.elapsed_time(b) for a, b in ev]
        else:
            ms = []
            for _ in range(n):
                t0 = time.perf_counter()
                fn()
                ms.append((time.perf_counter() - t0) * 1e3)
        self.sync()
        return ms, time.perf_counter() - w0


# ---------------------------------------------------------------- the hybrid and its training step

class Run:
    """One training run: parameters, Adam, fsam state, and a step of the chosen kind.

    rk4: 'eager' or 'compiled' (torch.compile of one RK4 step);
    loss: 'eager' or 'compiled[-ro]' (torch.compile of the whole rollout loss);
    step: 'eager', 'graph' (manual CUDA graph of the whole step) or 'compiled[-ro]'.
    """

    def __init__(self, a, data, device, seed, rule="fsam", rk4="eager", loss="eager", step="eager"):
        nn = torch.nn
        self.a, self.data, self.device, self.rule = a, data, device, rule
        self.task = TASKS[a.task]
        self.cuda = device.type == "cuda"
        torch.manual_seed(seed)
        self.mlp = self.task.net(device)  # the corrector (an MLP for pendulum, a conv net for reaction-diffusion)
        self.u = nn.Parameter(torch.zeros(self.task.theta_shape, device=device))  # theta in the middle of its box
        self.phi = list(self.mlp.parameters())
        self.params = [self.u] + self.phi
        self.m = [torch.zeros_like(p) for p in self.phi]       # fsam gradient average
        self.saved = [torch.zeros_like(p) for p in self.phi]   # phi before the perturbation
        groups = [{"params": [self.u], "lr": a.lr_theta}, {"params": self.phi, "lr": a.lr_nn}]
        kw = dict(betas=(0.9, 0.999), eps=1e-8)
        if self.cuda and not step.startswith("compiled"):
            kw["fused"] = True
        if self.cuda and (step == "graph" or step.endswith("-ro")):
            kw["capturable"] = True  # Adam's step count on the device: no host work in a graph
        self.opt = torch.optim.Adam(groups, **kw)
        self.t = 0
        self.last_loss = None

        self.rk4 = self._rk4 if rk4 == "eager" else torch.compile(self._rk4)
        if loss == "eager":
            self.loss_fn = self._rollout_loss
        else:
            self.loss_fn = torch.compile(self._rollout_loss,
                                         mode="reduce-overhead" if loss.endswith("-ro") else None)
        self.ro = step.endswith("-ro") or loss.endswith("-ro")
        self.step_kind = step
        body = self._fsam_step if rule == "fsam" else self._erm_step
        if step.startswith("compiled"):
            self.compiled = torch.compile(lambda idx: body(idx, False),
                                          mode="reduce-overhead" if step.endswith("-ro") else None)
        self.body = body
        self.graph = None
        self.static_idx = torch.zeros(a.batch, dtype=torch.long, device=device)
        self.graph_warm = 3  # eager steps (on a side stream) before the capture

    # -- model
    def _field(self, z, theta):
        return self.task.field(z, theta, self.mlp)

    def _rk4(self, z, theta):
        h = self.task.h
        k1 = self._field(z, theta)
        k2 = self._field(z + (0.5 * h) * k1, theta)
        k3 = self._field(z + (0.5 * h) * k2, theta)
        k4 = self._field(z + h * k3, theta)
        return z + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)

    def _rollout_loss(self, obs):
        theta = self.task.theta(self.u)
        nested = getattr(self.task, "nested", False)
        # the nested hybrid starts from the encoder's code and scores every frame, frame 0 included
        z = self.mlp["encoder"](obs[:, :IMG_ENC_FRAMES].flatten(1)) if nested else obs[:, 0]
        preds = [z] if nested else []
        for s in range(self.task.steps):
            z = self.rk4(z, theta)
            if (s + 1) % self.task.spf == 0:
                preds.append(z)
        pred = torch.stack(preds, dim=1)                   # [B, frames(-1), *state]
        if nested:
            img = torch.sigmoid(self.mlp["decoder"](pred))  # [B, frames, H*W]
            return ((img - obs.flatten(2)) ** 2).mean()
        return ((pred - obs[:, 1:]) ** 2).mean()

    def _loss_and_grads(self, obs):
        loss = self.loss_fn(obs)
        return loss, list(torch.autograd.grad(loss, self.params))

    # -- rules
    def _apply(self, g):
        """Clip the global norm over (u, phi) to a.clip, then one Adam step with g."""
        with torch.no_grad():
            coef = torch.clamp(self.a.clip / (global_norm(g) + 1e-12), max=1.0)
            torch._foreach_mul_(g, coef)
        for p, gi in zip(self.params, g):
            p.grad = gi
        self.opt.step()

    def _erm_step(self, idx, first):
        obs = self.data[idx]
        loss, g = self._loss_and_grads(obs)
        self._apply(g)
        return loss

    def _fsam_step(self, idx, first):
        a = self.a
        obs = self.data[idx]
        loss, g = self._loss_and_grads(obs)                # 1. at (theta, phi)
        gphi = g[1:]
        with torch.no_grad():                              # 2. eps from g_phi and m_{t-1}; then m_t
            if first:
                d = gphi
                torch._foreach_copy_(self.m, gphi)
            else:
                d = torch._foreach_add(gphi, self.m, alpha=-a.sigma)
                torch._foreach_mul_(self.m, a.lam)
                torch._foreach_add_(self.m, gphi, alpha=1.0 - a.lam)
            scale = a.rho / (global_norm(d) + 1e-12)
            torch._foreach_copy_(self.saved, self.phi)    # 3. perturb the network only
            torch._foreach_add_(self.phi, torch._foreach_mul(d, scale))
        _, g2 = self._loss_and_grads(obs)                  # 4. at (theta, phi + eps)
        with torch.no_grad():
            torch._foreach_copy_(self.phi, self.saved)    # 5. restore phi exactly
        self._apply(g2)                                    # 6. clip + Adam with g' for theta and phi
        return loss

    # -- one training step on minibatch indices idx
    def step(self, idx):
        first = self.t == 0
        self.t += 1
        kind = self.step_kind
        if self.ro:
            torch.compiler.cudagraph_mark_step_begin()
        if kind == "eager" or (first and kind.startswith("compiled")):
            # the compiled variants take their (different) first fsam step eagerly: one compile only
            self.last_loss = self.body(idx, first)
        elif kind.startswith("compiled"):
            self.last_loss = self.compiled(idx)
        elif kind == "graph":
            self.static_idx.copy_(idx)
            if self.graph is None and self.t <= self.graph_warm:
                s = torch.cuda.Stream()
                s.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(s):
                    self.last_loss = self.body(self.static_idx, first)
                torch.cuda.current_stream().wait_stream(s)
            else:
                if self.graph is None:
                    torch.cuda.synchronize()
                    for p in self.params:
                        p.grad = None
                    self.graph = torch.cuda.CUDAGraph()
                    with torch.cuda.graph(self.graph):
                        self.static_loss = self.body(self.static_idx, False)
                self.graph.replay()
                self.last_loss = self.static_loss
        else:
            raise ValueError(kind)
        return self.last_loss

    def theta(self):
        t = self.task.theta(self.u.detach()).tolist()
        return t[0] if len(t) == 1 else t

    def flat(self):
        return torch.cat([p.detach().reshape(-1) for p in self.params])


# ---------------------------------------------------------------- variants

SPECS = {
    "eager": dict(rule="fsam"),
    "eager-erm": dict(rule="erm"),
    "cudagraph": dict(rule="fsam", step="graph"),
    "cudagraph-erm": dict(rule="erm", step="graph"),
    "compile-rk4": dict(rule="fsam", rk4="compiled"),
    "compile-rk4-graph": dict(rule="fsam", rk4="compiled", step="graph"),
    "compile-step": dict(rule="fsam", step="compiled"),
    "compile-step-ro": dict(rule="fsam", step="compiled-ro"),
    "compile-loss": dict(rule="fsam", loss="compiled"),
    "compile-loss-ro": dict(rule="fsam", loss="compiled-ro"),
}
NEEDS_CUDA = {"cudagraph", "cudagraph-erm", "compile-rk4-graph", "compile-step-ro", "compile-loss-ro",
              "seq-cudagraph"}


class Bench:
    def __init__(self, a, device):
        self.a, self.device = a, device
        self.cuda = device.type == "cuda"
        self.timer = Timer(self.cuda)
        self.task = TASKS[a.task]
        self.data = self.task.data(a, device)
        self.n = self.data.shape[0]
        self.gen = torch.Generator(device=device).manual_seed(a.seed + 7)
        self.reference = {}  # rule -> (losses, final flat params) of eager from the check start

    def draw(self):
        return torch.randint(0, self.n, (self.a.batch,), device=self.device, generator=self.gen)

    def check_indices(self):
        g = torch.Generator(device=self.device).manual_seed(self.a.seed + 99)
        return [torch.randint(0, self.n, (self.a.batch,), device=self.device, generator=g)
                for _ in range(self.a.check_steps)]

    def eager_reference(self, rule):
        if rule not in self.reference:
            r = Run(self.a, self.data, self.device, self.a.seed, rule=rule)
            losses = [r.step(i).item() for i in self.check_indices()]
            self.reference[rule] = (losses, r.flat())
        return self.reference[rule]

    def flop_per_step(self, rule):
        per_seq = getattr(self.task, "fwd_flop_per_sequence", None) or self.task.fwd_flop * 4 * self.task.steps
        per_pass = per_seq * 3 * self.a.batch  # forward + backward (2x)
        return per_pass * (2 if rule == "fsam" else 1)

    def single(self, name):
        a, spec = self.a, SPECS[name]
        rule = spec["rule"]
        res = {"variant": name, "rule": rule}
        run = Run(a, self.data, self.device, a.seed, **spec)
        # check against eager from the same start on the same minibatches (these are warm-up steps
        # too); the first compiled call (compilation) happens here
        t0 = time.perf_counter()
        n_done = 0
        if a.check_steps > 0 and name != "eager" and name != "eager-erm":
            ref_losses, ref_flat = self.eager_reference(rule)
            losses, secs = [], []
            for idx in self.check_indices():
                s0 = time.perf_counter()
                losses.append(run.step(idx).item())
                secs.append(round(time.perf_counter() - s0, 2))
            res["first_steps_s"] = secs  # the compiled variants compile in these
            n_done = len(losses)
            dl = max(abs(x - y) / max(abs(y), 1e-30) for x, y in zip(losses, ref_losses))
            dp = ((run.flat() - ref_flat).norm() / ref_flat.norm()).item()
            res["check"] = {"steps": n_done, "max_rel_loss_diff": dl, "rel_param_diff": dp}
            print("  %-18s check vs eager over %d steps: max rel loss diff %.2e, rel param diff %.2e"
                  % (name, n_done, dl, dp), flush=True)
        least = 1 if name in ("eager", "eager-erm") else run.graph_warm + 2  # capture / recording done
        for _ in range(max(a.warmup, least) - n_done):
            run.step(self.draw())
        self.timer.sync()
        res["setup_and_warmup_s"] = round(time.perf_counter() - t0, 2)
        ms, wall = self.timer.per_step(lambda: run.step(self.draw()), a.steps)
        med = statistics.median(ms)
        res.update(steps=a.steps, ms_per_step=med, steps_per_s=1e3 / med, mean_steps_per_s=a.steps / wall,
                   gflop_per_s=self.flop_per_step(rule) / (med * 1e6),
                   final_loss=run.last_loss.item(), theta=run.theta())
        if not math.isfinite(res["final_loss"]):
            res["warning"] = "non-finite loss"
        return res

    def sequential(self, name):
        a = self.a
        kind = "graph" if name == "seq-cudagraph" else "eager"
        runs = [Run(a, self.data, self.device, a.seed + k, rule="fsam", step=kind) for k in range(a.seq_k)]
        for r in runs:
            for _ in range(r.graph_warm + 2 if kind == "graph" else 2):
                r.step(self.draw())
        self.timer.sync()
        t0 = time.perf_counter()
        for r in runs:                      # one run after another, as separate jobs would
            for _ in range(a.seq_steps):
                r.step(self.draw())
        self.timer.sync()
        total = time.perf_counter() - t0
        agg = a.seq_k * a.seq_steps / total
        return {"variant": name, "rule": "fsam", "k": a.seq_k, "steps": a.seq_steps,
                "steps_per_s": agg, "ms_per_step": 1e3 / agg, "aggregate_steps_per_s": agg,
                "per_run_steps_per_s": agg / a.seq_k, "total_s": total,
                "gflop_per_s": self.flop_per_step("fsam") * agg / 1e9,
                "final_loss": runs[-1].last_loss.item(),
                "note": "K runs one after another: aggregate steps/s = K*steps/total time"}


def write_json(path, doc):
    if not path:
        return
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=2)
    os.replace(tmp, path)


def print_table(results):
    print()
    print("%-18s %-5s %12s %12s %10s  %s" % ("variant", "rule", "steps/s", "ms/step", "GFLOP/s", "note"))
    for r in results:
        if "error" in r:
            print("%-18s %-5s %12s %12s %10s  %s" % (r["variant"], r.get("rule", ""), "-", "-", "-",
                                                    "FAILED: " + r["error"].splitlines()[0][:80]))
        elif "skipped" in r:
            print("%-18s %-5s %12s %12s %10s  skipped: %s" % (r["variant"], r.get("rule", ""), "-", "-", "-",
                                                             r["skipped"]))
        else:
            note = "aggregate of K=%d sequential runs" % r["k"] if "k" in r else ""
            if "check" in r:
                note = "check rel dloss %.1e" % r["check"]["max_rel_loss_diff"]
            print("%-18s %-5s %12.2f %12.3f %10.1f  %s" % (r["variant"], r["rule"], r["steps_per_s"],
                                                         r["ms_per_step"], r["gflop_per_s"], note))


def main(argv=None):
    a = parse_args(argv)
    global torch
    try:
        import torch as _torch
    except ImportError as e:
        print("pytorch_peer: PyTorch is not installed (%s); nothing to time." % e, file=sys.stderr)
        return 2
    torch = _torch
    variants = [v.strip() for v in a.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in ALL_VARIANTS]
    if unknown:
        print("pytorch_peer: unknown variant(s): %s (known: %s)" % (", ".join(unknown), ", ".join(ALL_VARIANTS)),
              file=sys.stderr)
        return 2
    if a.device.startswith("cuda") and not torch.cuda.is_available():
        print("pytorch_peer: WARNING: CUDA is not available; falling back to the CPU "
              "(CPU figures are not comparable with the GPU project timings)", file=sys.stderr)
        a.device = "cpu"
    device = torch.device(a.device)
    cuda = device.type == "cuda"
    if cuda:
        torch.cuda.set_device(device)
    dev_name = torch.cuda.get_device_name(device) if cuda else "cpu (%d threads)" % torch.get_num_threads()
    doc = {
        "tool": "benchmarks/pytorch_peer.py",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "torch": torch.__version__, "cuda": torch.version.cuda, "device": dev_name,
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "config": {"task": TASKS[a.task].describe, "batch": a.batch, "frames": TASKS[a.task].frames,
                   "rk4_steps": TASKS[a.task].steps, "h": TASKS[a.task].h,
                   "episodes": a.episodes if a.task == "reaction-diffusion" else getattr(TASKS[a.task], "count", N_TRAIN), "rho": a.rho, "sigma": a.sigma, "lambda": a.lam,
                   "lr_theta": a.lr_theta, "lr_nn": a.lr_nn, "clip": a.clip, "steps": a.steps,
                   "warmup": a.warmup, "seq_k": a.seq_k, "seq_steps": a.seq_steps, "seed": a.seed,
                   "timing": "median of per-step CUDA events" if cuda else "median of per-step perf_counter"},
        "results": [],
    }
    print("pytorch_peer: torch %s (CUDA %s) on %s; %s, batch %d, %d RK4 steps, fsam rho %g"
          % (torch.__version__, torch.version.cuda, dev_name, TASKS[a.task].describe, a.batch,
             TASKS[a.task].steps, a.rho), flush=True)
    bench = Bench(a, device)
    start = time.perf_counter()
    for name in variants:
        if a.time_budget > 0 and time.perf_counter() - start > a.time_budget:
            res = {"variant": name, "skipped": "time budget of %gs spent" % a.time_budget}
        elif name in NEEDS_CUDA and not cuda:
            res = {"variant": name, "skipped": "needs CUDA"}
        else:
            t0 = time.perf_counter()
            try:
                res = bench.sequential(name) if name.startswith("seq-") else bench.single(name)
            except Exception as e:  # report and go on with the next variant
                res = {"variant": name, "rule": SPECS.get(name, {}).get("rule", "fsam"),
                       "error": "%s: %s" % (type(e).__name__, e),
                       "traceback": traceback.format_exc()[-4000:]}
                print("  %-18s FAILED: %s: %s" % (name, type(e).__name__, str(e).splitlines()[0] if str(e) else ""),
                      flush=True)
                if cuda:
                    try:
                        torch.cuda.synchronize()
                        torch.cuda.empty_cache()
                    except Exception:
                        pass
            res["variant_s"] = round(time.perf_counter() - t0, 2)
        if "steps_per_s" in res:
            print("  %-18s %9.2f steps/s  %9.3f ms/step  (%.1fs)" % (name, res["steps_per_s"], res["ms_per_step"],
                                                                    res["variant_s"]), flush=True)
        elif "skipped" in res:
            print("  %-18s skipped: %s" % (name, res["skipped"]), flush=True)
        doc["results"].append(res)
        write_json(a.json, doc)
    ok = {r["variant"]: r for r in doc["results"] if "steps_per_s" in r and r.get("rule") == "fsam"}
    if "eager" in ok:
        doc["eager_fsam_steps_per_s"] = ok["eager"]["steps_per_s"]
    fast = [r for n, r in ok.items() if n != "eager" and not n.startswith("seq-")]
    if fast:
        best = max(fast, key=lambda r: r["steps_per_s"])
        doc["best_non_eager_fsam"] = {"variant": best["variant"], "steps_per_s": best["steps_per_s"]}
    write_json(a.json, doc)
    print_table(doc["results"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
