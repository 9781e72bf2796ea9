"""Who may use an innovation voucher, and at which provider: the rules engine decides
(``voucher_ineligibility`` in marketplace/subsidies, reading ``a3.eligible_sizes`` and
``a3.maker_team_host_levels`` as in force: shipped, amended by published reforms). The marketplace only translates its answer into words."""
from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from marketplace.core.timeutil import beijing_today
from marketplace.subsidies import Organization as EngineOrg
from marketplace.subsidies.clauses.vouchers import voucher_ineligibility

# A provider that passes every provider test: used to ask about the buyer alone.
_ANY_AGENCY = EngineOrg(id="-", kind="agency", in_city=True, service_agency=True)


def engine_org(org) -> EngineOrg:
    """The engine's view of an organisation (as the exported scenario describes it)."""
    return EngineOrg(id=org.credit_code or str(org.id), kind=org.kind, in_city=bool(org.in_city), name=org.name,
                     size=org.size, service_agency=bool(org.service_agency), host_level=org.host_level)


def _reason(step) -> str:
    key = step.key
    if key == "x.a3.not_agency":
        return _("The provider is not a science and technology service agency admitted by the city.")
    if key == "x.out_of_city":
        if step.values.get("role") == "provider":
            return _("The provider is not in the city.")
        return _("Only organisations of the city can use innovation vouchers.")
    if key == "x.a3.size":
        return _("Large enterprises cannot use innovation vouchers.")
    if key == "x.a3.size_unknown":
        return _("The size of your enterprise is not recorded; ask the city to record it.")
    if key == "x.a3.host":
        return _("Only maker teams hosted by a provincial or national incubator, maker space or university "
                 "science park can use innovation vouchers.")
    return _("Only small, medium and micro enterprises and maker teams of provincial incubators of the city "
             "can use innovation vouchers.")


def ineligibility(buyer_org, provider_org=None, on: date | None = None):
    """The engine's reason step why ``buyer_org`` may not pay ``provider_org`` with a voucher
    (None: it may). Without a provider, only the buyer is judged."""
    from marketplace.reforms.parameters import in_force  # the engine's parameters as published

    snap = in_force().at(on or beijing_today())
    provider = engine_org(provider_org) if provider_org is not None else _ANY_AGENCY
    return voucher_ineligibility(engine_org(buyer_org), provider, snap)


def eligible(buyer_org, provider_org=None, on: date | None = None) -> tuple[bool, str]:
    step = ineligibility(buyer_org, provider_org, on)
    return (True, "") if step is None else (False, _reason(step))
