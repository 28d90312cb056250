"""What the check of a packet found: a line per check, the packet's facts, its approvals, and
the exit code they add up to."""

from dataclasses import dataclass, field

OK, MISMATCH, UNREADABLE, UNTRUSTED, UNDECIDED = 0, 1, 2, 3, 4
ATTACHMENT_NAME = "plan-snapshot.json"
FORMAT_PREFIX = "truststram-readiness-packet/"
PACKET_KEYWORD = "truststram-packet"
# Packets are at most 50 MB by default (PACKET_MAX_BYTES); a larger file is refused unread.
DEFAULT_MAX_MB = 64


class Unreadable(Exception):
    """The input is not a packet this tool can read: the message says why."""


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    # Neither passed nor failed: nothing in the file disagrees, but finishing the check needs
    # something the reader can still give (current revocation data).
    undecided: bool = False


@dataclass
class Report:
    file: str
    sha256: str
    trusted_roots: int
    checks: list[Check] = field(default_factory=list)
    packet: dict = field(default_factory=dict)
    approvals: list[dict] = field(default_factory=list)

    def add(self, name: str, ok: bool, detail: str, *, undecided: bool = False) -> None:
        self.checks.append(Check(name, ok, detail, undecided))

    @property
    def exit_code(self) -> int:
        if any(not check.ok and not check.undecided for check in self.checks):
            return MISMATCH
        if any(check.undecided for check in self.checks):
            return UNDECIDED
        return OK if self.trusted_roots else UNTRUSTED

    @property
    def verdict(self) -> str:
        return {
            OK: "VERIFIED: intact, consistent, and signed by a trusted key.",
            MISMATCH: "NOT VERIFIED: see the failed checks above.",
            UNTRUSTED: "INTACT AND CONSISTENT, signer not checked: give the issuing instance's "
            "certificate with --trust to know who signed it.",
            UNDECIDED: "NOT DECIDED: nothing disagrees, but a check could not be finished with "
            "what was given: see the open checks above.",
        }[self.exit_code]
