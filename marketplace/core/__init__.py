"""What every domain shares and none owns: errors, form helpers, money, Beijing time,
uploads, labels, the language switch, spreadsheets and external links."""
