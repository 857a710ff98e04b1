"""Trains the demo's Adult-income MLP once, outside the product (conflux itself never runs Python).

Run from this folder with numpy and scikit-learn installed, given the Adult CSVs of the
project's shared data (OpenXAI preprocessing, see README.md):

    python train_demo_model.py path/to/adult-train.csv path/to/adult-test.csv

Writes adult_mlp.json (conflux model format, with its standardisation as `preprocess` and a
trailing sigmoid head) and adult_sample.csv (the first 300 rows of the test split, raw units).
"""
import csv
import json
import sys

import numpy as np
from sklearn.neural_network import MLPClassifier


def read(path):
    with open(path) as f:
        rows = list(csv.reader(f))
    return rows[0], np.array(rows[1:], dtype=float)


header, train = read(sys.argv[1])
_, test = read(sys.argv[2])
names = header[:-1]
x, y = train[:, :-1], train[:, -1]
mean, std = x.mean(axis=0), x.std(axis=0)
std[std == 0] = 1.0
clf = MLPClassifier(hidden_layer_sizes=(32, 16), activation="relu", alpha=1e-3,
                    max_iter=300, early_stopping=True, random_state=7)
clf.fit((x - mean) / std, y)
acc = clf.score((test[:, :-1] - mean) / std, test[:, -1])
print(f"test accuracy {acc:.4f}")
layers = []
for i, (w, b) in enumerate(zip(clf.coefs_, clf.intercepts_)):
    layers.append({"type": "linear", "weight": w.T.tolist(), "bias": b.tolist()})
    layers.append({"type": "relu"} if i < len(clf.coefs_) - 1 else {"type": "sigmoid"})
model = {"format": "conflux-model", "format_version": 1, "input_dim": len(names),
         "feature_names": names,
         "preprocess": {"kind": "standardize", "mean": mean.tolist(), "std": std.tolist()},
         "layers": layers,
         "provenance": f"sklearn MLPClassifier(32, 16, relu), random_state=7, Adult train split; test accuracy {acc:.4f}"}
with open("adult_mlp.json", "w") as f:
    json.dump(model, f)
with open(sys.argv[2]) as f:
    lines = f.readlines()[:301]
with open("adult_sample.csv", "w") as f:
    f.writelines(lines)
# Probabilities of the first 10 sample rows, for the test that conflux reproduces the model.
sample = test[:10, :-1]
proba = clf.predict_proba((sample - mean) / std)[:, 1]
with open("adult_mlp_expected.json", "w") as f:
    json.dump({"rows": 10, "probability": proba.tolist()}, f)
