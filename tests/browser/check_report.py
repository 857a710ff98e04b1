"""Renders `conflux report` pages in headless Chromium (Debian's package) and checks them —
the demo MLP, an image model (a CNN) and an AME: no console error, the sections and SVG
shapes present in the rendered DOM with counts that match the report's data (importance
bars, beeswarm dots, the per-row chart's steps, one rect per image cell), the in-page
self-test (#selftest) changing the per-row chart (and the image maps), no network (name
resolution blocked), and a non-blank screenshot.

    python tests/browser/check_report.py --conflux target/debug/conflux [--screenshot-out docs/report.png]

Exit status 0 when every check holds; each failure is printed.
"""
import argparse
import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import zlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEMO = ROOT / "crates" / "conflux-cli" / "assets" / "demo"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--host-resolver-rules=MAP * ~NOTFOUND",
                  "--enable-logging=stderr", "--v=0"]


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("no chromium on PATH (Debian: apt-get install chromium)")


def render(browser, page, fragment=""):
    """The rendered DOM and Chromium's console lines."""
    run = subprocess.run([browser, *CHROMIUM_FLAGS, "--dump-dom", page.as_uri() + fragment],
                         capture_output=True, text=True, timeout=120)
    console = [line for line in run.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    return run.stdout, console, run.returncode


def png_variance(path):
    """Variance of the grey levels of an 8-bit RGB(A) PNG (no imaging library needed)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = (int.from_bytes(body[0:4], "big"), int.from_bytes(body[4:8], "big"),
                                            body[8], body[9])
            assert depth == 8 and colour in (2, 6), f"unexpected PNG format {depth}/{colour}"
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    prev = bytearray(stride)
    total = total_sq = count = 0
    for y in range(height):
        line = raw[y * (stride + 1):(y + 1) * (stride + 1)]
        f, cur = line[0], bytearray(line[1:])
        for i in range(stride):
            a = cur[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if f == 1:
                cur[i] = (cur[i] + a) & 255
            elif f == 2:
                cur[i] = (cur[i] + b) & 255
            elif f == 3:
                cur[i] = (cur[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        if y % 4 == 0:  # every fourth line is plenty for a variance
            for x in range(0, stride, channels * 4):
                g = (cur[x] + cur[x + 1] + cur[x + 2]) / 3
                total += g
                total_sq += g * g
                count += 1
        prev = cur
    mean = total / count
    return total_sq / count - mean * mean


def data_block(html):
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    return json.loads(m.group(1))


def check(conflux, browser, name, args, expect, failures, screenshot_out=None):
    with tempfile.TemporaryDirectory() as tmp:
        page = pathlib.Path(tmp) / f"{name}.html"
        run = subprocess.run([conflux, "report", "--quiet", *args, "--out", str(page)], capture_output=True, text=True)
        if run.returncode != 0:
            failures.append(f"{name}: conflux report failed: {run.stderr.strip()}")
            return
        html = page.read_text(encoding="utf-8")
        data = data_block(html)
        dom, console, rc = render(browser, page)
        if rc != 0 or "<section" not in dom:
            failures.append(f"{name}: chromium did not render the page (exit {rc})")
            return
        if console:
            failures.append(f"{name}: console errors: {console[:3]}")
        for section in expect["sections"]:
            if f'id="{section}"' not in dom:
                failures.append(f"{name}: section {section} missing from the rendered DOM")
        bars = dom.count('class="bar"')
        if bars != expect["bars"](data):
            failures.append(f"{name}: {bars} importance bars, expected {expect['bars'](data)}")
        dots = dom.count('class="dot"')
        if dots != expect["dots"]:
            failures.append(f"{name}: {dots} beeswarm dots, expected {expect['dots']}")
        # The per-row chart drawn by the script.
        steps = dom.count('class="step"')
        want_steps = (ame_steps if data.get("kind") == "ame" else waterfall_steps)(data)
        if steps != want_steps:
            failures.append(f"{name}: the per-row chart has {steps} steps, expected {want_steps}")
        cells = ""
        if data.get("image"):
            per_map = image_cells(data["image"])
            for box, maps in (("image-row", expect["maps"][0]), ("image-global", expect["maps"][1])):
                m = re.search(rf'id="{box}"[^>]*>(.*?)</div>', dom, re.S)
                got = m.group(1).count("<rect") if m else 0
                if got != maps * per_map:
                    failures.append(f"{name}: {box} has {got} cells, expected {maps} maps × {per_map}")
            cells = f", {expect['maps'][0]}+{expect['maps'][1]} image maps of {per_map} cells"
        selftest, console, _ = render(browser, page, "#selftest")
        m = re.search(r'id="selftest-result">([^<]*)<', selftest)
        want = ["waterfall changed: true"] + (["images changed: true"] if data.get("image") else [])
        if not m or any(w not in m.group(1) for w in want):
            failures.append(f"{name}: self-test did not change the waterfall ({m.group(1) if m else 'no result'})")
        if console:
            failures.append(f"{name}: console errors in the self-test: {console[:3]}")
        shot = pathlib.Path(tmp) / f"{name}.png"
        subprocess.run([browser, *CHROMIUM_FLAGS, "--window-size=1200,1600", f"--screenshot={shot}", page.as_uri()],
                       capture_output=True, timeout=120)
        if not shot.exists():
            failures.append(f"{name}: no screenshot")
        else:
            var = png_variance(shot)
            if var < 50:
                failures.append(f"{name}: screenshot looks blank (grey-level variance {var:.1f})")
            if screenshot_out:
                shutil.copyfile(shot, screenshot_out)
        print(f"{name}: {len(html)} bytes, {bars} bars, {dots} dots, {steps} per-row steps{cells}, "
              f"console errors {len(console)}")


def waterfall_steps(data):
    """Baseline, the top features, the rest together, the biases (CAFE), the output."""
    features = len(data["features"])
    shown = min(data["top"], features) + (1 if features > data["top"] else 0)
    return 2 + shown + (1 if data["methods"][0]["rows"][0]["bias"] is not None else 0)


def ame_steps(data):
    """Attention bars of the top groups and the rest together, each with its ω bar when labelled."""
    groups = len(data["groups"])
    shown = min(data["top"], groups) + (1 if groups > data["top"] else 0)
    return shown * (2 if data["methods"][0]["rows"][0]["granger"] is not None else 1)


def image_cells(im):
    """Cells of one map: the grid the report holds (pixels, or cells of a large image)."""
    return im["height"] * im["width"]


def canary(browser, failures):
    """The console check itself: a page that logs an error and throws must be caught."""
    with tempfile.TemporaryDirectory() as tmp:
        page = pathlib.Path(tmp) / "canary.html"
        page.write_text('<p>x</p><script>console.error("canary"); throw new Error("canary2")</script>')
        _, console, _ = render(browser, page)
        if not any("canary" in c for c in console) or not any("canary2" in c for c in console):
            failures.append(f"the console check does not see a page's errors (got {console})")


def hostile(conflux, browser, failures):
    """A header that is markup renders as text: no injected element in the rendered DOM."""
    evil = "</script><img src=x onerror=alert(1)>"
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        (tmp / "m.json").write_text(json.dumps({
            "format": "conflux-model", "format_version": 1, "input_dim": 2, "feature_names": [evil, "b"],
            "layers": [{"type": "linear", "weight": [[1.0, -2.0], [0.5, 1.0]], "bias": [0.1, -0.2]}, {"type": "relu"},
                       {"type": "linear", "weight": [[1.0, 1.0]], "bias": [0.0]}]}))
        (tmp / "x.csv").write_text(f'"{evil}",b\n1,2\n3,-1\n')
        page = tmp / "hostile.html"
        run = subprocess.run([conflux, "report", "--quiet", "--model", str(tmp / "m.json"), "--data", str(tmp / "x.csv"),
                              "--out", str(page)], capture_output=True, text=True)
        if run.returncode != 0:
            failures.append(f"hostile: conflux report failed: {run.stderr.strip()}")
            return
        dom, console, _ = render(browser, page, "#selftest")
        if "<img" in dom or console:
            failures.append(f"hostile: markup from a header reached the DOM ({console[:2]})")
        if "onerror=alert(1)&gt;" not in dom:
            failures.append("hostile: the header is not shown as text")
        print(f"hostile header: rendered as text, console errors {len(console)}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--conflux", required=True)
    ap.add_argument("--screenshot-out")
    a = ap.parse_args()
    browser = chromium()
    failures = []
    canary(browser, failures)
    hostile(a.conflux, browser, failures)
    demo = ["--model", str(DEMO / "adult_mlp.json"), "--data", str(DEMO / "adult_sample.csv"), "--label", "income"]
    check(a.conflux, browser, "demo", demo + ["--rows", "100"],
          {"sections": ["overview", "importance", "beeswarm", "rows", "conflicts"],
           "bars": lambda d: 2 * len(d["features"]), "dots": 300 * 12},
          failures, a.screenshot_out)
    check(a.conflux, browser, "demo-two-methods", demo + ["--method", "cafe", "--method", "integrated-gradients"],
          {"sections": ["overview", "importance", "beeswarm", "rows", "comparison", "conflicts"],
           "bars": lambda d: 3 * len(d["features"]), "dots": 300 * 12},
          failures)
    # An image model: a 1×10×10 CNN (ReLU, max and average pooling) on its 20 golden rows;
    # CAFE draws input, S+, S− and joint per row and three dataset maps; a metric table.
    graph = ROOT / "tests" / "golden" / "graph"
    cnn = ["--model", str(ROOT / "tests" / "models" / "graph" / "cnn10_relu_maxpool_avgpool.onnx"),
           "--data", str(graph / "cnn10_relu_maxpool_avgpool.rows.csv")]
    check(a.conflux, browser, "cnn", cnn + ["--method", "cafe", "--method", "deeplift", "--metric", "infidelity"],
          {"sections": ["overview", "importance", "beeswarm", "rows", "images", "comparison", "conflicts"],
           "bars": lambda d: 2 * 40 + 40, "dots": 20 * 12, "maps": (4, 3)},
          failures)
    # An AME with an image stem, trained here on the digits (8×8, 2×2 cells): attention
    # and ω per group, input/attention/ω maps per row and the mean attention map.
    with tempfile.TemporaryDirectory() as tmp:
        model = pathlib.Path(tmp) / "digits.ame.json"
        digits = str(ROOT / "tests" / "data" / "digits" / "digits_8x8.csv")
        run = subprocess.run([a.conflux, "train", "ame", "--quiet", "--data", digits, "--label", "label",
                              "--task", "multiclass", "--image", "8x8", "--epochs", "2", "--out", str(model)],
                             capture_output=True, text=True)
        if run.returncode != 0:
            failures.append(f"ame: training failed: {run.stderr.strip()}")
        else:
            check(a.conflux, browser, "ame", ["--model", str(model), "--data", digits, "--label", "label", "--rows", "200"],
                  {"sections": ["overview", "importance", "beeswarm", "rows", "images"],
                   "bars": lambda d: len(d["groups"]), "dots": 400 * 4, "maps": (3, 1)},
                  failures)
    for f in failures:
        print("FAIL", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
