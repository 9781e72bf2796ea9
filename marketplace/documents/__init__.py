"""Printable documents (PDF, in Chinese): a payment receipt, a technology-contract summary and
a claim's decision notice, rendered from HTML by WeasyPrint with Debian's Noto CJK fonts."""
