"""Runs the Node side of the cross-checks (tests/core_bridge.mjs, @tokenmark/core's built dist)."""
import json
import os
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
NODE = os.environ.get("TOKENMARK_NODE") or shutil.which("node") or "node"


def core(command: str, payload=None):
    p = subprocess.run([NODE, os.path.join(HERE, "core_bridge.mjs"), command], input=None if payload is None else json.dumps(payload),
                       capture_output=True, text=True, timeout=600, check=False)
    if p.returncode != 0:
        raise RuntimeError(f"core_bridge.mjs {command} failed: {p.stderr.strip()[-2000:]}")
    return json.loads(p.stdout)
