#!/usr/bin/env python3
"""Trains codectx's learned file or function ranker (LambdaMART, LightGBM) from `codectx eval --dump-features`.

Input: one or more JSON-lines feature dumps (`codectx eval --dataset D --repos R --mode lexical
--dump-features F`), one row per candidate file of an instance: `instance_id, repo, config, file,
label (1 = gold file), gold_files (how many the instance has), rank (fused rank), features` (the
vector named by `FILE_FEATURES` in `crates/codectx-retrieve/src/rerank.rs`, as serving computes it),
and the datasets the dumps were made from (for the manifest: which repositories and commits the
model learned from). With `--unit function` it reads the dumps' function rows instead (they have a
`function` field: the candidate definitions of `definition_features` in
`crates/codectx-retrieve/src/definitions.rs`, label 1 = gold function, `gold_functions`, features named by
`FUNCTION_FEATURES`) and writes `function-ranker.txt`, `function-ranker.check.json`,
`function-manifest.json` and `function-cv.json`; the baseline order is then the fused order of
definitions (the `fused_rank` feature), not the candidate order.

Output, in --out-dir (default `training/ranker/`):
  file-ranker.txt         the model, LightGBM's text format, read by `codectx_retrieve::gbdt`;
  file-ranker.check.json  LightGBM's own raw scores of sampled training vectors, which a Rust unit test
                          matches to 1e-6;
  manifest.json           the data sources (repositories, instance ids, commits), parameters, library
                          versions and the feature names;
  cv.json                 leave-one-repository-out cross-validation: file Acc@1/3/5/10 and MRR of the
                          fused order and of the reranked order on each held-out repository.

Method: LambdaMART (Burges 2010) with LightGBM's `lambdarank` objective, one query per instance and
configuration, graded relevance 1 for gold files. Instances with no gold file among their candidates
carry no ranking signal and are left out of training (they still count as misses in the metrics).

    python3 training/train_ranker.py --features dump.jsonl --dataset train.jsonl [--dataset ...]
        [--repo-name cobra=spf13/cobra ...]
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import pathlib
import random
import sys

import lightgbm as lgb
import numpy as np

# Chosen by the leave-one-repository-out cross-validation on the training data alone (never the dev
# set): 100 or 300 rounds x 7 or 15 leaves x 20 or 50 samples per leaf all gained over the fused order;
# 100 rounds of 7-leaf trees gave the best pooled Acc@1 with MRR within 0.001 of the best, and are the
# smallest model.
PARAMS = {
    "objective": "lambdarank",
    "metric": "ndcg",
    "ndcg_eval_at": [1, 3, 5, 10],
    "learning_rate": 0.05,
    "num_leaves": 7,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "lambdarank_truncation_level": 20,
    "verbose": -1,
    "seed": 17,
    "deterministic": True,
    "num_threads": 2,
}
ROUNDS = 100
KS = (1, 3, 5, 10)


FEATURE_NAMES: list[str] = []  # read once; or --feature-names from `codectx train-ranker`, which has no source tree
UNIT = "file"  # --unit: what the model ranks
# Per unit: the Rust file and constant that name the features.
SOURCES = {
    "file": ("crates/codectx-retrieve/src/rerank.rs", "FILE_FEATURES"),
    "function": ("crates/codectx-retrieve/src/definitions.rs", "FUNCTION_FEATURES"),
}


def feature_names() -> list[str]:
    """The unit's feature names from the Rust source (read once), so that the model's names match what
    serving computes."""
    if not FEATURE_NAMES:
        path, constant = SOURCES[UNIT]
        source = (pathlib.Path(__file__).resolve().parents[1] / path).read_text()
        block = source.split(f"pub const {constant}: [&str; ")[1].split("];")[0]
        FEATURE_NAMES.extend(line.strip().strip('",') for line in block.splitlines() if line.strip().startswith('"'))
    return FEATURE_NAMES


def prefix() -> str:
    """Output file prefix: none for the file ranker (its historical names), `function-` for the other."""
    return "" if UNIT == "file" else f"{UNIT}-"


# `--repo-name SHORT=OWNER/NAME`: `codectx eval --from-history` names a repository by its folder.
REPO_NAMES: dict[str, str] = {}


def read_jsonl(paths: list[str]):
    """The JSON objects of the non-blank lines of JSON-lines files, in order, with `repo` renamed by
    --repo-name."""
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    row = json.loads(line)
                    if "repo" in row:
                        row["repo"] = REPO_NAMES.get(row["repo"], row["repo"])
                    yield row


def load_groups(paths: list[str]) -> list[dict]:
    """The unit's rows grouped by (instance, configuration), in candidate order; `gold` is how many gold
    files (functions) the instance has. Instances without any gold function are left out of the function
    unit (history commits that only touch module-level code of a language without functions)."""
    groups: dict[tuple[str, str], dict] = {}
    for row in read_jsonl(paths):
        if ("function" in row) != (UNIT == "function"):
            continue
        gold = row["gold_functions"] if UNIT == "function" else row["gold_files"]
        if not gold:
            continue
        key = (row["instance_id"], row["config"])
        group = groups.setdefault(
            key,
            {"instance_id": row["instance_id"], "repo": row["repo"], "config": row["config"],
             "gold": gold, "rows": []},
        )
        group["rows"].append(row)
    for group in groups.values():
        group["rows"].sort(key=lambda row: row["rank"])
    return list(groups.values())


def metrics(groups: list[dict], scores: list[np.ndarray] | None) -> dict:
    """Acc@k (every gold file or function in the first k) and MRR of the first gold one, over all
    groups. `scores` None: the fused order ([`baseline`])."""
    if scores is None:
        scores = baseline(groups)
    acc = collections.Counter()
    reciprocal = 0.0
    for index, group in enumerate(groups):
        labels = np.array([row["label"] for row in group["rows"]])
        order = np.argsort(-scores[index], kind="stable")
        ranked = labels[order]
        hits = np.nonzero(ranked)[0]
        found = len(hits)
        if found:
            reciprocal += 1.0 / (hits[0] + 1)
        for k in KS:
            if found == group["gold"] and found and hits[-1] < k:
                acc[k] += 1
    count = max(len(groups), 1)
    out = {f"acc@{k}": round(acc[k] / count, 4) for k in KS}
    out["mrr"] = round(reciprocal / count, 4)
    out["instances"] = len(groups)
    return out


def baseline(groups: list[dict]) -> list[np.ndarray]:
    """Scores of the order without the model: the candidate order for files (the fused order); for
    functions the fused order of definitions (`fused_rank`; candidates it does not hold keep their
    candidate order after it)."""
    if UNIT == "file":
        return [-np.arange(len(group["rows"]), dtype=np.float64) for group in groups]
    column = feature_names().index("fused_rank")
    return [-np.array([row["features"][column] + row["rank"] * 1e-6 for row in group["rows"]]) for group in groups]


def matrices(groups: list[dict]) -> tuple[np.ndarray, np.ndarray, list[int]]:
    trainable = [group for group in groups if any(row["label"] for row in group["rows"])]
    features = np.array([row["features"] for group in trainable for row in group["rows"]], dtype=np.float64)
    labels = np.array([row["label"] for group in trainable for row in group["rows"]], dtype=np.float64)
    sizes = [len(group["rows"]) for group in trainable]
    return features, labels, sizes


def train(groups: list[dict], names: list[str], init_model: str | None = None) -> lgb.Booster:
    """LambdaMART on `groups`; with `init_model`, ROUNDS more trees boosted on top of that model (its
    scores are the starting point), which adapts a model to new data without forgetting it."""
    features, labels, sizes = matrices(groups)
    data = lgb.Dataset(features, labels, group=sizes, feature_name=names, free_raw_data=False)
    return lgb.train(PARAMS, data, num_boost_round=ROUNDS, init_model=init_model)


def score(booster: lgb.Booster, groups: list[dict]) -> list[np.ndarray]:
    """The order serving computes: the model's scores; for files (`rerank_files` in rerank.rs) except that
    the fused first file stays first when it is also the innermost stack frame's file (frame_file_rank 1)."""
    frame = feature_names().index("frame_file_rank") if UNIT == "file" else None
    out = []
    for group in groups:
        scores = booster.predict(np.array([row["features"] for row in group["rows"]], dtype=np.float64), raw_score=True)
        if frame is not None and group["rows"] and group["rows"][0]["features"][frame] == 1.0:
            scores[0] = np.inf
        out.append(scores)
    return out


def manifest_sources(datasets: list[str], used: set[str]) -> dict:
    """Repositories, instance ids and commits the model learned from."""
    sources = collections.defaultdict(lambda: {"instances": [], "base_commits": set(), "history_commits": set()})
    for row in read_jsonl(datasets):
        if row["instance_id"] not in used:
            continue
        entry = sources[row["repo"]]
        entry["instances"].append(row["instance_id"])
        entry["base_commits"].add(row["base_commit"])
        if "commit" in row:
            entry["history_commits"].add(row["commit"])
    return {
        repo: {
            "instances": sorted(entry["instances"]),
            "base_commits": sorted(entry["base_commits"]),
            "history_commits": sorted(entry["history_commits"]),
        }
        for repo, entry in sorted(sources.items())
    }


def main() -> int:
    global ROUNDS, UNIT
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--features", action="append", required=True, help="a --dump-features file (repeatable)")
    parser.add_argument("--dataset", action="append", default=[], help="a dataset the dumps came from (repeatable)")
    parser.add_argument("--out-dir", default=str(pathlib.Path(__file__).resolve().parent / "ranker"))
    parser.add_argument("--source-note", action="append", default=[], help="a line for the manifest's notes")
    parser.add_argument("--repo-name", action="append", default=[], metavar="SHORT=OWNER/NAME",
                        help="the full name of a repository that a dump names by its folder (repeatable)")
    parser.add_argument("--unit", choices=sorted(SOURCES), default="file", help="what the model ranks (default file)")
    parser.add_argument("--feature-names", help="a JSON list of the feature names (default: from the Rust source)")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help=f"boosting rounds (default {ROUNDS})")
    parser.add_argument("--init-model", help="boost on top of this model (LightGBM text format)")
    parser.add_argument("--holdout", help="a file of instance ids (one per line) held out of training and "
                        "scored before (the --init-model, else the fused order) and after: holdout.json; "
                        "no cross-validation then")
    args = parser.parse_args()
    ROUNDS = args.rounds
    UNIT = args.unit
    if args.feature_names:
        FEATURE_NAMES.extend(json.loads(pathlib.Path(args.feature_names).read_text()))
    for pair in args.repo_name:
        short, _, full = pair.partition("=")
        REPO_NAMES[short] = full

    names = feature_names()
    groups = load_groups(args.features)
    if not groups:
        print("no feature rows", file=sys.stderr)
        return 2
    width = {len(row["features"]) for group in groups for row in group["rows"]}
    if width != {len(names)}:
        print(f"feature vectors of {sorted(width)} values; codectx has {len(names)} features", file=sys.stderr)
        return 2
    repos = sorted({group["repo"] for group in groups})

    if args.holdout:
        held = set(pathlib.Path(args.holdout).read_text().split())
        test_groups = [group for group in groups if group["instance_id"] in held]
        groups = [group for group in groups if group["instance_id"] not in held]
        if not any(any(row["label"] for row in group["rows"]) for group in groups):
            print(f"no training query has a gold {UNIT} among its candidates", file=sys.stderr)
            return 2
    # Leave-one-repository-out cross-validation.
    cv = {"folds": {}, "params": PARAMS, "rounds": ROUNDS}
    for held_out in [] if args.holdout or args.init_model else repos:
        train_groups = [group for group in groups if group["repo"] != held_out]
        test_groups = [group for group in groups if group["repo"] == held_out]
        if not any(any(row["label"] for row in group["rows"]) for group in train_groups):
            continue
        booster = train(train_groups, names)
        scores = score(booster, test_groups)
        fold = {"fused": metrics(test_groups, None), "reranked": metrics(test_groups, scores)}
        for kind, pick in (("swebench", lambda g: "-hist-" not in g["instance_id"]),
                           ("history", lambda g: "-hist-" in g["instance_id"])):
            chosen = [i for i, group in enumerate(test_groups) if pick(group)]
            if chosen:
                subset = [test_groups[i] for i in chosen]
                fold[f"{kind}_fused"] = metrics(subset, None)
                fold[f"{kind}_reranked"] = metrics(subset, [scores[i] for i in chosen])
        cv["folds"][held_out] = fold
        print(f"held out {held_out}: fused {fold['fused']} -> reranked {fold['reranked']}", file=sys.stderr)
    # Pooled over the folds, each instance scored by the model that never saw its repository.
    pooled = collections.defaultdict(list)
    for fold in cv["folds"].values():
        for side in ("fused", "reranked"):
            pooled[side].append(fold[side])
    cv["pooled"] = {} if not pooled else {
        side: {
            key: round(sum(m[key] * m["instances"] for m in folds) / max(sum(m["instances"] for m in folds), 1), 4)
            for key in folds[0] if key != "instances"
        } | {"instances": sum(m["instances"] for m in folds)}
        for side, folds in pooled.items()
    }
    print(f"pooled: {cv['pooled']}", file=sys.stderr)

    booster = train(groups, names, args.init_model)
    out = pathlib.Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if args.holdout:
        before = metrics(test_groups, score(lgb.Booster(model_file=args.init_model), test_groups)
                         if args.init_model else None)
        after = metrics(test_groups, score(booster, test_groups))
        (out / f"{prefix()}holdout.json").write_text(json.dumps({"before": before, "after": after}) + "\n")
        print(f"held out: before {before} -> after {after}", file=sys.stderr)
    booster.save_model(str(out / f"{UNIT}-ranker.txt"))
    rng = random.Random(17)
    rows = [row for group in groups for row in group["rows"]]
    sample = rng.sample(rows, min(200, len(rows)))
    predictions = booster.predict(np.array([row["features"] for row in sample], dtype=np.float64), raw_score=True)
    check = {"rows": [{"features": row["features"], "lightgbm": float(p)} for row, p in zip(sample, predictions)]}
    (out / f"{UNIT}-ranker.check.json").write_text(json.dumps(check) + "\n")
    used = {group["instance_id"] for group in groups}
    manifest = {
        "model": f"{UNIT}-ranker.txt",
        "trained": datetime.date.today().isoformat(),
        "method": "LambdaMART (LightGBM lambdarank), one query per instance and configuration",
        "lightgbm": lgb.__version__,
        "params": PARAMS,
        "rounds": ROUNDS,
        "init_model": args.init_model,
        "held_out": len(test_groups) if args.holdout else 0,
        "features": names,
        "configs": sorted({group["config"] for group in groups}),
        "queries": len(groups),
        "queries_with_a_gold_candidate": sum(1 for g in groups if any(r["label"] for r in g["rows"])),
        "notes": args.source_note,
        "sources": manifest_sources(args.dataset, used),
    }
    (out / f"{prefix()}manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    (out / f"{prefix()}cv.json").write_text(json.dumps(cv, indent=1) + "\n")
    print(f"wrote {out}/{UNIT}-ranker.txt ({booster.num_trees()} trees) and its manifest, check and cv", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
