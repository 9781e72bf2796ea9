"""An import-linter contract that the built-in ones cannot say: a domain's pages (its views and
forms) reach another domain only through that domain's services.

``marketplace.<domain>.<page module>`` may import, of another domain, ``<domain>.services``
only: not its tables, its views, its forms or the modules behind its services. Its own
domain, and the shared modules (``core``, ``permissions``, ``extensions``...), are not limited
here (the "views never import models" contract covers a domain's own tables). pyproject.toml
registers it as ``domain_pages``.
"""
from __future__ import annotations

from importlinter import Contract, ContractCheck, fields, output
from importlinter.application import contract_utils


class DomainPagesContract(Contract):
    type_name = "domain_pages"

    root = fields.StringField()
    pages = fields.ListField(subfield=fields.StringField())  # module names of a domain's web side
    entrances = fields.ListField(subfield=fields.StringField())  # what a page may import of another domain
    shared = fields.ListField(subfield=fields.StringField())  # top-level modules every domain uses
    ignore_imports = fields.SetField(subfield=fields.ImportExpressionField(), required=False)

    def check(self, graph, verbose: bool) -> ContractCheck:
        removal = contract_utils.remove_ignored_imports_and_report(
            graph=graph, ignore_imports=self.ignore_imports,
            unmatched_alerting=contract_utils.AlertLevel.ERROR)
        root, pages, entrances, shared = self.root, set(self.pages), set(self.entrances), set(self.shared)
        illegal = []
        for importer in sorted(graph.modules):
            parts = importer.split(".")
            if len(parts) != 3 or parts[0] != root or parts[2] not in pages:
                continue
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                other = imported.split(".")
                if other[0] != root or len(other) < 2 or other[1] in (parts[1], *shared):
                    continue
                if len(other) == 3 and other[2] in entrances:
                    continue
                lines = [d["line_number"] for d in graph.get_import_details(importer=importer, imported=imported)]
                illegal.append((importer, imported, lines))
        return ContractCheck(kept=not illegal, warnings=list(removal.warnings),
                             ignored_import_count=removal.ignored_import_count, metadata={"illegal": illegal})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for importer, imported, lines in check.metadata["illegal"]:
            output.print_error(f"{importer} -> {imported} (l.{', '.join(map(str, lines))})", bold=False)
            output.new_line()
        output.print_error("Call a function of the other domain's services instead; move what the page "
                           "needs behind one if there is none.", bold=False)
        output.new_line()
