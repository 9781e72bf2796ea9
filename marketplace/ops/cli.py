"""``flask ops status``: the /readyz checks from the command line."""
import json
import sys

import click
from flask.cli import AppGroup

cli = AppGroup("ops", help="Operations: component status.")


@cli.command("status")
def status():
    """Print the readiness checks as JSON; exit 1 when one fails."""
    from marketplace.ops.services import readiness

    ready, checks = readiness()
    click.echo(json.dumps({"status": "ok" if ready else "fail", "checks": checks}, indent=2, ensure_ascii=False))
    if not ready:
        sys.exit(1)


@cli.command("create-admin")
@click.option("--email", required=True, help="The administrator's e-mail (the login).")
@click.option("--name", required=True, help="The administrator's name.")
@click.option("--organization", "org_name", default="聊城市科学技术局", show_default=True,
              help="The government body the administrator belongs to.")
@click.option("--credit-code", required=True, help="That body's unified social credit code (统一社会信用代码).")
@click.password_option(help="Asked for when not given (at least 10 characters).")
def create_admin(email, name, org_name, credit_code, password):
    """Create the first platform administrator (a fresh installation has none)."""
    from sqlalchemy import select

    from marketplace import permissions as perm
    from marketplace.accounts import credit_code as codes
    from marketplace.accounts.models import Membership, Organization, User
    from marketplace.accounts.services import email_has_account, hash_password
    from marketplace.core.timeutil import utcnow
    from marketplace.core.uow import unit_of_work
    from marketplace.extensions import db

    email = email.strip().lower()
    try:
        credit_code = codes.normalise(credit_code)
    except codes.CreditCodeError as exc:
        raise click.BadParameter(str(exc), param_hint="--credit-code")
    if len(password) < 10:
        raise click.BadParameter("at least 10 characters", param_hint="--password")
    if email_has_account(email):
        raise click.BadParameter("an account with this e-mail exists", param_hint="--email")
    org = db.session.scalar(select(Organization).where(Organization.credit_code == credit_code))
    if org is None:
        org = Organization(name=org_name, kind="government", credit_code=credit_code, in_city=True,
                           verified_at=utcnow())
        db.session.add(org)
    elif org.kind != "government":
        raise click.BadParameter("this credit code belongs to an organisation that is not a government body",
                                 param_hint="--credit-code")
    with unit_of_work():
        user = User(email=email, name=name, password_hash=hash_password(password))
        db.session.add(user)
        db.session.flush()
        db.session.add(Membership(user_id=user.id, organization_id=org.id, role=perm.ADMIN, is_owner=True))
    click.echo(f"administrator {email} created in {org.name}")
