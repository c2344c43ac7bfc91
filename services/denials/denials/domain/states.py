"""The statuses of a denial, grouped as the rules and the work queue speak of them."""

from __future__ import annotations

OPEN_STATES = ("open", "in_progress", "appealed", "resubmitted", "write_off_pending")
RESOLVED_STATES = ("recovered", "written_off", "billed_patient", "closed", "superseded")
# A denial whose money the office moved out of insurance A/R: the payer's later word on it takes the move back
# (``use_cases.moves.undo_move``), and denials alone decides it, from the payer's answers it reads in order per
# claim.
MOVED_STATES = ("billed_patient", "written_off")
# What waits on someone in the billing office (a write-off over the threshold on its second person): the queue
# a billing specialist opens, and the list of denials by default.
WORK_STATES = ("open", "in_progress", "write_off_pending")
