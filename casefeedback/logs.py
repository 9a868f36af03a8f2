"""Logging: to a file in the instance directory, never with request bodies or answers.

The file rotates at a declared size and keeps a declared number of old files, so
it can neither fill the disk nor keep lines for ever (a log says when the
service was used and what went wrong: data minimisation applies to it too).

Why our own rotation rather than ``WatchedFileHandler`` and logrotate: an
instance must not depend on the operator remembering a logrotate rule: a log
nobody wrote a rule for grows until the disk is full. Why not plain
``RotatingFileHandler``: every gunicorn worker and the background worker append
to this one file, and the standard handler assumes it is the only writer (each
process would rotate on its own count, renaming away the file the others are
still writing to and overwriting each other's old files). So rotation is done
under a lock every process shares, each process first follows a rotation
another made (as ``WatchedFileHandler`` does), and the size checked is the
file's own. Rotating by hand or with logrotate still works: the next line goes
to a new file.

Each line is one JSON object (``JsonLineFormatter``): time, level, logger,
message, and in a web request its request id and Flask endpoint, so one
request's lines can be found across processes and a log collector needs no
parsing rules. Never the URL (invitation links carry a token), never a form.
"""

from __future__ import annotations

import fcntl
import io
import json
import logging
import os
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path

from casefeedback.config import Config

# 10 MiB a file and five old ones: weeks of an instance's normal running, and at most 60 MiB on disk.
MAX_BYTES = 10 * 1024 * 1024
BACKUP_COUNT = 5
# Libraries that report every routine step at INFO (APScheduler: "Running job…" twice a second).
QUIET_LIBRARIES = ("apscheduler",)


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line, of a fixed set of fields.

    Our own twenty lines rather than python-json-logger: that library writes every
    attribute a caller passes in ``extra=`` into the line, so one careless call could
    put a value in the log; here only the fields named below can ever appear.
    """

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(_request_fields())
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        # ensure_ascii off: Welsh and other text stays readable (and searchable) as written.
        return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


def _request_fields() -> dict[str, object]:
    from flask import g, has_request_context, request

    if not has_request_context():
        return {}
    fields: dict[str, object] = {"request_id": g.get("request_id")}
    if request.endpoint:
        fields["endpoint"] = request.endpoint
    return fields


class InstanceLogHandler(RotatingFileHandler):
    """A size-rotated log file, mode 0600, shared safely by several processes."""

    def __init__(self, path: Path, max_bytes: int = MAX_BYTES, backup_count: int = BACKUP_COUNT) -> None:
        self._lock_path = path.with_name(path.name + ".lock")
        self._lock_fd: int | None = None
        self._lock_pid = 0
        super().__init__(path, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8", delay=True)

    def _open(self) -> io.TextIOWrapper:
        # Created 0600 whatever the umask, and an existing file left looser (by hand, by another
        # umask) is tightened: the log says when the service was used.
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.fchmod(fd, 0o600)
        return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fd = self._lock()
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            self.handleError(record)  # a log line lost, never a request failed for it
            return
        try:
            self._follow_rotation()
            super().emit(record)  # rotates first if this line would pass the limit
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def _follow_rotation(self) -> None:
        """Reopen if the file at our path is no longer the one we hold (another process rotated it)."""
        if self.stream is None:
            return
        try:
            on_disk = os.stat(self.baseFilename)
        except FileNotFoundError:
            on_disk = None
        held = os.fstat(self.stream.fileno())
        if on_disk is None or (on_disk.st_dev, on_disk.st_ino) != (held.st_dev, held.st_ino):
            self.stream.close()
            self.stream = None  # reopened by the next write

    def _lock(self) -> int:
        # A forked process (gunicorn --preload) must not share its parent's open lock file:
        # flock would count both as one holder. So each process opens its own.
        if self._lock_fd is None or self._lock_pid != os.getpid():
            self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            self._lock_pid = os.getpid()
        return self._lock_fd

    def close(self) -> None:
        self.acquire()
        try:
            if self._lock_fd is not None and self._lock_pid == os.getpid():
                os.close(self._lock_fd)
            self._lock_fd = None
            super().close()
        finally:
            self.release()


def configure_logging(config: Config) -> None:
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
    if config.log_path is None:
        return
    config.log_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    root = logging.getLogger("casefeedback")
    for old in [h for h in root.handlers if getattr(h, "casefeedback_instance_log", False)]:
        if getattr(old, "baseFilename", None) == str(config.log_path):
            return
        root.removeHandler(old)
        old.close()
    handler = InstanceLogHandler(config.log_path)
    handler.casefeedback_instance_log = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonLineFormatter())
    root.addHandler(handler)
    root.setLevel(logging.INFO)
