"""A real IMAP server for the tests: Debian's Dovecot (`dovecot-imapd`, which `make test`
installs), started from a configuration of its own in a temporary folder, on a free loopback
port, with one passwd-file user and a Maildir. As root, Dovecot runs its login processes as
`dovenull` and its own as `dovecot`; mail belongs to `nobody`. Tests deliver with IMAP APPEND."""
from __future__ import annotations

import imaplib
import os
import pwd
import ssl
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import trustme

from tests.processes import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER, PASSWORD = "sales", "s3cret"
MAIL_OWNER = "nobody"  # Dovecot refuses to keep mail as root
START_TIMEOUT = 15.0

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = dovenull
default_internal_user = dovecot
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


def _traversable_temp() -> str:
    """A temporary folder others may go through: Dovecot's processes that are not root read
    their files below it (on some machines /tmp is root's alone)."""
    for folder in (tempfile.gettempdir(), "/var/tmp", "/dev/shm"):
        if os.path.isdir(folder) and os.stat(folder).st_mode & 0o001:
            return folder
    raise AssertionError("no temporary folder that Dovecot's unprivileged processes may go through")


class Dovecot:
    def __init__(self, capabilities: str = "", tls: trustme.CA | None = None):
        """`capabilities`: what the server says it can do, when not Dovecot's own list (a server
        without IDLE, say). `tls`: IMAPS only (implicit TLS), with a certificate of that CA for
        127.0.0.1."""
        self.root = Path(tempfile.mkdtemp(prefix="crm-dovecot-", dir=_traversable_temp()))
        self.root.chmod(0o755)  # the login and mail processes, which are not root, go through it
        self.port = free_port()
        owner = pwd.getpwnam(MAIL_OWNER)
        (self.root / "mail").mkdir()
        os.chown(self.root / "mail", owner.pw_uid, owner.pw_gid)
        (self.root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        self.process: subprocess.Popen | None = None
        self.config = self.root / "dovecot.conf"
        self.tls = tls
        if tls is None:
            ssl = "ssl = no"
        else:
            issued = tls.issue_cert("127.0.0.1")
            issued.cert_chain_pems[0].write_to_path(str(self.root / "cert.pem"))
            issued.private_key_pem.write_to_path(str(self.root / "key.pem"))
            ssl = f"ssl = required\nssl_cert = <{self.root}/cert.pem\nssl_key = <{self.root}/key.pem"
        self.config.write_text(CONFIG.format(root=self.root, uid=owner.pw_uid, gid=owner.pw_gid, ssl=ssl,
                                             imap_port=0 if tls else self.port, imaps_port=self.port if tls else 0)
                               + (f"imap_capability = {capabilities}\n" if capabilities else ""))

    @property
    def url(self) -> str:
        return f"{'imaps' if self.tls else 'imap'}://{USER}:{PASSWORD}@127.0.0.1:{self.port}/INBOX"

    def start(self) -> Dovecot:
        if not os.path.exists(DOVECOT):
            raise AssertionError("Dovecot is not installed: `make test` installs Debian's dovecot-imapd")
        # in the foreground, as a child of the tests: stopped with them, whatever happens
        self.process = subprocess.Popen([DOVECOT, "-F", "-c", str(self.config)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                with self.session():
                    return self
            except (OSError, imaplib.IMAP4.error):
                time.sleep(0.1)
        raise AssertionError(f"Dovecot did not answer on port {self.port}: {self.log()}")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(START_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else "(no log)"

    def session(self) -> imaplib.IMAP4:
        if self.tls is None:
            connection = imaplib.IMAP4("127.0.0.1", self.port, timeout=5)
        else:
            context = ssl.create_default_context()
            self.tls.configure_trust(context)
            connection = imaplib.IMAP4_SSL("127.0.0.1", self.port, ssl_context=context, timeout=5)
        connection.login(USER, PASSWORD)
        return connection

    def append(self, raw: bytes, mailbox: str = "INBOX") -> None:
        """Deliver a message, as the mail server would."""
        with self.session() as connection:
            status, answer = connection.append(mailbox, None, None, raw)
            if status != "OK":
                raise AssertionError(f"APPEND refused: {answer}")

    def append_many(self, messages: list[bytes], window: int = 250) -> None:
        """Deliver many messages fast: APPENDs over one session, pipelined with non-synchronising
        literals (LITERAL+), a window of commands written at once and then their answers read."""
        with self.session() as connection:
            for start in range(0, len(messages), window):
                pending = {}
                for number, raw in enumerate(messages[start:start + window], start):
                    pending[f"P{number}".encode()] = raw
                connection.send(b"".join(b"%s APPEND INBOX {%d+}\r\n%s\r\n" % (tag, len(raw), raw)
                                         for tag, raw in pending.items()))
                while pending:
                    line = connection.readline()
                    if not line:
                        raise AssertionError("Dovecot closed the connection during APPEND")
                    tag, _, rest = line.partition(b" ")
                    if pending.pop(tag, None) is not None and not rest.startswith(b"OK"):
                        raise AssertionError(f"APPEND refused: {line!r}")

    def recreate_inbox(self) -> None:
        """The mailbox removed and made again: a new UIDVALIDITY, its messages gone."""
        inbox = self.root / "mail" / USER
        self.stop()
        shutil.rmtree(inbox, ignore_errors=True)
        self.start()
