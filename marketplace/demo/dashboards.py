"""Demo step: R&D spending and GDP of the eight counties for the demo year, entered by the
city's administrator through the real service. Magnitudes follow Liaocheng's (GDP of a
county 200–650 亿元); five of the eight reach 2.2 % (高唐县 exactly on it), so the city
meets the 50 % indicator."""
from __future__ import annotations

from sqlalchemy import func, select

from marketplace.dashboards import services
from marketplace.dashboards.models import CountyRD
from marketplace.demo.year import demo_year
from marketplace.extensions import db

YI = 100_000_000 * 100  # 1 亿元 in fen

# county: (R&D spending, GDP) in 亿元 × 100 (two decimals, integers)
FIGURES = {
    "东昌府区": (1_600, 64_000),  # 2.50 %
    "茌平区": (1_352, 52_000),  # 2.60 %
    "临清市": (840, 42_000),  # 2.00 %
    "阳谷县": (760, 33_000),  # 2.30 %
    "莘县": (450, 30_000),  # 1.50 %
    "东阿县": (460, 20_000),  # 2.30 %
    "冠县": (391, 23_000),  # 1.70 %
    "高唐县": (572, 26_000),  # 2.20 %, exactly the target
}
ADMIN_EMAIL = "admin@kjj.liaocheng.demo"


def load_county_rd(context: dict) -> None:
    year = demo_year()
    if db.session.scalar(select(func.count()).select_from(CountyRD).where(CountyRD.year == year)):
        return  # already loaded
    admin = context["users"][ADMIN_EMAIL]
    for county, (rd, gdp) in FIGURES.items():
        services.save_county_rd(admin, year, county, rd * YI // 100, gdp * YI // 100)

