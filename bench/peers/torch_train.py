"""Train a sigmoid MLP with PyTorch eager mode, as the PyTorch peer of scripts/compare-peers.

An idiomatic loop: nn.Sequential of Linear and Sigmoid layers, Glorot/Xavier uniform weights
and zero biases (as bmlp initializes), BCEWithLogitsLoss on the last Linear's logit, and
torch.optim.SGD without momentum. Every epoch draws a permutation with torch.randperm,
gathers the features and labels in that order once, and takes contiguous slices of batch
rows from the gathered tensors.

Usage: /usr/bin/python3 torch_train.py --data FILE.npy --hidden 256,256 --batch 256 --lr 0.5
                                        --epochs 3 --threads T [--seed 1]

Prints 'key: value' lines: threads, blas, epoch_seconds, samples_per_second and loss. blas is
the file that provides sgemm_ in this process, read from /proc/self/maps. epoch_seconds has
one value per epoch, and samples_per_second is samples per epoch / median epoch time. loss is
the mean binary cross-entropy over all samples after training, computed outside the timed
epochs.
"""

import argparse
import ctypes
import os
import statistics
import time

import numpy as np
import torch
from torch import nn


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="NPY file: features, then the 0/1 label")
    parser.add_argument("--hidden", default="16", help="comma-separated hidden widths")
    parser.add_argument("--batch", type=int, default=256, help="samples per SGD step")
    parser.add_argument("--lr", type=float, default=0.5, help="learning rate")
    parser.add_argument("--epochs", type=int, default=3, help="passes over the samples")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    parser.add_argument("--seed", type=int, default=1, help="torch.manual_seed")
    return parser.parse_args()


def mapped_library(address):
    """Return the path of the file mapped at address in this process, or None."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            low, high = (int(x, 16) for x in fields[0].split("-"))
            if low <= address < high and len(fields) >= 6:
                return fields[5]
    return None


def blas_library():
    """Return the file that provides sgemm_ to libblas.so.3, which Debian's torch calls."""
    try:
        sgemm = ctypes.CDLL("libblas.so.3", mode=os.RTLD_NOLOAD | os.RTLD_LAZY).sgemm_
    except OSError:
        return "libblas.so.3 not loaded"
    path = mapped_library(ctypes.cast(sgemm, ctypes.c_void_p).value)
    return path if path is not None else "unknown"


def make_model(widths):
    layers = []
    for i in range(len(widths) - 1):
        linear = nn.Linear(widths[i], widths[i + 1])
        nn.init.xavier_uniform_(linear.weight)
        nn.init.zeros_(linear.bias)
        layers.append(linear)
        if i + 2 < len(widths):
            layers.append(nn.Sigmoid())
    return nn.Sequential(*layers)


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    data = torch.from_numpy(np.load(args.data)).float()
    features = data[:, :-1].contiguous()
    labels = data[:, -1:].contiguous()
    samples = features.shape[0]
    hidden = [int(w) for w in args.hidden.split(",") if w]
    model = make_model([features.shape[1], *hidden, 1])
    loss_fn = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)

    epoch_seconds = []
    for _ in range(args.epochs):
        start = time.perf_counter()
        order = torch.randperm(samples)
        shuffled_x = features[order]
        shuffled_y = labels[order]
        running_loss = 0.0
        for first in range(0, samples, args.batch):
            x = shuffled_x[first : first + args.batch]
            y = shuffled_y[first : first + args.batch]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            running_loss += loss.item()
        epoch_seconds.append(time.perf_counter() - start)

    with torch.no_grad():
        final_loss = nn.functional.binary_cross_entropy_with_logits(model(features), labels)

    print(f"peer: PyTorch {torch.__version__}")
    print(f"threads: {torch.get_num_threads()}")
    print(f"blas: {blas_library()}")
    print("epoch_seconds: " + " ".join(f"{s:.6f}" for s in epoch_seconds))
    print(f"samples_per_second: {samples / statistics.median(epoch_seconds):.6g}")
    print(f"loss: {final_loss.item():.6f}")


if __name__ == "__main__":
    main()
