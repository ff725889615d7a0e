#!/usr/bin/env python3
"""Tables of the README's experiment from the results.json files under a folder.

usage: benchmarks/summarize.py DIR
"""
import json, pathlib, statistics, sys

def load(d):
    runs = []
    for f in sorted(pathlib.Path(d).glob("*/results.json")):
        top = json.load(open(f))
        # schema 2: a run is a list of replicas (θ by name); before it, a single run's fields were at the top
        reps = top["replicas"] if "replicas" in top else [top]
        for k, r in enumerate(reps):
            h = r["hyperparameters"]
            theta = r["final"]["theta"]
            theta = list(theta.values()) if isinstance(theta, dict) else theta
            runs.append(dict(task=top["task"], method=h["method"], rho=h["rho"], seed=r["seed"], epochs=top["epochs"],
                             theta=theta, err=r["final"]["theta_error"], mn=r["final"].get("theta_mn_error"),
                             mse=r["final"]["test_mse"], valid=r["final"]["valid_mse"], share=r["final"]["network_share"],
                             best=r["best_epoch"], sps=top["steps_per_second"], grads=top["gradient_evaluations"] // len(reps),
                             name=f.parent.name + (f"[{k}]" if len(reps) > 1 else "")))
    return runs

def fmt_theta(t):
    # 4 significant digits: reaction-diffusion's θ is of order 1e-3
    return "(" + ", ".join(f"{x:.4g}" for x in t) + ")" if len(t) > 1 else f"{t[0]:.4g}"

def main(d):
    runs = load(d)
    groups = {}
    for r in runs:
        groups.setdefault((r["task"], r["method"], r["rho"], r["epochs"]), []).append(r)
    print("| task | rule | ρ | epochs | grad. evals | seeds | θ̂ (median) | θ error median [min, max] | θ_mn error | test MSE median | network share |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for (task, method, rho, epochs), g in sorted(groups.items()):
        errs = [r["err"] for r in g]
        med = statistics.median(errs)
        mid = sorted(g, key=lambda r: r["err"])[len(g) // 2]
        rho_s = f"{rho:g}" if method in ("sam", "asam", "fsam") else "–"
        print(f"| {task} | {method} | {rho_s} | {epochs} | {g[0]['grads']} | {len(g)} | {fmt_theta(mid['theta'])} | "
              f"{med:.3f} [{min(errs):.3f}, {max(errs):.3f}] | {statistics.median([r['mn'] for r in g]):.3f} | "
              f"{statistics.median([r['mse'] for r in g]):.2e} | {statistics.median([r['share'] for r in g]):.3f} |")
    print()
    print("| run | θ̂ | θ error | valid MSE | test MSE | best epoch | steps/s |")
    print("|---|---|---|---|---|---|---|")
    for r in runs:
        print(f"| {r['name']} | {fmt_theta(r['theta'])} | {r['err']:.4f} | {r['valid']:.2e} | {r['mse']:.2e} | {r['best']} | {r['sps']:.1f} |")

if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "runs/experiment")
