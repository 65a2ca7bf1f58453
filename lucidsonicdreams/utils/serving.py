"""What serving a page on the network needs checked: whether a host is this machine only, and the
``USER:PASSWORD`` that a host others can reach asks for (the web app, and the live mode's page)."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine only: ``localhost``, 127.0.0.0/8 or ::1."""
    name = host.strip().strip("[]").lower()
    if name in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:  # another host name: it may well resolve to an outside address
        return False


def parse_auth(auth: str | tuple[str, str]) -> tuple[str, str]:
    """``"USER:PASSWORD"`` (the password may hold colons) or a (user, password) pair, both non-empty."""
    if isinstance(auth, str):
        user, colon, password = auth.partition(":")
        if not colon:
            # The value is not repeated: it may well be a password typed without its user name.
            raise ValueError("--auth must be USER:PASSWORD (a user name, a colon and a password); it has no colon")
    elif isinstance(auth, (tuple, list)) and len(auth) == 2 and all(isinstance(part, str) for part in auth):
        user, password = auth
    else:
        raise TypeError(f"auth must be 'USER:PASSWORD' or a (user, password) pair of strings, got "
                        f"{type(auth).__name__}")
    if not user.strip() or not password:
        raise ValueError(f"--auth must be USER:PASSWORD with a user name and a password, got "
                         f"{'an empty user name' if not user.strip() else 'an empty password'}")
    return user, password


def check_address(host: str, port: int, auth=None, no_auth: bool = False) -> tuple[str, str] | None:
    """Check what ``serve`` is given, before anything is started; returns the credentials, if any.

    A host that other machines can reach needs ``auth`` (anyone who can reach it could otherwise upload files,
    keep the machine rendering or take over a live show), or ``no_auth`` to say that this is meant."""
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"--port must be a whole number from 1 to 65535, got {port!r}")
    if not isinstance(host, str) or not host.strip():
        raise ValueError(f"--host must be an address or a host name, such as 127.0.0.1, got {host!r}")
    credentials = None if auth is None else parse_auth(auth)
    if credentials is not None and no_auth:
        raise ValueError("--auth and --no-auth contradict each other: give one of them")
    if credentials is None and not no_auth and not is_loopback(host):
        raise ValueError(f"--host {host} lets anyone who can reach this machine upload files and run renders: give "
                         f"--auth USER:PASSWORD to ask for a password, or --no-auth to serve without one anyway")
    return credentials
