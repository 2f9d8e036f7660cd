"""The blueprint format, the analyzer and the read-only commands never import Keras or TensorFlow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROGRAM = """
import contextlib, io, json, sys
import archbuilder.blueprint, archbuilder.analysis, archbuilder.zoo
from archbuilder.cli import main

codes = {}
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    codes["validate"] = main(["validate", "vgg16", sys.argv[1]])
    codes["summary"] = main(["summary", "resnet50", "--json"])
    codes["summary_text"] = main(["summary", "vgg16"])
    codes["schema"] = main(["schema"])
    codes["zoo_list"] = main(["zoo", "list", "vgg*"])
heavy = sorted(name for name in sys.modules if name.split(".")[0] in ("keras", "tensorflow", "jax", "torch"))
print(json.dumps({"codes": codes, "heavy": heavy}))
"""

BROKEN = """\
name: broken
input: {shape: [8, 8, 3]}
stem: [{type: conv, filters: 8, kernel_siz: 3}]
"""


def test_read_only_commands_do_not_import_keras(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(BROKEN, encoding="utf-8")
    result = subprocess.run([sys.executable, "-c", PROGRAM, str(broken)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["codes"] == {"validate": 1, "summary": 0, "summary_text": 0, "schema": 0, "zoo_list": 0}
    assert report["heavy"] == []
