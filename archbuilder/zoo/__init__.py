"""The model zoo: named blueprints shipped in ``archbuilder/zoo/blueprints`` (``blueprints/`` at the top)."""
