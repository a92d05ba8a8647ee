"""The browser application: police, posts, BP3MI, districts, the hotline and operations do
their work in a browser, with the same guarantees as the command line.

Server-rendered pages (Starlette + Jinja2, served by uvicorn), progressive enhancement
(every page works without JavaScript; with it, the alert inbox is live and uploads show
their progress). Everything recorded goes through the desks' library
(:mod:`producers.forms`, :func:`sinergi.bootstrap.desk_publisher`); everything read comes
from the ledger's views, as :mod:`sinergi.views` reads them.

- :mod:`.access`: what each unit's role may use (deny by default)
- :mod:`.routing`: which Polres sees which alert (``schemas/reference/polres.csv``)
- :mod:`.officers`, :mod:`.sessions`: log-in, lockout, sessions and CSRF tokens
- :mod:`.ledger`, :mod:`.desk`, :mod:`.uploads`: reading the ledger, recording, CSV files
- :mod:`.charts`, :mod:`.health`: the operations dashboard
- :mod:`.notifier`: push notifications of new alerts (signed webhooks, e-mail)
- :mod:`.app`: the routes; :mod:`.server`: uvicorn and the notifier's task
"""
