from django.apps import AppConfig


class VenueConfig(AppConfig):
    name = "venue"
