"""Build step: `fetch_model.py MODEL_ID TOKEN_FILE` puts the model into /models/intent, or fails the build.

- A base alias (mdeberta, bart) needs no files: the service has a built-in stand-in for it.
- /model-files holds files (modelship's local registry hands them in as an image, see the Dockerfile): copied.
- Otherwise the repo is downloaded from the Hub at HF_ENDPOINT, with the token from the `hf_token` build secret
  (never a build arg: those stay in the image history).

The id fetched is written to /models/intent/.model-id, so the service can refuse to start with another one.
Standard library only; any failure exits non-zero and so fails the build (no silent fallback to an old model).
"""

import json
import os
import shutil
import sys
import urllib.parse
import urllib.request

BASE_ALIASES = {"mdeberta", "bart"}
DEST = "/models/intent"
HANDED_IN = "/model-files"


def fail(message: str) -> None:
    print(f"fetch_model: {message}", file=sys.stderr)
    sys.exit(1)


def get(url: str, token: str | None) -> bytes:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read()
    except Exception as exc:  # noqa: BLE001 - every failure fails the build, with the URL (never the token)
        fail(f"cannot fetch {url}: {exc}")
    raise AssertionError


def download(model_id: str, token_file: str) -> None:
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    token = open(token_file, encoding="utf-8").read().strip() if os.path.isfile(token_file) else None
    repo = urllib.parse.quote(model_id, safe="/")
    info = json.loads(get(f"{endpoint}/api/models/{repo}/revision/main", token))
    names = [s["rfilename"] for s in info.get("siblings", [])]
    if not names:
        fail(f"{model_id} holds no files at {endpoint}")
    for name in names:
        target = os.path.normpath(os.path.join(DEST, name))
        if not target.startswith(DEST + os.sep):
            fail(f"{model_id}: file name {name!r} leads out of {DEST}")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as fh:
            fh.write(get(f"{endpoint}/{repo}/resolve/main/{urllib.parse.quote(name)}", token))
    print(f"fetch_model: downloaded {len(names)} files of {model_id} from {endpoint}")


def main() -> None:
    if len(sys.argv) != 3:
        fail("usage: fetch_model.py MODEL_ID TOKEN_FILE")
    model_id, token_file = sys.argv[1].strip(), sys.argv[2]
    if not model_id:
        fail("the model id (HF_INTENT_MODEL) is empty")
    os.makedirs(DEST, exist_ok=True)
    if model_id in BASE_ALIASES:
        print(f"fetch_model: {model_id} is a base alias: the service's built-in stand-in serves it")
    elif os.path.isdir(HANDED_IN) and os.listdir(HANDED_IN):
        shutil.copytree(HANDED_IN, DEST, dirs_exist_ok=True)
        print(f"fetch_model: copied the files of {model_id} handed in by the build")
    else:
        download(model_id, token_file)
    with open(os.path.join(DEST, ".model-id"), "w", encoding="utf-8") as fh:
        fh.write(model_id + "\n")


if __name__ == "__main__":
    main()
