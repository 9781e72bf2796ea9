"""What other domains may ask of the programmes (the JSON API above all): read-only lists, each
taking the acting user first and checking permission, each JSON-ready; and the programmes'
vocabulary for validating a query. The rules themselves live in cultivation.py, ipdb.py,
commissioners.py and projects.py."""
from __future__ import annotations

from marketplace.programmes.commissioners import list_commissioners  # noqa: F401 - with bases, projects, selections
from marketplace.programmes.common import industries  # noqa: F401 - the industries of industries.yaml
from marketplace.programmes.cultivation import list_pool  # noqa: F401 - the cultivation pool, with each criterion
from marketplace.programmes.ipdb import list_ip  # noqa: F401
from marketplace.programmes.models import IP_RIGHT_KINDS, POOL_STATUSES, PROJECT_STATUSES  # noqa: F401
from marketplace.programmes.projects import list_projects  # noqa: F401 - the city sees all; members their own
