"""Accounting to the public (issue 11): the monthly report and the CTDC-style export.

- :mod:`~sinergi.report.suppression`: small cells suppressed, with secondary
  suppression and an exact audit (pure);
- :mod:`~sinergi.report.kanon`: k-anonymity by generalisation and suppression (pure);
- :mod:`~sinergi.report.monthly`: the report's figures, suppressed (pure);
- :mod:`~sinergi.report.ctdc`: the CTDC codebook's variables, k-anonymised (pure);
- :mod:`~sinergi.report.source`: the one module that reads, as the analyst, the views;
- :mod:`~sinergi.report.charts`, :mod:`~sinergi.report.render_pdf`,
  :mod:`~sinergi.report.render_other`: pictures, the PDF, HTML and CSV.
"""
