"""Names, not codes: how the audit log, the ledger and the claim traces show organisations,
people and recorded values to a person.

The records keep codes (credit codes, user ids, JSON); pages show the organisation's and the
person's name, with the code on hover (``title``). Amounts in fen show as ¥, known codes
(statuses, kinds) by their label, yes/no in words; a record's field names are labelled.
Names are looked up once per request for all the codes a page shows.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from flask import g, has_request_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import select

from marketplace.core import labels
from marketplace.core.i18n import text_of
from marketplace.core.money import format_yuan
from marketplace.extensions import db

# 统一社会信用代码: 18 characters of digits and capitals without I, O, S, V, Z.
CREDIT_CODE = re.compile(r"(?<![0-9A-Z])[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}(?![0-9A-Z])")

FIELDS = {
    "above_scale_industrial": _l("Above-scale industrial enterprise"), "active": _l("Active"),
    "amount": _l("Amount"), "amount_fen": _l("Amount"), "anonymised": _l("Anonymised"),
    "breakthrough": _l("Breakthrough"), "category": _l("Category"), "certificate_no": _l("Certificate number"),
    "city_share": _l("City's share"), "county_share": _l("County's share"), "claim_id": _l("Claim"),
    "claim_kind": _l("Kind of claim"), "clause": _l("Clause"), "criteria_met": _l("Criteria met"),
    "document_no": _l("Document number"), "effective_from": _l("Effective from"), "email": _l("E-mail"),
    "files": _l("Files"), "good_service_results": _l("Good service results"), "industry": _l("Industry"),
    "kind": _l("Kind"), "listing_id": _l("Listing"), "message": _l("Message"), "name": _l("Name"),
    "note": _l("Note"), "number": _l("Number"), "objection_id": _l("Objection"),
    "objection_status": _l("Objection"), "organization_id": _l("Organisation"), "paid_on": _l("Paid on"),
    "parameter": _l("Parameter"), "planned_fen": _l("Planned amount"), "reason": _l("Reason"),
    "role": _l("Role"), "rows": _l("Rows"), "service_agency": _l("Service agency"), "status": _l("Status"),
    "subject": _l("Subject"), "title": _l("Title"), "value": _l("Value"), "values": _l("Values"),
    "verified": _l("Verified"), "year": _l("Year"), "user_id": _l("Person"), "decision": _l("Decision"),
    # ledger entries
    "seller": _l("Seller"), "buyer": _l("Buyer"), "broker": _l("Broker"), "provider": _l("Provider"),
    "customer": _l("Customer"), "lessee": _l("Lessee"), "enterprise": _l("Enterprise"), "payer": _l("Payer"),
    "payee": _l("Payee"), "project": _l("Project"), "registration_no": _l("Registration number (认定登记编号)"),
    "registered_on": _l("Registered on"), "order_ref": _l("Order"), "contract_type": _l("Contract type"),
    "transfer_kind": _l("Way to transfer"), "transformed_in_city": _l("Transformed in the city"),
    "instrument": _l("Instrument"), "financing_lease": _l("Financially leased"),
    "on_sharing_platform": _l("Listed on the city's sharing platform"), "method": _l("Payment method"),
    "gateway_id": _l("Reference at the payment gateway"), "province": _l("Province"), "city": _l("City"),
    "hours": _l("Hours"), "samples": _l("Samples"), "order": _l("Order"), "contract": _l("Contract"),
}
# A field whose value is a code of a label group.
VALUE_GROUPS = {"contract_type": "contract_type", "transfer_kind": "transfer_mode", "role": "role",
                "kind": "kind", "claim_kind": "claim_category", "category": "claim_category",
                "objection_status": "objection_status", "payer": "payer", "level": "level"}
# Kept in the record, not shown: the payment gateway's own id (pages show the platform's references).
HIDDEN = {"gateway_id"}
STATUS_GROUPS = {"claim": "claim_status", "listing": "listing_status", "voucher_application": "application_status",
                 "provider_admission": "admission_status", "major_project": "project_status",
                 "redemption_batch": "batch_status"}
TARGETS = {
    "claim": _l("Claim"), "claim_budget": _l("Budget"), "commissioner": _l("Science commissioner"),
    "commissioner_base": _l("Demonstration base"), "commissioner_project": _l("Commissioner's project"),
    "county_rd": _l("County R&D figures"), "ip_right": _l("Intellectual property"), "listing": _l("Listing"),
    "major_project": _l("Major project"), "organization": _l("Organisation"), "outbox": _l("Outbox"),
    "parameter_draft": _l("Policy draft"), "provider_admission": _l("Provider admission"),
    "redemption_batch": _l("Redemption batch"), "selection": _l("Selection"), "user": _l("Person"),
    "voucher_application": _l("Voucher application"), "voucher_setting": _l("Voucher setting"),
}
ACTIONS = {
    "account.close": _l("Closed an account"), "account.password_change": _l("Changed a password"),
    "admission.apply": _l("Applied for provider admission"), "admission.approve": _l("Admitted a provider"),
    "admission.reject": _l("Refused a provider's admission"), "admission.suspend": _l("Suspended a provider"),
    "claim.approve": _l("Approved a claim"), "claim.budget": _l("Set a budget"),
    "claim.evidence": _l("Added evidence to a claim"), "claim.file": _l("Filed a claim"),
    "claim.objection": _l("Objected to a claim on notice"), "claim.objection_filed": _l("Filed an objection"),
    "claim.objection_uphold": _l("Upheld an objection"), "claim.objection_dismiss": _l("Dismissed an objection"),
    "claim.pay": _l("Paid a claim"), "claim.reject": _l("Rejected a claim"),
    "claim.request_evidence": _l("Asked for more evidence"), "claim.submit": _l("Submitted a claim"),
    "commissioner.add": _l("Added a science commissioner"), "commissioner.claim_filed": _l("Filed a commissioner claim"),
    "commissioner.select": _l("Selected commissioners"), "commissioner_base.add": _l("Added a demonstration base"),
    "commissioner_project.add": _l("Added a commissioner's project"), "county_rd.save": _l("Saved county R&D figures"),
    "enterprise_profile.set": _l("Set an enterprise profile"), "ip.link": _l("Linked intellectual property"),
    "ip.register": _l("Registered intellectual property"), "listing.resubmit": _l("Sent a listing back to moderation"),
    "listing.reject": _l("Rejected a listing"), "listing.approve": _l("Approved a listing"),
    "listing.restore": _l("Restored a listing"), "member.invite": _l("Invited a member"),
    "ops.outbox_retry": _l("Retried outbox messages"), "organization.verify": _l("Verified an organisation"),
    "project.claim_filed": _l("Filed a project claim"), "project.complete": _l("Completed a project"),
    "project.fund": _l("Funded a project"), "project.propose": _l("Proposed a project"),
    "project.reserve": _l("Put a project into the reserve"), "project.reject": _l("Rejected a project"),
    "provincial_reward.enter": _l("Entered a provincial reward"), "reform.create": _l("Created a policy draft"),
    "reform.edit": _l("Edited a policy draft"), "reform.publish": _l("Published a policy change"),
    "reform.revert": _l("Reverted a policy draft"), "role.grant": _l("Granted a role"),
    "voucher.apply": _l("Applied for vouchers"), "voucher.batch_paid": _l("Paid a redemption batch"),
    "voucher.decide": _l("Decided a voucher application"), "voucher.setting": _l("Changed a voucher setting"),
    "hte_pool.admit": _l("Admitted to the high-tech pool"), "hte_pool.keep": _l("Kept in the high-tech pool"),
    "hte_pool.remove": _l("Removed from the high-tech pool"),
}


# --- looking names up, once per request ---------------------------------------------------

def _cache() -> dict:
    if not has_request_context():
        return {"org": {}, "user": {}}
    if not hasattr(g, "_names"):
        g._names = {"org": {}, "user": {}}
    return g._names


def _organisations(codes: Iterable[str]) -> dict[str, str]:
    from marketplace.accounts.models import Organization

    cache = _cache()["org"]
    wanted = {c for c in codes if c not in cache}
    if wanted:
        found = dict(db.session.execute(select(Organization.credit_code, Organization.name).where(
            Organization.credit_code.in_(wanted))).all())
        for code in wanted:
            cache[code] = found.get(code)
    return cache


def _people(ids: Iterable[int]) -> dict[int, tuple[str, str] | None]:
    from marketplace.accounts.models import User

    cache = _cache()["user"]
    wanted = {i for i in ids if i is not None and i not in cache}
    if wanted:
        for user in db.session.scalars(select(User).where(User.id.in_(wanted))):
            org = user.organization if hasattr(user, "organization") else None
            cache[user.id] = (user.name or user.email, org.name if org is not None else "")
        for i in wanted:
            cache.setdefault(i, None)
    return cache


def _span(name: str, title: str) -> Markup:
    return Markup('<span class="named" title="{}">{}</span>').format(title, name)


def organisation(code: str) -> Markup:
    """An organisation by its credit code: its name, the code on hover."""
    name = _organisations([code]).get(code)
    return _span(name, _("Unified social credit code") + " " + code) if name else Markup(escape(code))


def person(user_id: int | None) -> Markup:
    """A person by id: name · organisation, the id on hover; "—" for the system."""
    if user_id is None:
        return Markup(escape(_("the platform")))
    found = _people([user_id]).get(user_id)
    if found is None:
        return _span(_("A deleted account"), f"#{user_id}")
    name, org = found
    return _span(f"{name} · {org}" if org else name, _("Account") + f" #{user_id}")


def named(text) -> Markup:
    """Text (a trace line, a reference) with each credit code shown as its organisation's name.
    "聊城大学（91…）" keeps the name and moves the code to hover; a bare code becomes the name."""
    text = "" if text is None else str(text)
    codes = set(CREDIT_CODE.findall(text))
    if not codes:
        return Markup(escape(text))
    names = _organisations(codes)
    out, last = [], 0
    for match in CREDIT_CODE.finditer(text):
        code = match.group(0)
        name = names.get(code)
        start, end = match.span()
        if name is None:
            continue
        before = text[last:start]
        bracket = before[-1:] in ("（", "(") and text[end:end + 1] in ("）", ")")
        if bracket and before[:-1].rstrip().endswith(name):
            head = before[:-1].rstrip()[:-len(name)]
            out += [escape(head), _span(name, _("Unified social credit code") + " " + code)]
            last = end + 1
        else:
            out += [escape(before), _span(name, _("Unified social credit code") + " " + code)]
            last = end
    out.append(escape(text[last:]))
    return Markup("").join(out)


# --- recorded values ----------------------------------------------------------------------

def field_label(key: str) -> str:
    return text_of(FIELDS[key]) if key in FIELDS else key.replace("_", " ")


def value_of(key: str, value, target_type: str | None = None) -> Markup:
    """One recorded value as a person reads it."""
    if value is None or value == "":
        return Markup("—")
    if isinstance(value, bool):
        return Markup(escape(_("Yes") if value else _("No")))
    if isinstance(value, int) and (key.endswith("_fen") or key in ("amount", "city", "province")):
        return Markup(escape(format_yuan(value)))
    if key in ("user_id", "actor_id", "applicant_id") and isinstance(value, int):
        return person(value)
    if key == "subject" and isinstance(value, str) and ":" in value:  # "commissioner:1"
        kind, _sep, ident = value.partition(":")
        return target_label(kind, ident)
    if isinstance(value, str) and (key in VALUE_GROUPS or key in ("status", "kind", "category", "decision")):
        return Markup(escape(_code_label(key, value, target_type)))
    if isinstance(value, Mapping):
        return Markup("; ").join(Markup("{}: {}").format(field_label(str(k)), value_of(str(k), v, target_type))
                                 for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return Markup("、").join(value_of(key, v, target_type) for v in value)
    return named(value)


def _code_label(key: str, value: str, target_type: str | None) -> str:
    """A recorded code by its label: the target's own group first (``commissioner_kind``,
    ``claim_status``), then the field's, then any group of that field that knows the code."""
    groups = [STATUS_GROUPS.get(target_type) if key == "status" else None, f"{target_type}_{key}",
              VALUE_GROUPS.get(key)]
    groups += sorted(g for g in labels.GROUPS if g.endswith("_" + key) or g == key)
    for group in groups:
        if group and value in labels.GROUPS.get(group, {}):
            return labels.label(value, group)
    return value


def describe(record, target_type: str | None = None) -> list[tuple[str, Markup]]:
    """A recorded mapping (the audit's before/after, a ledger entry's payload) as labelled rows."""
    if not record:
        return []
    if isinstance(record, str):
        import json

        try:
            record = json.loads(record)
        except ValueError:
            return [("", named(record))]
    if not isinstance(record, Mapping):
        return [("", value_of("", record, target_type))]
    return [(field_label(str(k)), value_of(str(k), v, target_type)) for k, v in record.items()
            if not str(k).endswith("_name") and k not in HIDDEN]


def evidence_rows(clause: str, evidence: Mapping | None) -> list[tuple[str, Markup]]:
    """A filed claim's evidence as the claim kind labels it (in the reader's language):
    "新认定: 是", not ``newly_recognised=True``; the applicant by name."""
    from flask_babel import get_locale

    from marketplace.subsidies.clauses.claims import CLAIM_KINDS
    from marketplace.subsidies.trace import TERMS_ZH

    if not evidence:
        return []
    zh = str(get_locale() or "zh").startswith("zh")
    kind = CLAIM_KINDS.get(clause)
    fields = {f.name: f for f in kind.fields} if kind is not None and hasattr(kind, "fields") else {}
    rows = []
    for key, value in evidence.items():
        spec = fields.get(key)
        label = (spec.label_zh if zh else spec.label_en) if spec is not None else field_label(key)
        if isinstance(value, str) and spec is not None and spec.type == "choice" and key not in VALUE_GROUPS:
            shown = Markup(escape(TERMS_ZH.get(value, value) if zh else value.replace("_", " ")))
        elif isinstance(value, (int, str)) and spec is not None and spec.type == "organization" \
                and str(value).isdigit():
            from marketplace.accounts.models import Organization

            org = db.session.get(Organization, int(value))
            shown = _span(org.name, _("Unified social credit code") + " " + org.credit_code) if org \
                else Markup(escape(str(value)))
        else:
            shown = value_of(key, value)
        rows.append((label, shown))
    return rows


def action_label(action: str) -> str:
    return text_of(ACTIONS[action]) if action in ACTIONS else action


def target_label(target_type: str, target_id) -> Markup:
    """"Claim 12", "Organisation <name>", "Person <name>"."""
    kind = text_of(TARGETS[target_type]) if target_type in TARGETS else target_type
    if target_type == "user" and str(target_id).isdigit():
        return Markup("{} {}").format(kind, person(int(target_id)))
    if target_type == "organization" and str(target_id).isdigit():
        from marketplace.accounts.models import Organization

        org = db.session.get(Organization, int(target_id))
        if org is not None:
            return Markup("{} {}").format(kind, _span(org.name, _("Unified social credit code") + " "
                                                       + org.credit_code))
    return Markup("{} {}").format(kind, named(target_id))


def install(app) -> None:
    app.jinja_env.globals.update(describe=describe, person=person, action_label=action_label,
                                 target_label=target_label, organisation=organisation,
                                 evidence_rows=evidence_rows)
    app.jinja_env.filters["named"] = named
