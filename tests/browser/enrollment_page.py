#!/usr/bin/env python3
"""The enrolment page in a real headless browser (Debian's Chromium + ChromeDriver).

Starts the reference server binary, creates an enrolment through the admin API, opens the
page, reads the manual code and URL off it, activates the harness with them (typed path), and
checks that the status check flips to the device, that "Verify Now" shows a number which the
harness approves with, that the page then says Active, and that an app password can be
generated once. A screenshot is saved as a test artefact.

WebDriver is spoken over its HTTP protocol with the standard library only. The browser runs
with --ignore-certificate-errors because its trust store is not ours to change; the page's TLS
certificate is covered by the Rust tests, which trust the server's CA explicitly.
"""
import json, os, shutil, socket, subprocess, sys, tempfile, time, urllib.request, ssl

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("COUNTERSIGN_BIN_DIR", os.path.join(ROOT, "target", "debug"))
ARTIFACTS = os.environ.get("COUNTERSIGN_ARTIFACTS", os.path.join(ROOT, "target", "test-artifacts"))
results = []


def check(name, cond, detail=""):
    results.append((name, bool(cond)))
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f"  ({detail})"), flush=True)
    return cond


def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p


class WebDriver:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": shutil.which("chromium") or "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                     "--no-first-run", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync",
                     "--ignore-certificate-errors", "--window-size=1000,1200",
                     f"--user-data-dir={tempfile.mkdtemp()}"]}}}}
        self.sid = self.call("POST", "/session", caps)["sessionId"]

    def call(self, method, path, body=None):
        req = urllib.request.Request(self.base + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())["value"] if path != "/session" else json.loads(r.read())["value"]

    def s(self, method, path, body=None):
        return self.call(method, f"/session/{self.sid}{path}", body)

    def get(self, url): self.s("POST", "/url", {"url": url})

    def el(self, css):
        v = self.s("POST", "/element", {"using": "css selector", "value": css})
        return next(iter(v.values()))

    def text(self, css): return self.s("GET", f"/element/{self.el(css)}/text")

    def displayed(self, css): return self.s("GET", f"/element/{self.el(css)}/displayed")

    def click(self, css): self.s("POST", f"/element/{self.el(css)}/click", {})

    def screenshot(self, path):
        import base64
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.s("GET", "/screenshot")))

    def quit(self): self.call("DELETE", f"/session/{self.sid}")


def wait_for(fn, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.25)
    return fn()


def main():
    work = tempfile.mkdtemp()
    os.makedirs(ARTIFACTS, exist_ok=True)
    data = os.path.join(work, "server")
    server = subprocess.Popen([os.path.join(BIN, "countersign-server"), "--listen", "127.0.0.1:0",
                               "--data", data], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    driver_port = free_port()
    chromedriver = subprocess.Popen([shutil.which("chromedriver") or "/usr/bin/chromedriver",
                                     f"--port={driver_port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wd = None
    try:
        info = json.loads(server.stdout.readline())
        base = info["base_url"]
        ca = info["ca_pem"]
        token = open(os.path.join(data, "admin-token")).read().strip()
        ctx = ssl.create_default_context(cafile=ca)

        def admin(method, path, body=None):
            req = urllib.request.Request(base + path, method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
                return json.loads(r.read())

        admin("POST", "/admin/users", {"user": "alice"})
        e = admin("POST", "/admin/enrollments", {"user": "alice"})
        for _ in range(40):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{driver_port}/status", timeout=2); break
            except Exception:
                time.sleep(0.25)
        wd = WebDriver(driver_port)
        wd.get(e["page_url"])
        check("QR code is shown", wait_for(lambda: wd.displayed("#qr")))
        code, url = wd.text("#manual-code"), wd.text("#manual-url")
        check("manual code is shown and matches the admin API", code == e["code"], code)
        check("manual URL is shown and is the server's base URL", url == e["url"] == base, url)
        check("status check waits for the phone", wait_for(lambda: "Waiting" in wd.text("#status")), wd.text("#status"))
        wd.screenshot(os.path.join(ARTIFACTS, "enrollment-1-qr.png"))

        pw = os.path.join(work, "pw"); open(pw, "w").write("browser test")
        cs = [os.path.join(BIN, "countersign"), "--vault", os.path.join(work, "v.db"), "--passphrase-file", pw,
              "--ca", ca, "--allow-http-loopback"]
        act = subprocess.run(cs + ["activate", "--code", code, "--url", url, "--device-name", "Browser Test Phone"],
                             capture_output=True, text=True)
        check("harness activates with the code and URL read off the page", act.returncode == 0, act.stderr)
        check("status check flips to the device", wait_for(lambda: "Browser Test Phone" in wd.text("#status")), wd.text("#status"))
        wd.click("#verify-now")
        number = wait_for(lambda: wd.text("#number").strip())
        check("Verify Now shows the number to type", number.isdigit(), number)
        wd.screenshot(os.path.join(ARTIFACTS, "enrollment-2-number.png"))
        pending = json.loads(subprocess.run(cs + ["push", "list", "--json"], capture_output=True, text=True).stdout or "[]")
        check("the phone sees the activation request", len(pending) == 1 and pending[0]["kind"] == "activation", pending)
        if pending:
            ok = subprocess.run(cs + ["push", "approve", pending[0]["id"], "--number", number], capture_output=True, text=True)
            check("approving with the number succeeds", ok.returncode == 0 and "approved" in ok.stdout, ok.stdout + ok.stderr)
        check("status check says Active", wait_for(lambda: wd.text("#status") == "Active"), wd.text("#status"))
        wd.click("#generate-app-password")
        app_pw = wait_for(lambda: wd.text("#app-password").strip())
        check("an app password is generated and shown once", len(app_pw) >= 16, app_pw)
        wd.screenshot(os.path.join(ARTIFACTS, "enrollment-3-active.png"))
        print(f"screenshots in {ARTIFACTS}")
    finally:
        if wd:
            try: wd.quit()
            except Exception: pass
        chromedriver.terminate(); server.terminate()
        chromedriver.wait(10); server.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    passed = sum(1 for _, ok in results if ok)
    print(f"browser: {passed} passed, {len(results) - passed} failed")
    return 0 if results and passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
