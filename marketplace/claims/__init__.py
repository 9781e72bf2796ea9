"""Subsidy claims (补贴申报): drafted from the rules engine for the transaction clauses (A1–A5),
filed with evidence for the award clauses (B1–B6, A2.national, A2.provincial), submitted by the
beneficiary and decided by the city (see ``marketplace.review``).

Public functions for other domains (keep these names):

* ``marketplace.claims.services.file_claim(actor, organization_id, kind, evidence, year, files=())``
* ``marketplace.claims.services.claims_for_export(year)``
* ``marketplace.claims.services.awards_by_clause(year)``
* ``marketplace.review.services.budget_status(year)`` (also importable from claims.services)
"""
