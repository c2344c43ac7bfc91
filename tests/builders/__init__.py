"""Test data for every test and bench, one definition each: `from builders.x835 import standard_file`.

- ``encounters``: the clean professional encounter the claims API takes (JSON), and the dates around it
- ``x837``: 837P/837I model claims, with their providers, payers and patients
- ``x835``: 835 payments (header, claim, line) written as real X12, and the payer's answers to an encounter
- ``acks``: the clearinghouse's 999 and 277CA
- ``events``: event payloads (ClaimAdjudicatedV1, ClaimReversedV1, ClaimStatusChangedV1)
- ``x271``: 271 answers, a fake payer answering 270s over HTTP, an eligibility check's request

What drives a service (post this, consume that) is not data: it stays with that service's tests (``*_steps.py``).
"""

T = {"X-Tenant-ID": "org-1"}  # the test tenant's header
