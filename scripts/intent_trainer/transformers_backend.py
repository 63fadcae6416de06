"""Transformers backend: fine-tunes a Hugging Face checkpoint. torch and transformers are imported only when
this backend runs (or loads a model), so the other backends work without them."""

from __future__ import annotations

import importlib.util
import json
import os

from .console import fail, log
from .metrics import compute_metrics
from .serialization import write_json

DEFAULT_BASE_MODEL = "MoritzLaurer/mDeBERTa-v3-base-mnli-xnli"
DEFAULT_TRANSFORMERS_LR = 2e-5
TRANSFORMERS_MISSING = ("the transformers backend needs torch and transformers "
                        "(pip install torch transformers); use --backend baseline")


def transformers_available() -> bool:
    try:
        return (importlib.util.find_spec("torch") is not None
                and importlib.util.find_spec("transformers") is not None)
    except (ImportError, ValueError):
        return False


def import_transformers():
    if not transformers_available():
        fail(TRANSFORMERS_MISSING)
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except Exception:  # broken installs raise all sorts of things
        fail(TRANSFORMERS_MISSING)
    return torch, transformers


def train_transformers(args, labels, train_rows, test_rows, out_dir) -> tuple[dict, dict]:
    import inspect
    import shutil

    torch, tf = import_transformers()
    if args.device == "cuda" and not torch.cuda.is_available():
        fail("--device cuda requested but CUDA is not available")
    label2id = {l: i for i, l in enumerate(labels)}
    id2label = {i: l for i, l in enumerate(labels)}
    try:
        tokenizer = tf.AutoTokenizer.from_pretrained(args.base_model)
        # The head is re-initialised for our labels (the NLI checkpoint has 3).
        model = tf.AutoModelForSequenceClassification.from_pretrained(
            args.base_model, num_labels=len(labels), id2label=id2label, label2id=label2id,
            ignore_mismatched_sizes=True)
    except (OSError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        fail(f"cannot load base model {args.base_model}: {first}")

    class Rows(torch.utils.data.Dataset):
        def __init__(self, rows):
            self.enc = tokenizer([t for t, _ in rows], truncation=True, max_length=args.max_length)
            self.y = [label2id[l] for _, l in rows]

        def __len__(self):
            return len(self.y)

        def __getitem__(self, i):
            item = {k: v[i] for k, v in self.enc.items()}
            item["labels"] = self.y[i]
            return item

    train_ds, test_ds = Rows(train_rows), Rows(test_rows)
    lr = args.learning_rate if args.learning_rate is not None else DEFAULT_TRANSFORMERS_LR
    ckpt_dir = os.path.join(out_dir, "checkpoints")
    params = inspect.signature(tf.TrainingArguments.__init__).parameters
    kw = dict(output_dir=ckpt_dir, num_train_epochs=args.epochs, learning_rate=lr,
              per_device_train_batch_size=args.batch_size, per_device_eval_batch_size=args.batch_size,
              weight_decay=0.01, save_strategy="epoch", logging_strategy="epoch", save_total_limit=2,
              load_best_model_at_end=True, metric_for_best_model="eval_loss", greater_is_better=False,
              seed=args.seed, report_to=[])
    kw["eval_strategy" if "eval_strategy" in params else "evaluation_strategy"] = "epoch"
    if args.device == "cpu":
        kw["use_cpu" if "use_cpu" in params else "no_cuda"] = True

    def compute(eval_pred):
        logits, gold = eval_pred
        pred = logits.argmax(-1)
        return {"accuracy": float((pred == gold).mean())}

    class Progress(tf.TrainerCallback):
        def on_evaluate(self, targs, state, control, metrics=None, **kw_):
            losses = [h["loss"] for h in state.log_history if "loss" in h]
            m = metrics or {}
            log(f"epoch {int(round(state.epoch or 0))}/{args.epochs} "
                f"loss={losses[-1] if losses else float('nan'):.4f} "
                f"eval_loss={m.get('eval_loss', float('nan')):.4f} "
                f"eval_accuracy={m.get('eval_accuracy', float('nan')):.4f}")

    trainer = tf.Trainer(model=model, args=tf.TrainingArguments(**kw), train_dataset=train_ds,
                         eval_dataset=test_ds, data_collator=tf.DataCollatorWithPadding(tokenizer),
                         compute_metrics=compute, callbacks=[Progress()])
    trainer.train()  # best checkpoint (lowest eval loss) is reloaded at the end
    logits = trainer.predict(test_ds).predictions
    preds = [id2label[int(i)] for i in logits.argmax(-1)]
    trainer.save_model(out_dir)
    tokenizer.save_pretrained(out_dir)
    shutil.rmtree(ckpt_dir, ignore_errors=True)
    cfg_path = os.path.join(out_dir, "config.json")
    with open(cfg_path, encoding="utf-8") as fh:
        config = json.load(fh)
    config["base_model"] = args.base_model
    config["backend"] = "transformers"
    write_json(cfg_path, config)
    return compute_metrics([l for _, l in test_rows], preds, labels), {"learning_rate_used": lr}


class TransformersClassifier:
    def __init__(self, model_dir: str, device: str | None = None):
        self.torch, tf = import_transformers()
        try:
            self.tokenizer = tf.AutoTokenizer.from_pretrained(model_dir)
            self.model = tf.AutoModelForSequenceClassification.from_pretrained(model_dir)
        except (OSError, ValueError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            fail(f"cannot load transformers model from {model_dir}: {first}")
        self.max_length = 512
        try:
            with open(os.path.join(model_dir, "training_args.json"), encoding="utf-8") as fh:
                self.max_length = int(json.load(fh).get("max_length") or 512)
        except (OSError, ValueError, TypeError):
            pass
        self.device = device or ("cuda" if self.torch.cuda.is_available() else "cpu")
        self.model.to(self.device).eval()
        cfg = self.model.config.id2label
        self.labels = [cfg[i] for i in range(len(cfg))]

    def predict(self, texts: list[str], batch_size: int = 32) -> list[tuple[str, float]]:
        out = []
        for s in range(0, len(texts), batch_size):
            enc = self.tokenizer(texts[s:s + batch_size], truncation=True, max_length=self.max_length, padding=True,
                                 return_tensors="pt").to(self.device)
            with self.torch.no_grad():
                probs = self.torch.softmax(self.model(**enc).logits, dim=-1)
            conf, idx = probs.max(dim=-1)
            out += [(self.labels[int(i)], float(c)) for c, i in zip(conf, idx)]
        return out
