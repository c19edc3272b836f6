"""The README's Python example runs as written (on the sample model this build wrote)."""

import contextlib
import io
import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def test_readme_example_runs(sample_model_path):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) == 1, "the README has one Python example"
    example = blocks[0]
    assert len(example.strip().splitlines()) == 5
    assert "build/samples/dlrm_avazu/model.xml" in example
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(example.replace("build/samples/dlrm_avazu/model.xml", str(sample_model_path)), {})
    text = printed.getvalue()
    assert re.search(r"^loaded +cpu ", text, re.M), text
    probabilities = [float(p) for p in re.findall(r"0\.\d+", text.split("[[", 1)[1])]
    assert len(probabilities) == 2 and all(0 < p < 1 for p in probabilities), text
