"""Commercial documents: proposals, sales orders, interventions and invoices.

`service` holds the use cases, `workflow` what may happen in each status, `lines` what a
line holds, `printing` what a PDF is made from, `pdf` and `richtext` how it is rendered.
"""
