#!/usr/bin/env python3
"""onnxruntime's own throughput on the texts codectx embeds: the yardstick of
`benches/embed_throughput.rs`.

Same model file, same tokenizer (truncation at --max-tokens), same batches (texts
sorted by length, --batch per run), mean pooling and L2 normalisation, the same
number of intra-op threads. Prints one JSON line: chunks/s and tokens/s.

Needs the PyPI packages onnxruntime, numpy and tokenizers (scripts/setup.sh puts
onnxruntime under the codectx data folder; the bench adds it to PYTHONPATH).
"""
import argparse
import json
import time

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True, help="model folder (tokenizer.json inside)")
    parser.add_argument("--onnx", required=True, help="ONNX file name in the folder")
    parser.add_argument("--texts", required=True, help="JSON array of texts")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()

    texts = json.load(open(args.texts))
    tokenizer = Tokenizer.from_file(f"{args.model}/tokenizer.json")
    tokenizer.enable_truncation(max_length=args.max_tokens)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    options = ort.SessionOptions()
    if args.threads:
        options.intra_op_num_threads = args.threads
    session = ort.InferenceSession(f"{args.model}/{args.onnx}", options, providers=["CPUExecutionProvider"])
    names = {item.name for item in session.get_inputs()}

    order = sorted(range(len(texts)), key=lambda index: -len(texts[index]))
    batches = [[texts[index] for index in order[start:start + args.batch]] for start in range(0, len(order), args.batch)]

    def run(batch):
        encoded = tokenizer.encode_batch(batch)
        ids = np.array([item.ids for item in encoded], dtype=np.int64)
        mask = np.array([item.attention_mask for item in encoded], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in names:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = session.run(None, feed)[0]
        pooled = (hidden * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1)
        pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
        return int(mask.sum())

    run(batches[0])  # warm-up, as the Rust side
    started = time.perf_counter()
    tokens = sum(run(batch) for batch in batches)
    elapsed = time.perf_counter() - started
    print(json.dumps({"chunks_per_s": len(texts) / elapsed, "tokens_per_s": tokens / elapsed, "seconds": elapsed,
                      "chunks": len(texts), "tokens": tokens}))


if __name__ == "__main__":
    main()
