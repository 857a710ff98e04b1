"""Renders `conflux report` pages in headless Chromium (Debian's package) and checks them:
no console error, the sections and SVG shapes present in the rendered DOM with counts that
match the report's data, the in-page self-test (#selftest) changing the waterfall, no
network (name resolution blocked), and a non-blank screenshot.

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
        features = len(data["features"])
        bars = dom.count('class="bar"')
        if bars != expect["bars"](features):
            failures.append(f"{name}: {bars} importance bars, expected {expect['bars'](features)}")
        dots = dom.count('class="dot"')
        if dots != expect["dots"]:
            failures.append(f"{name}: {dots} beeswarm dots, expected {expect['dots']}")
        # The waterfall drawn by the script: baseline, top features, the rest, biases, output.
        steps = dom.count('class="step"')
        shown = min(data["top"], features) + (1 if features > data["top"] else 0)
        want_steps = 2 + shown + (1 if data["methods"][0]["rows"][0]["bias"] is not None else 0)
        if steps != want_steps:
            failures.append(f"{name}: waterfall has {steps} steps, expected {want_steps}")
        selftest, console, _ = render(browser, page, "#selftest")
        m = re.search(r'id="selftest-result">([^<]*)<', selftest)
        if not m or "waterfall changed: true" not in m.group(1):
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
        print(f"{name}: {len(html)} bytes, {bars} bars, {dots} dots, {steps} waterfall steps, "
              f"console errors {len(console)}")


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
           "bars": lambda f: 2 * f, "dots": 300 * 12},
          failures, a.screenshot_out)
    check(a.conflux, browser, "demo-two-methods", demo + ["--method", "cafe", "--method", "integrated-gradients"],
          {"sections": ["overview", "importance", "beeswarm", "rows", "comparison", "conflicts"],
           "bars": lambda f: 3 * f, "dots": 300 * 12},
          failures)
    for f in failures:
        print("FAIL", f)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
