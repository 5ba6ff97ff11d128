"""The engine's own command line: benchmarks a portrait, refuses bad input with a message and exit 2."""

import subprocess
import sys

import numpy as np
import skimage.data

from inference import media


def _run(*args):
    return subprocess.run([sys.executable, "-m", "inference.cli", *args], capture_output=True, text=True, timeout=120)


def test_bench_reports_real_time_ratio(tmp_path):
    portrait = tmp_path / "portrait.jpg"
    portrait.write_bytes(media.image_encode_jpeg(skimage.data.astronaut()))
    result = _run("bench", "--image", str(portrait), "--text", "Hello there.")
    assert result.returncode == 0, result.stderr
    assert "render-only speed:" in result.stdout and "x real time" in result.stdout


def test_bad_input_gives_a_message_and_exit_2(tmp_path):
    no_face = tmp_path / "coffee.jpg"
    no_face.write_bytes(media.image_encode_jpeg(skimage.data.coffee()))
    result = _run("bench", "--image", str(no_face))
    assert result.returncode == 2 and "no face" in result.stderr and "Traceback" not in result.stderr
    missing = _run("bench", "--image", str(tmp_path / "missing.jpg"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    unknown = tmp_path / "p.jpg"
    unknown.write_bytes(media.image_encode_jpeg(np.ascontiguousarray(skimage.data.astronaut())))
    result = _run("bench", "--image", str(unknown), "--language", "xx")
    assert result.returncode == 2 and "not supported" in result.stderr
