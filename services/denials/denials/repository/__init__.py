"""All the SQL of the denials service, every query scoped by the unit's tenant (the deadline watch's sweep
excepted: it looks across tenants, and acts on each denial in a unit of its own tenant): denials and their
work (``denials``), payer contracts (``contracts``), expected payment and the 835's lines held against it
(``expected``), the underpayment/overpayment worklist (``variances``), each tenant's practice profiles
(``practice``)."""

from denials.repository.contracts import ContractRepository
from denials.repository.denials import DenialRepository, due_for_warning
from denials.repository.expected import ExpectedRepository
from denials.repository.variances import VarianceRepository

__all__ = ["ContractRepository", "DenialRepository", "ExpectedRepository", "VarianceRepository", "due_for_warning"]
