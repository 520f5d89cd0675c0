"""What the database holds, read the way an auditor would: every text column of every table."""

from django.apps import apps
from django.db import models


def rows_mentioning(text, **only):
    """(model, field) of every text column that holds `text` somewhere; `only`: a filter for
    the models that have that field (e.g. conference=…), the others are searched whole."""
    found = []
    for model in apps.get_models():
        names = {field.name for field in model._meta.concrete_fields}
        rows = model._default_manager.filter(**{key: value for key, value in only.items() if key.split("__")[0] in names})
        for field in model._meta.concrete_fields:
            if isinstance(field, (models.CharField, models.TextField)) and rows.filter(**{f"{field.attname}__contains": text}).exists():
                found.append((model.__name__, field.name))
    return found
