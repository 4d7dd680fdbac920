"""Serves a scikit-learn digits classifier as a Troupe model container.

Trains LogisticRegression on 75 % of sklearn's digits data set (8x8 images,
64 numbers each, classes 0-9), or loads a pickled classifier with --pickle,
and serves it: each input is 64 numbers, each output the predicted class.

    /opt/troupe/venv/bin/python apps/python/serve_sklearn_digits.py --ready-file r.json
    ... --export-test test.csv   # write the held-out 25 % ("label,x0,...,x63") and exit
"""

import argparse
import os
import pickle
import sys

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import troupe_container  # noqa: E402


def split():
    """The fixed train/test split, so a client can test on unseen rows."""
    digits = load_digits()
    return train_test_split(digits.data, digits.target, test_size=0.25, random_state=0)


def main():
    parser = troupe_container.add_arguments(argparse.ArgumentParser(description=__doc__))
    parser.add_argument("--pickle", help="serve this pickled classifier instead of training")
    parser.add_argument("--save-pickle", help="after training, also pickle the classifier here")
    parser.add_argument("--export-test", help="write the held-out rows as CSV and exit")
    parser.add_argument("--name", default="digits")
    parser.add_argument("--version", type=int, default=1)
    args = parser.parse_args()

    x_train, x_test, y_train, y_test = split()
    if args.export_test:
        with open(args.export_test, "w") as f:
            for x, y in zip(x_test, y_test):
                f.write(",".join([str(int(y))] + [repr(float(v)) for v in x]) + "\n")
        return

    if args.pickle:
        with open(args.pickle, "rb") as f:
            model = pickle.load(f)
    else:
        model = LogisticRegression(max_iter=5000)
        model.fit(x_train, y_train)
        if args.save_pickle:
            with open(args.save_pickle, "wb") as f:
                pickle.dump(model, f)

    def predict(inputs):
        return [str(int(c)) for c in model.predict(np.stack(inputs))]

    troupe_container.serve(predict, args.name, args.version, "doubles", input_length=64,
                           port=args.port, ready_file=args.ready_file, host=args.host)


if __name__ == "__main__":
    main()
