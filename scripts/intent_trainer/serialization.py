"""JSON files written atomically (temp file beside the target, then rename)."""

from __future__ import annotations

import json
import os


def write_json(path: str, data, compact: bool = False) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        # dumps, not dump: dump runs the pure-Python encoder, dumps the C one (weights are millions of numbers).
        if compact:
            fh.write(json.dumps(data, ensure_ascii=False, separators=(",", ":")))
        else:
            fh.write(json.dumps(data, ensure_ascii=False, indent=2))
        fh.write("\n")
    os.replace(tmp, path)


def read_json(path: str):
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)
