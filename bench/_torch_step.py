"""PyTorch's side of bench/torch_step.ts: the same MLP training step, driven over stdin/stdout.

One JSON request per line on stdin, one JSON answer per line on stdout:
  {"cmd": "info"} -> versions, the BLAS library loaded, thread counts
  {"cmd": "setup", "sizes": [...], "batch": B, "loss": "cross-entropy" | "mse",
   "weights": [[W row-major [out, in], b], ...], "x": [...], "y": [...], "lr": 1e-3}
  {"cmd": "loss", "steps": N} -> from the initial weights with a fresh Adam: N steps, then the
                                  loss of the model on the batch (no grad)
  {"cmd": "time", "samples": S, "block": K} -> S wall times (ns) of K consecutive steps each
A step: zero_grad(set_to_none=True), forward, loss, backward, Adam step (float64, one thread).
The caller sets OMP_NUM_THREADS=1 and OPENBLAS_NUM_THREADS=1 before this process starts.
"""
import json
import os
import sys
import time

try:
    import numpy
    import torch
except ImportError as e:  # the Deno side turns this into a "skipped" message
    print(json.dumps({"error": f"{type(e).__name__}: {e}"}), flush=True)
    sys.exit(3)

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)


def blas_library():
    """The BLAS shared object this process has mapped (OpenBLAS through Debian's alternatives)."""
    libs = set()
    with open(f"/proc/{os.getpid()}/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if "blas" in os.path.basename(path):
                libs.add(os.path.realpath(path))
    return sorted(libs)


class Trainer:
    def __init__(self, spec):
        self.spec = spec
        sizes = spec["sizes"]
        layers = []
        for i in range(len(sizes) - 1):
            if i > 0:
                layers.append(torch.nn.ReLU())
            layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        self.model = torch.nn.Sequential(*layers)
        self.linears = [m for m in self.model if isinstance(m, torch.nn.Linear)]
        self.x = torch.tensor(spec["x"]).reshape(spec["batch"], sizes[0])
        if spec["loss"] == "mse":
            self.y = torch.tensor(spec["y"]).reshape(spec["batch"], sizes[-1])
            self.loss_fn = torch.nn.MSELoss()
        else:
            self.y = torch.tensor(spec["y"], dtype=torch.int64)
            self.loss_fn = torch.nn.CrossEntropyLoss()
        self.reset()

    def reset(self):
        with torch.no_grad():
            for lin, (w, b) in zip(self.linears, self.spec["weights"]):
                lin.weight.copy_(torch.tensor(w).reshape(lin.weight.shape))
                lin.bias.copy_(torch.tensor(b))
        self.opt = torch.optim.Adam(self.model.parameters(), lr=self.spec["lr"])

    def step(self):
        self.opt.zero_grad(set_to_none=True)
        loss = self.loss_fn(self.model(self.x), self.y)
        loss.backward()
        self.opt.step()

    def loss(self):
        with torch.no_grad():
            return self.loss_fn(self.model(self.x), self.y).item()


def main():
    trainer = None
    for line in sys.stdin:
        req = json.loads(line)
        cmd = req["cmd"]
        if cmd == "info":
            out = {
                "python": sys.version.split()[0],
                "torch": torch.__version__,
                "numpy": numpy.__version__,
                "threads": torch.get_num_threads(),
                "blas": blas_library(),
            }
        elif cmd == "setup":
            trainer = Trainer(req)
            out = {"ok": True}
        elif cmd == "loss":
            trainer.reset()
            for _ in range(req["steps"]):
                trainer.step()
            out = {"loss": trainer.loss()}
        elif cmd == "time":
            times = []
            for _ in range(req["samples"]):
                t0 = time.perf_counter_ns()
                for _ in range(req["block"]):
                    trainer.step()
                times.append(time.perf_counter_ns() - t0)
            out = {"ns": times}
        else:
            out = {"error": f"unknown command {cmd!r}"}
        print(json.dumps(out), flush=True)


main()
