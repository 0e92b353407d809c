"""Routes of the compatibility API, each switched by its setting (core/switches.py)."""

urlpatterns: list[object] = []
