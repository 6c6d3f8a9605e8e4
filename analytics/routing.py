"""Where analytics reads go: the `analytics` database (a read replica) when settings define one,
else the default database.

The project's settings add the alias when `ANALYTICS_DATABASE_URL` is set:

    if env.str("ANALYTICS_DATABASE_URL", default=""):
        DATABASES["analytics"] = env.db_url_config(env.str("ANALYTICS_DATABASE_URL"))
        DATABASES["analytics"]["TEST"] = {"MIRROR": "default"}

Every read in `analytics.metrics` names this alias with `using()`; nothing writes through it.
"""

from django.conf import settings


def analytics_database() -> str:
    return "analytics" if "analytics" in settings.DATABASES else "default"


ANALYTICS_DB = analytics_database()
