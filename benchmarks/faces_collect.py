"""Rebuilds the face-matching calibration set, benchmarks/data/faces/<person>/<n>.jpg, from packages and repositories.

Every photo is a face-recognition library's own test or example image, labelled by that
library (its folder names, or its own same-person pairs): the labels do not come from
the descriptor being calibrated. Each is checked against its SHA-256, its largest face
found with Candor's detector, and a square of FACE_SCALE face widths around it saved as
a CROP_SIDE px JPEG. manifest.json beside the crops records, for each crop, its source,
path, original SHA-256, licence and the face's size in the original.

Sources (give each as NAME=DIRECTORY; the installed packages are found by themselves):

- face_recognition-sdist: `pip download --no-deps --no-binary :all: face_recognition==1.3.0`, extracted;
- face_recognition-git: a checkout of github.com/ageitgey/face_recognition at FACE_RECOGNITION_COMMIT;
- deepface-git: a checkout of github.com/serengil/deepface at DEEPFACE_COMMIT;
- face-api.js-git: a checkout of github.com/justadudewhohacks/face-api.js at FACE_API_COMMIT;
- scikit-image and matplotlib: their installed sample data.

    python -m benchmarks.faces_collect --source face_recognition-sdist=/tmp/face_recognition-1.3.0 \\
        --source face_recognition-git=/tmp/face_recognition --source deepface-git=/tmp/deepface \\
        --source face-api.js-git=/tmp/face-api.js [--out benchmarks/data/faces]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from inference import faces, media

OUT_DIR = Path(__file__).resolve().parent / "data" / "faces"
CROP_SIDE = 256
# The square saved around a face, in face-box widths: forehead, chin and a little background,
# as a portrait or a selfie frames a face (tests/clips.py crops 3.4 widths for its clips).
FACE_SCALE = 2.2
# The square's centre sits this share of the box's height above the box's centre (the box starts at the brows).
FACE_RAISE = 0.1
JPEG_QUALITY = 90

FACE_RECOGNITION_COMMIT = "2e2dccea9dd0ce730c8d464d0f67c6eebb40c9d1"
DEEPFACE_COMMIT = "243209fd7b46ecdecf72665cc25219f6e8181f25"
FACE_API_COMMIT = "a86f011d72124e5fb93e59d5c4ab98f699dd5c9c"
_PHOTO_NOTE = "the photographs carry no licence of their own upstream; they are distributed there as test fixtures"

SOURCES: dict[str, dict[str, str]] = {
    "face_recognition-sdist": {
        "origin": "PyPI face_recognition 1.3.0 sdist, tests/test_images/",
        "licence": f"MIT (Adam Geitgey); {_PHOTO_NOTE}",
    },
    "face_recognition-git": {
        "origin": f"github.com/ageitgey/face_recognition @ {FACE_RECOGNITION_COMMIT}, examples/knn_examples/",
        "licence": f"MIT (Adam Geitgey); {_PHOTO_NOTE}",
    },
    "deepface-git": {
        "origin": f"github.com/serengil/deepface @ {DEEPFACE_COMMIT}, tests/unit/dataset/ "
        "(identities from its own face-recognition-pivot.csv 'Yes' pairs)",
        "licence": f"MIT (Sefik Ilkin Serengil); {_PHOTO_NOTE}",
    },
    "face-api.js-git": {
        "origin": f"github.com/justadudewhohacks/face-api.js @ {FACE_API_COMMIT}, examples/images/<name>/",
        "licence": f"MIT (Vincent Muehler); {_PHOTO_NOTE} (stills of a television series' cast)",
    },
    "scikit-image": {
        "origin": "scikit-image's skimage.data.astronaut() (astronaut.png)",
        "licence": "public domain (NASA photograph of Eileen Collins)",
    },
    "matplotlib": {
        "origin": "matplotlib's sample data grace_hopper.jpg",
        "licence": "public domain (U.S. Navy photograph of Grace Hopper)",
    },
}


@dataclass(frozen=True)
class Photo:
    person: str
    source: str
    path: str
    sha256: str


# Every photo of the set, in order: <person>/<n>.jpg numbers each person's photos from 1. The full SHA-256 of each
# original is checked before cropping; deepface's people are numbered by their lowest image number.
PHOTOS: tuple[Photo, ...] = (
    Photo(
        "obama",
        "face_recognition-sdist",
        "tests/test_images/obama.jpg",
        "0930e3aa8cae5920329c0c8cbc6a2ab70f47b0e67b432875beaa95cbf7e741f6",
    ),
    Photo(
        "obama",
        "face_recognition-sdist",
        "tests/test_images/obama2.jpg",
        "a7efcc907375274796f39646510704aa86672d59f6d5469d69af3c85590976a6",
    ),
    Photo(
        "obama",
        "face_recognition-sdist",
        "tests/test_images/obama3.jpg",
        "76ac6bf97c36dc2da0ad16a537d6a5ac1b10f48d49aac29a0cca9a17cdbc3ca3",
    ),
    Photo(
        "obama",
        "face_recognition-git",
        "examples/knn_examples/test/obama1.jpg",
        "a2840cf4fd84072fc998e54033665793ca78fc5be77da0aba6e6b95d99d0ad15",
    ),
    Photo(
        "biden",
        "face_recognition-sdist",
        "tests/test_images/biden.jpg",
        "3c17508bb91554c637a2eabddfae790e5bb1caba93130814fc2ac50be9760c4c",
    ),
    Photo(
        "biden",
        "face_recognition-git",
        "examples/knn_examples/train/biden/biden2.jpg",
        "593ae76f7fdafe582535e288751e665f0533d5c9d5dc7264db24d7e6b6ce4730",
    ),
    Photo(
        "alex_lacamoire",
        "face_recognition-git",
        "examples/knn_examples/train/alex_lacamoire/img1.jpg",
        "348e0a705ebd86f531553298348913a0483a70c966f1eebea5d8409b2421516b",
    ),
    Photo(
        "alex_lacamoire",
        "face_recognition-git",
        "examples/knn_examples/test/alex_lacamoire1.jpg",
        "69c21d12ef62965b8c409db5672783ac1532cc7bfd2beffe81003fb3bd580364",
    ),
    Photo(
        "alex_lacamoire",
        "face_recognition-git",
        "examples/alex-lacamoire.png",
        "affd4bba70510b20286c5b392e6a73ef149f4dff02105a09e19ce80d7d138707",
    ),
    Photo(
        "kit_harington",
        "face_recognition-git",
        "examples/knn_examples/train/kit_harington/john1.jpeg",
        "74872ce95f0af6366f2b58a7017b72debf6ed91c197fe7bf6a759c32ebe06543",
    ),
    Photo(
        "kit_harington",
        "face_recognition-git",
        "examples/knn_examples/train/kit_harington/john2.jpeg",
        "c0970011d277d4772d488f60478b59fce212dabe824ce8e0c8032673ccad76ac",
    ),
    Photo(
        "kit_harington",
        "face_recognition-git",
        "examples/knn_examples/test/johnsnow_test1.jpg",
        "eb08fa837c8a86051eb6ca5370b76bb926a7f7deef8c449d06f9a280267f80b5",
    ),
    Photo(
        "rose_leslie",
        "face_recognition-git",
        "examples/knn_examples/train/rose_leslie/img1.jpg",
        "0f3903bcc72a9c54ea8fb2075464fd6dc74a4fe55a09e8095ab948020b697baa",
    ),
    Photo(
        "rose_leslie",
        "face_recognition-git",
        "examples/knn_examples/train/rose_leslie/img2.jpg",
        "274a9c97300ed1657faa1c293979c75013f2998ee0403c79fbbc10be67b442d2",
    ),
    Photo(
        "deepface_01",
        "deepface-git",
        "tests/unit/dataset/img1.jpg",
        "897c073e8af7c297cf179fadf4f59538d1efa17722679447475463d61c72bac3",
    ),
    Photo(
        "deepface_01",
        "deepface-git",
        "tests/unit/dataset/img2.jpg",
        "b43c2b1c32553f6fd87ecfdb9eceebd07ffb0139dfe9f4a68bd8ff07b066d136",
    ),
    Photo(
        "deepface_01",
        "deepface-git",
        "tests/unit/dataset/img4.jpg",
        "e768a47e85ff53b637f868817e6a489185fe914dad1f780be6e3fe853d0b4e2c",
    ),
    Photo(
        "deepface_01",
        "deepface-git",
        "tests/unit/dataset/img5.jpg",
        "a2d3fba5f4773f496cdd2fd1c8353cc3ce309ecc83ce59de0c7e715a9e3a1243",
    ),
    Photo(
        "deepface_01",
        "deepface-git",
        "tests/unit/dataset/img6.jpg",
        "55aa6c46b9ebd87ac2332892cc055dc414c28e5f16ccca762016213cd7a60934",
    ),
    Photo(
        "deepface_01",
        "deepface-git",
        "tests/unit/dataset/img7.jpg",
        "36530bf4e0135d9f0d7c2554afa2be50ba66da328616bced2904129ffb07589f",
    ),
    Photo(
        "deepface_01",
        "deepface-git",
        "tests/unit/dataset/img10.jpg",
        "be61f855c9498d351c3b3c6c3c05f8671199ce84e8198c834de8eaf8f5ce140d",
    ),
    Photo(
        "deepface_01",
        "deepface-git",
        "tests/unit/dataset/img11.jpg",
        "c7973a7bc764f40b27ba929448f21a24caa4706a508c97a9317dee06580056f4",
    ),
    Photo(
        "deepface_02",
        "deepface-git",
        "tests/unit/dataset/img3.jpg",
        "99379580084327f343cbeb8f02b003618ee37871c5781ec26044178a374b3138",
    ),
    Photo(
        "deepface_02",
        "deepface-git",
        "tests/unit/dataset/img12.jpg",
        "f40ad637226eca54738b04c0940be06cd8504cd89d03161dd1f82c98a8dcf063",
    ),
    Photo(
        "deepface_02",
        "deepface-git",
        "tests/unit/dataset/img53.jpg",
        "0f7a87b6e50c978417e919387afcbbace944f5c50aee8cd2b073d0d6c504cef2",
    ),
    Photo(
        "deepface_02",
        "deepface-git",
        "tests/unit/dataset/img54.jpg",
        "eba926c903809bcb749c9cfcda9a70db4c31ed8e960f04990c5efec97ead7b54",
    ),
    Photo(
        "deepface_02",
        "deepface-git",
        "tests/unit/dataset/img55.jpg",
        "c21eabe40bb56c9a9bba94ccfecc7ed9424d55cb28cb1b61404d333de258cceb",
    ),
    Photo(
        "deepface_02",
        "deepface-git",
        "tests/unit/dataset/img56.jpg",
        "cd8168f16e1fdb6c0e570a8ce0c65bef315088dc0956575a16b6ffbb2b36566a",
    ),
    Photo(
        "deepface_03",
        "deepface-git",
        "tests/unit/dataset/img8.jpg",
        "4af18d79ce7124fd13a36cadc406e0d2a135602b5946b51afdbd739dbad8313a",
    ),
    Photo(
        "deepface_03",
        "deepface-git",
        "tests/unit/dataset/img9.jpg",
        "9bd61146377aec0e9e882ce111a1ca80d91b1d4b89c794273e3994ce65e1834d",
    ),
    Photo(
        "deepface_03",
        "deepface-git",
        "tests/unit/dataset/img47.jpg",
        "9953c4c352ba6027367e3a36f23afc44f30b33d896104c073c4bc99b9f07af3a",
    ),
    Photo(
        "deepface_03",
        "deepface-git",
        "tests/unit/dataset/img48.jpg",
        "e02dfee3f3c05c0e0b3852f079adb84b5dc7c25d9aa1cbd5b63fe46a65f9b74a",
    ),
    Photo(
        "deepface_03",
        "deepface-git",
        "tests/unit/dataset/img49.jpg",
        "9fbfd108597f42e7b7f04c4b0e0070b74c0dc1dba06208abed70166a30da7615",
    ),
    Photo(
        "deepface_03",
        "deepface-git",
        "tests/unit/dataset/img50.jpg",
        "aba7ca02f2dec29207fa9d080b256361ab92162ce68b9bc1ec7d0a961e22ce25",
    ),
    Photo(
        "deepface_03",
        "deepface-git",
        "tests/unit/dataset/img51.jpg",
        "1a7e9e7a90b5f335d3bb0f89a837dae1e4f9789a4c7aca3f15d983e881572d28",
    ),
    Photo(
        "deepface_04",
        "deepface-git",
        "tests/unit/dataset/img13.jpg",
        "008abcc9464f39cdd8d0f097b54e5d6fc064073b07cc2917f80d787351563190",
    ),
    Photo(
        "deepface_04",
        "deepface-git",
        "tests/unit/dataset/img14.jpg",
        "3d648be13e536f7f7b8c15bc14124bf580e4ad955aace23cb07350bba31ccb4a",
    ),
    Photo(
        "deepface_04",
        "deepface-git",
        "tests/unit/dataset/img15.jpg",
        "c9f50e3505e50cb8446b032c022eef578653fd8ba498b21924f598b306732636",
    ),
    Photo(
        "deepface_04",
        "deepface-git",
        "tests/unit/dataset/img57.jpg",
        "17f52a4d10787c754e25518d11882f64887a1277b6c5690f7500f66c87c6c54c",
    ),
    Photo(
        "deepface_04",
        "deepface-git",
        "tests/unit/dataset/img58.jpg",
        "e5ff4ee133b86a3f2816ec5bd7b1ed877c951f797f4c2dfc6fea249b5ab1df93",
    ),
    Photo(
        "deepface_05",
        "deepface-git",
        "tests/unit/dataset/img16.jpg",
        "f38be512225744585f09cd6a69e227f3809206093e247436b471c31918bedb43",
    ),
    Photo(
        "deepface_05",
        "deepface-git",
        "tests/unit/dataset/img17.jpg",
        "73662db96b2d5a453832cca9909d2956aaa0b8831123c531865ea9e47ff643d9",
    ),
    Photo(
        "deepface_05",
        "deepface-git",
        "tests/unit/dataset/img59.jpg",
        "4f763480eb22a185ebde7daccda2c7ae3c26c69e9c3b79730ec7777f1894ec24",
    ),
    Photo(
        "deepface_05",
        "deepface-git",
        "tests/unit/dataset/img61.jpg",
        "ab90b6170c3717f97f156441b7cad1592833c54b7bd6de25dc289b79433df4ca",
    ),
    Photo(
        "deepface_05",
        "deepface-git",
        "tests/unit/dataset/img62.jpg",
        "deac66b91b39393eae8a64d7f81bf509e531792a84313614ed22913981903044",
    ),
    Photo(
        "deepface_06",
        "deepface-git",
        "tests/unit/dataset/img18.jpg",
        "a50a7aec94ae4ad9f65c7570580d949d436a96d977abba6190b99f59cd8655a6",
    ),
    Photo(
        "deepface_06",
        "deepface-git",
        "tests/unit/dataset/img19.jpg",
        "121c9b2caf53952e90817565d02b474a0e962bfb04f435432349dbc24e9846b6",
    ),
    Photo(
        "deepface_06",
        "deepface-git",
        "tests/unit/dataset/img67.jpg",
        "74206f3d1509ea8307ef114a49c61653aff1a7930995aa68cccd08cb0149013c",
    ),
    Photo(
        "deepface_07",
        "deepface-git",
        "tests/unit/dataset/img20.jpg",
        "1f9eb108651fc5f2fb2fc40193c3299f798e862fa259b343c53863d063020950",
    ),
    Photo(
        "deepface_07",
        "deepface-git",
        "tests/unit/dataset/img21.jpg",
        "06d9079dae415b116d624e0aa2812f59bf175268e04aedd1ed43bb2ffe2f8606",
    ),
    Photo(
        "deepface_08",
        "deepface-git",
        "tests/unit/dataset/img22.jpg",
        "8ee7e7b9090daa071d26d98c0077c74827aa237a5942b4586a7b69a5a8884104",
    ),
    Photo(
        "deepface_08",
        "deepface-git",
        "tests/unit/dataset/img23.jpg",
        "cdf08cb1a3cb27c96e662bcc9b5b42e15cc9dc676dd5e76b3438a69ab5631a60",
    ),
    Photo(
        "deepface_09",
        "deepface-git",
        "tests/unit/dataset/img24.jpg",
        "80cdb94f1fe473d85b8c22bf7f79c72637d715070549d23028a2a80c0256507c",
    ),
    Photo(
        "deepface_09",
        "deepface-git",
        "tests/unit/dataset/img25.jpg",
        "1a9bde669f44d9855b653e3f2d3399cf7696cf267f0ef5263265e73bd77dd923",
    ),
    Photo(
        "deepface_10",
        "deepface-git",
        "tests/unit/dataset/img26.jpg",
        "ce7e8cac876490264a235eb2634d9a228e75c853d0cf46b9ef48065382bfda34",
    ),
    Photo(
        "deepface_10",
        "deepface-git",
        "tests/unit/dataset/img27.jpg",
        "798999e0a0a6cc26656ead780f01afbf9b2a3fd28640c69ad20b11bce4cbbac4",
    ),
    Photo(
        "deepface_10",
        "deepface-git",
        "tests/unit/dataset/img28.jpg",
        "5a714455912366d609c68961f050daef857736a3e064be4987488477bc4f59c1",
    ),
    Photo(
        "deepface_10",
        "deepface-git",
        "tests/unit/dataset/img42.jpg",
        "98e26cfe55a0e4341ffac6b7e70bebc52bb62f80efd5762cf04af23b288b5604",
    ),
    Photo(
        "deepface_10",
        "deepface-git",
        "tests/unit/dataset/img43.jpg",
        "d57f7d092e219a903d93efb474674b974e524b5322dd0946ece9af4412546033",
    ),
    Photo(
        "deepface_10",
        "deepface-git",
        "tests/unit/dataset/img44.jpg",
        "fb8455f1d08242a62ea32c74cb5824fb7edc60e093f5ae7ef0554739f4cead9e",
    ),
    Photo(
        "deepface_10",
        "deepface-git",
        "tests/unit/dataset/img45.jpg",
        "354a9060623e5188e1e5c466118198c2ed781a9d54ad9be79709bd1aced11e17",
    ),
    Photo(
        "deepface_10",
        "deepface-git",
        "tests/unit/dataset/img46.jpg",
        "8dbaffbc8def1b4ed693c68340990c037cd04a8e763e5b1d3442e532df50cc0e",
    ),
    Photo(
        "deepface_11",
        "deepface-git",
        "tests/unit/dataset/img29.jpg",
        "25926edd3b72f1220a4ccf6e0814e994e4134dbe0961093ba6b4e02ce4590330",
    ),
    Photo(
        "deepface_11",
        "deepface-git",
        "tests/unit/dataset/img30.jpg",
        "88399f082f008097494a02b1a15ea31ededf23348f9978e39d800ca38f97c90a",
    ),
    Photo(
        "deepface_11",
        "deepface-git",
        "tests/unit/dataset/img31.jpg",
        "57967cfcd2cf121a5a21b416b46004f3a9fbb063310652bf570b3de3947b37f7",
    ),
    Photo(
        "deepface_11",
        "deepface-git",
        "tests/unit/dataset/img32.jpg",
        "f5dda7229cad593825960ff06bb93a82ec277e2eaee85638f87a2835a428c631",
    ),
    Photo(
        "deepface_11",
        "deepface-git",
        "tests/unit/dataset/img33.jpg",
        "9b9fc57883738357c1313366f0f5978a58431d57df7eb9d93bdbbd6be6c6cb45",
    ),
    Photo(
        "deepface_12",
        "deepface-git",
        "tests/unit/dataset/img34.jpg",
        "f3d102fe7d08c51b3233acefde879e8efa631a7b699f46feaa31ca01ff4e59d1",
    ),
    Photo(
        "deepface_12",
        "deepface-git",
        "tests/unit/dataset/img35.jpg",
        "34f64c009e6c4b15439c10d28a63f50427f63b6ebdb523c33b55bce6d6b496a8",
    ),
    Photo(
        "deepface_12",
        "deepface-git",
        "tests/unit/dataset/img36.jpg",
        "4177a4d66505070d0533f99342c54e0a49defd8216b02f21ee762273a7068c1c",
    ),
    Photo(
        "deepface_12",
        "deepface-git",
        "tests/unit/dataset/img37.jpg",
        "8a2b953c01ab1385e9ad175dbb9729241659f3834329d54ecb56750ee89a87ae",
    ),
    Photo(
        "deepface_13",
        "deepface-git",
        "tests/unit/dataset/img38.jpg",
        "523a9b2f282f271bcf0074b94cdc80d5ea4cc40a702bbde031440dd27de8a905",
    ),
    Photo(
        "deepface_13",
        "deepface-git",
        "tests/unit/dataset/img39.jpg",
        "069ad58967857cc2f12d36ae8b40565b46e5f5f3a22d4268ae2ec53a4cff3eed",
    ),
    Photo(
        "deepface_13",
        "deepface-git",
        "tests/unit/dataset/img40.jpg",
        "6fed99b8e515a631fb607b615594e1e4d1352cf460c21f974d57870fc4c59acd",
    ),
    Photo(
        "deepface_13",
        "deepface-git",
        "tests/unit/dataset/img41.jpg",
        "8cbe17656785b1cf626e53bff11c4b78aaec4137e2cba435583784fb0f63201e",
    ),
    Photo(
        "bbt_amy",
        "face-api.js-git",
        "examples/images/amy/amy1.png",
        "a1649b290794c11f242823ede1aa73f1ce8de0710d8aaccd9b638bcb70e9793e",
    ),
    Photo(
        "bbt_amy",
        "face-api.js-git",
        "examples/images/amy/amy2.png",
        "ff21d25b38fd6534cb61c213652b88024446daa5bc201c106b815e19a0b7d426",
    ),
    Photo(
        "bbt_amy",
        "face-api.js-git",
        "examples/images/amy/amy3.png",
        "23204a35fde32c1f43585a0a87c7fb46dbd72288b9e30469661f335cdf019ecc",
    ),
    Photo(
        "bbt_amy",
        "face-api.js-git",
        "examples/images/amy/amy4.png",
        "27ab8be3f761996049e3fefc2c356240da31193c61c4d336e9949d79ee24a39a",
    ),
    Photo(
        "bbt_amy",
        "face-api.js-git",
        "examples/images/amy/amy5.png",
        "870bf2d96033da3bc0109dcc724b15b464e064caf36fb765c88f46c1aaea5e09",
    ),
    Photo(
        "bbt_bernadette",
        "face-api.js-git",
        "examples/images/bernadette/bernadette1.png",
        "2661169d2a097cd3e6a0d0b3e2e9537d25b5bbf026588ba0cb19e0fbc8ac924a",
    ),
    Photo(
        "bbt_bernadette",
        "face-api.js-git",
        "examples/images/bernadette/bernadette2.png",
        "478647b8446eac203c97691b8ea958dd81fe5001208976971441f5d79be050e9",
    ),
    Photo(
        "bbt_bernadette",
        "face-api.js-git",
        "examples/images/bernadette/bernadette3.png",
        "e301d31c35f86205b62d4a7fd21bf2e0e9721386abb5cdbf11cdd28eb3e49f0e",
    ),
    Photo(
        "bbt_bernadette",
        "face-api.js-git",
        "examples/images/bernadette/bernadette4.png",
        "700ef705d01d656d8fcdb7158ef64fd76607d115829b6e680d5adeeccdd4712e",
    ),
    Photo(
        "bbt_bernadette",
        "face-api.js-git",
        "examples/images/bernadette/bernadette5.png",
        "1d9fdc23ef125d397729c968c675bdb03e18d4e2faba39e426cd8ee406908f70",
    ),
    Photo(
        "bbt_howard",
        "face-api.js-git",
        "examples/images/howard/howard1.png",
        "cb27546bc0139f8be466cb5f747c040fdb05af668cc78f1c422d23c180a50c55",
    ),
    Photo(
        "bbt_howard",
        "face-api.js-git",
        "examples/images/howard/howard2.png",
        "2747993ab0790e584042c0e0dd56cf2385549571169e3f4c4ea6bd4cde6ae5ab",
    ),
    Photo(
        "bbt_howard",
        "face-api.js-git",
        "examples/images/howard/howard3.png",
        "a370e3cf9d4a5ce9e8e327307576b59b06f214f8e664e90cfde6f98d643fc544",
    ),
    Photo(
        "bbt_howard",
        "face-api.js-git",
        "examples/images/howard/howard4.png",
        "c0cc556d137f66c78ee3e6351f89844f261a79da89635607b43bc098b5fca456",
    ),
    Photo(
        "bbt_howard",
        "face-api.js-git",
        "examples/images/howard/howard5.png",
        "3cc3d88e97f1337575e9e0e32350ff9925e44c2af1592977e0cd894c413a5fd6",
    ),
    Photo(
        "bbt_leonard",
        "face-api.js-git",
        "examples/images/leonard/leonard1.png",
        "97933ff3245164eca0cbd0f8368d612c3963af305e013a72e10b740124b96855",
    ),
    Photo(
        "bbt_leonard",
        "face-api.js-git",
        "examples/images/leonard/leonard2.png",
        "e4d10771c11d1cf14cc41ad0aee36b921d5e6a71d72e0d5659ab95e1d5c83994",
    ),
    Photo(
        "bbt_leonard",
        "face-api.js-git",
        "examples/images/leonard/leonard3.png",
        "bda57664f219f303805cc54ebc3cf36554ad2c1e008105c58c9c05a4c47b7144",
    ),
    Photo(
        "bbt_leonard",
        "face-api.js-git",
        "examples/images/leonard/leonard4.png",
        "aab130d50dc6ee5047e3e809c6b5a3555bec92e1570c005633c53f90782f2e34",
    ),
    Photo(
        "bbt_leonard",
        "face-api.js-git",
        "examples/images/leonard/leonard5.png",
        "f47a46cf015c72bce8b92a833fb7826ffd3ab92ed633edcfd2280933a8d3fed1",
    ),
    Photo(
        "bbt_penny",
        "face-api.js-git",
        "examples/images/penny/penny1.png",
        "38068934fc208eee0e83771e61e4698b6430c7c77e35fe78b80f78eb662f05b6",
    ),
    Photo(
        "bbt_penny",
        "face-api.js-git",
        "examples/images/penny/penny2.png",
        "ef0237ba5842de3d89d4876cf892bbe68eb6cc681e0a35babc87a5299d7ee726",
    ),
    Photo(
        "bbt_penny",
        "face-api.js-git",
        "examples/images/penny/penny3.png",
        "f236344e6d7acfc65fee11f2b4b2388c03256200cd443a475e9849fc5a8311ab",
    ),
    Photo(
        "bbt_penny",
        "face-api.js-git",
        "examples/images/penny/penny4.png",
        "48ecaca1bdba62f8952050e4fceb6099d4afcd9fff732458f987882be32a9bb6",
    ),
    Photo(
        "bbt_penny",
        "face-api.js-git",
        "examples/images/penny/penny5.png",
        "c7a15ecebc0c4326c40048fba01bf222b462f28cdb2daa1520e3399bb8e68ed4",
    ),
    Photo(
        "bbt_raj",
        "face-api.js-git",
        "examples/images/raj/raj1.png",
        "71949f6a71777a6dffca9b806177ec5bf7f47dc9cc9d48c78fffa4bf67a6d3e7",
    ),
    Photo(
        "bbt_raj",
        "face-api.js-git",
        "examples/images/raj/raj2.png",
        "9752571453e5137237266b0b20e2008059b38dcb03098e5af9f81e461f055aff",
    ),
    Photo(
        "bbt_raj",
        "face-api.js-git",
        "examples/images/raj/raj3.png",
        "216428c9387c8e0e012d8eb8765bdcfa2288b6fa4749a0f0eefcf5895a7ddb79",
    ),
    Photo(
        "bbt_raj",
        "face-api.js-git",
        "examples/images/raj/raj4.png",
        "a43ae9e71b933857157fd1576bd00e461cd7fd3a50e5b7c523f7a93cb0625506",
    ),
    Photo(
        "bbt_raj",
        "face-api.js-git",
        "examples/images/raj/raj5.png",
        "4863a97836c34c2114bf10f480a0deaa0a394e64d23f644e730aeac868585b41",
    ),
    Photo(
        "bbt_sheldon",
        "face-api.js-git",
        "examples/images/sheldon/sheldon1.png",
        "a65431669582d888bd0c63f1edfe4092254daa53b992d4825fa704f93d1595bf",
    ),
    Photo(
        "bbt_sheldon",
        "face-api.js-git",
        "examples/images/sheldon/sheldon2.png",
        "6321a95c242de773251be4c55bf23910460a534297876e98d7811d549ac6990c",
    ),
    Photo(
        "bbt_sheldon",
        "face-api.js-git",
        "examples/images/sheldon/sheldon3.png",
        "45258b9731a33751b11caccb7af5db7ce7a547a25a8332ff54d80293228dd3dc",
    ),
    Photo(
        "bbt_sheldon",
        "face-api.js-git",
        "examples/images/sheldon/sheldon4.png",
        "58d891d73a3ee63b136c3cff0ad72951e88efd16aef30cf7893e049dd7439b53",
    ),
    Photo(
        "bbt_sheldon",
        "face-api.js-git",
        "examples/images/sheldon/sheldon5.png",
        "22099e330609766fd2d93331919a4299815d85b1ea980f91ad0d987fd78feff0",
    ),
    Photo(
        "bbt_stuart",
        "face-api.js-git",
        "examples/images/stuart/stuart1.png",
        "12cbb1dc373afa6119a43da62beb62023399b1e13f6b56bcb91e54ddcb9d7f8f",
    ),
    Photo(
        "bbt_stuart",
        "face-api.js-git",
        "examples/images/stuart/stuart2.png",
        "2ec8df6c295c8e5c7e853fc81739a9149c52f270e8db0548fc60724214e8a515",
    ),
    Photo(
        "bbt_stuart",
        "face-api.js-git",
        "examples/images/stuart/stuart3.png",
        "500208a8350543a0b08353f08d00e41dc14efd8306b68829775c6d920228d412",
    ),
    Photo(
        "bbt_stuart",
        "face-api.js-git",
        "examples/images/stuart/stuart4.png",
        "e3ba8b9b4a748ea1add2c0ea14d101dc0f87b401bf384e0c16e21cebca8509f9",
    ),
    Photo(
        "bbt_stuart",
        "face-api.js-git",
        "examples/images/stuart/stuart5.png",
        "381340eb567229d86f7aa868d3a580d403266f1a6f683f6d899f9824fb5d20ed",
    ),
    Photo(
        "collins",
        "scikit-image",
        "data/astronaut.png",
        "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
    ),
    Photo(
        "hopper",
        "matplotlib",
        "mpl-data/sample_data/grace_hopper.jpg",
        "a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130",
    ),
)


def _source_file(photo: Photo, roots: dict[str, Path]) -> bytes:
    if photo.source == "scikit-image":
        import skimage

        return (Path(skimage.__file__).parent / photo.path).read_bytes()
    if photo.source == "matplotlib":
        import matplotlib

        return (Path(matplotlib.__file__).parent / photo.path).read_bytes()
    if photo.source not in roots:
        raise SystemExit(f"source {photo.source} is needed for {photo.person}: give --source {photo.source}=DIRECTORY")
    return (roots[photo.source] / photo.path).read_bytes()


def face_square(image: np.ndarray) -> tuple[np.ndarray, faces.Face]:
    """A CROP_SIDE px square around the image's largest face (edges replicated where it leaves the photo)."""
    found = faces.faces_detect(image) or faces.faces_detect(image, upsample=2)
    if not found:
        raise ValueError("no face found")
    face = max(found, key=lambda f: f.box[2] * f.box[3])
    x, y, w, h = face.box
    side = int(round(FACE_SCALE * max(w, h)))
    cx, cy = x + w / 2, y + h / 2 - FACE_RAISE * h
    left, top = int(round(cx - side / 2)), int(round(cy - side / 2))
    pad = max(0, -left, -top, left + side - image.shape[1], top + side - image.shape[0])
    padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE) if pad else image
    square = padded[top + pad : top + pad + side, left + pad : left + pad + side]
    interpolation = cv2.INTER_AREA if side > CROP_SIDE else cv2.INTER_CUBIC
    return cv2.resize(square, (CROP_SIDE, CROP_SIDE), interpolation=interpolation), face


def collect(roots: dict[str, Path], out: Path) -> list[dict]:
    """Crop every photo of the table into out/<person>/<n>.jpg; returns the manifest's entries."""
    entries: list[dict] = []
    counts: dict[str, int] = {}
    for photo in PHOTOS:
        data = _source_file(photo, roots)
        if hashlib.sha256(data).hexdigest() != photo.sha256:
            raise SystemExit(f"{photo.source}:{photo.path} is not the file recorded (SHA-256 differs)")
        image = media.image_decode(data, max_side=4096)
        try:
            crop, face = face_square(image)
        except ValueError:
            # The set holds what Candor's detector accepts as a portrait; a photo it cannot find a face in is left out.
            print(f"{'(left out)':28s} <- {photo.source}:{photo.path} (no face found)", flush=True)
            continue
        # ...and so is a crop in which the detector does not find exactly one face, as a portrait upload must show.
        if len(faces.faces_detect(crop)) != 1:
            print(f"{'(left out)':28s} <- {photo.source}:{photo.path} (crop: not one face)", flush=True)
            continue
        counts[photo.person] = counts.get(photo.person, 0) + 1
        name = f"{photo.person}/{counts[photo.person]}.jpg"
        (out / photo.person).mkdir(parents=True, exist_ok=True)
        ok, encoded = cv2.imencode(
            ".jpg", cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
        )
        assert ok
        (out / name).write_bytes(encoded.tobytes())
        entries.append(
            {
                "file": name,
                "person": photo.person,
                "source": photo.source,
                "path": photo.path,
                "sha256": photo.sha256,
                "face_width_px": int(face.box[2]),
                "origin": SOURCES[photo.source]["origin"],
                "licence": SOURCES[photo.source]["licence"],
            }
        )
        print(f"{name:28s} <- {photo.source}:{photo.path} (face {face.box[2]} px)", flush=True)
    (out / "manifest.json").write_text(json.dumps(entries, indent=1) + "\n")
    return entries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", action="append", default=[], help="NAME=DIRECTORY of one source")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    roots = {}
    for item in args.source:
        name, _, folder = item.partition("=")
        if name not in SOURCES:
            parser.error(f"unknown source {name}; known: {', '.join(SOURCES)}")
        roots[name] = Path(folder)
    collect(roots, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
