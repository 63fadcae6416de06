"""The example intent service: loads the model named by HF_INTENT_MODEL at startup from the files the image build
put into /models/intent, and serves it on port 8000.

  GET  /health    {"status": "ok", "model": id}
  GET  /model     {"model": id, "backend": …, "labels": […]}   (the id it loaded)
  POST /classify  {"text": "…"} → {"label": …, "confidence": …}

A fine-tuned model is read with the bundled trainer's own loader (intent_trainer, copied into the image from
scripts/: one copy of the prediction code). A base alias (mdeberta, bart) is a tiny built-in keyword stand-in,
so the first build needs no download. A model that does not load, or files baked for another id than
HF_INTENT_MODEL, make the process exit non-zero: there is no silent fallback.
"""

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL_DIR = os.environ.get("MODEL_DIR", "/models/intent")
BASE_ALIASES = {"mdeberta", "bart"}
PORT = int(os.environ.get("PORT", "8000"))


class KeywordStandIn:
    """Stands in for the zero-shot base model: a few keywords per label, the first label otherwise."""

    labels = ["chitchat", "theoretical_definition", "technical_research", "calculator", "normative_reference"]
    keywords = {
        "calculator": ("calcola", "quanto", "compute", "calculate", "%", "+"),
        "normative_reference": ("art.", "articolo", "legge", "decreto", "comma", "law"),
        "theoretical_definition": ("cos'è", "cosa si intende", "definizione", "what is", "define"),
        "technical_research": ("come", "procedura", "how to", "how do"),
    }

    def predict(self, texts):
        out = []
        for text in texts:
            low = text.lower()
            label = next((k for k, words in self.keywords.items() if any(w in low for w in words)), "chitchat")
            out.append((label, 0.5))
        return out


def load(model_id: str):
    """(classifier, backend name); exits non-zero when the model cannot be loaded."""
    if not model_id:
        sys.exit("HF_INTENT_MODEL is not set")
    if model_id in BASE_ALIASES:
        return KeywordStandIn(), "builtin-stand-in"
    id_file = os.path.join(MODEL_DIR, ".model-id")
    baked = open(id_file, encoding="utf-8").read().strip() if os.path.isfile(id_file) else None
    if baked != model_id:
        sys.exit(f"the image holds the files of {baked!r}, not of HF_INTENT_MODEL={model_id!r}")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from intent_trainer.console import UsageError
    from intent_trainer.model_loader import backend_of, load_classifier

    try:
        return load_classifier(MODEL_DIR), backend_of(MODEL_DIR)
    except (UsageError, OSError, ValueError) as exc:
        sys.exit(f"cannot load {model_id} from {MODEL_DIR}: {exc}")


def main() -> None:
    model_id = os.environ.get("HF_INTENT_MODEL", "").strip()
    classifier, backend = load(model_id)
    labels = list(getattr(classifier, "labels", []))
    info = json.dumps({"model": model_id, "backend": backend, "labels": labels}).encode()
    print(f"serving {model_id} ({backend}) on port {PORT}", flush=True)

    class Handler(BaseHTTPRequestHandler):
        def reply(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # noqa: N802 - the http.server API
            if self.path == "/health":
                self.reply(200, json.dumps({"status": "ok", "model": model_id}).encode())
            elif self.path == "/model":
                self.reply(200, info)
            else:
                self.reply(404, b'{"error": "not found"}')

        def do_POST(self):  # noqa: N802
            if self.path != "/classify":
                return self.reply(404, b'{"error": "not found"}')
            try:
                length = min(int(self.headers.get("Content-Length") or 0), 1 << 20)
                text = json.loads(self.rfile.read(length) or b"{}")["text"]
                if not isinstance(text, str):
                    raise TypeError("text must be a string")
            except (ValueError, KeyError, TypeError) as exc:
                return self.reply(400, json.dumps({"error": f"expected {{\"text\": …}}: {exc}"}).encode())
            label, confidence = classifier.predict([text])[0]
            self.reply(200, json.dumps({"label": label, "confidence": round(float(confidence), 4)}).encode())

        def log_message(self, *args):  # one line a request is noise for a health-checked service
            pass

    ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()


if __name__ == "__main__":
    main()
