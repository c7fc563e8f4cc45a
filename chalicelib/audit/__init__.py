"""The audit trail: who (client, area) read or changed whose personal data (a keyed hash of the CPF or
CNPJ, never the document), through which route, when, and how it ended; and the report that answers a
data subject's question "who used my data?" (LGPD)."""
