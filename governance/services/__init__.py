"""Steward actions: the one place the admin UI and the steward REST API change golden records by hand.

Every action checks the steward's domain (`governance.steward_customer` / `steward_product`), locks
what it changes, refuses what cannot be done with a message that says why (StewardError, nothing
changed), and leaves a history row with the steward, the reason and the correlation ID.

- `candidate_merge`: a review candidate is a duplicate; the older golden record survives and keeps its ID.
- `candidate_reject`: not a match; the pair is never proposed (or merged by the batch run) again.
- `candidate_defer`: not now; the candidate leaves the open queue until it is reopened.
- `goldens_merge`: merge two golden records a steward found without a candidate.
- `merge_undo`: unmerge; the retired record comes back exactly as it was, and the pair is remembered as
  not a match so the matcher does not merge it again.
- `change_propose` / `change_approve` / `change_reject` / `change_withdraw`: four-eyes edits of golden
  attributes. The approval policy (admin) says which edits need a second person; an approved edit
  becomes a steward override that wins survivorship until `override_clear`.
- `hierarchy_change_propose`: add a parent→child edge to a hierarchy, or end one, through the store's
  hierarchy service (no cycles, one parent per hierarchy at a time); `rule_change_propose`: a new order of
  owning systems or a new fallback for an attribute, through the store's rule service (which recomputes the
  golden records). Both are change requests like edits: approved by a second person when the policy says
  so (by default: rule changes always, hierarchy edits never), stale when what they change changed meanwhile.

One module per concern: base (refusals and checks), candidates, merges, edits, hierarchies, rules, and approvals
(the change-request lifecycle and policy, which each kind of request registers with).
"""

from governance.services.approvals import CHANGE_ACTIONS, change_approve, change_reject, change_withdraw
from governance.services.base import DOMAIN_PERMISSIONS, StewardError, may_steward
from governance.services.candidates import (
    CANDIDATE_ACTIONS,
    candidate_assign,
    candidate_defer,
    candidate_merge,
    candidate_reject,
)
from governance.services.edits import change_propose, override_clear
from governance.services.hierarchies import EDGE_OPERATIONS, hierarchy_change_propose
from governance.services.merges import goldens_merge, merge_undo
from governance.services.rules import rule_change_propose

__all__ = [
    "CANDIDATE_ACTIONS",
    "CHANGE_ACTIONS",
    "DOMAIN_PERMISSIONS",
    "EDGE_OPERATIONS",
    "StewardError",
    "candidate_assign",
    "candidate_defer",
    "candidate_merge",
    "candidate_reject",
    "change_approve",
    "change_propose",
    "change_reject",
    "change_withdraw",
    "goldens_merge",
    "hierarchy_change_propose",
    "may_steward",
    "merge_undo",
    "override_clear",
    "rule_change_propose",
]
