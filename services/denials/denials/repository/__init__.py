"""All the SQL of the denials service, every query scoped by the unit's tenant (the deadline watch's sweep
excepted: it looks across tenants, and acts on each denial in a unit of its own tenant): denials and their
work (``denials``), payer contracts (``contracts``)."""

from denials.repository.contracts import ContractRepository
from denials.repository.denials import DenialRepository, due_for_warning

__all__ = ["ContractRepository", "DenialRepository", "due_for_warning"]
