"""Shared builders for the programme tests."""
from marketplace.extensions import db

FIGURES = {  # every criterion met (see cases/hte_criteria.yaml)
    "fiscal_year": "2024", "revenue_last_year": "40000000", "revenue_3y": "100000000", "rd_3y": "5000000",
    "rd_3y_in_china": "5000000", "high_tech_revenue": "24000000", "staff": "100", "st_staff": "10",
    "core_ip_count": "1", "founded_on": "2020-03-01",
}


def count(model, *where):
    from sqlalchemy import func, select

    stmt = select(func.count()).select_from(model)
    for w in where:
        stmt = stmt.where(w)
    return db.session.scalar(stmt)


def english(client):
    client.post("/lang/en")
