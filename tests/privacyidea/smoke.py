"""End-to-end smoke test against the running privacyIDEA test server.

Plays three roles, exactly as Countersign's Rust e2e tests will:
  * admin          POST /auth, /token/init, /token/ (JWT in PI-Authorization)
  * relying party  /validate/check, /validate/polltransaction
  * phone          enrollment step 2, poll, approve/decline on the `url` from the
                   otpauth://pipush/ URI (RSA PKCS#1 v1.5 / SHA-256, base32 signatures)
and a TOTP token for bob checked with a code computed here (RFC 6238).

Every request and response is written to PI_HOME/smoke-transcript.json.
Run it through smoke.sh (it uses the server venv: requests, cryptography, rfc8785).
Test tooling only, not product code.
"""
import argparse
import base64
import datetime
import hashlib
import hmac
import json
import os
import re
import struct
import sys
import time
import urllib.parse

import requests
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

REALM = "countersign"
USERS = {"alice": "alice-password", "bob": "bob-password", "carol": "carol-password"}
# RFC 6238 test seed "12345678901234567890", as hex (privacyIDEA's otpkey format)
TOTP_KEY_HEX = "3132333435363738393031323334353637383930"


class Smoke:
    def __init__(self, base: str, ca: str, home: str, key_bits: int, verbose: bool,
                 push_wait: bool = False):
        self.base = base.rstrip("/")
        self.ca = ca
        self.home = home
        self.key_bits = key_bits
        self.verbose = verbose
        self.session = requests.Session()
        # Ignore REQUESTS_CA_BUNDLE / proxy variables: they would override `verify`.
        self.session.trust_env = False
        self.session.verify = ca
        self.transcript = []
        self.passed = 0
        self.failed = 0
        self.admin_token = None
        self.push_wait = push_wait
        self.meta = {"base": self.base, "date": datetime.datetime.now(datetime.timezone.utc).isoformat()}
        # Test vectors: RSA PKCS#1 v1.5 signatures are deterministic, so with these keys
        # every signature in the exchanges can be reproduced byte for byte.
        self.keys = {}
        self.push_url = None

    # ---- plumbing ----------------------------------------------------------
    def check(self, cond: bool, what: str) -> None:
        if cond:
            self.passed += 1
            print(f"  ok   {what}")
        else:
            self.failed += 1
            print(f"  FAIL {what}")

    def require(self, cond: bool, what: str) -> None:
        self.check(cond, what)
        if not cond:
            raise SystemExit(self.finish())

    def call(self, step: str, method: str, url: str, *, params=None, data=None, admin=False,
             expect_status=200):
        if not url.startswith("http"):
            url = self.base + url
        headers = {"PI-Authorization": self.admin_token} if admin else {}
        t = time.monotonic()
        r = self.session.request(method, url, params=params, data=data, headers=headers, timeout=60,
                                 verify=self.ca)
        ms = round((time.monotonic() - t) * 1000)
        try:
            body = r.json()
        except ValueError:
            body = r.text
        self.transcript.append({
            "step": step, "method": method, "url": url, "query": params, "form": data,
            "headers": {k: (v[:20] + "...") for k, v in headers.items()},
            "status": r.status_code, "ms": ms, "response": body,
        })
        if self.verbose:
            print(f"  -> {method} {url} {params or ''} {data or ''}\n  <- {r.status_code} {short(body)}")
        self.check(r.status_code == expect_status,
                   f"{step}: HTTP {r.status_code} (want {expect_status}, {ms} ms)")
        return r, body

    def finish(self) -> int:
        path = os.path.join(self.home, "smoke-transcript.json")
        with open(path, "w") as f:
            json.dump({"meta": self.meta, "keys": self.keys, "exchanges": self.transcript},
                      f, indent=2, ensure_ascii=False)
        print(f"transcript: {path}")
        print(f"{self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0

    # ---- roles -------------------------------------------------------------
    def admin_login(self) -> None:
        password = open(os.path.join(self.home, "admin-password")).read().strip()
        _, body = self.call("admin /auth", "POST", "/auth",
                            data={"username": "admin", "password": password})
        self.admin_token = body["result"]["value"]["token"]
        self.check(body["result"]["value"].get("role") == "admin", "admin /auth gives role=admin")

    def delete_user_tokens(self, user: str) -> None:
        _, body = self.call(f"list tokens of {user}", "GET", "/token/",
                            params={"user": user, "realm": REALM}, admin=True)
        for tok in body["result"]["value"]["tokens"]:
            self.call(f"delete old token {tok['serial']}", "DELETE", f"/token/{tok['serial']}", admin=True)

    def validate_check(self, step, user, password, **extra):
        _, body = self.call(step, "POST", "/validate/check",
                            data={"user": user, "realm": REALM, "pass": password, **extra})
        return body

    # ---- push --------------------------------------------------------------
    def push_flow(self) -> None:
        print("== push token for alice (poll only)")
        self.delete_user_tokens("alice")
        _, body = self.call("enroll step 1: /token/init type=push", "POST", "/token/init",
                            data={"type": "push", "genkey": "1", "user": "alice", "realm": REALM},
                            admin=True)
        detail = body["detail"]
        uri = detail["pushurl"]["value"]
        print(f"  push enrollment URI: {uri}")
        parsed = urllib.parse.urlsplit(uri)
        q = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
        self.require(parsed.scheme == "otpauth" and parsed.netloc == "pipush", "URI is otpauth://pipush/")
        self.check(q.get("v") == "1", "URI v=1")
        self.check(q.get("poll_only") == "True", "URI poll_only=True")
        self.check(q.get("serial") == detail["serial"], "URI serial matches detail.serial")
        self.check(q.get("enrollment_credential") == detail.get("enrollment_credential"),
                   "URI enrollment_credential matches detail.enrollment_credential")
        self.check(detail.get("rollout_state") == "clientwait", "rollout_state=clientwait after step 1")
        serial, url = q["serial"], q["url"]
        self.push_url = url

        # phone: key pair + step 2
        key = rsa.generate_private_key(public_exponent=65537, key_size=self.key_bits)
        pubkey_b64 = base64.b64encode(key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)).decode()
        self.keys["phone_private_key_pkcs8_pem"] = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode()
        self.keys["phone_public_key_spki_b64"] = pubkey_b64
        r2, body = self.call("enroll step 2 (phone): POST url", "POST", url, data={
            "enrollment_credential": q["enrollment_credential"], "serial": serial,
            "fbtoken": "no_firebase_token", "pubkey": pubkey_b64,
            "capabilities": '["decline_reason"]'})
        d2 = body["detail"]
        self.check(d2.get("rollout_state") == "enrolled", "rollout_state=enrolled after step 2")
        server_pub_b64 = d2["public_key"]
        self.keys["server_public_key_pkcs1_b64_as_sent"] = server_pub_b64
        self.keys["audit_public_key_pem"] = open(
            os.path.join(self.home, "keys", "audit-public.pem")).read()
        self.check("\n" in server_pub_b64 and "BEGIN" not in server_pub_b64,
                   "server public_key is base64 with line breaks, no PEM header")
        der = base64.b64decode(server_pub_b64.replace("\n", ""))
        server_pub = serialization.load_der_public_key(der)  # accepts PKCS#1 RSAPublicKey DER
        pkcs1 = server_pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1)
        self.check(der == pkcs1, f"server public_key is PKCS#1 RSAPublicKey DER (RSA-{server_pub.key_size})")

        self.verify_response_signature(r2.text, "step-2 response")

        _, body = self.call("token state", "GET", "/token/", params={"serial": serial}, admin=True)
        tok = body["result"]["value"]["tokens"][0]
        self.check(tok["active"] and tok["rollout_state"] == "enrolled", "token active + enrolled")

        self.call("enroll step 2 replayed", "POST", url, data={
            "enrollment_credential": q["enrollment_credential"], "serial": serial,
            "fbtoken": "no_firebase_token", "pubkey": pubkey_b64}, expect_status=404)

        def sign(msg: str) -> str:
            return base64.b32encode(key.sign(msg.encode("utf-8"), padding.PKCS1v15(),
                                             hashes.SHA256())).decode()

        def poll(step: str, expect_status=200, timestamp=None, sig=None):
            ts = timestamp or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            params = {"serial": serial, "timestamp": ts,
                      "signature": sig or sign(f"{serial}|{ts}"),
                      "capabilities": '["decline_reason"]'}
            return self.call(step, "GET", url, params=params, expect_status=expect_status)[1]

        body = poll("poll before any challenge")
        self.check(body["result"]["value"] == [], "poll without challenge gives []")
        body = poll("poll with a bad signature", expect_status=400, sig=sign("wrong"))
        self.check(body["result"]["error"]["code"] == 10, "bad poll signature: ERR10")
        stale = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=3)
                 ).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        body = poll("poll with a 3-minute-old timestamp", expect_status=400, timestamp=stale)
        self.check("not in valid range" in body["result"]["error"]["message"], "stale poll timestamp rejected")

        def trigger(step):
            body = self.validate_check(step, "alice", USERS["alice"])
            self.check(body["result"].get("authentication") == "CHALLENGE", f"{step}: CHALLENGE")
            self.check(body["detail"].get("client_mode") == "poll", f"{step}: client_mode=poll")
            return body["detail"]["transaction_id"]

        def fetch_and_verify(step, expect_n=1):
            body = poll(step)
            chals = body["result"]["value"]
            self.require(len(chals) == expect_n, f"{step}: {len(chals)} open challenge(s)")
            c = chals[-1]
            msg = "{nonce}|{url}|{serial}|{question}|{title}|{sslverify}".format(**c)
            self.check(verify(server_pub, c["signature"], msg),
                       "challenge signature verifies over nonce|url|serial|question|title|sslverify")
            caps = json.loads(c["capabilities"])
            jcs = json.dumps({"capabilities": caps, "nonce": c["nonce"]}, sort_keys=True,
                             separators=(",", ":"), ensure_ascii=False)
            self.check(jcs.encode() == rfc8785.dumps({"capabilities": caps, "nonce": c["nonce"]}),
                       f"JCS input = {jcs}")
            self.check(verify(server_pub, c["capabilities_signature"], jcs),
                       "capabilities_signature verifies over JCS({capabilities, nonce})")
            tampered = msg.replace(c["question"], c["question"] + "!")
            self.check(not verify(server_pub, c["signature"], tampered), "tampered question fails")
            self.check(c["url"] == url, "challenge url == enrollment url")
            return c

        # --- approve ---
        tx = trigger("trigger: /validate/check alice + password")
        body = self.call("polltransaction before answer", "GET", "/validate/polltransaction",
                         params={"transaction_id": tx})[1]
        self.check(body["result"]["value"] is False and body["detail"].get("challenge_status") == "pending",
                   "polltransaction false/pending before answer")
        self.check(body["result"].get("authentication") == "REJECT",
                   "polltransaction pending carries result.authentication=REJECT (not final!)")
        c = fetch_and_verify("poll after trigger")
        body = self.call("answer with a foreign signature", "POST", c["url"], data={
            "serial": serial, "nonce": c["nonce"], "signature": sign(f"{c['nonce']}|OTHER")})[1]
        self.check(body["result"]["value"] is False, "wrongly signed answer gives value=false")
        ra, body = self.call("approve (phone)", "POST", c["url"], data={
            "serial": serial, "nonce": c["nonce"], "signature": sign(f"{c['nonce']}|{serial}")})
        self.check(body["result"]["value"] is True, "approve gives value=true")
        self.check(body.get("nonce") == c["nonce"], "approve response echoes nonce")
        self.verify_response_signature(ra.text, "approve response")
        body = self.call("polltransaction after approve", "GET", "/validate/polltransaction",
                         params={"transaction_id": tx})[1]
        self.check(body["result"]["value"] is True and body["detail"].get("challenge_status") == "accept",
                   "polltransaction true/accept")
        self.check(body["result"].get("authentication") == "ACCEPT",
                   "polltransaction accept carries result.authentication=ACCEPT")
        body = poll("poll after approve")
        self.check(body["result"]["value"] == [], "answered challenge no longer polled")
        body = self.validate_check("finalize: /validate/check transaction_id", "alice", "", transaction_id=tx)
        self.check(body["result"].get("authentication") == "ACCEPT", "final /validate/check ACCEPT")
        body = self.validate_check("finalize replayed", "alice", "", transaction_id=tx)
        self.check(body["result"].get("authentication") == "REJECT", "replayed finalize REJECT")

        # --- decline with reason ("No, it's not me") ---
        tx = trigger("trigger 2")
        c = fetch_and_verify("poll after trigger 2")
        _, body = self.call("decline unknown_trigger (phone)", "POST", c["url"], data={
            "serial": serial, "nonce": c["nonce"], "decline": "1", "decline_reason": "unknown_trigger",
            "signature": sign(f"{c['nonce']}|{serial}|decline|unknown_trigger")})
        self.check(body["result"]["value"] is True, "decline gives value=true")
        body = self.call("polltransaction after decline", "GET", "/validate/polltransaction",
                         params={"transaction_id": tx})[1]
        self.check(body["result"]["value"] is False and body["detail"].get("challenge_status") == "declined",
                   "polltransaction false/declined")
        self.check(body["result"].get("authentication") == "DECLINED",
                   "polltransaction declined carries result.authentication=DECLINED")
        body = self.validate_check("finalize after decline", "alice", "", transaction_id=tx)
        self.check(body["result"].get("authentication") == "REJECT", "finalize after decline REJECT")

        if self.push_wait:
            self.push_wait_flow(serial, sign, fetch_and_verify)

        # --- firebase token update (poll-only apps send no_firebase_token) ---
        ts = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        _, body = self.call("update fb token (phone)", "POST", url, data={
            "new_fb_token": "no_firebase_token", "serial": serial, "timestamp": ts,
            "signature": sign(f"no_firebase_token|{serial}|{ts}")})
        self.check(body["result"]["value"] is True, "fb token update value=true")

    def push_wait_flow(self, serial, sign, fetch_and_verify) -> None:
        """push_wait: /validate/check blocks until the phone approves (needs a threaded server)."""
        import threading
        print("== push_wait=20 (policy set at runtime through the admin API)")
        self.call("add policy cs-push-wait", "POST", "/policy/cs-push-wait", admin=True, data={
            "scope": "authentication", "action": "push_wait=20", "active": "true"})
        try:
            out = {}
            t0 = time.monotonic()
            th = threading.Thread(target=lambda: out.update(
                body=self.validate_check("blocking /validate/check (push_wait)", "alice", USERS["alice"])))
            th.start()
            for _ in range(40):  # wait (unlogged) until the blocking check has created the challenge
                time.sleep(0.25)
                ts = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                r = self.session.get(self.push_url, params={"serial": serial, "timestamp": ts,
                                                            "signature": sign(f"{serial}|{ts}")},
                                     verify=self.ca, timeout=30)
                if r.ok and r.json()["result"]["value"]:
                    break
            c = fetch_and_verify("poll while /validate/check blocks")
            self.call("approve while /validate/check blocks", "POST", c["url"], data={
                "serial": serial, "nonce": c["nonce"], "signature": sign(f"{c['nonce']}|{serial}")})
            th.join(30)
            self.check(out.get("body", {}).get("result", {}).get("authentication") == "ACCEPT",
                       f"push_wait: blocking /validate/check returned ACCEPT after "
                       f"{time.monotonic() - t0:.1f}s")
        finally:
            self.call("delete policy cs-push-wait", "DELETE", "/policy/cs-push-wait", admin=True)

    def verify_response_signature(self, raw: str, what: str) -> None:
        # Server response signature: RSA-PSS(SHA-256, MGF1-SHA256, max salt) with the
        # audit key over json.dumps(body_without_signature, sort_keys=True). The body is
        # itself emitted that way, so a client can cut the `, "signature": "..."` member
        # out of the raw text instead of re-serialising (checked here both ways).
        pub = serialization.load_pem_public_key(
            open(os.path.join(self.home, "keys", "audit-public.pem"), "rb").read())
        body = json.loads(raw)
        sig = body.get("signature", "")
        m = re.search(r', "signature": "rsa_sha256_pss:[0-9a-f]+"', raw)
        cut = raw[:m.start()] + raw[m.end():] if m else ""
        rest = {k: v for k, v in body.items() if k != "signature"}
        reserialised = json.dumps(rest, sort_keys=True)
        self.check(cut == reserialised, f"{what}: raw body minus signature member == json.dumps(sort_keys=True)")

        def ok(data: str) -> bool:
            try:
                pub.verify(bytes.fromhex(sig.split(":", 1)[1]), data.encode(),
                           padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                       salt_length=padding.PSS.MAX_LENGTH), hashes.SHA256())
                return True
            except (InvalidSignature, ValueError, IndexError):
                return False
        self.check(sig.startswith("rsa_sha256_pss:") and ok(cut),
                   f"{what}: response signature rsa_sha256_pss verifies with the audit public key")

    # ---- TOTP --------------------------------------------------------------
    def totp_flow(self) -> None:
        print("== TOTP token for bob")
        self.delete_user_tokens("bob")
        self.keys["totp_key_hex"] = TOTP_KEY_HEX
        _, body = self.call("enroll TOTP: /token/init type=totp otpkey=<hex>", "POST", "/token/init", data={
            "type": "totp", "otpkey": TOTP_KEY_HEX, "genkey": "0", "user": "bob", "realm": REALM,
            "otplen": "6", "hashlib": "sha1", "timeStep": "30"}, admin=True)
        uri = body["detail"]["googleurl"]["value"]
        print(f"  TOTP URI: {uri}")
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(uri).query))
        key = bytes.fromhex(TOTP_KEY_HEX)
        self.check(q.get("secret") == base64.b32encode(key).decode().rstrip("="),
                   "googleurl secret = base32(otpkey), no padding")
        now = int(time.time())
        code = totp(key, now // 30)
        body = self.validate_check("bob: password + TOTP", "bob", USERS["bob"] + code)
        self.check(body["result"].get("authentication") == "ACCEPT", f"bob password+{code} ACCEPT")
        body = self.validate_check("bob: same code again", "bob", USERS["bob"] + code)
        self.check(body["result"].get("authentication") == "REJECT", "same TOTP code again REJECT")
        # challenge-response (policy challenge_response=hotp totp): password alone -> CHALLENGE
        body = self.validate_check("bob: password only", "bob", USERS["bob"])
        self.check(body["result"].get("authentication") == "CHALLENGE", "bob password only CHALLENGE")
        tx = body["detail"].get("transaction_id")
        code2 = totp(key, now // 30 + 1)  # next step: inside the window, newer than the used one
        body = self.validate_check("bob: answer TOTP challenge", "bob", code2, transaction_id=tx)
        self.check(body["result"].get("authentication") == "ACCEPT", "TOTP challenge answered ACCEPT")


def totp(key: bytes, counter: int, digits: int = 6) -> str:
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    return str((struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 10 ** digits).zfill(digits)


def verify(pub, sig_b32: str, msg: str) -> bool:
    try:
        pub.verify(base64.b32decode(sig_b32), msg.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
        return True
    except (InvalidSignature, ValueError):
        return False


def short(body) -> str:
    s = json.dumps(body, ensure_ascii=False) if not isinstance(body, str) else body
    return s if len(s) < 600 else s[:600] + "..."


def main() -> int:
    home = os.environ.get("PI_HOME", "/tmp/countersign-pi")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--via", choices=["http", "https"], default="http",
                    help="listener for the admin and relying-party calls (the phone always uses the "
                         "url from the QR code)")
    ap.add_argument("--key-bits", type=int, default=4096, help="phone RSA key size (app: 4096)")
    ap.add_argument("--only", choices=["push", "totp"], help="run one part only")
    ap.add_argument("--push-wait", action="store_true",
                    help="also test policy push_wait (blocking /validate/check), set via the admin API")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every request and response")
    a = ap.parse_args()
    base = open(os.path.join(home, f"{a.via}-url")).read().strip()
    s = Smoke(base, os.path.join(home, "ca.pem"), home, a.key_bits, a.verbose, a.push_wait)
    t = time.monotonic()
    print(f"privacyIDEA smoke via {base} (PI_HOME={home})")
    s.admin_login()
    if a.only in (None, "push"):
        s.push_flow()
    if a.only in (None, "totp"):
        s.totp_flow()
    print(f"took {time.monotonic() - t:.1f}s")
    return s.finish()


if __name__ == "__main__":
    sys.exit(main())
