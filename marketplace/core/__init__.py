"""What every domain shares and none owns: the unit of work, append-only tables, errors, form
helpers and the one shape of a form page (views.py), money, Beijing time, named states, paging,
uploads and storage, labels, the language switch, spreadsheets and external links."""
