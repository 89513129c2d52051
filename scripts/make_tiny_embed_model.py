#!/usr/bin/env python3
"""Generate a tiny, deterministic ONNX text-embedding model for tests.

Writes tests/data/tiny-embed-model/ (a few tens of KB in all):

  model.onnx               inputs input_ids / attention_mask / token_type_ids
                           (int64 [batch, seq]); output last_hidden_state
                           (float32 [batch, seq, 16])
  tokenizer.json           HuggingFace `tokenizers` WordLevel tokenizer
  config.json              pad_token_id = 0, hidden_size = 16
  special_tokens_map.json
  tokenizer_config.json    model_max_length = 128, pad_token = "[PAD]"
  README.md

The folder is loadable by fastembed's `UserDefinedEmbeddingModel` (use mean
pooling). Weights are random (fixed seed), so the vectors carry no meaning
beyond "same words -> same token vectors": texts that share words end up
closer than texts that do not. Re-running the script reproduces identical
bytes.

Graph:
    h = Tanh((E[input_ids] + T[token_type_ids]) @ W) * attention_mask
with E [vocab, 16], T [2, 16], W [16, 16]. The rows of E for [PAD] and [UNK]
and row 0 of T are zero, so padding and unknown words add nothing to a
mean-pooled embedding (unknown words do not make unrelated texts look alike).
[CLS]/[SEP] rows are scaled by 0.3 (a small shared component that keeps every
output non-zero) and common stop words by 0.25 (they barely count).

Requirements (PyPI): onnx, numpy, tokenizers.
    python3 scripts/make_tiny_embed_model.py            # generate
    python3 scripts/make_tiny_embed_model.py --verify   # generate + check
--verify also needs onnxruntime importable (e.g. via PYTHONPATH).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HIDDEN = 16
MAX_LEN = 128
SEED = 20240611
OPSET = 14
IR_VERSION = 8

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]

# ~200 common English and programming words. Order defines token ids, so only
# ever append (or accept that the vectors change).
WORDS = """
a an the and or not of to in on for with from by as at is are be was it this
that if else then when while return true false null none new old get set put
add remove delete update create read write open close load save start stop run
call send receive retry upload download file files path directory folder name
parse parser token tokens tokenize error errors exception panic fail failure
success http https request response client server api url header body status
code json xml yaml config configuration option options value values key keys
map list array vector string int integer float number bool boolean byte bytes
buffer stream input output log logger logging debug info warn warning trace
test tests mock assert check validate validation user users account password
auth login logout session cookie cache memory disk database db query sql table
index search find match filter sort hash async await thread lock mutex channel
queue task job worker timeout time date timer delay backoff limit rate count
size length max min sum total first last next previous function method class
struct enum trait interface module package import export library crate type
schema model embedding vectorize chunk graph node edge tree root parent child
event handler callback listener message after before fails failed retries
uploads
"""

VOCAB_WORDS = WORDS.split()
assert len(VOCAB_WORDS) == len(set(VOCAB_WORDS)), "duplicate word in WORDS"
VOCAB = {tok: i for i, tok in enumerate(SPECIAL + VOCAB_WORDS)}
PAD_ID, UNK_ID, CLS_ID, SEP_ID = (VOCAB[t] for t in SPECIAL)
# The first line of WORDS: scaled down so they barely move a mean-pooled vector.
STOP_WORDS = WORDS.strip().splitlines()[0].split()

OUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "data" / "tiny-embed-model"


def build_onnx() -> bytes:
    # One generator per tensor, so appending words to WORDS leaves the existing
    # rows (and the other tensors) unchanged.
    vocab_size = len(VOCAB)
    emb = np.random.default_rng([SEED, 1]).standard_normal((vocab_size, HIDDEN))
    emb[[PAD_ID, UNK_ID]] = 0.0
    emb[[CLS_ID, SEP_ID]] *= 0.3  # small shared component; keeps outputs non-zero
    emb[[VOCAB[w] for w in STOP_WORDS]] *= 0.25  # stop words weigh little
    emb = emb.astype(np.float32)
    types = (np.random.default_rng([SEED, 2]).standard_normal((2, HIDDEN)) * 0.1).astype(
        np.float32
    )
    types[0] = 0.0
    proj = (np.random.default_rng([SEED, 3]).standard_normal((HIDDEN, HIDDEN)) / np.sqrt(HIDDEN)).astype(
        np.float32
    )

    inits = [
        numpy_helper.from_array(emb, "word_embeddings"),
        numpy_helper.from_array(types, "token_type_embeddings"),
        numpy_helper.from_array(proj, "proj"),
    ]
    nodes = [
        helper.make_node("Gather", ["word_embeddings", "input_ids"], ["word_emb"], axis=0),
        helper.make_node(
            "Gather", ["token_type_embeddings", "token_type_ids"], ["type_emb"], axis=0
        ),
        helper.make_node("Add", ["word_emb", "type_emb"], ["emb"]),
        helper.make_node("MatMul", ["emb", "proj"], ["projected"]),
        helper.make_node("Tanh", ["projected"], ["activated"]),
        helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask_f", "unsq_axes"], ["mask_3d"]),
        helper.make_node("Mul", ["activated", "mask_3d"], ["last_hidden_state"]),
    ]
    inits.append(numpy_helper.from_array(np.array([-1], dtype=np.int64), "unsq_axes"))

    def int_input(name: str):
        return helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "seq"])

    graph = helper.make_graph(
        nodes,
        "tiny_embed",
        [int_input("input_ids"), int_input("attention_mask"), int_input("token_type_ids")],
        [
            helper.make_tensor_value_info(
                "last_hidden_state", TensorProto.FLOAT, ["batch", "seq", HIDDEN]
            )
        ],
        initializer=inits,
    )
    model = helper.make_model(
        graph,
        producer_name="codectx-make-tiny-embed-model",
        producer_version="1",
        opset_imports=[helper.make_opsetid("", OPSET)],
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString()


def build_tokenizer_json() -> str:
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

    tok = Tokenizer(models.WordLevel(vocab=VOCAB, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    # BertPreTokenizer splits on whitespace and punctuation (incl. '_' and '.'),
    # so `retry_upload` / `file.path` become separate words.
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", CLS_ID), ("[SEP]", SEP_ID)],
    )
    tok.add_special_tokens(SPECIAL)
    return tok.to_str(pretty=True) + "\n"


def special_token(content: str) -> dict:
    return {
        "content": content,
        "lstrip": False,
        "normalized": False,
        "rstrip": False,
        "single_word": False,
    }


def dump(obj) -> str:
    return json.dumps(obj, indent=2) + "\n"


README = f"""# tiny-embed-model (test fixture)

A tiny ONNX text-embedding model for tests, generated by
`scripts/make_tiny_embed_model.py`. **The weights are random** (fixed numpy
seed {SEED}); the vectors mean nothing beyond "the same words give the same token
vectors", so texts that share words are closer than texts that do not. With
only {HIDDEN} random dimensions that holds on average, not for every pair
(unrelated texts have cosine noise of roughly +-0.3): in tests, compare a text
with a near-duplicate (cosine > 0.9) against an unrelated text, rather than
relying on fine distinctions.

- `model.onnx`: inputs `input_ids`, `attention_mask`, `token_type_ids`
  (int64 `[batch, seq]`); output `last_hidden_state` (float32
  `[batch, seq, {HIDDEN}]`), computed as
  `Tanh((E[input_ids] + T[token_type_ids]) @ W) * attention_mask`.
  Opset {OPSET}, IR version {IR_VERSION}. Use **mean pooling**.
  `[PAD]` and unknown words map to the zero vector; `[CLS]`/`[SEP]` and stop
  words (the, a, of, ...) have small vectors, so content words dominate.
- `tokenizer.json`: WordLevel vocabulary of {len(VOCAB)} tokens (`[PAD]`=0,
  `[UNK]`, `[CLS]`, `[SEP]` and common English/programming words), Lowercase
  normalizer, BertPreTokenizer, `[CLS] ... [SEP]` template.
- `config.json`, `special_tokens_map.json`, `tokenizer_config.json`: what
  fastembed's `UserDefinedEmbeddingModel` / `TokenizerFiles` read
  (`pad_token_id` 0, `model_max_length` {MAX_LEN}, `pad_token` `[PAD]`).

Regenerate (byte-identical output) with:

```sh
python3 -m pip install --user onnx numpy tokenizers
python3 scripts/make_tiny_embed_model.py
# optional check (needs onnxruntime importable, e.g. via PYTHONPATH):
python3 scripts/make_tiny_embed_model.py --verify
```
"""


def generate() -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    files = {
        "model.onnx": build_onnx(),
        "tokenizer.json": build_tokenizer_json(),
        "config.json": dump(
            {
                "architectures": ["TinyRandomEmbedding"],
                "model_type": "bert",
                "hidden_size": HIDDEN,
                "vocab_size": len(VOCAB),
                "max_position_embeddings": MAX_LEN,
                "type_vocab_size": 2,
                "pad_token_id": PAD_ID,
            }
        ),
        "special_tokens_map.json": dump(
            {
                "cls_token": special_token("[CLS]"),
                "pad_token": special_token("[PAD]"),
                "sep_token": special_token("[SEP]"),
                "unk_token": special_token("[UNK]"),
            }
        ),
        "tokenizer_config.json": dump(
            {
                "tokenizer_class": "PreTrainedTokenizerFast",
                "do_lower_case": True,
                "model_max_length": MAX_LEN,
                "cls_token": "[CLS]",
                "pad_token": "[PAD]",
                "sep_token": "[SEP]",
                "unk_token": "[UNK]",
            }
        ),
        "README.md": README,
    }
    for name, content in files.items():
        path = OUT_DIR / name
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8", newline="\n")
        else:
            path.write_bytes(content)
        print(f"wrote {path.relative_to(OUT_DIR.parent.parent.parent)} ({path.stat().st_size} bytes)")


def verify() -> None:
    import onnxruntime as ort
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(OUT_DIR / "tokenizer.json"))
    # Round-trip: the saved JSON must reload to an identical serialization.
    assert tok.to_str(pretty=True) + "\n" == (OUT_DIR / "tokenizer.json").read_text()
    tok.enable_padding(pad_id=PAD_ID, pad_token="[PAD]")
    tok.enable_truncation(max_length=MAX_LEN)

    texts = [
        "Retry the upload when the HTTP request fails",
        "parse_token error",
        "retry upload request after timeout",
        "sort the database table index",
        "zzz qqq",  # only unknown words
    ]
    enc = tok.encode_batch(texts)
    for t, e in zip(texts, enc):
        print(f"tokens {t!r}: {e.tokens}")
    # '_' is split off by BertPreTokenizer and is not in the vocabulary.
    assert enc[1].tokens[:5] == ["[CLS]", "parse", "[UNK]", "token", "error"], enc[1].tokens
    assert enc[0].ids[0] == CLS_ID and PAD_ID not in enc[0].ids

    ids = np.array([e.ids for e in enc], dtype=np.int64)
    mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
    types = np.array([e.type_ids for e in enc], dtype=np.int64)

    sess = ort.InferenceSession(str(OUT_DIR / "model.onnx"), providers=["CPUExecutionProvider"])
    print("onnxruntime", ort.__version__)
    print("inputs:", [(i.name, i.type, i.shape) for i in sess.get_inputs()])
    print("outputs:", [(o.name, o.type, o.shape) for o in sess.get_outputs()])

    # Batch of 2 padded sequences.
    feed2 = {"input_ids": ids[:2], "attention_mask": mask[:2], "token_type_ids": types[:2]}
    (out2,) = sess.run(["last_hidden_state"], feed2)
    print("batch-2 input shape", ids[:2].shape, "-> output shape", out2.shape, out2.dtype)
    assert out2.shape == (2, ids.shape[1], HIDDEN) and out2.dtype == np.float32
    assert mask[1].min() == 0, "second sequence should be padded"

    (out,) = sess.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
    m = mask[:, :, None].astype(np.float32)
    pooled = (out * m).sum(1) / np.maximum(m.sum(1), 1.0)
    pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
    sim = pooled @ pooled.T
    np.set_printoptions(precision=3, suppress=True)
    print("cosine similarity (mean pooled):\n", sim)
    assert np.isfinite(sim).all(), "every text (even all-unknown) must embed non-zero"

    def embed(batch: list[str]) -> np.ndarray:
        e = tok.encode_batch(batch)
        feed = {
            "input_ids": np.array([x.ids for x in e], dtype=np.int64),
            "attention_mask": np.array([x.attention_mask for x in e], dtype=np.int64),
            "token_type_ids": np.array([x.type_ids for x in e], dtype=np.int64),
        }
        (h,) = sess.run(["last_hidden_state"], feed)
        mk = feed["attention_mask"][:, :, None].astype(np.float32)
        v = (h * mk).sum(1) / mk.sum(1)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    # With only 16 random dimensions the "shared words => closer" property is
    # statistical (unrelated texts have cosine noise of roughly +-0.3), so
    # check it on average over random 5-word texts...
    rng = np.random.default_rng(0)
    content = [w for w in VOCAB_WORDS if w not in STOP_WORDS]
    n = 300
    base, share3, disjoint = [], [], []
    for _ in range(n):
        w = list(rng.choice(content, 13, replace=False))
        base.append(" ".join(w[:5]))
        share3.append(" ".join(w[:3] + w[5:7]))
        disjoint.append(" ".join(w[8:13]))
    vb, vs, vd = embed(base), embed(share3), embed(disjoint)
    cs, cd = (vb * vs).sum(1), (vb * vd).sum(1)
    print(
        f"random 5-word texts: mean cos sharing 3 words = {cs.mean():.3f}, "
        f"disjoint = {cd.mean():.3f}; sharing > disjoint in {(cs > cd).mean():.0%} of {n} triples"
    )
    assert cs.mean() > cd.mean() + 0.3 and (cs > cd).mean() > 0.85

    # ...and on near-duplicates, which is what tests should rely on.
    q = embed(["retry the upload of a file", "retry upload file", "parse json config"])
    print(f"near-duplicate cos = {q[0] @ q[1]:.3f}, unrelated cos = {q[0] @ q[2]:.3f}")
    assert q[0] @ q[1] > 0.9 and q[0] @ q[1] > q[0] @ q[2] + 0.3
    print("OK")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--verify", action="store_true", help="check the output with onnxruntime")
    args = ap.parse_args()
    generate()
    if args.verify:
        verify()
    return 0


if __name__ == "__main__":
    sys.exit(main())
