#!/usr/bin/python3
"""An independent check for faces and licence plates left visible in images.

Runs OpenCV's Haar cascades (Debian opencv-data) over each image and prints, as one JSON object, what each finds:
{"IMAGE": {"faces": [{"x":..,"y":..,"w":..,"h":..,"cascade":".."}, ...], "plates": [...]}, ..., "errors": {...}}

A second opinion by a different method from the redactor's (a neural face detector, and the head region and plate
band of every person and vehicle an object detector finds). It never identifies anyone and never reads a plate's
characters: it only says where something face- or plate-like is. Haar cascades miss faces that are small, turned or
blurred, and the plate cascades were trained on Russian plates; a clean result is evidence, not proof, which is why
the tests also require it to find what the originals show.

Run it with Debian's own python3 (python3-opencv), not a pyenv shim:
    /usr/bin/python3 tools/privacy-check.py [--upscale N] IMAGE...
--upscale N looks at each image N times larger too (CCTV faces are often below the cascades' 24-pixel window).
Exit status: 0 when every image was read, 2 when one could not be read (it is listed under "errors").
"""

import json
import os
import sys

import cv2

CASCADE_DIRS = ["/usr/share/opencv4/haarcascades", "/usr/share/opencv/haarcascades"]
FACE_CASCADES = ["haarcascade_frontalface_default.xml", "haarcascade_frontalface_alt2.xml", "haarcascade_profileface.xml"]
PLATE_CASCADES = ["haarcascade_russian_plate_number.xml", "haarcascade_licence_plate_rus_16stages.xml"]

# A finer scale step than OpenCV's default 1.1 finds the small, blurred plate of licenseplate_motion.jpg.
SCALE_FACTOR = 1.05
# More neighbours for faces than OpenCV's default 3: the frontal cascades fire on foliage and fabric otherwise.
FACE_NEIGHBORS = 5
PLATE_NEIGHBORS = 3
FACE_MIN = (20, 20)
# Plates are about 4.5:1 (Russian) to 2:1 (US); the cascades' windows are 60x20 and 47x12.
PLATE_MIN = (24, 8)


def load(names):
    found = []
    for name in names:
        path = next((os.path.join(d, name) for d in CASCADE_DIRS if os.path.exists(os.path.join(d, name))), None)
        if path is None:
            sys.exit(f"error: {name} not found in {CASCADE_DIRS}; install Debian's opencv-data (./tools/setup.sh --test)")
        cascade = cv2.CascadeClassifier(path)
        if cascade.empty():
            sys.exit(f"error: {path} could not be loaded")
        found.append((name.removesuffix(".xml"), cascade))
    return found


def run(gray, cascades, neighbors, min_size, scale, flip=False):
    boxes = []
    for name, cascade in cascades:
        images = [(gray, False)] + ([(cv2.flip(gray, 1), True)] if flip and "profile" in name else [])
        for image, flipped in images:
            for (x, y, w, h) in cascade.detectMultiScale(image, scaleFactor=SCALE_FACTOR, minNeighbors=neighbors, minSize=min_size):
                if flipped:
                    x = image.shape[1] - x - w
                boxes.append({"x": int(x / scale), "y": int(y / scale), "w": int(w / scale), "h": int(h / scale), "cascade": name})
    return boxes


def check(image, faces, plates, upscale):
    gray = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
    result = {"faces": [], "plates": run(gray, plates, PLATE_NEIGHBORS, PLATE_MIN, 1)}
    for scale in sorted({1, upscale}):
        big = gray if scale == 1 else cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        # Profile faces look one way only in the cascade's training; the mirror image finds the other side.
        result["faces"] += run(big, faces, FACE_NEIGHBORS, FACE_MIN, scale, flip=True)
    return result


def main(args):
    upscale = 1
    if args[:1] == ["--upscale"]:
        upscale = int(args[1])
        args = args[2:]
    if not args:
        sys.exit("usage: privacy-check.py [--upscale N] IMAGE...")
    faces, plates = load(FACE_CASCADES), load(PLATE_CASCADES)
    result, errors = {}, {}
    for path in args:
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            errors[path] = "not a readable image"
            continue
        result[path] = check(image, faces, plates, upscale)
    if errors:
        result["errors"] = errors
    json.dump(result, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 2 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
