"""organisation.toml's ``[legal_hold]``: how far off a hold's review date may be set.

A records officer gives every hold a review date; this is the furthest it may
be (and the date given to holds set from the command line, or older than the
review dates themselves). From one day — shorter is a hold nobody could
prepare a review of — to two years: a longer gap is a hold nobody looks at.
"""

from __future__ import annotations

from datetime import timedelta

from casefeedback.policy.model import LegalHoldRules
from casefeedback.policy.reader import EPOCH, Reader, Table, quote

__all__ = ["read_legal_hold"]

_KEYS = ("review_within",)
_LIMITS = (timedelta(days=1), timedelta(days=2 * 366))


def read_legal_hold(r: Reader, tree: Table) -> LegalHoldRules:
    defaults = LegalHoldRules()
    table = r.table(tree, "", "legal_hold", required=False)
    if table is None:
        return defaults
    r.keys(table, "legal_hold", _KEYS)
    if "review_within" not in table:
        return defaults
    duration = r.duration(table, "legal_hold", "review_within")
    if duration is None:
        return defaults
    length = duration.after(EPOCH) - EPOCH
    if not _LIMITS[0] <= length <= _LIMITS[1]:
        r.problem("legal_hold.review_within", f"{quote(duration.text)} must be from 1 day to 2 years")
        return defaults
    return LegalHoldRules(review_within=duration)
