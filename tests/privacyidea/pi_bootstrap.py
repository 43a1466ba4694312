"""Configure a privacyIDEA 3.14 test server for Countersign's e2e tests.

Run by setup.sh with the venv's python and PRIVACYIDEA_CONFIGFILE pointing at
PI_HOME/pi.cfg, after `pi-manage setup create_tables`. Everything here is
idempotent: admin, resolver, realm, policies and system config are created or
overwritten with the same values on every run.

Uses privacyIDEA's own library functions inside an app context (the same
functions the REST API and pi-manage call), so no server has to be running.

Arguments (all via environment, set by setup.sh):
  PI_HOME             data directory
  PI_ADMIN_PASSWORD   password for the db admin "admin"
  PI_PUSH_URL         value of the enrollment policy push_registration_url
  PI_PUSH_SSL_VERIFY  "0" or "1" (push_ssl_verify, enrollment and auth scope)
  PI_CHALLENGE_VALIDITY  PushChallengeValidityTime / DefaultChallengeValidityTime (s)
"""
import os
import sqlite3
import sys

from passlib.hash import sha512_crypt

from privacyidea.app import create_app
from privacyidea.lib.auth import create_db_admin
from privacyidea.lib.config import set_privacyidea_config
from privacyidea.lib.policy import set_policy, SCOPE
from privacyidea.lib.realm import set_default_realm, set_realm
from privacyidea.lib.resolver import save_resolver
from privacyidea.models import db

REALM = "countersign"
RESOLVER = "countersign-users"
# Test users of the flat-file resolver: (login, password, uid, given name + surname, email)
USERS = [
    ("alice", "alice-password", 1001, "Alice Tester", "alice@countersign.test"),
    ("bob", "bob-password", 1002, "Bob Tester", "bob@countersign.test"),
    ("carol", "carol-password", 1003, "Carol Tester", "carol@countersign.test"),
    # One user per Rust e2e test that changes per-user policies or tampers with traffic, so
    # the tests can run in parallel (tests/harness/tests/e2e_privacyidea.rs).
    ("dave", "dave-password", 1004, "Dave Tester", "dave@countersign.test"),
    ("erin", "erin-password", 1005, "Erin Tester", "erin@countersign.test"),
    ("frank", "frank-password", 1006, "Frank Tester", "frank@countersign.test"),
]


def write_passwd_file(path: str) -> None:
    # passwd(5) layout, read by privacyIDEA's passwdresolver:
    # login:crypt:uid:gid:gecos:home:shell (gecos = "Full Name,,,,email")
    # A fixed salt keeps the file byte-identical across runs (idempotent).
    lines = []
    for login, password, uid, full_name, email in USERS:
        crypted = sha512_crypt.using(salt=f"cs{login}"[:16], rounds=5000).hash(password)
        lines.append(f"{login}:{crypted}:{uid}:{uid}:{full_name},,,,{email}:/home/{login}:/bin/false")
    new = "\n".join(lines) + "\n"
    old = open(path).read() if os.path.exists(path) else None
    if old != new:
        with open(path, "w") as f:
            f.write(new)
        os.chmod(path, 0o600)


def main() -> int:
    pi_home = os.environ["PI_HOME"]
    cfg = os.environ["PRIVACYIDEA_CONFIGFILE"]
    admin_password = os.environ["PI_ADMIN_PASSWORD"]
    push_url = os.environ["PI_PUSH_URL"]
    ssl_verify = os.environ.get("PI_PUSH_SSL_VERIFY", "1")
    validity = os.environ.get("PI_CHALLENGE_VALIDITY", "120")

    passwd_file = os.path.join(pi_home, "users.passwd")
    write_passwd_file(passwd_file)

    app = create_app(config_name="production", config_file=cfg, silent=True)
    with app.app_context():
        # SQLite: two gunicorn masters (HTTP and HTTPS) share the file, so use WAL
        # to let readers and the single writer coexist. Persistent in the DB file.
        db_uri = app.config["SQLALCHEMY_DATABASE_URI"]
        if db_uri.startswith("sqlite:///"):
            con = sqlite3.connect(db_uri[len("sqlite:///"):])
            con.execute("PRAGMA journal_mode=WAL")
            con.close()

        create_db_admin("admin", email="admin@countersign.test", password=admin_password)

        save_resolver({"resolver": RESOLVER, "type": "passwdresolver", "fileName": passwd_file})
        set_realm(REALM, [{"name": RESOLVER}])
        set_default_realm(REALM)

        # Enrollment: push token in poll-only mode (no Firebase). Deliberately NOT
        # restricted to a realm: the /ttype/push poll handler evaluates
        # push_registration_url / push_ssl_verify without a user (the phone only
        # sends a serial), so a realm-bound policy would not match there.
        set_policy(name="cs-push-enroll", scope=SCOPE.ENROLL, action={
            "push_firebase_configuration": "poll only",
            "push_registration_url": push_url,
            "push_ttl": "10",
            "push_ssl_verify": ssl_verify,
        }, description="Countersign e2e: push enrollment, poll only")

        # Authentication: the first factor is the resolver password (otppin=userstore),
        # so /validate/check user=alice pass=<password> triggers the push challenge.
        # HOTP/TOTP: pass=<password><otp> authenticates in one step; pass=<password>
        # alone also triggers an OTP challenge (challenge_response=hotp totp).
        set_policy(name="cs-auth", scope=SCOPE.AUTH, action={
            "otppin": "userstore",
            "challenge_response": "hotp totp",
            "push_allow_polling": "allow",
            "push_ssl_verify": ssl_verify,
            "push_text_on_mobile": "Login by {user} from {client_ip}?",
            "push_title_on_mobile": "Countersign e2e",
        }, description="Countersign e2e: authentication")

        # No admin- or user-scope policies on purpose: with none defined, the db
        # admin may enroll every token type (push, totp, hotp, ...).

        set_privacyidea_config("DefaultChallengeValidityTime", validity)
        set_privacyidea_config("PushChallengeValidityTime", validity)
        db.session.commit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
